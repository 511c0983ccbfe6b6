"""Tests of sciplab.stats.paths against independent computations (statsmodels, pingouin, numpy)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciplab._core.errors import DataError, DataWarning, InvalidParameterError, ModelSyntaxError, SciplabError
from sciplab.stats import _bootstrap as bs
from sciplab.stats import _formulas as kf
from sciplab.stats._path_boot import bootstrap as _bootstrap
from sciplab.stats._path_boot import jackknife as _jackknife
from sciplab.stats._path_boot import stack as _stack
from sciplab.stats._path_model import _Engine
from sciplab.stats.paths import PathResult, _compile, paths


def make_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    w = rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m2 = 0.3 * m1 + 0.2 * x + rng.normal(size=n)
    y = 0.4 * m2 + 0.2 * m1 + 0.1 * x + 0.3 * w + rng.normal(size=n)
    return pd.DataFrame({"x": x, "w": w, "m1": m1, "m2": m2, "y": y})


SERIAL = """
m1 ~ a1*x
m2 ~ d21*m1 + a2*x
y ~ b2*m2 + b1*m1 + x + w
serial := a1*d21*b2
"""


def row(res, lhs, op, rhs=""):
    t = res.table
    sel = t[(t["lhs"] == lhs) & (t["op"] == op) & (t["rhs"] == rhs)]
    assert len(sel) == 1, (lhs, op, rhs)
    return sel.iloc[0]


@pytest.fixture(scope="module")
def serial_fit():
    return paths(make_data(), SERIAL + "y ~ 1", bootstrap=1000, seed=11)


def test_coefficients_ses_r2_match_statsmodels(serial_fit):
    df = make_data()
    res = serial_fit
    ols = sm.OLS(df["y"], sm.add_constant(df[["m2", "m1", "x", "w"]])).fit()
    for name in ["m2", "m1", "x", "w"]:
        r = row(res, "y", "~", name)
        np.testing.assert_allclose(r["est"], ols.params[name], rtol=1e-10)
        np.testing.assert_allclose(r["se"], ols.bse[name], rtol=1e-8)
        np.testing.assert_allclose(
            r["pvalue"], 2 * __import__("scipy").stats.norm.sf(abs(ols.tvalues[name])), rtol=1e-6
        )
    np.testing.assert_allclose(row(res, "y", "~1")["est"], ols.params["const"], rtol=1e-9)
    np.testing.assert_allclose(row(res, "y", "~1")["se"], ols.bse["const"], rtol=1e-8)
    np.testing.assert_allclose(row(res, "y", "r2", "y")["est"], ols.rsquared, rtol=1e-10)
    np.testing.assert_allclose(row(res, "y", "~~", "y")["est"], ols.scale, rtol=1e-10)
    np.testing.assert_allclose(res.details["r2"]["y"], ols.rsquared, rtol=1e-10)
    ols_m2 = sm.OLS(df["m2"], sm.add_constant(df[["m1", "x"]])).fit()
    np.testing.assert_allclose(row(res, "m2", "~", "m1")["est"], ols_m2.params["m1"], rtol=1e-10)
    np.testing.assert_allclose(row(res, "m2", "~", "x")["se"], ols_m2.bse["x"], rtol=1e-8)


def test_standardized_equal_ols_on_z_scores():
    # in a saturated (just-identified) model implied variances equal the observed ones
    df = make_data()
    res = paths(df, "m1 ~ x + w\nm2 ~ m1 + x + w\ny ~ m2 + m1 + x + w", ci="none")
    z = (df - df.mean()) / df.std()
    ols = sm.OLS(z["y"], sm.add_constant(z[["m2", "m1", "x", "w"]])).fit()
    for name in ["m2", "m1", "x", "w"]:
        np.testing.assert_allclose(row(res, "y", "~", name)["std_all"], ols.params[name], rtol=1e-9)
    np.testing.assert_allclose(row(res, "y", "~~", "y")["std_all"], 1 - ols.rsquared, rtol=1e-9)


def test_standardized_use_model_implied_variances(serial_fit):
    # over-identified model: std_all = b * sd_implied(x) / sd_implied(y), as lavaan's std.all
    res = serial_fit
    a1, d21, a2 = (row(res, lhs, "~", r)["est"] for lhs, r in [("m1", "x"), ("m2", "m1"), ("m2", "x")])
    df = make_data()
    vx = df["x"].var(ddof=0)
    v_m1 = a1**2 * vx + row(res, "m1", "~~", "m1")["est"] * (len(df) - 2) / len(df)
    np.testing.assert_allclose(row(res, "m1", "~", "x")["std_all"], a1 * np.sqrt(vx / v_m1), rtol=1e-9)
    cov_m1_x = a1 * vx
    v_m2 = d21**2 * v_m1 + a2**2 * vx + 2 * d21 * a2 * cov_m1_x
    v_m2 += row(res, "m2", "~~", "m2")["est"] * (len(df) - 3) / len(df)
    np.testing.assert_allclose(row(res, "m2", "~", "m1")["std_all"], d21 * np.sqrt(v_m1 / v_m2), rtol=1e-9)


def test_serial_and_parallel_indirect_effects_are_hand_products(serial_fit):
    res = serial_fit
    a1, d21, a2 = (row(res, lhs, "~", r)["est"] for lhs, r in [("m1", "x"), ("m2", "m1"), ("m2", "x")])
    b1, b2, c = (row(res, "y", "~", r)["est"] for r in ["m1", "m2", "x"])
    ind = res.indirect.set_index("name")
    np.testing.assert_allclose(ind.loc["ind.x.m1.m2.y", "est"], a1 * d21 * b2, rtol=1e-12)
    np.testing.assert_allclose(ind.loc["ind.x.m1.y", "est"], a1 * b1, rtol=1e-12)
    np.testing.assert_allclose(ind.loc["ind.x.m2.y", "est"], a2 * b2, rtol=1e-12)
    total_ind = a1 * d21 * b2 + a1 * b1 + a2 * b2
    np.testing.assert_allclose(ind.loc["ind.x.y", "est"], total_ind, rtol=1e-12)
    np.testing.assert_allclose(ind.loc["total.x.y", "est"], c + total_ind, rtol=1e-12)
    np.testing.assert_allclose(ind.loc["direct.x.y", "est"], c, rtol=1e-12)
    assert ind.loc["ind.x.m1.m2.y", "path"] == "x → m1 → m2 → y"
    np.testing.assert_allclose(row(res, "serial", ":=", "a1*d21*b2")["est"], a1 * d21 * b2, rtol=1e-12)
    # total effect equals the reduced-form regression coefficient of y on x and w? no: w is not
    # related to x, so compare with (I - B)^-1 computed by hand
    std = {k: row(res, *k)["std_all"] for k in [("m1", "~", "x"), ("m2", "~", "m1"), ("y", "~", "m2")]}
    np.testing.assert_allclose(ind.loc["ind.x.m1.m2.y", "std_all"], np.prod(list(std.values())), rtol=1e-12)


def test_parallel_mediators_total_effect_is_reduced_form_regression():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    m1, m2 = 0.4 * x + rng.normal(size=n), -0.3 * x + rng.normal(size=n)
    y = 0.5 * m1 + 0.2 * m2 + 0.1 * x + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": y})
    res = paths(df, "m1 ~ x; m2 ~ x; y ~ m1 + m2 + x", ci="none")
    ind = res.indirect.set_index("name")
    total = sm.OLS(y, sm.add_constant(x)).fit().params[1]  # saturated model: c = c' + sum a_j b_j
    np.testing.assert_allclose(ind.loc["total.x.y", "est"], total, rtol=1e-10)
    assert set(res.indirect["effect"]) == {"specific", "total_indirect", "direct", "total"}


def test_point_estimates_match_pingouin():
    df = make_data(500, seed=5)
    res = paths(df, "m1 ~ x\ny ~ m1 + x", ci="none")
    stats = pg.mediation_analysis(data=df, x="x", m="m1", y="y", n_boot=50, seed=1)
    st = stats.set_index("path")
    ind = res.indirect.set_index("effect")
    np.testing.assert_allclose(ind.loc["specific", "est"], st.loc["Indirect", "coef"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ind.loc["direct", "est"], st.loc["Direct", "coef"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ind.loc["total", "est"], st.loc["Total", "coef"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(row(res, "m1", "~", "x")["est"], st.loc["m1 ~ X", "coef"], atol=1e-10)
    np.testing.assert_allclose(row(res, "m1", "~", "x")["se"], st.loc["m1 ~ X", "se"], rtol=1e-8)
    # pingouin's "Y ~ m1" row is the regression of y on m1 alone; its "Direct" row is ours
    np.testing.assert_allclose(row(res, "y", "~", "x")["se"], st.loc["Direct", "se"], rtol=1e-8)


def test_bootstrap_distribution_matches_pingouin_on_same_indices():
    df = make_data(200, seed=7)
    n_boot, seed = 300, 42
    _, dist = pg.mediation_analysis(data=df, x="x", m="m1", y="y", n_boot=n_boot, seed=seed, return_dist=True)
    # pingouin draws its indices with a legacy RandomState; rebuild them and use our kernel
    idx = np.random.RandomState(seed).choice(np.arange(len(df)), replace=True, size=(n_boot, len(df)))
    counts = np.stack([np.bincount(i, minlength=len(df)) for i in idx]).astype(float)
    parsed, spec = _compile("m1 ~ x\ny ~ m1 + x")
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    out = engine.compute(kf.weighted_moments(counts, engine.products, engine.q))
    _, eff = spec.derived(out["est"])
    specific = [j for j, e in enumerate(spec.effects) if e["effect"] == "specific"]
    np.testing.assert_allclose(eff[:, specific[0]], np.ravel(dist), rtol=0, atol=1e-10)


def test_jackknife_by_downdating_equals_refits():
    df = make_data(60, seed=9)
    _, spec = _compile(SERIAL)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    jack, jack_std = _jackknife(engine, spec, chunk_size=7)
    for i in (0, 31, 59):
        sub = df.drop(index=i).reset_index(drop=True)
        e2 = _Engine(spec, sub[spec.variables].to_numpy(float))
        full = e2.compute(e2.full_moments()[None])
        np.testing.assert_allclose(jack[i], _stack(spec, full, "est")[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(jack_std[i], _stack(spec, full, "std")[0], rtol=1e-9, atol=1e-12)


def test_delta_method_se_is_sobel():
    df = make_data(250, seed=2)
    res = paths(df, "m1 ~ a*x\ny ~ b*m1 + x\nab := a*b", ci="none")
    a, b = row(res, "m1", "~", "x"), row(res, "y", "~", "m1")
    sobel = np.sqrt(b["est"] ** 2 * a["se"] ** 2 + a["est"] ** 2 * b["se"] ** 2)
    np.testing.assert_allclose(row(res, "ab", ":=", "a*b")["se"], sobel, rtol=1e-6)
    np.testing.assert_allclose(res.indirect.iloc[0]["se"], sobel, rtol=1e-6)
    # Wald interval with ci="none"
    ab = row(res, "ab", ":=", "a*b")
    np.testing.assert_allclose(ab["ci_upper"] - ab["est"], 1.959963984540054 * ab["se"], rtol=1e-9)


def test_same_seed_identical_and_chunk_size_invariant():
    df = make_data(120, seed=4)
    r1 = paths(df, SERIAL, bootstrap=600, seed=3)
    r2 = paths(df, SERIAL, bootstrap=600, seed=3, chunk_size=7)
    r3 = paths(df, SERIAL, bootstrap=600, seed=3, chunk_size=256)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    pd.testing.assert_frame_equal(r1.table, r3.table)
    pd.testing.assert_frame_equal(r1.indirect, r2.indirect)
    r4 = paths(df, SERIAL, bootstrap=600, seed=4)
    assert not np.allclose(r1.table["ci_lower"], r4.table["ci_lower"], equal_nan=True)


def test_seed_none_is_recorded_and_reproducible():
    df = make_data(80, seed=4)
    r1 = paths(df, "m1 ~ x; y ~ m1", bootstrap=200)
    assert isinstance(r1.details["seed"], int)
    r2 = paths(df, "m1 ~ x; y ~ m1", bootstrap=200, seed=r1.details["seed"])
    pd.testing.assert_frame_equal(r1.table, r2.table)


def test_percentile_coverage_simulation():
    """Seeded simulation: 400 datasets, nominal 95 %, coverage within 3 MC SE."""
    rng = np.random.default_rng(2024)
    reps, n, a, b = 400, 150, 0.5, 0.5
    hits_ab = hits_a = 0
    for r in range(reps):
        x = rng.normal(size=n)
        m = a * x + rng.normal(size=n)
        y = b * m + rng.normal(size=n)
        res = paths(pd.DataFrame({"x": x, "m": m, "y": y}), "m ~ x; y ~ m + x", bootstrap=500, seed=r)
        ind = res.indirect.iloc[0]
        hits_ab += ind["ci_lower"] <= a * b <= ind["ci_upper"]
        ra = row(res, "m", "~", "x")
        hits_a += ra["ci_lower"] <= a <= ra["ci_upper"]
    band = 3 * np.sqrt(0.95 * 0.05 / reps)
    assert abs(hits_ab / reps - 0.95) < band, hits_ab / reps
    assert abs(hits_a / reps - 0.95) < band, hits_a / reps


def test_ci_methods_bc_bca_mc_and_pvalues():
    df = make_data(600, seed=6)
    model = "m1 ~ a*x\ny ~ b*m1 + x\nab := a*b"
    pct = paths(df, model, bootstrap=2000, seed=1)
    bca = paths(df, model, bootstrap=2000, seed=1, ci="bca")
    bc = paths(df, model, bootstrap=2000, seed=1, ci="bc")
    mc = paths(df, model, seed=1, ci="mc", mc_draws=20000)
    for res in (bca, bc, mc):
        lo, hi = row(res, "ab", ":=", "a*b")[["ci_lower", "ci_upper"]]
        plo, phi = row(pct, "ab", ":=", "a*b")[["ci_lower", "ci_upper"]]
        assert abs(lo - plo) < 0.02 and abs(hi - phi) < 0.02
    assert mc.details["ci_method"] == "monte carlo" and mc.details["mc_draws"] == 20000
    assert np.isnan(row(mc, "ab", ":=", "a*b")["std_ci_lower"])
    assert bca.details["ci_method"] == "bca"
    ab = row(pct, "ab", ":=", "a*b")
    assert ab["boot_p"] == 0.0 and 0 < ab["ci_lower_mcse"] < 0.01
    assert 0.0 <= row(pct, "y", "~", "x")["boot_p"] <= 1.0


def test_bc_warns_at_small_n():
    df = make_data(100, seed=6)
    with pytest.warns(DataWarning, match="Type I"):
        paths(df, "m1 ~ x; y ~ m1", bootstrap=200, seed=1, ci="bc")


def test_singular_replicates_are_counted_not_fatal():
    rng = np.random.default_rng(0)
    n = 30
    x = np.zeros(n)
    x[:2] = 1.0  # a rare binary predictor: many resamples contain no 1 at all
    m = x + rng.normal(size=n)
    y = m + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "m": m, "y": y})
    with pytest.warns(DataWarning, match="singular"):
        res = paths(df, "m ~ x; y ~ m + x", bootstrap=500, seed=1)
    failed = res.details["failed_replicates"]
    assert 20 < failed < 150  # expected about 500 * (28/30) ** 30 = 63
    assert np.isfinite(res.indirect["ci_lower"]).all()


def test_fixed_coefficient_and_intercepts():
    df = make_data(200, seed=8)
    res = paths(df, "m1 ~ x\ny ~ m1 + 0*x", ci="none")
    assert row(res, "y", "~", "x")["est"] == 0.0
    ols = sm.OLS(df["y"], sm.add_constant(df[["m1"]])).fit()
    np.testing.assert_allclose(row(res, "y", "~", "m1")["est"], ols.params["m1"], rtol=1e-10)
    assert "direct.x.y" not in set(res.indirect["name"])
    res2 = paths(df, "m1 ~ x\ny ~ m1 + 0.5*x", ci="none")
    ols2 = sm.OLS(df["y"] - 0.5 * df["x"], sm.add_constant(df[["m1"]])).fit()
    np.testing.assert_allclose(row(res2, "y", "~", "m1")["est"], ols2.params["m1"], rtol=1e-10)


def test_covariances_and_residual_covariance():
    df = make_data(300, seed=1)
    res = paths(df, "m1 ~ x + w\nm2 ~ x + w\nm1 ~~ m2\nx ~~ w", ci="none")
    e1 = sm.OLS(df["m1"], sm.add_constant(df[["x", "w"]])).fit().resid
    e2 = sm.OLS(df["m2"], sm.add_constant(df[["x", "w"]])).fit().resid
    np.testing.assert_allclose(row(res, "m1", "~~", "m2")["est"], np.mean(e1 * e2), rtol=1e-9)
    np.testing.assert_allclose(row(res, "m1", "~~", "m2")["std_all"], np.corrcoef(e1, e2)[0, 1], rtol=1e-9)
    np.testing.assert_allclose(row(res, "x", "~~", "w")["est"], df["x"].cov(df["w"]), rtol=1e-9)


def test_result_object_api(serial_fit):
    res = serial_fit
    assert isinstance(res, PathResult)
    cols = ["lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper",
            "std_all", "std_ci_lower", "std_ci_upper"]  # fmt: skip
    assert all(c in res.table.columns for c in cols)
    d = res.to_dict()
    assert set(d) == {"parameters", "indirect", "details"}
    assert d["details"]["bootstrap"] == 1000 and d["details"]["seed"] == 11
    assert d["details"]["n"] == 300 and d["details"]["n_dropped"] == 0
    import json

    json.dumps(d)
    text = res.summary()
    assert "Indirect and total effects" in text and "x → m1 → m2 → y" in text
    assert "<table" in res._repr_html_()


def test_input_not_mutated_and_missing_rows_dropped():
    df = make_data(100, seed=1)
    df.loc[[3, 7], "m1"] = np.nan
    before = df.copy()
    with pytest.warns(DataWarning, match="2 of 100 rows dropped"):
        res = paths(df, "m1 ~ x; y ~ m1", ci="none")
    pd.testing.assert_frame_equal(df, before)
    assert res.details["n"] == 98 and res.details["n_dropped"] == 2


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ("m1 ~ xx; y ~ m1", "not found.*'xx'.*did you mean 'x'"),
        ("m1 ~ x; y ~ m1\ny ~ m1a", "specified twice|not found"),
    ],
)
def test_missing_variables_suggest(model, match):
    with pytest.raises((DataError, ModelSyntaxError), match=match):
        paths(make_data(50), model, ci="none")


def test_bad_inputs():
    df = make_data(50)
    with pytest.raises(InvalidParameterError, match="ci must be one of.*did you mean 'bca'"):
        paths(df, "y ~ x", ci="bcaa")
    with pytest.raises(InvalidParameterError, match="between 0 and"):
        paths(df, "y ~ x", bootstrap=-5)
    with pytest.raises(InvalidParameterError, match="between 0 and"):
        paths(df, "y ~ x", bootstrap=10**9)
    with pytest.raises(InvalidParameterError, match="whole number"):
        paths(df, "y ~ x", bootstrap=2.5)
    with pytest.raises(InvalidParameterError, match="too few"):
        paths(df, "y ~ x", bootstrap=10)
    with pytest.raises(InvalidParameterError, match="ci='none'"):
        paths(df, "y ~ x", bootstrap=0)
    with pytest.raises(InvalidParameterError, match="level"):
        paths(df, "y ~ x", level=95)
    with pytest.raises(InvalidParameterError, match="missing"):
        paths(df, "y ~ x", missing="pairwise", ci="none")
    with pytest.raises(ModelSyntaxError, match="line 1"):
        paths(df, "y ~ ~ x")
    with pytest.raises(InvalidParameterError, match="non-recursive.*SEM"):
        paths(df, "m1 ~ m2; m2 ~ m1", ci="none")
    with pytest.raises(InvalidParameterError, match="latent.*SEM"):
        paths(df, "f =~ x + w + m1; y ~ f", ci="none")
    with pytest.raises(InvalidParameterError, match="equality constraint"):
        paths(df, "m1 ~ a*x; y ~ a*m1", ci="none")
    with pytest.raises(DataError, match="DataFrame"):
        paths(df.to_numpy(), "y ~ x", ci="none")


def test_bad_data():
    df = make_data(50)
    with pytest.raises(DataError, match="numeric.*'x'"):
        paths(df.assign(x=["a"] * 50), "y ~ x", ci="none")
    with pytest.raises(DataError, match="constant.*w"):
        paths(df.assign(w=1.0), "y ~ x + w", ci="none")
    with pytest.raises(DataError, match="collinear.*'y'.*x, w, m1"):
        paths(df.assign(w=2 * df["x"] - df["m1"]), "y ~ x + w + m1", ci="none")
    with pytest.raises(DataError, match="no complete rows"):
        paths(df.assign(x=np.nan), "y ~ x", ci="none")
    with pytest.raises(DataError, match="too few complete rows"):
        paths(df.head(4), "y ~ x + w + m1", ci="none")


def test_progress_callback():
    calls = []
    paths(make_data(60), "m1 ~ x; y ~ m1", bootstrap=600, seed=1, chunk_size=256,
          progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(256, 600), (512, 600), (600, 600)]


# --- fast bootstrap path vs the reference computation ------------------------------------------


def _reference_percentile(df, model, B, seed, level=0.95):
    """The straightforward computation: count matrix -> weighted moments -> estimates -> intervals."""
    _, spec = _compile(model)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    r = bs.Resampler(engine.n, B, seed)
    parts, parts_std = [], []
    for start in range(0, B, 100):
        out = engine.compute(kf.weighted_moments(r.counts(start, start + 100), engine.products, engine.q))
        parts.append(_stack(spec, out, "est"))
        parts_std.append(_stack(spec, out, "std"))
    reps, reps_std = np.concatenate(parts), np.concatenate(parts_std)
    alpha = 1 - level
    probs = np.array([alpha / 2, 1 - alpha / 2])
    full = engine.compute(engine.full_moments()[None])
    point = _stack(spec, full, "est")[0]
    return {
        "reps": reps,
        "reps_std": reps_std,
        "ci": bs.percentile_ci(reps, level),
        "std_ci": bs.percentile_ci(reps_std, level),
        "mcse": bs.endpoint_mcse(reps, probs),
        "boot_p": bs.bootstrap_pvalue(reps, point),
    }


@pytest.mark.parametrize(("model", "n", "B"), [("m1 ~ x\ny ~ m1 + x", 400, 1000), (SERIAL + "y ~ 1", 150, 777)])
def test_fast_bootstrap_equals_reference_computation(model, n, B):
    df = make_data(n, seed=12)
    ref = _reference_percentile(df, model, B, seed=5)
    _, spec = _compile(model)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    reps, reps_std, failed = _bootstrap(engine, spec, B, 5, None, None, True)
    assert failed == 0
    np.testing.assert_allclose(reps, ref["reps"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reps_std, ref["reps_std"], rtol=1e-12, atol=1e-12)
    res = paths(df, model, bootstrap=B, seed=5)
    t = res.table
    np.testing.assert_allclose(t[["ci_lower", "ci_upper"]].to_numpy().T, ref["ci"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t[["std_ci_lower", "std_ci_upper"]].to_numpy().T, ref["std_ci"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t[["ci_lower_mcse", "ci_upper_mcse"]].to_numpy().T, ref["mcse"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(t["boot_p"].to_numpy(), ref["boot_p"])


def test_bootstrap_threads_bit_identical():
    df = make_data(300, seed=3)
    _, spec = _compile(SERIAL)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    one = _bootstrap(engine, spec, 1300, 9, None, None, True, threads=1)
    two = _bootstrap(engine, spec, 1300, 9, 100, None, True, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_generator_seed_is_recorded_like_ssm_and_reproduces():
    from sciplab.stats.circumplex import ssm

    df = make_data(120)
    res = paths(df, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=np.random.default_rng(8))
    assert res.details["seed"] == bs.resampling_seed(np.random.default_rng(8))
    again = paths(df, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=res.details["seed"])
    pd.testing.assert_frame_equal(res.table, again.table)
    circ = ssm(df, ["x", "w", "m1", "m2"], angles_deg=[0, 90, 180, 270], seed=np.random.default_rng(8))
    assert circ.details["seed"] == res.details["seed"]  # one helper: same Generator, same recorded seed


# --- hostile input: typed errors (issues 11.3, 11.8, 11.9) ---------------------------------------


@pytest.mark.parametrize("scale", [1e160, 1e100, 1e-160, 1e-100])
@pytest.mark.parametrize("column", ["x", "m1", "y"])
def test_extreme_magnitudes_are_refused_with_the_column(scale, column):
    df = make_data(60)
    df[column] = df[column] * scale
    with pytest.raises(DataError, match=rf"'{column}' \(largest \|value\|.*rescale"):
        paths(df, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=1)


def test_small_but_varying_values_are_not_constant():
    # was refused as "constant" (absolute threshold); a variance relative to the values is what counts
    df = make_data(80)
    small = df.assign(x=df["x"] * 1e-40, y=df["y"] * 1e-30)
    res, ref = (paths(d, "m1 ~ x; y ~ m1 + x", ci="none") for d in (small, df))
    np.testing.assert_allclose(res.table["std_all"], ref.table["std_all"], rtol=1e-9)
    np.testing.assert_allclose(row(res, "y", "~", "x")["est"], row(ref, "y", "~", "x")["est"] * 1e10, rtol=1e-9)


def test_complex_columns_are_refused_by_name():
    df = make_data(60).astype({"m1": complex})
    with pytest.raises(DataError, match=r"complex-valued.*'m1' \(complex128\)"):
        paths(df, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=1)


def test_duplicate_columns_and_bad_chunk_size_are_typed_errors():
    df = make_data(60)
    dup = pd.concat([df, df[["x"]]], axis=1)
    with pytest.raises(DataError, match="duplicated column names: x"):
        paths(dup, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=1)
    for bad in ("a", 2.5, 0, True):
        with pytest.raises(InvalidParameterError, match="chunk_size"):
            paths(df, "m1 ~ x; y ~ m1 + x", bootstrap=200, seed=1, chunk_size=bad)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(finite, finite, finite), min_size=5, max_size=30), st.sampled_from([1.0, 1e80, 1e-80]))
def test_random_data_fit_or_raise_a_project_error(rows, scale):
    df = pd.DataFrame(rows, columns=["x", "m", "y"]) * scale
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            res = paths(df, "m ~ a*x; y ~ b*m + x; ab := a*b", bootstrap=100, seed=1, ci="percentile")
    except SciplabError:
        return
    assert np.isfinite(res.table.loc[res.table["op"] == "~", "est"]).all()


# --- bounded work (issue 11.11) ------------------------------------------------------------------


def _full_recursive(k):
    names = [f"v{i}" for i in range(k)]
    return "\n".join(f"{names[j]} ~ " + " + ".join(names[:j]) for j in range(1, k)), names


def test_exponential_indirect_paths_are_counted_and_refused_quickly():
    model, names = _full_recursive(20)
    df = pd.DataFrame(np.random.default_rng(1).normal(size=(60, 20)), columns=names)
    expected = r"has 1,048,365 specific indirect paths, more than max_paths=10,000"
    with pytest.raises(InvalidParameterError, match=expected):
        paths(df, model, ci="none")
    # the count equals the enumeration when it is allowed
    model6, names6 = _full_recursive(6)
    res = paths(df.iloc[:, :6].set_axis(names6, axis=1), model6, ci="none", max_paths=42)
    assert (res.indirect["effect"] == "specific").sum() == 42  # complete DAG: 2^k - k - 1 - k(k-1)/2
    with pytest.raises(InvalidParameterError, match="has 42 specific .* max_paths=41"):
        paths(df.iloc[:, :6].set_axis(names6, axis=1), model6, ci="none", max_paths=41)


def test_long_causal_chains_need_no_recursion():
    k = 1500
    model = "\n".join(f"v{j} ~ v{j - 1}" for j in range(1, k))
    with pytest.raises(InvalidParameterError, match="specific indirect paths"):
        _compile(model)  # 1,121,251 paths along the chain: counted, not walked
    fixed = "\n".join(f"v{j} ~ 0*v{j - 1}" for j in range(1, k))  # fixed at 0: no indirect paths
    _, spec = _compile(fixed)
    assert spec.endo == [f"v{j}" for j in range(1, k)] and spec.effects == []
    cyc = "\n".join(f"v{j} ~ v{j - 1}" for j in range(1, k)) + f"\nv0 ~ v{k - 1}"
    with pytest.raises(InvalidParameterError, match="non-recursive"):
        _compile(cyc)


def test_memory_is_estimated_before_allocating():
    df = make_data(60)
    with pytest.raises(InvalidParameterError, match=r"bootstrap=10,000,000 needs about .* GiB.*at most [\d,]+ fit"):
        paths(df, SERIAL, bootstrap=10_000_000, seed=1)
    with pytest.raises(InvalidParameterError, match=r"mc_draws=10,000,000 needs about"):
        paths(df, SERIAL, ci="mc", mc_draws=10_000_000, seed=1)


SUMMARY_MODEL = SERIAL + "y ~ 1\nm1 ~~ m1\nx ~~ w\ntotal := a1*d21*b2 + b1*a1\n"


def test_summary_snapshot_shows_labels_defined_parameters_and_apa_p():
    # issue 10.9: defined parameters with their labels, every effect, APA p-values (< .001, .038)
    res = paths(make_data(), SUMMARY_MODEL, bootstrap=1000, seed=11)
    assert res.summary() == PATHS_SUMMARY_SNAPSHOT


PATHS_SUMMARY_SNAPSHOT = """\
Path model (equation-wise OLS)
==============================
N = 300 (dropped 0 incomplete rows); CI: percentile 95%, B = 1000, seed = 11
Model fit (ML): chi2(2) = 1.960, p .375, CFI = 1.000, TLI = 1.001, RMSEA = 0.000 [0.000, 0.114], SRMR = 0.020

