"""SCIP vocabulary: the attachment quadrants, the octant codes and construct polarity, each with one home.

* :data:`QUADRANTS` -- the four attachment patterns of the anxiety x avoidance plane (Bartholomew &
  Horowitz, 1991; Brennan, Clark & Shaver, 1998), in the order every result lists them. The
  formulation, the rule files, the simulation and the figures read them here.
* :data:`OCTANT_CODES` -- the eight interpersonal-circumplex octants (Alden, Wiggins & Pincus, 1990).
* :func:`higher_is_worse` -- the polarity of one scale's scores: the construct's polarity
  (:data:`sciplab.instruments.schema.CONSTRUCT_HIGHER_IS_WORSE`, the one home of that fact) flipped
  for an inverse scale (e.g. TAS-20 total measuring emotional awareness).

References
----------
Alden, L. E., Wiggins, J. S., & Pincus, A. L. (1990). Construction of circumplex scales for the
Inventory of Interpersonal Problems. *Journal of Personality Assessment, 55*, 521-536.
Bartholomew, K., & Horowitz, L. M. (1991). Attachment styles among young adults: A test of a
four-category model. *Journal of Personality and Social Psychology, 61*, 226-244.
Brennan, K. A., Clark, C. L., & Shaver, P. R. (1998). Self-report measurement of adult attachment:
An integrative overview. In J. A. Simpson & W. S. Rholes (Eds.), *Attachment theory and close
relationships* (pp. 46-76). Guilford.
"""

from __future__ import annotations

from sciplab.instruments.schema import CONSTRUCT_HIGHER_IS_WORSE
from sciplab.stats.circumplex import OCTANT_CODES  # the one home of the octant codes

__all__ = ["ATTACHMENT_SIDES", "OCTANT_CODES", "QUADRANTS", "higher_is_worse"]

#: The attachment patterns (quadrants of the anxiety x avoidance plane).
QUADRANTS: tuple[str, ...] = ("secure", "preoccupied", "dismissing", "fearful")

#: Where each quadrant lies: ``(anxiety side, avoidance side)``, ``"low"`` or ``"high"``.
ATTACHMENT_SIDES: dict[str, tuple[str, str]] = {
    "secure": ("low", "low"),
    "preoccupied": ("high", "low"),
    "dismissing": ("low", "high"),
    "fearful": ("high", "high"),
}


def higher_is_worse(construct: str | None, direction: str = "positive") -> bool | None:
    """Whether higher scores of a scale are worse: True, False, or None (neither applies).

    Parameters
    ----------
    construct
        The SCIP construct the scale measures.
    direction
        ``"positive"`` (higher score = more of the construct) or ``"inverse"``.

    Examples
    --------
    >>> higher_is_worse("distress"), higher_is_worse("emotional_awareness", "inverse")
    (True, True)
    >>> higher_is_worse("session_impact") is None
    True
    """
    worse = CONSTRUCT_HIGHER_IS_WORSE.get(construct or "")
    if worse is None:
        return None
    return worse if direction != "inverse" else not worse
