"""Tests of sciplab.stats.change.expected: ETR references, expected curves, traffic lights."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from sciplab import DataError, InvalidParameterError
from sciplab.stats.change import Reference, expected_response, fit_reference

KW = {"client": "client", "session": "session", "measure": "score"}


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


def _mutations(obj: dict) -> list[tuple[str, object]]:
    """(description, mutated reference) pairs: each must be refused with a DataError naming the field."""
    import copy

    out = []

    def put(desc, path, value):
        m = copy.deepcopy(obj)
        node = m
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        out.append((desc, m))

    put("no fit", ["fit"], KeyError)
    put("fit a list", ["fit"], [1, 2])
    put("method unknown", ["method"], "oq")
    put("no columns", ["columns"], KeyError)
    put("measure not text", ["columns", "measure"], 3)
    put("no fe", ["fit", "fe"], KeyError)
    put("fe too short", ["fit", "fe"], [1.0, 2.0])
    put("fe text", ["fit", "fe"], ["a", "b", "c", "d"])
    put("fe NaN", ["fit", "fe"], [None, 1.0, 2.0, 3.0])
    put("cov_fe ragged", ["fit", "cov_fe"], [[1.0], [2.0, 3.0]])
    put("cov_re 3x3", ["fit", "cov_re"], np.eye(3).tolist())
    put("cov_re not symmetric", ["fit", "cov_re"], [[1.0, 0.5], [0.2, 1.0]])
    put("cov_re not positive definite", ["fit", "cov_re"], [[1.0, 2.0], [2.0, 1.0]])
    put("cov_re zero", ["fit", "cov_re"], [[0.0, 0.0], [0.0, 0.0]])
    put("sigma2 negative", ["fit", "sigma2"], -4.0)
    put("sigma2 text", ["fit", "sigma2"], "4")
    put("sigma2 bool", ["fit", "sigma2"], True)
    put("intake_mean missing", ["fit", "intake_mean"], KeyError)
    put("session_max infinite", ["fit", "session_max"], 1e999)
    put("messages not texts", ["fit", "messages"], [1])
    put("fe_names wrong", ["fit", "fe_names"], ["a", "b", "c", "d"])
    return out


def test_reference_file_schema_is_validated(sim_ref, tmp_path) -> None:
    _, ref = sim_ref
    good = json.loads(json.dumps(ref.to_dict()))
    for i, (desc, bad) in enumerate(_mutations(good)):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(DataError, match=str(path).replace("\\", "\\\\")) as info:
            Reference.load(path)
        assert "field" in str(info.value) or "not a SCIP Lab" in str(info.value), (desc, info.value)
    nested = tmp_path / "deep.json"
    nested.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(DataError, match="nested too deeply"):
        Reference.load(nested)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="reference file is not UTF-8 text"):
        Reference.load(binary)


def test_nn_reference_data_table_is_validated(tmp_path) -> None:
    fast = _kind(60, 5, 0, 20.0, -6.0, 15.0)
    ref = fit_reference(fast, **KW, intake="intake", method="nn", k=10)
    obj = json.loads(json.dumps(ref.to_dict()))
    for key, value, message in [
        ("y", [None] * len(obj["data"]["y"]), "column 'y' of the data table must hold finite numbers"),
        ("session", obj["data"]["session"][:-1], "equal length"),
        ("intake", KeyError, "has no field 'intake'"),
    ]:
        bad = json.loads(json.dumps(obj))
        if value is KeyError:
            del bad["data"][key]
        else:
            bad["data"][key] = value
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(DataError, match=message):
            Reference.load(path)
    bad = json.loads(json.dumps(obj))
    bad["parameters"]["k"] = 1000
    (tmp_path / "k.json").write_text(json.dumps(bad))
    with pytest.raises(DataError, match="fewer clients than k = 1000"):
        Reference.load(tmp_path / "k.json")


def test_reference_with_absurd_intake_centre_is_refused_not_nan(sim_ref, tmp_path) -> None:
    # found by the property below: fit.intake_mean = 4.19e155 loaded, and the bounds came out non-finite
    _, ref = sim_ref
    obj = json.loads(json.dumps(ref.to_dict()))
    obj["fit"]["intake_mean"] = 1e200  # the property hit 4.19e155 with its own draws
    path = tmp_path / "r.json"
    path.write_text(json.dumps(obj))
    try:
        loaded = Reference.load(path)
    except DataError:
        return
    with pytest.raises(DataError, match="no finite expected curve"):
        expected_response(loaded, _simulate(2, 4, seed=3, offset=500))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hs.data())
def test_property_any_mutated_reference_is_refused_or_usable(sim_ref, tmp_path_factory, data) -> None:
    _, ref = sim_ref
    obj = json.loads(json.dumps(ref.to_dict()))
    section = data.draw(hs.sampled_from(["fit", "columns", "parameters"]))
    key = data.draw(hs.sampled_from(sorted(obj[section])))
    junk = hs.one_of(
        hs.none(), hs.booleans(), hs.integers(), hs.floats(), hs.text(max_size=5), hs.lists(hs.floats(), max_size=5),
        hs.dictionaries(hs.text(max_size=3), hs.integers(), max_size=2),
    )  # fmt: skip
    obj[section][key] = data.draw(junk)
    path = tmp_path_factory.mktemp("ref") / "r.json"
    path.write_text(json.dumps(obj))
    try:
        loaded = Reference.load(path)
    except DataError:
        return
    # accepted: then it works with finite bounds, or refuses the data with a typed error (a renamed column)
    new = _simulate(2, 4, seed=3, offset=500)
    try:
        res = expected_response(loaded, new)
    except (DataError, InvalidParameterError):
        return
    assert np.isfinite(res.table["bound_red"]).all()