Regressions
lhs op rhs label   est    se      z      p             ci std_all
 m1  ~   x    a1 0.544 0.053 10.328 < .001 [0.445, 0.631]   0.513
 m2  ~  m1   d21 0.329 0.062  5.299 < .001 [0.223, 0.447]   0.321
 m2  ~   x    a2 0.201 0.066  3.066   .002 [0.055, 0.353]   0.186
  y  ~  m2    b2 0.397 0.061  6.550 < .001 [0.261, 0.527]   0.351
  y  ~  m1    b1 0.140 0.068  2.073   .038 [0.006, 0.271]   0.121
  y  ~   x       0.198 0.070  2.845   .004 [0.058, 0.341]   0.161
  y  ~   w       0.302 0.062  4.898 < .001 [0.192, 0.411]   0.236

Intercepts and means
lhs op label   est    se     z    p              ci std_all
  y ~1       0.053 0.060 0.884 .377 [-0.074, 0.168]   0.042

Variances and covariances
lhs op rhs label   est    se      z      p              ci std_all
 m1 ~~  m1       0.862 0.071 12.207 < .001  [0.731, 1.006]   0.736
  x ~~   w       0.042                     [-0.074, 0.153]   0.042
 m2 ~~  m2       0.987 0.081 12.186 < .001  [0.806, 1.163]   0.802
  y ~~   y       1.072 0.088 12.145 < .001  [0.904, 1.217]   0.678

