"""Session-by-session change: reliable change, expected treatment response, ruptures, growth models.

One module per analysis (each with its formulas and sources in its header):

* :mod:`~sciplab.stats.change.sessions` -- shared session handling (validated long data,
  :func:`first_last`);
* :mod:`~sciplab.stats.change.reliable` -- reliable and clinically significant change (Jacobson &
  Truax 1991): the one home of the criterion, the classes and the kernel (:func:`classify_change`),
  and :func:`client_change`;
* :mod:`~sciplab.stats.change.expected` -- expected treatment response (:func:`fit_reference`,
  :class:`Reference`, :func:`expected_response`; Finch, Lambert & Schaalje 2001; Lutz et al. 2006);
* :mod:`~sciplab.stats.change.ruptures` -- alliance rupture-repair episodes
  (:func:`detect_ruptures`) and perspective gaps (:func:`alliance_gap`);
* :mod:`~sciplab.stats.change.growth` -- multilevel growth models (:func:`growth_model`).

Generic: every analysis takes any long DataFrame and plain constants. Binding an instrument's
constants is :mod:`sciplab.scoring.change`; the rupture type to expect by attachment pattern and
the monitoring workflow are SCIP's (:mod:`sciplab.scip.relationship`, :mod:`sciplab.scip.monitor`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sciplab._core.lazy import lazy_exports

if TYPE_CHECKING:
    from sciplab.stats.change.expected import (
        REFERENCE_FORMAT,
        REFERENCE_VERSION,
        STATUSES,
        ExpectedResponseResult,
        Reference,
        expected_response,
        fit_reference,
    )
    from sciplab.stats.change.growth import GrowthResult, growth_model
    from sciplab.stats.change.reliable import (
        CLASSES,
        RECOVERED_RULE,
        ChangeCriterion,
        ClientChangeResult,
        change_report,
        classify_change,
        client_change,
        reliable_change_criterion,
    )
    from sciplab.stats.change.ruptures import (
        MAX_DECLINE,
        MAX_WINDOW,
        AllianceGapResult,
        RuptureResult,
        alliance_gap,
        detect_ruptures,
        rupture_episodes,
    )
    from sciplab.stats.change.sessions import first_last

# Imported on first use: ``expected`` and ``growth`` pull in statsmodels, and most callers need only
# one analysis (issue 19: start-up cost).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "REFERENCE_FORMAT": "sciplab.stats.change.expected",
        "REFERENCE_VERSION": "sciplab.stats.change.expected",
        "STATUSES": "sciplab.stats.change.expected",
        "ExpectedResponseResult": "sciplab.stats.change.expected",
        "Reference": "sciplab.stats.change.expected",
        "expected_response": "sciplab.stats.change.expected",
        "fit_reference": "sciplab.stats.change.expected",
        "GrowthResult": "sciplab.stats.change.growth",
        "growth_model": "sciplab.stats.change.growth",
        "CLASSES": "sciplab.stats.change.reliable",
        "RECOVERED_RULE": "sciplab.stats.change.reliable",
        "ChangeCriterion": "sciplab.stats.change.reliable",
        "ClientChangeResult": "sciplab.stats.change.reliable",
        "change_report": "sciplab.stats.change.reliable",
        "classify_change": "sciplab.stats.change.reliable",
        "client_change": "sciplab.stats.change.reliable",
        "reliable_change_criterion": "sciplab.stats.change.reliable",
        "MAX_DECLINE": "sciplab.stats.change.ruptures",
        "MAX_WINDOW": "sciplab.stats.change.ruptures",
        "AllianceGapResult": "sciplab.stats.change.ruptures",
        "RuptureResult": "sciplab.stats.change.ruptures",
        "alliance_gap": "sciplab.stats.change.ruptures",
        "detect_ruptures": "sciplab.stats.change.ruptures",
        "rupture_episodes": "sciplab.stats.change.ruptures",
        "first_last": "sciplab.stats.change.sessions",
    },
)

__all__ = [
    "CLASSES",
    "MAX_DECLINE",
    "MAX_WINDOW",
    "RECOVERED_RULE",
    "REFERENCE_FORMAT",
    "REFERENCE_VERSION",
    "STATUSES",
    "AllianceGapResult",
    "ChangeCriterion",
    "ClientChangeResult",
    "ExpectedResponseResult",
    "GrowthResult",
    "Reference",
    "RuptureResult",
    "alliance_gap",
    "change_report",
    "classify_change",
    "client_change",
    "detect_ruptures",
    "expected_response",
    "first_last",
    "fit_reference",
    "growth_model",
    "reliable_change_criterion",
    "rupture_episodes",
]
