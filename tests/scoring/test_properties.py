"""Property-based tests of the scoring engine (hypothesis)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sciplab
from sciplab import SciplabError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# a few instruments covering sum/mean, reverse keys, multipliers, flags and bands
IDS = ["PHQ-9", "ECR-S", "CORE-10", "SPS", "CORE-OM", "IIP-SC"]
INSTRUMENTS = {i: sciplab.get_instrument(i) for i in IDS}


def columns_of(inst) -> list[str]:
    return [f"{inst.column_prefixes[0]}_{i:02d}" for i in inst.item_numbers]


junk = st.one_of(
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
    st.sampled_from(["", " ", "2", " 1 ", "1.0", "nan", "x", "1e400", "-0"]),
)


@st.composite
def junk_frames(draw):
    inst = INSTRUMENTS[draw(st.sampled_from(IDS))]
    cols = columns_of(inst)
    n = draw(st.integers(0, 5))
    data = {c: draw(st.lists(junk, min_size=n, max_size=n)) for c in cols}
    df = pd.DataFrame(data, columns=cols, dtype=object)
    if draw(st.booleans()) and n:  # some purely numeric columns
        for c in draw(st.lists(st.sampled_from(cols), max_size=4, unique=True)):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    if draw(st.booleans()):
        df = df.drop(columns=draw(st.lists(st.sampled_from(cols), max_size=2, unique=True)))
    return inst, df


@FAST
@given(junk_frames(), st.sampled_from(["error", "missing"]), st.sampled_from([None, 1, 0.5]))
def test_junk_either_scores_or_raises_a_sciplab_error(case, on_invalid, min_answered) -> None:
    inst, df = case
    before = copy.deepcopy(df)
    try:
        res = sciplab.score(df, inst.id, on_invalid=on_invalid, min_answered=min_answered)
    except SciplabError:
        pass
    else:
        assert len(res.scores) == len(df)
        assert res.scores.index.equals(df.index)
    pd.testing.assert_frame_equal(df, before)


@st.composite
def valid_frames(draw, with_missing: bool = True):
    inst = INSTRUMENTS[draw(st.sampled_from(IDS))]
    n = draw(st.integers(1, 6))
    k = len(inst.item_numbers)
    cells = st.integers(inst.response.min, inst.response.max)
    values = np.array(draw(st.lists(st.lists(cells, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=float)
    if with_missing:
        mask = np.array(draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=n, max_size=n)))
        values[mask & (np.random.default_rng(0).random(values.shape) < 0.3)] = np.nan
    return inst, pd.DataFrame(values, columns=columns_of(inst))


@FAST
@given(valid_frames())
def test_valid_scores_lie_in_the_possible_range(case) -> None:
    inst, df = case
    res = sciplab.score(df, inst.id, min_answered=1)
    for sc in inst.scales:
        k = len(sc.items)
        div = 1 if sc.scoring == "sum" else k
        lo = inst.response.min * k / div * sc.multiplier
        hi = inst.response.max * k / div * sc.multiplier
        s = res.scores[f"{inst.id}_{sc.name}"]
        answered = df[columns_of(inst)].iloc[:, [inst.item_numbers.index(i) for i in sc.items]].notna().sum(axis=1)
        assert s.isna().tolist() == (answered == 0).tolist()
        ok = s.dropna()
        assert ((ok >= lo - 1e-9) & (ok <= hi + 1e-9)).all()


@FAST
@given(valid_frames(), st.randoms(use_true_random=False))
def test_permuting_rows_permutes_scores(case, rnd) -> None:
    inst, df = case
    df.index = [f"r{i}" for i in range(len(df))]
    order = list(df.index)
    rnd.shuffle(order)
    a = sciplab.score(df, inst.id, min_answered=1).scores
    b = sciplab.score(df.loc[order], inst.id, min_answered=1).scores
    pd.testing.assert_frame_equal(a.loc[order], b)


@FAST
@given(valid_frames(), st.randoms(use_true_random=False))
def test_column_order_does_not_matter(case, rnd) -> None:
    inst, df = case
    cols = list(df.columns)
    rnd.shuffle(cols)
    a = sciplab.score(df, inst.id, min_answered=1)
    b = sciplab.score(df[cols], inst.id, min_answered=1)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.validity, b.validity)


@FAST
@given(valid_frames(with_missing=False))
def test_reverse_keying_twice_is_identity(case) -> None:
    """Reversing every response and scoring with the complementary reverse set gives the same scores."""
    inst, df = case
    lo, hi = inst.response.min, inst.response.max
    complement = tuple(i for i in inst.item_numbers if i not in set(inst.key.reverse))
    flipped_inst = dataclasses.replace(inst, key=dataclasses.replace(inst.key, reverse=complement))
    flipped = lo + hi - df
    a = sciplab.score(df, inst).scores
    b = sciplab.score(flipped, flipped_inst).scores
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-12, rtol=0)
    # and reversing the data twice returns the data
    pd.testing.assert_frame_equal(lo + hi - flipped, df)