R-squared
lhs   est             ci
 m1 0.264 [0.181, 0.337]
 m2 0.198 [0.123, 0.283]
  y 0.331 [0.256, 0.420]

Defined parameters
 label op               rhs   est    se     z      p             ci std_all
serial :=         a1*d21*b2 0.071 0.019 3.826 < .001 [0.039, 0.112]   0.058
 total := a1*d21*b2 + b1*a1 0.147 0.040 3.655 < .001 [0.074, 0.227]   0.120

Indirect and total effects
        effect                     path          name   est    se     z      p             ci std_all
      specific              x → m1 → m2   ind.x.m1.m2 0.179 0.038 4.715 < .001 [0.113, 0.252]   0.165
        direct                   x → m2   direct.x.m2 0.201 0.066 3.066   .002 [0.055, 0.353]   0.186
         total           x → m2 (total)    total.x.m2 0.380 0.059 6.446 < .001 [0.255, 0.498]   0.350
      specific          x → m1 → m2 → y ind.x.m1.m2.y 0.071 0.019 3.826 < .001 [0.039, 0.112]   0.058
      specific               x → m1 → y    ind.x.m1.y 0.076 0.038 2.033   .042 [0.003, 0.152]   0.062
      specific               x → m2 → y    ind.x.m2.y 0.080 0.029 2.777   .005 [0.022, 0.151]   0.065
