"""Tests of sciplab.stats.change.growth: multilevel growth models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from sciplab import ConvergenceWarning, DataError, InvalidParameterError
from sciplab.stats.change import growth_model

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
KW = {"client": "client", "session": "session", "measure": "score"}


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
