"""The one scoring engine: scale scores, validity, norms, reliability and reliable change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sciplab._core.lazy import lazy_exports
from sciplab.scoring.engine import ScoreResult, score, score_all
from sciplab.scoring.reliability import ReliabilityResult, reliability

if TYPE_CHECKING:
    from sciplab.scoring.change import ChangeResult, reliable_change

# Reliable change binds the change analytics of stats (scipy.stats, and statsmodels for expected
# response): imported on first use so that scoring a file does not pay for it (issue 19).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {"ChangeResult": "sciplab.scoring.change", "reliable_change": "sciplab.scoring.change"},
)

__all__ = [
    "ChangeResult",
    "ReliabilityResult",
    "ScoreResult",
    "reliability",
    "reliable_change",
    "score",
    "score_all",
]
