"""Tests of sciplab.stats.change.reliable: reliable and clinically significant change per client."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from sciplab import DataError, DataWarning, InvalidParameterError
from sciplab.stats.change import client_change

Z975 = 1.959963984540054
KW = {"client": "client", "session": "session", "measure": "score"}


def test_jacobson_truax_by_hand(make_sessions) -> None:
    # analysis-methods.md section 5: SD 7.5, r_xx .88 -> S_diff = 7.5 sqrt(2 * .12) = 3.6742
    s_diff = 7.5 * math.sqrt(2 * (1 - 0.88))
    assert s_diff == pytest.approx(3.674235, abs=1e-6)
    data = make_sessions({"a": [30, 25, 18], "b": [30, 27], "c": [12, 20], "d": [20, 19, 16]})
    res = client_change(data, **KW, sd=7.5, rxx=0.88, cutoff=19)
    t = res.table.set_index("client")
    assert t["change"].tolist() == [-12, -3, 8, -4]
    np.testing.assert_allclose(t["rc"], np.array([-12, -3, 8, -4]) / s_diff)
    assert t["reliable"].tolist() == [True, False, True, False]
    assert t["classification"].tolist() == ["recovered", "unchanged", "deteriorated", "unchanged"]
    assert t["first_session"].tolist() == [1, 1, 1, 1] and t["last_session"].tolist() == [3, 2, 2, 3]
    d = res.details
    assert d["method"] == "jacobson-truax" and d["s_diff"] == pytest.approx(s_diff)
    assert d["min_reliable_change"] == pytest.approx(Z975 * s_diff) and d["z"] == pytest.approx(Z975)
    assert d["cutoff"] == 19.0 and d["n_classified"] == 4
    text = res.summary()
    assert "S_diff = 3.674" in text and "recovered" in text and "reliable change needs |change| > 7.201" in text
    json.dumps(res.to_dict(), allow_nan=False)


def test_recovered_needs_cutoff_crossed_and_improvement_without_cutoff(make_sessions) -> None:
    data = make_sessions({"a": [30, 18], "b": [30, 20]})
    res = client_change(data, **KW, sd=7.5, rxx=0.88, cutoff=19)
    assert res.table["classification"].tolist() == ["recovered", "improved"]
    res = client_change(data, **KW, sd=7.5, rxx=0.88)
    assert res.table["classification"].tolist() == ["improved", "improved"]
    assert "'recovered' cannot be assigned" in res.summary()


def test_core10_published_constants(make_sessions) -> None:
    # CORE-10: reliable change 6 points, cut-off 10 (instrument library; clinical-algorithms.md section 2)
    data = make_sessions({"a": [22, 9], "b": [22, 16], "c": [22, 17], "d": [10, 16], "e": [14, 10]})
    res = client_change(data, **KW, rc_points=6, cutoff=10)
    assert res.table["classification"].tolist() == ["recovered", "improved", "unchanged", "deteriorated", "unchanged"]
    assert res.details["method"] == "published-points" and res.details["min_reliable_change"] == 6
    assert np.isnan(res.table["rc"]).all()
    assert "reliable change needs |change| >= 6.000 points" in res.summary()


def test_ors_higher_is_better(make_sessions) -> None:
    # ORS: reliable change 5, cut-off 25 adults, higher = better (clinical-algorithms.md section 2)
    data = make_sessions({"a": [18, 31], "b": [18, 24], "c": [30, 24], "d": [20, 25]})
    res = client_change(data, **KW, rc_points=5, cutoff=25, higher_is_worse=False)
    t = res.table
    # d: a change of exactly 5 is reliable (the published-points rule is >=) but 25 is not beyond the cut-off
    assert t["classification"].tolist() == ["recovered", "improved", "deteriorated", "improved"]
    assert t["improvement"].tolist() == [13, 6, -6, 5] and not res.details["higher_is_worse"]
    assert client_change(data, **KW, rc_points=5.5, cutoff=25, higher_is_worse=False).table[
        "classification"
    ].tolist() == ["recovered", "improved", "deteriorated", "unchanged"]
    assert res.table["crossed_cutoff"].tolist() == [True, False, False, False]


def test_one_session_client_gets_note_and_warning(make_sessions) -> None:
    data = make_sessions({"a": [30, 18], "solo": [25]})
    with pytest.warns(DataWarning, match="1 client.*only one scored session.*solo"):
        res = client_change(data, **KW, rc_points=6, cutoff=10)
    t = res.table.set_index("client")
    assert pd.isna(t.loc["solo", "classification"]) and "only one scored session" in t.loc["solo", "note"]
    assert res.details["n_single_session"] == 1
    assert "client solo: only one scored session" in res.summary()
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(DataError, match="no client has two scored sessions"):
        client_change(make_sessions({"x": [1], "y": [2]}), **KW, rc_points=6)


@settings(max_examples=40, deadline=None)
@given(
    scores=hs.lists(hs.lists(hs.integers(0, 40), min_size=2, max_size=6), min_size=1, max_size=6),
    seed=hs.integers(0, 2**16),
)
def test_property_row_order_irrelevant_and_matches_direct(make_sessions, scores, seed) -> None:
    data = make_sessions({f"c{i}": s for i, s in enumerate(scores)})
    shuffled = data.sample(frac=1, random_state=seed)
    res = client_change(shuffled, **KW, sd=6.0, rxx=0.9, cutoff=10)
    t = res.table.set_index("client").loc[[f"c{i}" for i in range(len(scores))]]
    s_diff = 6.0 * math.sqrt(0.2)
    for (_cid, row), s in zip(t.iterrows(), scores, strict=True):
        change = s[-1] - s[0]
        assert row["change"] == change and row["n_sessions"] == len(s)
        if abs(change / s_diff) <= Z975:
            assert row["classification"] == "unchanged"
        elif change > 0:
            assert row["classification"] == "deteriorated"
        else:
            # recovered only when passing from the dysfunctional side (>= 10) to the functional (< 10)
            assert row["classification"] == ("recovered" if s[0] >= 10 and s[-1] < 10 else "improved")


def test_recovered_needs_a_dysfunctional_start(make_sessions) -> None:
    # issue 10.1: 9 -> 2 with cut-off 10 is a reliable improvement that starts functional: "improved"
    data = make_sessions({"functional": [9, 2], "dysfunctional": [10, 2], "at_cut": [16, 10]})
    res = client_change(data, **KW, rc_points=6, cutoff=10)
    t = res.table.set_index("client")
    assert t["classification"].tolist() == ["improved", "recovered", "improved"]
    assert t["crossed_cutoff"].tolist() == [False, True, False]
    assert "dysfunctional side" in res.details["recovered_rule"]
    # higher is better: 26 -> 32 with cut-off 25 starts functional
    ors = client_change(make_sessions({"a": [26, 32], "b": [25, 31]}), **KW, rc_points=5, cutoff=25,
                        higher_is_worse=False)  # fmt: skip
    assert ors.table["classification"].tolist() == ["improved", "recovered"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rc_points": 6, "cutoff": float("nan")}, "cutoff must be a finite number"),
        ({"rc_points": 6, "cutoff": float("inf")}, "cutoff must be a finite number"),
        ({"rc_points": float("inf")}, "rc_points must be a finite number"),
        ({"sd": float("nan"), "rxx": 0.8}, "sd must be a finite number"),
        ({"sd": 5.0, "rxx": float("nan")}, "rxx must be a finite number"),
    ],
)
def test_non_finite_constants_are_refused(make_sessions, kwargs, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        client_change(make_sessions({"a": [20, 8]}), **KW, **kwargs)


def test_per_client_text_table(make_sessions) -> None:
    res = client_change(make_sessions({"a": [22, 9], "b": [22, 20], "$\\foo{$": [5, 15]}), **KW, rc_points=6,
                        cutoff=10)  # fmt: skip
    assert "client  " not in res.summary()
    lines = res.summary(clients=True).splitlines()
    head = lines.index(next(line for line in lines if line.startswith("client ")))
    assert lines[head].split() == ["client", "pre", "post", "change", "RC", "reliable", "class"]
    rows = {line.split()[0]: line.split() for line in lines[head + 1 :]}
    assert rows["a"] == ["a", "22.00", "9.00", "-13.00", "-", "yes", "recovered"]
    assert rows["b"][-2:] == ["no", "unchanged"] and rows["$\\foo{$"][-1] == "deteriorated"
