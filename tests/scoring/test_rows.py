"""Tests of :func:`sciplab.scoring.rows.score_answers` against :func:`sciplab.scoring.score` on the same frame."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciplab._core.errors import SciplabError
from sciplab.instruments import list_instruments
from sciplab.scoring import score
from sciplab.scoring.rows import ScoredAnswers, from_result, score_answers

SCORABLE = [i for i in list_instruments() if i.has_key]
IDS = sorted(i.id for i in SCORABLE)
BY_ID = {i.id: i for i in SCORABLE}


def _frame(answers: list[dict[int, Any]], inst: Any) -> pd.DataFrame:
    """The frame the answers stand for: ``item_<n>`` columns in item order, NaN for a missing answer."""
    data = {f"item_{n}": [math.nan if a.get(n) is None else a[n] for a in answers] for n in inst.item_numbers}
    return pd.DataFrame(data, columns=list(data))


def _general(answers: list[dict[int, Any]], inst: Any) -> list[ScoredAnswers] | str:
    try:
        return from_result(
            score(_frame(answers, inst), inst, columns={n: f"item_{n}" for n in inst.item_numbers}), inst
        )
    except SciplabError as exc:
        return f"{type(exc).__name__}: {exc}"


def _fast(answers: list[dict[int, Any]], inst: Any) -> list[ScoredAnswers] | str:
    try:
        return score_answers(answers, inst)
    except SciplabError as exc:
        return f"{type(exc).__name__}: {exc}"


def _same(a: Any, b: Any) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert list(x.scales) == list(y.scales)
        assert x.flags == y.flags and all(type(v) is bool for v in x.flags.values())
        for col in x.scales:
            p, q = x.scales[col], y.scales[col]
            assert (p.answered, p.status, dict(p.bands)) == (q.answered, q.status, dict(q.bands)), col
            assert (math.isnan(p.value) and math.isnan(q.value)) or p.value == q.value, (col, p.value, q.value)
            assert type(p.value) is float


@st.composite
def answer_sets(draw: Any) -> tuple[Any, list[dict[int, Any]]]:
    inst = BY_ID[draw(st.sampled_from(IDS))]
    lo, hi = inst.response.min, inst.response.max
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        row: dict[int, Any] = {}
        missing_rate = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]))
        for n in inst.item_numbers:
            if draw(st.floats(0, 1)) < missing_rate:
                if draw(st.booleans()):
                    row[n] = draw(st.sampled_from([None, math.nan]))
                continue
            v = draw(st.integers(lo, hi))
            row[n] = float(v) if draw(st.booleans()) else v
        if draw(st.integers(0, 9)) == 0:  # now and then an answer the engine refuses
            n = draw(st.sampled_from(inst.item_numbers))
            row[n] = draw(st.sampled_from([hi + 1, lo - 1, lo + 0.5, "x", True, math.inf, "2"]))
        if draw(st.integers(0, 9)) == 0:
            row[max(inst.item_numbers) + 1] = lo  # not an item: ignored, as a column the frame does not have
        rows.append(row)
    return inst, rows


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(answer_sets())
def test_score_answers_equals_score_on_the_frame(case: tuple[Any, list[dict[int, Any]]]) -> None:
    inst, answers = case
    _same(_fast(answers, inst), _general(answers, inst))


def test_score_answers_examples() -> None:
    phq = BY_ID["PHQ-9"]
    [row] = score_answers([{i: i % 4 for i in range(1, 10)}], "PHQ-9")
    assert row.scales["PHQ-9_total"].value == 13.0
    assert row.scales["PHQ-9_total"].status == "complete"
    assert row.flags == {"PHQ-9_self_harm": True}  # item 9 answered 1
    [low] = score_answers([{9: 2}], phq)
    assert math.isnan(low.scales["PHQ-9_total"].value) and low.scales["PHQ-9_total"].status == "too_few_items"
    assert low.flags["PHQ-9_self_harm"] is True
    bad = _fast([{1: 7}], phq)
    assert isinstance(bad, str) and "item_1" in bad and bad == _general([{1: 7}], phq)
    assert _fast([], phq) == _general([], phq)