total_indirect x → … → y (all indirect)       ind.x.y 0.227 0.046 4.962 < .001 [0.137, 0.324]   0.185
        direct                    x → y    direct.x.y 0.198 0.070 2.845   .004 [0.058, 0.341]   0.161
         total            x → y (total)     total.x.y 0.425 0.064 6.587 < .001 [0.304, 0.540]   0.347
      specific              m1 → m2 → y   ind.m1.m2.y 0.130 0.032 4.120 < .001 [0.073, 0.201]   0.113
        direct                   m1 → y   direct.m1.y 0.140 0.068 2.073   .038 [0.006, 0.271]   0.121
         total           m1 → y (total)    total.m1.y 0.271 0.069 3.908 < .001 [0.140, 0.413]   0.234"""


def test_over_identified_path_model_reports_lavaan_fit_measures():
    # issue 14: chi2, df, CFI, TLI, RMSEA, SRMR of an over-identified model equal the SEM engine's
    from sciplab.stats.sem import sem

    df = make_data()
    res = paths(df, SERIAL, ci="none")
    ml = sem(df, SERIAL)
    assert res.fit["df"].iloc[0] == 2
    for key in ("chisq", "df", "cfi", "tli", "rmsea", "srmr"):
        assert res.fit[key].iloc[0] == pytest.approx(ml.fit[key].iloc[0], rel=1e-9)
    assert res.details["fit"]["chisq"] == pytest.approx(ml.fit["chisq"].iloc[0])
    saturated = paths(df, "m1 ~ x\ny ~ m1 + x", ci="none")
    assert saturated.fit.empty and "Model fit" not in saturated.summary()


def test_counted_df_equals_the_ml_refit_df_so_saturated_models_skip_the_refit():
    # paths() skips the ML refit when the syntax counts df = 0; the count must be the SEM engine's
    from sciplab.stats._path_model import _counted_df
    from sciplab.stats.sem import sem
    from sciplab.stats.syntax import parse_model

    rng = np.random.default_rng(5)
    names = ["x1", "x2", "m1", "m2", "y1", "y2"]
    data = pd.DataFrame(rng.normal(size=(200, 6)), columns=names)
    data += 0.3 * data[["x1"]].to_numpy()  # correlated, like real data
    models = [
        "m1 ~ x1\ny1 ~ m1 + x1",
        "m1 ~ x1\ny1 ~ m1",
        "m1 ~ a1*x1\nm2 ~ d21*m1 + a2*x1\ny1 ~ b2*m2 + b1*m1 + x1 + x2\nserial := a1*d21*b2",
        "m1 ~ x1 + x2\nm2 ~ x1 + x2\ny1 ~ m1 + m2 + x1 + x2\ny2 ~ m1 + m2 + x1 + x2",
        "m1 ~ x1 + x2\nm2 ~ x1 + x2\ny1 ~ m1 + m2\ny2 ~ m1 + m2 + x1",
        "m1 ~ a*x1\nm2 ~ m1 + x1\ny1 ~ b*m2 + m1 + x1\nab := a*b",
        "y1 ~ x1 + x2\ny2 ~ x1 + x2",
        "y1 ~ x1\ny2 ~ x2",
        # (co)variances among outcomes: pure outcomes covary by default, mediators only when written
        "m1 ~ x1 + x2\nm2 ~ x1 + x2\ny1 ~ m1 + m2 + x1 + x2\ny2 ~ m1 + m2 + x1 + x2\nm1 ~~ m2\ny1 ~~ y2",
        "m1 ~ x1 + x2\nm2 ~ x1 + x2\ny1 ~ m1 + m2 + x1 + x2\ny2 ~ m1 + m2 + x1 + x2\ny1 ~~ y2\ny1 ~~ y1",
        "m1 ~ x1\nm2 ~ x1\ny1 ~ m1 + m2\nm1 ~~ c*m2",
    ]
    for _ in range(6):  # random recursive models: each path kept with probability 0.7
        lines = []
        for i, v in enumerate(names[2:], start=2):
            rhs = [u for u in names[:i] if rng.random() < 0.7]
            if rhs:
                lines.append(f"{v} ~ " + " + ".join(rhs))
        models.append("\n".join(lines))
    from sciplab.scip.templates import get_template

    scip = get_template("scip-core").syntax
    rename = {"attachment_anxiety": "x1", "attachment_avoidance": "x2", "social_self_efficacy": "m1",
              "emotional_awareness": "m2", "social_support": "y1", "distress": "y2"}  # fmt: skip
    for long, short in rename.items():
        scip = scip.replace(long, short)
    models.append(scip)
    counted = []
    for text in models:
        parsed = parse_model(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df_ml = int(sem(data, parsed, std=False).fit["df"].iloc[0])
        assert _counted_df(parsed) == df_ml, text
        counted.append(df_ml)
    assert 0 in counted and max(counted) > 0
    # not counted here (fitted instead): covariances, intercepts, fixed values, repeated labels
    for text in ("m1 ~ x1\ny1 ~ m1 + x1\nx1 ~~ x1", "m1 ~ x1\ny1 ~ m1 + x1\ny1 ~ 1", "m1 ~ x1\ny1 ~ 0.5*m1 + x1",
                 "m1 ~ a*x1\ny1 ~ a*m1 + x1", "m1 ~ x1\ny1 ~ m1\nm1 ~~ 0.3*y1"):  # fmt: skip
        assert _counted_df(parse_model(text)) is None


def test_derived_rows_equal_derived_on_columns():
    """The row layout of the bootstrap (derived_rows) computes the same values as derived()."""
    _, spec = _compile("m1 ~ a1*x\nm2 ~ a2*x + d*m1\ny ~ b1*m1 + b2*m2 + x\nind := a1*b1 + a2*b2\nabd := a1*d*b2")
    rng = np.random.default_rng(3)
    est = rng.normal(size=(257, len(spec.params)))
    user, eff = spec.derived(est)
    rows_user, rows_eff = np.empty((user.shape[1], 257)), np.empty((eff.shape[1], 257))
    spec.derived_rows(np.ascontiguousarray(est.T), rows_user, rows_eff)
    np.testing.assert_array_equal(rows_user, user.T)
    np.testing.assert_array_equal(rows_eff, eff.T)


def test_bootstrap_is_cancelled_when_the_analysis_fails_after_it_started(monkeypatch):
    """paths() starts the resampling before the point estimates: an error later leaves no work running."""
    import sciplab.stats.paths as paths_module

    cancelled = []
    original = paths_module.BootRun.cancel

    def spy(self):
        cancelled.append(True)
        original(self)

    def fail(*args, **kwargs):
        raise DataError("point estimates failed")

    monkeypatch.setattr(paths_module.BootRun, "cancel", spy)
    monkeypatch.setattr(paths_module, "_param_cov", fail)
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "m": x + rng.normal(size=200), "y": x + rng.normal(size=200)})
    with pytest.raises(DataError, match="point estimates failed"):
        paths(df, "m ~ x\ny ~ m + x", bootstrap=2000, seed=1)
    assert cancelled == [True]


def test_plain_numeric_frames_and_column_by_column_give_the_same_fit():
    """The one-call conversion of a plain numeric frame equals the column-by-column route."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=150)
    df = pd.DataFrame({"x": x, "m": 0.5 * x + rng.normal(size=150), "y": (3 * x + rng.normal(size=150)).round()})
    df["y"] = df["y"].astype(int)
    wide = df.assign(note="a", w=1.0, v=2.0, u=3.0)  # text and extra columns: column by column
    nullable = df.astype({"y": "Int64"})  # an extension dtype: column by column
    fits = [paths(frame, "m ~ x\ny ~ m + x", bootstrap=300, seed=2).table for frame in (df, wide, nullable)]
    for other in fits[1:]:
        pd.testing.assert_frame_equal(fits[0], other)


def test_column_dtypes_are_the_frames_dtypes():
    """The set-up reads the dtypes from pandas' block manager when it can: the same list as ``data.dtypes``."""
    from sciplab.stats.paths import _column_dtypes

    frames = [
        make_data(20),
        make_data(20).assign(note="a", k=np.arange(20), b=True, n=pd.array([1] * 20, dtype="Int64")),
        make_data(20).astype({"x": np.float32}),
        pd.DataFrame({0: [1.0, 2.0], "a": [3, 4]}),
        pd.DataFrame(),
    ]
    for frame in frames:
        assert _column_dtypes(frame) == frame.dtypes.tolist()
