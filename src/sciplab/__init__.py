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

from __future__ import annotations

from typing import TYPE_CHECKING

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
from sciplab._core.lazy import lazy_exports
from sciplab._version import __version__

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs; at run time they are lazy
    from sciplab._core.io import read_data, write_data
    from sciplab.instruments import get_instrument, list_instruments
    from sciplab.scip.formulate import formulate
    from sciplab.scip.population import power, sample_size
    from sciplab.scoring import reliability, reliable_change, score, score_all
    from sciplab.stats.circumplex import OCTANTS, ssm, ssm_scores
    from sciplab.stats.paths import paths
    from sciplab.stats.sem import cfa, growth, invariance, sem

# ``import sciplab`` imports none of these modules (they pull in pandas, scipy and statsmodels): the
# first use of ``sciplab.<name>`` imports its module (issue 19).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "read_data": "sciplab._core.io",
        "write_data": "sciplab._core.io",
        "get_instrument": "sciplab.instruments",
        "list_instruments": "sciplab.instruments",
        "formulate": "sciplab.scip.formulate",
        "power": "sciplab.scip.population",
        "sample_size": "sciplab.scip.population",
        "reliability": "sciplab.scoring",
        "reliable_change": "sciplab.scoring",
        "score": "sciplab.scoring",
        "score_all": "sciplab.scoring",
        "OCTANTS": "sciplab.stats.circumplex",
        "ssm": "sciplab.stats.circumplex",
        "ssm_scores": "sciplab.stats.circumplex",
        "paths": "sciplab.stats.paths",
        "sem": "sciplab.stats.sem",
        "cfa": "sciplab.stats.sem",
        "growth": "sciplab.stats.sem",
        "invariance": "sciplab.stats.sem",
    },
)

__all__ = [
    "__version__",
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
