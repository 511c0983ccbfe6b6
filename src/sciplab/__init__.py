"""SCIP Lab: Mallinckrodt's Social Competencies in Interpersonal Process model as working tools.

Top-level API (pandas DataFrames in, result objects out)::

    sciplab.read_data(path)                       # CSV, Excel, SPSS .sav, parquet
    sciplab.score(data, "ECR-S")                  # scale scores + validity report
    sciplab.reliability(data, "ECR-S")            # alpha (Feldt CI), omega, item statistics
    sciplab.reliable_change(pre, post, instrument="CORE-10", scale="total")
    sciplab.list_instruments(), sciplab.get_instrument("PHQ-9")
    sciplab.paths(data, "m ~ x; y ~ m + x", bootstrap=5000, seed=1)   # path/mediation models
    sciplab.ssm(data, ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"], group="Gender")  # circumplex SSM
    sciplab.cfa(data, "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6")   # latent-variable SEM
    sciplab.sem(data, model, estimator="mlr", missing="fiml"), sciplab.growth(data, model)
"""

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

_LAZY = {name: "sciplab.stats.sem" for name in ("sem", "cfa", "growth", "invariance")}


def __getattr__(name: str) -> object:
    """Import the SEM functions on first use (keeps ``import sciplab`` light)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sciplab' has no attribute {name!r}")


__all__ = [
    "OCTANTS",
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
