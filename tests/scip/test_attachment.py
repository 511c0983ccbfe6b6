"""Tests of sciplab.scip.attachment: SEM, quadrant probabilities, fallbacks and their notes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sciplab._core.errors import InvalidParameterError
from sciplab.instruments.registry import get_instrument
from sciplab.scip.attachment import FALLBACK_RELIABILITY, FALLBACK_SD, describe_attachment, quadrant_probabilities
from sciplab.scip.constructs import QUADRANTS

FINITE = st.floats(-10, 10, allow_nan=False)
SEM = st.floats(0.01, 5, allow_nan=False)


@given(FINITE, FINITE, SEM, SEM, FINITE, FINITE)
def test_probabilities_sum_to_one_in_quadrant_order(anx, avo, sa, sv, ca, cv):
    p = quadrant_probabilities(anx, avo, sem_anxiety=sa, sem_avoidance=sv, split=(ca, cv))
    assert tuple(p) == QUADRANTS
    assert math.isclose(sum(p.values()), 1.0, abs_tol=1e-12)
    assert all(0 <= v <= 1 for v in p.values())


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_sem_must_be_positive(bad):
    with pytest.raises(InvalidParameterError, match="sem_anxiety"):
        quadrant_probabilities(4, 4, sem_anxiety=bad, sem_avoidance=1, split=(4, 4))


def _measures(anx: float, avo: float) -> list[dict]:
    inst = get_instrument("ECR-S")
    return [
        {"column": inst.column(n), "instrument": inst, "scale": inst.scale(n), "value": v}
        for n, v in (("anxiety", anx), ("avoidance", avo))
    ]


def test_fallbacks_named_in_notes_and_cite_the_paper():
    att = describe_attachment(_measures(5.0, 2.0), None, None, "midpoint")
    assert att["anxiety"]["reliability"] == FALLBACK_RELIABILITY and att["anxiety"]["sd"] == FALLBACK_SD
    assert math.isclose(att["anxiety"]["sem"], FALLBACK_SD * math.sqrt(1 - FALLBACK_RELIABILITY))
    notes = " ".join(att["notes"])
    assert "Wei, Russell, Mallinckrodt & Vogel, 2007" in notes
    assert "instruments.md" not in notes + att["split"]["note"]
    assert "Fraley & Waller, 1998" in att["split"]["note"]


def test_user_split_and_errors():
    att = describe_attachment(_measures(3.0, 3.0), 0.9, 1.0, {"anxiety": 3.0, "avoidance": 3.0})
    assert att["split"]["method"] == "user"
    assert att["quadrant_probabilities"] == pytest.approx(dict.fromkeys(QUADRANTS, 0.25))
    with pytest.raises(InvalidParameterError, match="split"):
        describe_attachment(_measures(3.0, 3.0), None, None, "median")
    with pytest.raises(InvalidParameterError, match="reliability for anxiety"):
        describe_attachment(_measures(3.0, 3.0), {"anxiety": 1.5}, None, "midpoint")
