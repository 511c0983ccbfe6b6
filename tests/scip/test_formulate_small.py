"""The small case of :func:`sciplab.scip.formulate.formulate` (a mapping of score columns) against the general route.

A mapping of score columns is formulated without a frame (``_plain_scores``); the same scores as a
one-row DataFrame take the general route. Every field of the two formulations must be identical
(frames with their dtypes, dicts, notes, the SSM result), and so must any error.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciplab._core.errors import SciplabError
from sciplab.scip import formulate as F
from sciplab.scip.formulate import Formulation, formulate
from sciplab.scip.rules import load_rules

RULES = load_rules()
REGISTRY, LOOKUP = F._shipped_lookup()
COLUMNS = sorted(LOOKUP)
# the constructs the rules read most: attachment, octants, support, distress
FAVOURED = [c for c in COLUMNS if c.startswith(("ECR-S_", "IIP-SC_", "MSPSS_", "PHQ-9_", "CORE-10_", "PSSE_"))]


def _range(column: str) -> tuple[float, float]:
    inst, scale = LOOKUP[column]
    return scale.score_range(inst.response)


@st.composite
def score_maps(draw: Any) -> dict[str, Any]:
    cols = draw(st.lists(st.sampled_from(FAVOURED), max_size=12, unique=True))
    cols += draw(st.lists(st.sampled_from(COLUMNS), max_size=4, unique=True))
    if draw(st.booleans()):
        cols += [c for c in COLUMNS if c.startswith("IIP-SC_")]
    out: dict[str, Any] = {}
    for c in dict.fromkeys(cols):
        lo, hi = _range(c)
        kind = draw(st.sampled_from(["float", "float", "float", "int", "none", "nan", "out"]))
        if kind == "float":
            out[c] = draw(st.floats(lo, hi, allow_nan=False))
        elif kind == "int":
            out[c] = draw(st.integers(math.ceil(lo), math.floor(hi)))
        elif kind == "none":
            out[c] = None
        elif kind == "nan":
            out[c] = math.nan
        else:
            out[c] = draw(st.sampled_from([hi + 1.5, lo - 2.0, math.inf]))
    if draw(st.booleans()):
        out[draw(st.sampled_from(["note", "client", "session", "T_total"]))] = draw(st.sampled_from([1.0, 3, None]))
    return out


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert type(a) is type(b) and a == b


def _same_formulation(fast: Formulation, general: Formulation) -> None:
    for name in ("table", "profile", "client", "attachment", "interpersonal", "missing", "sources", "details"):
        _same(getattr(fast, name), getattr(general, name))
    assert (fast.ssm is None) == (general.ssm is None)
    if fast.ssm is not None:
        _same(fast.ssm.table, general.ssm.table)
        _same(fast.ssm.scores, general.ssm.scores)
        _same(fast.ssm.details, general.ssm.details)
    assert fast.summary() == general.summary()
    assert fast.to_dict() == general.to_dict()


def _outcome(scores: Any, **kwargs: Any) -> Formulation | str:
    try:
        return formulate(scores, rules=RULES, **kwargs)
    except SciplabError as exc:
        return f"{type(exc).__name__}: {exc}"


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(score_maps())
def test_small_case_equals_general_route(scores: dict[str, Any]) -> None:
    fast = _outcome(scores)
    general = _outcome(pd.DataFrame([scores]))
    if isinstance(general, str):
        assert fast == general
    else:
        assert isinstance(fast, Formulation)
        _same_formulation(fast, general)


def test_small_case_is_taken_for_score_columns_only() -> None:
    plain = {"ECR-S_anxiety": 5.5, "ECR-S_avoidance": 2.0, "MSPSS_total": 3, "PHQ-9_total": None}
    assert F._plain_scores(plain) is not None
    assert F._plain_scores({**plain, "ECR-S_anxiety": True}) is None  # a bool is a number in a frame
    assert F._plain_scores({**plain, "PHQ9_1": 2}) is None  # a raw item column: scored by the general route
    assert F._plain_scores({**plain, 3: 1.0}) is None


@pytest.mark.parametrize(
    "scores",
    [
        {"ECR-S_anxiety": 5.5, "ECR-S_avoidance": 2.0, "MSPSS_total": 3, "PHQ-9_total": 14.0},
        {"PHQ-9_total": 12.0},
        {"ECR-S_anxiety": 9.0},
        {"ECR-S_anxiety": "high"},
        {"note": 1.0},
        {"ECR-S_anxiety": True, "ECR-S_avoidance": 2.0},
    ],
)
def test_small_case_examples(scores: dict[str, Any]) -> None:
    fast, general = _outcome(scores), _outcome(pd.DataFrame([scores]))
    if isinstance(general, str):
        assert fast == general
    else:
        assert isinstance(fast, Formulation)
        _same_formulation(fast, general)
