"""The one scoring engine: scale scores, validity, norms, reliability and reliable change."""

from sciplab.scoring.change import ChangeResult, reliable_change
from sciplab.scoring.engine import ScoreResult, score, score_all
from sciplab.scoring.reliability import ReliabilityResult, reliability

__all__ = [
    "ChangeResult",
    "ReliabilityResult",
    "ScoreResult",
    "reliability",
    "reliable_change",
    "score",
    "score_all",
]
