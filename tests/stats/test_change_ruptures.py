"""Tests of sciplab.stats.change.ruptures: rupture-repair episodes and perspective gaps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sciplab import DataError, InvalidParameterError
from sciplab.stats.change import alliance_gap, detect_ruptures, rupture_episodes

# ---------------------------------------------------------------------------- ruptures
RKW = {"client": "client", "session": "session", "alliance": "wai"}
COLS = ["rule", "start_session", "onset_session", "trough_session", "repair_session", "pattern", "status"]


def test_simple_v(make_alliance) -> None:
    res = detect_ruptures(make_alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1, 5.0]), **RKW, sd_ref=0.3)
    assert res.table[COLS].to_numpy().tolist() == [
        ["lenient (1 SD)", 5, 5, 5, 6, "V", "repaired"],
        ["strict (2 SD)", 5, 5, 5, 6, "V", "repaired"],
    ]
    e = res.table.iloc[0]
    base = (5.0 + 5.1 + 5.0) / 3  # k = 3 sessions ending at the peak (session 4)
    base = (5.1 + 5.0 + 5.1) / 3
    assert e["baseline"] == pytest.approx(base) and e["depth_sd"] == pytest.approx((base - 3.6) / 0.3)
    assert e["sd_source"] == "inter-individual" and e["threshold"] == pytest.approx(0.3)
    assert not e["escalate"]
    assert "repaired at session 6 (V)" in res.summary()


def test_slow_decline_with_sudden_repair(make_alliance) -> None:
    a = [5.5, 5.6, 5.5, 5.6, 5.2, 4.8, 4.4, 4.0, 5.5, 5.6]
    res = detect_ruptures(make_alliance(a), **RKW, sd_ref=0.3)
    assert res.table[COLS].to_numpy().tolist() == [
        ["lenient (1 SD)", 5, 5, 8, 9, "decline-sudden-repair", "repaired"],
        ["strict (2 SD)", 5, 6, 8, 9, "decline-sudden-repair", "repaired"],
    ]
    assert res.table["decline_length"].tolist() == [4, 4]


def test_noisy_stable_course_does_not_flag(make_alliance) -> None:
    a = [5.0, 5.6, 5.1, 5.7, 5.0, 5.5, 4.9, 5.6, 5.0, 5.6, 5.1, 5.5]
    # sd_ref None: pooled from the data; 0.3: a realistic reference SD. (With an implausibly small
    # sd_ref the first sessions, before 3 differences exist, are judged by sd_ref alone.)
    for sd_ref in (None, 0.3):
        res = detect_ruptures(make_alliance(a), **RKW, sd_ref=sd_ref)
        assert res.table.empty, res.table
    assert "no ruptures detected" in res.summary()


def test_intra_individual_sd_used_when_larger(make_alliance) -> None:
    # a noisy client: a dip of 1.0 exceeds 2 x the reference SD (0.3) but not 2 x the client's own SD
    a = [5.0, 5.8, 4.9, 5.9, 5.0, 5.8, 4.8, 5.8, 5.7]
    res = detect_ruptures(make_alliance(a), **RKW, sd_ref=0.3, rules=(2,))
    assert res.table.empty
    flat = detect_ruptures(make_alliance([5.0, 5.0, 5.0, 5.0, 4.0, 5.0]), **RKW, sd_ref=0.3, rules=(2,))
    assert flat.table["sd_source"].tolist() == ["inter-individual"] and flat.table["pattern"].tolist() == ["V"]


def test_unresolved_rupture_is_escalated_and_pending_is_not(make_alliance) -> None:
    res = detect_ruptures(make_alliance([5.2, 5.3, 5.2, 5.3, 3.5, 3.6, 3.4, 3.6, 3.5, 3.6]), **RKW, sd_ref=0.3)
    assert res.table["status"].tolist() == ["unresolved", "unresolved"] and res.table["escalate"].all()
    assert res.details["n_unresolved"] == 2 and "ESCALATE" in res.summary()
    pending = detect_ruptures(make_alliance([5.2, 5.3, 5.2, 5.3, 3.5, 3.6]), **RKW, sd_ref=0.3)
    assert pending.table["status"].tolist() == ["pending", "pending"] and not pending.table["escalate"].any()


def test_slow_repair_is_u_shaped_and_lenient_only(make_alliance) -> None:
    # drop 0.5 >= 1 x 0.3 but < 2 x 0.3; back above baseline - thr/2 = 4.85 only at session 7
    res = detect_ruptures(make_alliance([5.0, 5.0, 5.0, 5.0, 4.5, 4.7, 4.9, 5.0]), **RKW, sd_ref=0.3)
    assert res.table[COLS].to_numpy().tolist() == [["lenient (1 SD)", 5, 5, 5, 7, "U/slow", "repaired"]]
    # lenient: back to 5 - 0.3/2 = 4.85 at session 8; strict: to 5 - 0.6/2 = 4.7 at session 7
    res = detect_ruptures(make_alliance([5.0, 5.0, 5.0, 5.0, 4.0, 4.3, 4.75, 5.0]), **RKW, sd_ref=0.3)
    assert res.table["pattern"].tolist() == ["U/slow", "U/slow"] and res.table["repair_length"].tolist() == [3, 2]


def test_ruptures_several_clients_and_defaults(make_alliance) -> None:
    data = pd.concat([
        make_alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1], "anx"),
        make_alliance([5.0, 5.0, 5.1, 5.0, 5.1, 5.0, 5.0], "sec"),
        make_alliance([4.0], "solo"),
    ])  # fmt: skip
    res = detect_ruptures(data, **RKW)
    assert set(res.table["client"]) == {"anx"} and "expected_rupture" not in res.table.columns
    assert res.details["notes"] == {"solo": "only one alliance rating: no rupture can be detected"}
    assert res.details["sd_ref_source"].startswith("pooled SD of session-to-session differences in the data (n = 12)")
    json.dumps(res.to_dict(), allow_nan=False)


def test_rupture_bad_input(make_alliance) -> None:
    data = make_alliance([5.0, 5.1, 5.0])
    with pytest.raises(DataError, match="did you mean 'wai'"):
        detect_ruptures(data, client="client", session="session", alliance="WAl")
    with pytest.raises(InvalidParameterError, match="J must be an integer"):
        detect_ruptures(data, **RKW, J=0)
    with pytest.raises(InvalidParameterError, match="rules"):
        detect_ruptures(data, **RKW, rules=(0,))
    with pytest.raises(DataError, match="fewer than 3 session-to-session differences"):
        detect_ruptures(data, **RKW)
    with pytest.raises(DataError, match="session 2 more than once"):
        detect_ruptures(data.assign(session=[1, 2, 2]), **RKW, sd_ref=0.3)


def test_alliance_gap() -> None:
    df = pd.DataFrame({"client": 1, "session": [1, 2, 3, 4], "c": [5.0, 5.5, 6.0, 4.0], "t": [4.9, 5.4, 4.0, 5.5]})
    res = alliance_gap(df, client="client", session="session", client_alliance="c", therapist_alliance="t",
                       threshold=1.5)  # fmt: skip
    assert res.table["flag"].tolist() == [False, False, True, True]
    assert res.table["direction"].tolist()[2:] == ["client higher", "therapist higher"]
    assert res.table["direction"].iloc[:2].isna().all()
    default = alliance_gap(df, client="client", session="session", client_alliance="c", therapist_alliance="t")
    assert default.details["threshold"] == pytest.approx(df["c"].std(ddof=1))
    assert "client 1 session 3: gap +2.00 (client higher)" in res.summary()


def test_huge_repair_window_is_refused_and_large_one_is_fast(make_alliance) -> None:
    data = make_alliance([5.2, 5.3, 5.2, 5.3, 3.5, 3.6, 3.4, 3.6, 3.5, 3.6])
    with pytest.raises(InvalidParameterError, match=r"J must be an integer from 1 to 1000 \(sessions\)"):
        detect_ruptures(data, **RKW, sd_ref=0.3, J=99999999999999999999)
    with pytest.raises(InvalidParameterError, match="k must be an integer"):
        detect_ruptures(data, **RKW, sd_ref=0.3, k=True)
    with pytest.raises(InvalidParameterError, match="sd_ref must be a finite number"):
        detect_ruptures(data, **RKW, sd_ref=float("nan"))
    with pytest.raises(InvalidParameterError, match="rules must be positive, finite"):
        detect_ruptures(data, **RKW, sd_ref=0.3, rules=(1, float("inf")))
    # the longest window allowed: the episode stays pending (the series ends first)
    res = detect_ruptures(data, **RKW, sd_ref=0.3, J=1000)
    assert res.table["status"].tolist() == ["pending", "pending"]


def test_kernel_repair_search_matches_a_loop_over_the_window() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        a = np.round(5 + rng.normal(0, 0.6, rng.integers(2, 14)), 1)
        for J in (1, 2, 3, 7):
            got = rupture_episodes(a, m=1.0, sd_ref=0.3, k=3, J=J)
            for e in got:
                base, thr, trough = e["baseline"], e["threshold"], e["trough"]
                want = next((trough + j for j in range(1, J + 1)
                             if trough + j < len(a) and a[trough + j] >= base - thr / 2), None)  # fmt: skip
                assert e["repair"] == want
