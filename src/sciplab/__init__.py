"""SCIP Lab: Mallinckrodt's Social Competencies in Interpersonal Process model as working tools.

Top-level API (pandas DataFrames in, result objects out)::

    sciplab.read_data(path)                       # CSV, Excel, SPSS .sav, parquet
    sciplab.score(data, "ECR-S")                  # scale scores + validity report
    sciplab.reliability(data, "ECR-S")            # alpha (Feldt CI), omega, item statistics
    sciplab.reliable_change(pre, post, instrument="CORE-10", scale="total")
    sciplab.list_instruments(), sciplab.get_instrument("PHQ-9")
    sciplab.paths(data, "m ~ x; y ~ m + x", bootstrap=5000, seed=1)   # path/mediation models
    sciplab.ssm(data, ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"], group="Gender")  # circumplex SSM
    sciplab.power("scip-core", n=[100, 200, 300], seed=1)   # Monte Carlo power (templates or syntax)
    sciplab.sample_size("m ~ 0.3*a*x; y ~ 0.3*b*m; ind := a*b", effect="ind", target=0.8)
    sciplab.cfa(data, "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6")   # latent-variable SEM
    sciplab.sem(data, model, estimator="mlr", missing="fiml"), sciplab.growth(data, model)
"""

from typing import Any

from sciplab._core.errors import (
    ConvergenceWarning,
    DataError,
    DataWarning,
    InstrumentDefinitionError,
    InvalidParameterError,
    KeyNotVerifiedError,
    ModelSyntaxError,
    SciplabError,
)
from sciplab._core.io import read_data, write_data
from sciplab.instruments import get_instrument, list_instruments
from sciplab.scip.formulate import formulate
from sciplab.scoring import reliability, reliable_change, score, score_all
from sciplab.stats.circumplex import OCTANTS, ssm, ssm_scores
from sciplab.stats.paths import paths

__all__ = [
    "OCTANTS",
    "power",
    "sample_size",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "InstrumentDefinitionError",
    "InvalidParameterError",
    "KeyNotVerifiedError",
    "ModelSyntaxError",
    "SciplabError",
    "cfa",
    "formulate",
    "get_instrument",
    "growth",
    "invariance",
    "list_instruments",
    "paths",
    "read_data",
    "reliability",
    "reliable_change",
    "score",
    "score_all",
    "sem",
    "ssm",
    "ssm_scores",
    "write_data",
]


_SEM = ("sem", "cfa", "growth", "invariance")


def __getattr__(name: str) -> Any:
    """Load the power tools and the SEM functions on first use (not needed to start the CLI)."""
    if name in ("power", "sample_size"):
        from sciplab.scip import population

        return getattr(population, name)
    if name in _SEM:
        from sciplab.stats import sem as _sem_package

        return getattr(_sem_package, name)
    raise AttributeError(f"module 'sciplab' has no attribute {name!r}")
