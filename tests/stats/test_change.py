"""Tests of sciplab.stats.change: reliable change per client, ETR, ruptures, growth models."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from statsmodels.regression.mixed_linear_model import MixedLM

from sciplab import ConvergenceWarning, DataError, DataWarning, InvalidParameterError
from sciplab.stats.change import (
    Reference,
    alliance_gap,
    client_change,
    detect_ruptures,
    expected_response,
    expected_rupture_type,
    first_last,
    fit_reference,
    growth_model,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
Z975 = 1.959963984540054


def _sessions(values: dict[str, list[float]], start: int = 1) -> pd.DataFrame:
    rows = [(cid, start + i, v) for cid, ys in values.items() for i, v in enumerate(ys)]
    return pd.DataFrame(rows, columns=["client", "session", "score"])


KW = {"client": "client", "session": "session", "measure": "score"}


# ---------------------------------------------------------------------------- reliable change
def test_jacobson_truax_by_hand() -> None:
    # analysis-methods.md section 5: SD 7.5, r_xx .88 -> S_diff = 7.5 sqrt(2 * .12) = 3.6742
    s_diff = 7.5 * math.sqrt(2 * (1 - 0.88))
    assert s_diff == pytest.approx(3.674235, abs=1e-6)
    data = _sessions({"a": [30, 25, 18], "b": [30, 27], "c": [12, 20], "d": [20, 19, 16]})
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


def test_recovered_needs_cutoff_crossed_and_improvement_without_cutoff() -> None:
    data = _sessions({"a": [30, 18], "b": [30, 20]})
    res = client_change(data, **KW, sd=7.5, rxx=0.88, cutoff=19)
    assert res.table["classification"].tolist() == ["recovered", "improved"]
    res = client_change(data, **KW, sd=7.5, rxx=0.88)
    assert res.table["classification"].tolist() == ["improved", "improved"]
    assert "'recovered' cannot be assigned" in res.summary()


def test_core10_published_constants() -> None:
    # CORE-10: reliable change 6 points, cut-off 10 (instrument library; clinical-algorithms.md section 2)
    data = _sessions({"a": [22, 9], "b": [22, 16], "c": [22, 17], "d": [10, 16], "e": [14, 10]})
    res = client_change(data, **KW, rc_points=6, cutoff=10)
    assert res.table["classification"].tolist() == ["recovered", "improved", "unchanged", "deteriorated", "unchanged"]
    assert res.details["method"] == "published-points" and res.details["min_reliable_change"] == 6
    assert np.isnan(res.table["rc"]).all()
    assert "reliable change needs |change| >= 6.000 points" in res.summary()


def test_ors_higher_is_better() -> None:
    # ORS: reliable change 5, cut-off 25 adults, higher = better (clinical-algorithms.md section 2)
    data = _sessions({"a": [18, 31], "b": [18, 24], "c": [30, 24], "d": [20, 25]})
    res = client_change(data, **KW, rc_points=5, cutoff=25, higher_is_worse=False)
    t = res.table
    # d: a change of exactly 5 is reliable (the published-points rule is >=) but 25 is not beyond the cut-off
    assert t["classification"].tolist() == ["recovered", "improved", "deteriorated", "improved"]
    assert t["improvement"].tolist() == [13, 6, -6, 5] and not res.details["higher_is_worse"]
    assert client_change(data, **KW, rc_points=5.5, cutoff=25, higher_is_worse=False).table[
        "classification"
    ].tolist() == ["recovered", "improved", "deteriorated", "unchanged"]
    assert res.table["crossed_cutoff"].tolist() == [True, False, False, False]


def test_one_session_client_gets_note_and_warning() -> None:
    data = _sessions({"a": [30, 18], "solo": [25]})
    with pytest.warns(DataWarning, match="1 client.*only one scored session.*solo"):
        res = client_change(data, **KW, rc_points=6, cutoff=10)
    t = res.table.set_index("client")
    assert pd.isna(t.loc["solo", "classification"]) and "only one scored session" in t.loc["solo", "note"]
    assert res.details["n_single_session"] == 1
    assert "client solo: only one scored session" in res.summary()
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(DataError, match="no client has two scored sessions"):
        client_change(_sessions({"x": [1], "y": [2]}), **KW, rc_points=6)


def test_missing_scores_are_skipped_for_first_and_last() -> None:
    data = _sessions({"a": [np.nan, 30, 20, np.nan]})
    res = client_change(data, **KW, rc_points=6)
    assert res.table[["first_session", "last_session", "pre", "post"]].iloc[0].tolist() == [2, 3, 30, 20]
    assert res.details["n_missing_scores"] == 2


def test_bad_input_errors() -> None:
    data = _sessions({"a": [30, 18, 17], "b": [20, 21]})
    with pytest.raises(DataError, match=r"column 'scor' not found \(did you mean 'score'\?\)"):
        client_change(data, client="client", session="session", measure="scor", rc_points=6)
    with pytest.raises(DataError, match=r"column 'Session' \(argument session\) not found \(did you mean 'session'"):
        client_change(data, client="client", session="Session", measure="score", rc_points=6)
    dup = data.copy()
    dup.loc[2, "session"] = 2
    with pytest.raises(DataError, match=r"client 'a' has session 2 more than once \(row indexes 1, 2\)"):
        client_change(dup, **KW, rc_points=6)
    dated = data.assign(date=["2024-01-01", "2024-01-08", "2024-01-05", "2024-02-01", "2024-02-08"])
    with pytest.raises(DataError, match=r"client 'a': dates are not in session order: session 3 is dated 2024-01-05"):
        client_change(dated, **KW, rc_points=6, date="date")
    ok = client_change(dated.assign(date=["2024-01-01", "2024-01-08", "2024-01-15", "2024-02-01", "2024-02-08"]),
                       **KW, rc_points=6, date="date")  # fmt: skip
    assert ok.details["n_clients"] == 2
    with pytest.raises(DataError, match="is not a date"):
        client_change(dated.assign(date="soon"), **KW, rc_points=6, date="date")
    with pytest.raises(DataError, match=r"column 'score', row index 1: 'x' is not a number"):
        client_change(data.assign(score=["1", "x", "3", "4", "5"]), **KW, rc_points=6)
    with pytest.raises(DataError, match="session -1 is negative"):
        client_change(data.assign(session=[-1, 2, 3, 1, 2]), **KW, rc_points=6)
    with pytest.raises(InvalidParameterError, match="give both sd and rxx"):
        client_change(data, **KW, sd=7.5)
    with pytest.raises(InvalidParameterError, match="needs sd and rxx, or a published rc_points"):
        client_change(data, **KW)
    with pytest.raises(InvalidParameterError, match="rxx must be in"):
        client_change(data, **KW, sd=7.5, rxx=1.2)
    with pytest.raises(InvalidParameterError, match="level"):
        client_change(data, **KW, rc_points=6, level=95)
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        client_change(data.to_dict(), **KW, rc_points=6)


def test_input_not_mutated() -> None:
    data = _sessions({"b": [20, 30], "a": [30, 18]}).sample(frac=1, random_state=1)
    before = data.copy(deep=True)
    client_change(data, **KW, rc_points=6)
    pd.testing.assert_frame_equal(data, before)


@settings(max_examples=40, deadline=None)
@given(
    scores=hs.lists(hs.lists(hs.integers(0, 40), min_size=2, max_size=6), min_size=1, max_size=6),
    seed=hs.integers(0, 2**16),
)
def test_property_row_order_irrelevant_and_matches_direct(scores, seed) -> None:
    data = _sessions({f"c{i}": s for i, s in enumerate(scores)})
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
            assert row["classification"] == ("recovered" if s[-1] < 10 else "improved")


@settings(max_examples=40, deadline=None)
@given(cells=hs.lists(hs.one_of(hs.text(max_size=4), hs.integers(-3, 50), hs.none()), min_size=2, max_size=8))
def test_property_parsed_session_column_never_crashes(cells) -> None:
    data = pd.DataFrame({"client": "a", "session": cells, "score": 1.0})
    try:
        client_change(data, **KW, rc_points=6)
    except (DataError, InvalidParameterError):
        pass
    except DataWarning:  # pragma: no cover - warnings are errors in the suite
        pass


def test_first_last_helper() -> None:
    fl = first_last(_sessions({"a": [3, 2, 1], "b": [4]}), **KW)
    assert fl.to_dict("list")["post"][0] == 1 and np.isnan(fl.to_dict("list")["post"][1])


# ---------------------------------------------------------------------------- expected response
G00, G01, G10, G11 = 24.0, 0.8, -4.0, -0.3
G = np.array([[4.0, -0.8], [-0.8, 1.0]])
SIGMA = 2.0
INTAKE_MEAN = 25.0


def _simulate(n_clients: int, n_sessions: int, seed: int, offset: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    intake = rng.normal(INTAKE_MEAN, 5.0, n_clients)
    u = rng.multivariate_normal([0, 0], G, n_clients)
    t = np.arange(n_sessions)
    L = np.log(t + 1.0)
    ic = intake - INTAKE_MEAN
    b0 = G00 + G01 * ic + u[:, 0]
    b1 = G10 + G11 * ic + u[:, 1]
    y = b0[:, None] + b1[:, None] * L[None, :] + rng.normal(0, SIGMA, (n_clients, n_sessions))
    return pd.DataFrame(
        {
            "client": np.repeat(np.arange(n_clients) + offset, n_sessions),
            "session": np.tile(t, n_clients),
            "score": y.ravel(),
            "intake": np.repeat(intake, n_sessions),
        }
    )


@pytest.fixture(scope="module")
def sim_ref() -> tuple[pd.DataFrame, Reference]:
    data = _simulate(300, 10, seed=11)
    return data, fit_reference(data, **KW, intake="intake")


def test_etr_recovers_simulated_parameters(sim_ref) -> None:
    _, ref = sim_ref
    f = ref.fit
    est, se = np.array(f["fe"]), np.array(f["bse_fe"])
    # fixed effects on intake centred at the sample mean: shift the truth accordingly
    dm = f["intake_mean"] - INTAKE_MEAN
    truth = np.array([G00 + G01 * dm, G01, G10 + G11 * dm, G11])
    assert np.all(np.abs(est - truth) < 3.5 * se), (est, truth, se)
    np.testing.assert_allclose(f["sigma2"], SIGMA**2, rtol=0.1)
    np.testing.assert_allclose(np.array(f["cov_re"]), G, atol=0.6)
    assert f["converged"] and f["n_clients"] == 300 and f["n_obs"] == 3000
    assert "intake centred at" in ref.summary()


def test_etr_curve_and_band_coverage(sim_ref) -> None:
    _, ref = sim_ref
    new = _simulate(400, 10, seed=99, offset=10_000)
    res = expected_response(ref, new, q_yellow=0.80, q_red=0.90)
    t = res.table
    # expected curve = the true conditional mean curve within Monte Carlo error
    ic = t["client"].map(new.groupby("client")["intake"].first()).to_numpy() - INTAKE_MEAN
    L = np.log(t["session"].to_numpy() + 1)
    truth = G00 + G01 * ic + (G10 + G11 * ic) * L
    assert np.max(np.abs(t["expected"].to_numpy() - truth)) < 1.0
    # one-sided exceedance of the bounds on new clients from the same process: 20% and 10%
    assert abs((t["observed"] > t["bound_yellow"]).mean() - 0.20) < 0.03
    assert abs((t["observed"] > t["bound_red"]).mean() - 0.10) < 0.025
    # Var_pred by hand for one session
    f = ref.fit
    i0 = float(new.loc[new["client"] == 10_000, "intake"].iloc[0]) - f["intake_mean"]
    x = np.array([1, i0, np.log(4), i0 * np.log(4)])
    z = np.array([1, np.log(4)])
    var = x @ np.array(f["cov_fe"]) @ x + z @ np.array(f["cov_re"]) @ z + f["sigma2"]
    row = t[(t["client"] == 10_000) & (t["session"] == 3)].iloc[0]
    assert row["se_pred"] == pytest.approx(math.sqrt(var))
    assert row["bound_red"] == pytest.approx(row["expected"] + 1.2815515655446004 * math.sqrt(var))


def test_traffic_lights_follow_the_rules(sim_ref) -> None:
    _, ref = sim_ref
    curve = expected_response(ref, _simulate(1, 1, seed=3, offset=7)).curve
    assert list(curve["session"]) == list(range(10))
    c = curve.set_index("session")
    y = [
        float(c.loc[0, "expected"]),  # first measurement: grey
        float(c.loc[1, "expected"]),  # session 1 < min_session: grey
        float(c.loc[2, "bound_yellow"]) + 0.01,  # beyond yellow, not red
        float(c.loc[3, "bound_red"]) + 0.01,  # beyond red
        float(c.loc[4, "expected"]),  # green
        5.0,  # functional range (below cut-off 8): white, even though far from expected
    ]
    client = pd.DataFrame({"client": 7, "session": range(6), "score": y, "intake": c.attrs.get("intake", 0.0)})
    client["intake"] = _simulate(1, 1, seed=3, offset=7)["intake"].iloc[0]
    res = expected_response(ref, client, cutoff=8)
    assert res.table["status"].tolist() == ["grey", "grey", "yellow", "red", "green", "white"]
    assert res.details["q_yellow"] == 0.8 and res.details["clients"]["7"]["intake"] == client["intake"].iloc[0]
    # configurable: a lower min_session and looser quantiles change the lights
    loose = expected_response(ref, client, q_yellow=0.95, q_red=0.99, min_session=1)
    assert loose.table["status"].tolist()[1:4] == ["green", "green", "green"]
    # lower-is-worse direction flips the bounds
    flipped = expected_response(ref, client, higher_is_worse=False)
    assert (flipped.table["bound_red"] < flipped.table["expected"]).all()
    text = res.summary()
    assert "client 7: session 5 observed 5.00" in text and "white" in text
    json.dumps(res.to_dict(), allow_nan=False)


def test_reference_save_load_roundtrip(sim_ref, tmp_path) -> None:
    data, ref = sim_ref
    path = ref.save(tmp_path / "ref.json")
    back = Reference.load(path)
    assert back.fit == json.loads(path.read_text())["fit"] and back.parameters["min_clients"] == 20
    new = data[data["client"] < 3]
    a, b = expected_response(ref, new), expected_response(back, new)
    pd.testing.assert_frame_equal(a.table, b.table)
    obj = json.loads(path.read_text())
    assert obj["format"] == "sciplab-etr-reference" and obj["format_version"] == 1
    obj["format_version"] = 99
    (tmp_path / "v99.json").write_text(json.dumps(obj))
    with pytest.raises(DataError, match="format version 99 is not supported"):
        Reference.load(tmp_path / "v99.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="not a JSON reference"):
        Reference.load(tmp_path / "bad.json")
    with pytest.raises(DataError, match="not found"):
        Reference.load(tmp_path / "missing.json")


def test_reference_refuses_too_few_clients() -> None:
    data = _simulate(12, 6, seed=1)
    with pytest.raises(DataError, match="a hlm reference needs at least 20 clients .* the data have 12"):
        fit_reference(data, **KW)
    with pytest.raises(DataError, match=r"a nn reference needs at least 50 clients .* \(k = 50 neighbours\)"):
        fit_reference(_simulate(30, 4, seed=1), **KW, method="nn")
    # clients with one session do not count
    solo = pd.DataFrame({"client": range(100, 130), "session": 0, "score": 20.0})
    with pytest.raises(DataError, match="the data have 12"):
        fit_reference(pd.concat([data, solo]), **KW)
    with pytest.raises(InvalidParameterError, match="method must be"):
        fit_reference(data, **KW, method="oq")


def _kind(n: int, seed: int, offset: int, b0: float, b1: float, intake: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u0, u1 = rng.normal(0, 1.5, n), rng.normal(0, 0.5, n)
    t = np.tile(np.arange(8), n)
    c = np.repeat(np.arange(n), 8)
    y = b0 + u0[c] + (b1 + u1[c]) * np.log(t + 1) + rng.normal(0, 1, len(t))
    return pd.DataFrame({"client": c + offset, "session": t, "score": y, "intake": intake + c % 3})


def test_nearest_neighbour_reference(tmp_path) -> None:
    # two kinds of clients: fast responders with low intake, slow with high intake
    fast = _kind(60, 5, 0, 20.0, -6.0, 15.0)
    slow = _kind(60, 6, 100, 30.0, -1.0, 35.0)
    ref = fit_reference(pd.concat([fast, slow]), **KW, intake="intake", method="nn", k=40)
    back = Reference.load(ref.save(tmp_path / "nn.json"))
    new = pd.DataFrame({"client": ["lo", "lo", "hi", "hi"], "session": [0, 4, 0, 4], "score": [20, 11, 30, 28.4],
                        "intake": [16, 16, 36, 36]})  # fmt: skip
    res = expected_response(back, new)
    t = res.table.set_index(["client", "session"])
    assert t.loc[("lo", 4), "expected"] == pytest.approx(20 - 6 * np.log(5), abs=0.5)
    assert t.loc[("hi", 4), "expected"] == pytest.approx(30 - np.log(5), abs=0.5)
    assert all(c < 100 for c in res.details["clients"]["lo"]["neighbours"])
    assert all(c >= 100 for c in res.details["clients"]["hi"]["neighbours"])
    assert "k = 40 nearest neighbours on intake" in ref.summary()
    assert res.details["sources"] == ["Finch, Lambert & Schaalje (2001)", "Lutz et al. (2006)"]


def test_expected_response_bad_input(sim_ref) -> None:
    data, ref = sim_ref
    with pytest.raises(DataError, match="column 'intake'"):
        expected_response(ref, data.drop(columns="intake"))
    with pytest.raises(InvalidParameterError, match="q_red"):
        expected_response(ref, data, q_yellow=0.9, q_red=0.8)
    with pytest.raises(InvalidParameterError, match="must be a Reference"):
        expected_response({"fit": {}}, data)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="varies within client"):
        expected_response(ref, data.assign(intake=np.arange(len(data))).head(20))


# ---------------------------------------------------------------------------- ruptures
def _alliance(a: list[float], cid: str = "c1") -> pd.DataFrame:
    return pd.DataFrame({"client": cid, "session": range(1, len(a) + 1), "wai": a})


RKW = {"client": "client", "session": "session", "alliance": "wai"}
COLS = ["rule", "start_session", "onset_session", "trough_session", "repair_session", "pattern", "status"]


def test_simple_v() -> None:
    res = detect_ruptures(_alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1, 5.0]), **RKW, sd_ref=0.3)
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


def test_slow_decline_with_sudden_repair() -> None:
    a = [5.5, 5.6, 5.5, 5.6, 5.2, 4.8, 4.4, 4.0, 5.5, 5.6]
    res = detect_ruptures(_alliance(a), **RKW, sd_ref=0.3)
    assert res.table[COLS].to_numpy().tolist() == [
        ["lenient (1 SD)", 5, 5, 8, 9, "decline-sudden-repair", "repaired"],
        ["strict (2 SD)", 5, 6, 8, 9, "decline-sudden-repair", "repaired"],
    ]
    assert res.table["decline_length"].tolist() == [4, 4]


def test_noisy_stable_course_does_not_flag() -> None:
    a = [5.0, 5.6, 5.1, 5.7, 5.0, 5.5, 4.9, 5.6, 5.0, 5.6, 5.1, 5.5]
    # sd_ref None: pooled from the data; 0.3: a realistic reference SD. (With an implausibly small
    # sd_ref the first sessions, before 3 differences exist, are judged by sd_ref alone.)
    for sd_ref in (None, 0.3):
        res = detect_ruptures(_alliance(a), **RKW, sd_ref=sd_ref)
        assert res.table.empty, res.table
    assert "no ruptures detected" in res.summary()


def test_intra_individual_sd_used_when_larger() -> None:
    # a noisy client: a dip of 1.0 exceeds 2 x the reference SD (0.3) but not 2 x the client's own SD
    a = [5.0, 5.8, 4.9, 5.9, 5.0, 5.8, 4.8, 5.8, 5.7]
    res = detect_ruptures(_alliance(a), **RKW, sd_ref=0.3, rules=(2,))
    assert res.table.empty
    flat = detect_ruptures(_alliance([5.0, 5.0, 5.0, 5.0, 4.0, 5.0]), **RKW, sd_ref=0.3, rules=(2,))
    assert flat.table["sd_source"].tolist() == ["inter-individual"] and flat.table["pattern"].tolist() == ["V"]


def test_unresolved_rupture_is_escalated_and_pending_is_not() -> None:
    res = detect_ruptures(_alliance([5.2, 5.3, 5.2, 5.3, 3.5, 3.6, 3.4, 3.6, 3.5, 3.6]), **RKW, sd_ref=0.3)
    assert res.table["status"].tolist() == ["unresolved", "unresolved"] and res.table["escalate"].all()
    assert res.details["n_unresolved"] == 2 and "ESCALATE" in res.summary()
    pending = detect_ruptures(_alliance([5.2, 5.3, 5.2, 5.3, 3.5, 3.6]), **RKW, sd_ref=0.3)
    assert pending.table["status"].tolist() == ["pending", "pending"] and not pending.table["escalate"].any()


def test_slow_repair_is_u_shaped_and_lenient_only() -> None:
    # drop 0.5 >= 1 x 0.3 but < 2 x 0.3; back above baseline - thr/2 = 4.85 only at session 7
    res = detect_ruptures(_alliance([5.0, 5.0, 5.0, 5.0, 4.5, 4.7, 4.9, 5.0]), **RKW, sd_ref=0.3)
    assert res.table[COLS].to_numpy().tolist() == [["lenient (1 SD)", 5, 5, 5, 7, "U/slow", "repaired"]]
    # lenient: back to 5 - 0.3/2 = 4.85 at session 8; strict: to 5 - 0.6/2 = 4.7 at session 7
    res = detect_ruptures(_alliance([5.0, 5.0, 5.0, 5.0, 4.0, 4.3, 4.75, 5.0]), **RKW, sd_ref=0.3)
    assert res.table["pattern"].tolist() == ["U/slow", "U/slow"] and res.table["repair_length"].tolist() == [3, 2]


def test_ruptures_several_clients_attachment_and_defaults() -> None:
    data = pd.concat([
        _alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1], "anx"),
        _alliance([5.0, 5.0, 5.1, 5.0, 5.1, 5.0, 5.0], "sec"),
        _alliance([4.0], "solo"),
    ])  # fmt: skip
    data["pattern"] = data["client"].map({"anx": "preoccupied", "sec": "secure", "solo": ""})
    res = detect_ruptures(data, **RKW, attachment="pattern")
    assert set(res.table["client"]) == {"anx"} and res.table["expected_rupture"].tolist() == ["confrontation"] * 2
    assert res.details["notes"] == {"solo": "only one alliance rating: no rupture can be detected"}
    assert res.details["sd_ref_source"].startswith("pooled SD of session-to-session differences in the data (n = 12)")
    assert "attachment preoccupied -> watch for confrontation" in res.summary()
    mapped = detect_ruptures(data, **RKW, attachment={"anx": "avoidant"})
    assert mapped.table["expected_rupture"].tolist() == ["withdrawal"] * 2
    json.dumps(res.to_dict(), allow_nan=False)


def test_expected_rupture_types() -> None:
    assert expected_rupture_type("anxious")["expected_rupture"] == "confrontation"
    assert expected_rupture_type("Preoccupied")["also"] == "deferential withdrawal"
    d = expected_rupture_type("dismissing")
    assert d["expected_rupture"] == "withdrawal" and "scip-model.md" in d["sources"][0]
    assert "[inference]" in d["evidence"]
    with pytest.raises(InvalidParameterError, match="did you mean 'avoidant'"):
        expected_rupture_type("avoidnt")


def test_rupture_bad_input() -> None:
    data = _alliance([5.0, 5.1, 5.0])
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


# ---------------------------------------------------------------------------- growth models
def _growth_data(seed: int = 4, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u0, u1 = rng.normal(0, 2, n), rng.normal(0, 0.5, n)
    stress_mean = rng.normal(0, 1, n)
    rows = []
    for c in range(n):
        for t in range(7):
            stress = stress_mean[c] + rng.normal(0, 1)
            w = stress - stress_mean[c]
            y = 20 + u0[c] + (-2 + u1[c]) * np.log(t + 1) + 0.8 * w + 1.5 * stress_mean[c] + rng.normal(0, 1)
            rows.append((c, t, y, stress, c % 2))
    return pd.DataFrame(rows, columns=["client", "session", "score", "stress", "group"])


def test_growth_model_matches_direct_statsmodels() -> None:
    data = _growth_data()
    res = growth_model(data, **KW, time="log", predictors=["group"])
    L = np.log(data["session"] + 1.0)
    X = pd.DataFrame({"intercept": 1.0, "time": L, "group": data["group"].astype(float)})
    direct = MixedLM(data["score"], X, groups=data["client"], exog_re=X[["intercept", "time"]]).fit(method="lbfgs")
    t = res.table
    fixed = t[t["op"].isin(["~", "~1"])]
    np.testing.assert_allclose(fixed["est"], direct.fe_params, rtol=1e-8)
    np.testing.assert_allclose(fixed["se"], direct.bse_fe, rtol=1e-6)
    np.testing.assert_allclose(t.loc[t["label"] == "residual", "est"], direct.scale, rtol=1e-8)
    np.testing.assert_allclose(t.loc[t["label"] == "G[intercept,time]", "est"], direct.cov_re.iloc[0, 1], rtol=1e-6)
    assert res.details["converged"] and res.details["n_clients"] == 60
    assert list(t.columns) == ["lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper",
                               "std_all"]  # fmt: skip
    assert "score ~ ln(session + 1): 420 observations, 60 clients" in res.summary()


def test_within_between_decomposition_recovers_both_effects() -> None:
    data = _growth_data(seed=8, n=120)
    res = growth_model(data, **KW, within_between=["stress"])
    est = res.table.set_index("label")["est"]
    se = res.table.set_index("label")["se"]
    assert abs(est["stress_within"] - 0.8) < 3 * se["stress_within"]
    assert abs(est["stress_between"] - 1.5) < 3 * se["stress_between"]
    assert res.details["centring"].startswith("person-mean")


def test_growth_convergence_problem_is_reported() -> None:
    # no between-client variability at all: the random-effects covariance sits on the boundary
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"client": np.repeat(range(20), 5), "session": np.tile(range(5), 20)})
    data["score"] = 10 - 0.5 * data["session"] + rng.normal(0, 1, len(data))
    with pytest.warns(ConvergenceWarning, match="growth model"):
        res = growth_model(data, **KW, time="linear")
    assert not res.details["converged"] and res.details["convergence_messages"]
    assert "CONVERGENCE PROBLEMS" in res.summary()


def test_growth_bad_input() -> None:
    data = _growth_data(n=5)
    with pytest.raises(DataError, match="did you mean 'stress'"):
        growth_model(data, **KW, predictors=["stres"])
    with pytest.raises(InvalidParameterError, match="time must be"):
        growth_model(data, **KW, time="quadratic")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="only one session"):
        growth_model(data[data["session"] == 0], **KW)


def test_demo_growth_parity() -> None:
    path = DATA / "Demo.growth.csv"
    if not path.exists():
        pytest.skip(f"shared test data {path} not available (expected at <repo>/../shared/data)")
    wide = pd.read_csv(path)
    long = wide.reset_index(names="id").melt(id_vars="id", value_vars=["t1", "t2", "t3", "t4"], value_name="y")
    long["t"] = long["variable"].str[1].astype(int) - 1
    res = growth_model(long, client="id", session="t", measure="y", time="linear")
    X = pd.DataFrame({"intercept": 1.0, "time": long["t"].astype(float)})
    direct = MixedLM(long["y"], X, groups=long["id"], exog_re=X).fit(method="lbfgs")
    fixed = res.table[res.table["op"].isin(["~", "~1"])]
    np.testing.assert_allclose(fixed["est"], direct.fe_params, rtol=1e-8)
    # balanced complete data: the fixed effects are close to the OLS line through the wave means
    means = wide[["t1", "t2", "t3", "t4"]].mean().to_numpy()
    slope, icpt = np.polyfit(np.arange(4), means, 1)
    np.testing.assert_allclose(fixed["est"], [icpt, slope], atol=0.02)
