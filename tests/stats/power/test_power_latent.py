"""Latent-variable and FIML power studies analysed by the SEM engine."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import InvalidParameterError, SciplabError
from sciplab.stats.power import power
from sciplab.stats.power.generate import draw
from sciplab.stats.power.latent import latent_population
from sciplab.stats.sem import sem

TWO = "f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3\nf2 =~ 0.6*y1 + 0.6*y2 + 0.6*y3\nf2 ~ {b}*f1"
THREE = (
    "f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3\nf2 =~ 0.7*y1 + 0.7*y2 + 0.7*y3\nf3 =~ 0.7*z1 + 0.7*z2 + 0.7*z3\n"
    "f2 ~ 0.3*a*f1\nf3 ~ 0.3*b*f2 + 0*f1\nind := a*b"
)


def _row(res, name):
    table = res if isinstance(res, pd.DataFrame) else res.table
    return table[table["name"] == name].iloc[0]


def test_population_matches_hand_computed_implied_covariance():
    pop = latent_population(TWO.format(b=0.3))
    lam = np.zeros((6, 2))
    lam[:3, 0] = 0.7
    lam[3:, 1] = 0.6
    phi = np.array([[1.0, 0.3], [0.3, 1.0]])  # standardized latent variables
    theta = np.diag(1 - (lam**2).sum(axis=1))
    expected = lam @ phi @ lam.T + theta
    assert pop.observed == ("x1", "x2", "x3", "y1", "y2", "y3")
    np.testing.assert_allclose(pop.cov, expected, atol=1e-12)
    np.testing.assert_allclose(np.diag(pop.full.cov), 1.0, atol=1e-12)  # latent variables standardized too


def test_huge_generated_sample_reproduces_the_implied_covariance():
    pop = latent_population(THREE)
    x = draw(np.random.default_rng(5), 1, 200_000, pop.cov, np.linalg.cholesky(pop.cov), None)[0]
    np.testing.assert_allclose(np.cov(x.T), pop.cov, atol=0.015)


def test_strong_paths_have_power_one_and_a_zero_path_keeps_its_level():
    res = power(THREE, n=200, reps=500, seed=11)
    assert res.details["failed_total"] == 0
    assert _row(res, "f1=~x2")["power"] == 1.0
    assert _row(res, "f1=~x2")["population"] == pytest.approx(1.0)  # marker-scaled: 0.7 / 0.7
    zero = _row(res, "f3~f1")
    assert zero["error"] == "type I error"
    band = 3 * np.sqrt(0.05 * 0.95 / 500)
    assert abs(zero["power"] - 0.05) < band
    a = _row(res, "a")
    assert a["population"] == pytest.approx(0.3, abs=1e-6)
    assert 0.7 < a["power"] < 0.98
    assert abs(a["bias"]) < 0.02
    ind = _row(res, "ind")
    assert ind["kind"] == "effect" and ind["population"] == pytest.approx(0.09, abs=1e-6)
    assert 0.5 < ind["power"] < a["power"]
    assert "batched" in res.details["estimator"]
    assert res.details["latent"] == ["f1", "f2", "f3"]


def test_batched_refits_match_a_per_replicate_sem_loop():
    model = TWO.format(b=0.25)
    reps, n = 40, 120
    res = power(model, n=n, reps=reps, seed=7, test="sobel")
    seed = res.details["seed"]
    pop = latent_population(model)
    data_ss, _, _ = np.random.SeedSequence([seed, n, 0]).spawn(3)
    data = draw(np.random.default_rng(data_ss), reps, n, pop.cov, np.linalg.cholesky(pop.cov), None)
    est, rej = [], 0
    for r in range(reps):
        fit = sem(pd.DataFrame(data[r], columns=pop.observed), "f1 =~ x1 + x2 + x3\nf2 =~ y1 + y2 + y3\nf2 ~ f1")
        row = fit.table.query("lhs == 'f2' and op == '~' and rhs == 'f1'").iloc[0]
        est.append(row["est"])
        rej += int(row["pvalue"] < 0.05)
    path = _row(res, "f2~f1")
    assert path["replicates"] == reps
    assert path["mean_est"] == pytest.approx(np.mean(est), abs=1e-4)
    assert path["rejections"] == rej


def test_fiml_study_runs_and_reports():
    res = power(TWO.format(b=0.5), n=150, reps=12, seed=3, missing="mar:0.2:x1:fiml")
    row = _row(res, "f2~f1")
    assert row["replicates"] + row["failed"] == 12
    assert row["power"] > 0.8
    assert "FIML" in res.details["estimator"]
    assert "MAR" in res.details["missing"] and "fiml" in res.details["missing"]
    assert "full-information" in res.details["design"]


def test_fiml_for_an_observed_path_model():
    res = power("m ~ 0.5*a*x; y ~ 0.5*b*m; ind := a*b", n=120, reps=8, seed=2, missing="mcar:0.2:fiml")
    assert set(res.table["name"]) >= {"a", "b", "ind"}
    assert res.details["effect_test"] == "delta-method z test"


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        ("f1 =~ x1 + 0.7*x2 + 0.7*x3\nf2 ~ 0.3*f1", {}, "needs a value for every loading"),
        (TWO.format(b=0.3), {"test": "percentile", "missing": "mcar:0.1:fiml"}, "not available with FIML"),
        (TWO.format(b=0.3), {"test": "wild"}, "unknown test"),
        (TWO.format(b=0.3), {"analysis_model": "f1 =~ x1 + x2\nf1 ~~ f1\nx1 ~~ x2"}, "identif"),
        (TWO.format(b=0.3), {"analysis_model": "f1 =~ x1 + x2 + xx3"}, "xx3"),
        (TWO.format(b=0.3), {"skew": 3.0}, "no Fleishman polynomial"),
        (TWO.format(b=0.3), {"skew": {"q9": 1.0}}, "not a population variable"),
        (TWO.format(b=0.3), {"workers": 0}, "workers must be"),
        (TWO.format(b=0.3), {"missing": "mcar:0.2"}, "fiml"),
        ("f1 =~ 1.2*x1 + 0.7*x2 + 0.7*x3\nf2 =~ 0.7*y1 + 0.7*y2\nf2 ~ 0.3*f1", {}, "R\\^2"),
    ],
)
def test_bad_latent_studies_are_clear_errors(model, kwargs, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SciplabError, match=match):
            power(model, n=100, reps=5, seed=1, **kwargs)


def test_too_small_n_is_refused():
    with pytest.raises(InvalidParameterError, match="too small"):
        power(TWO.format(b=0.3), n=5, reps=5, seed=1)


def test_exogenous_correlation_reaches_variables_generated_before_it():
    # regression: z comes after m in causal order; cov(m, z) = 0.5 * 0.3 through x
    from sciplab.stats.power import population

    pop = population("m ~ 0.5*x; y ~ 0.3*m + 0.3*z; x ~~ 0.3*z")
    c = pop.correlation()
    assert c.loc["m", "z"] == pytest.approx(0.15, abs=1e-12)
    assert c.loc["y", "y"] == pytest.approx(1.0)


def test_correlated_factors_and_structural_path_match_the_lisrel_formula():
    pop = latent_population(
        "f1 =~ 0.7*x1 + 0.7*x2\nf2 =~ 0.8*y1 + 0.8*y2\nf3 =~ 0.6*z1 + 0.6*z2\nf3 ~ 0.3*f1 + 0.2*f2\nf1 ~~ 0.4*f2"
    )
    lam = np.zeros((6, 3))
    lam[:2, 0], lam[2:4, 1], lam[4:, 2] = 0.7, 0.8, 0.6
    B = np.zeros((3, 3))
    B[2, :2] = [0.3, 0.2]
    psi = np.array([[1, 0.4, 0], [0.4, 1, 0], [0, 0, 1 - (0.09 + 0.04 + 2 * 0.3 * 0.2 * 0.4)]])
    inv = np.linalg.inv(np.eye(3) - B)
    eta = inv @ psi @ inv.T
    expected = lam @ eta @ lam.T + np.diag(1 - np.diag(lam @ eta @ lam.T))
    np.testing.assert_allclose(pop.cov, expected, atol=1e-12)


def test_scip_latent_template_population():
    from sciplab.scip.population import latent_template_population, resolve_model

    text = latent_template_population("scip-core-latent", {"loading": 0.8})
    assert "distress =~ 0.8*distress_p1 + 0.8*distress_p2 + 0.8*distress_p3" in text
    assert resolve_model("scip_core_latent").startswith("# population model for scip-core-latent")
    pop = latent_population(text)
    assert len(pop.observed) == 18
    np.testing.assert_allclose(np.diag(pop.full.cov), 1.0, atol=1e-12)
    with pytest.raises(InvalidParameterError, match="loading"):
        latent_template_population("scip-core-latent", {"loading": 1.5})
    # the indirect effects are those of scip-core, in the same order, on labelled latent paths
    assert "ind1 := p1*p5" in text and "ind8 := p4*p10" in text
    from sciplab.scip.population import power as scip_power

    observed = scip_power("scip-core", n=[100], reps=10, seed=1, threads=1).table
    latent = power(text, n=150, reps=10, seed=1, test="sobel").table
    for k in range(1, 9):
        name = f"ind{k}"
        assert _row(latent, name)["path"] == _row(observed, name)["path"]


def test_joint_test_of_a_latent_indirect_effect_multiplies_the_path_powers():
    res = power(THREE, n=200, reps=500, seed=11, test="joint")
    a, b, ind = _row(res, "a"), _row(res, "b"), _row(res, "ind")
    assert ind["rejections"] <= min(a["rejections"], b["rejections"])
    # the estimates of a and b are asymptotically independent, so P(both significant) = P(a) P(b)
    # (MacKinnon et al. 2002); 3 Monte Carlo SEs plus a small allowance for their finite-N correlation
    expected = a["power"] * b["power"]
    assert abs(ind["power"] - expected) < 3 * np.sqrt(expected * (1 - expected) / 500) + 0.02
    same_data = power(THREE, n=200, reps=500, seed=11, test="sobel")
    pd.testing.assert_frame_equal(
        res.table[res.table["kind"] == "coefficient"], same_data.table[same_data.table["kind"] == "coefficient"]
    )
    assert "joint significance" in res.details["design"]


def test_joint_test_is_undefined_for_a_sum():
    model = THREE.replace("0*f1", "0.1*c*f1") + "\ntotal := a*b + c"
    res = power(model, n=150, reps=60, seed=2, test="joint")
    assert np.isnan(_row(res, "total")["power"])
    assert not np.isnan(_row(res, "ind")["power"])


def test_batched_percentile_bootstrap_equals_refitting_each_resample_alone():
    from sciplab.stats import _bootstrap as bs
    from sciplab.stats.power.latent import _Fitter, default_analysis, percentile_counts
    from sciplab.stats.sem import _boot

    lp = latent_population(THREE)
    fitter = _Fitter(lp.observed, lp.cov, default_analysis(lp.parsed), fiml=False)
    x = draw(np.random.default_rng(4), 3, 80, lp.cov, np.linalg.cholesky(lp.cov), None)
    below, above, count = percentile_counts(fitter, x, 20, seed=99)
    idx = bs.Resampler(80, 20, 99).indices()
    for r in range(3):  # the reference: one replicate at a time, its resamples from the row indices
        xb = x[r][idx]  # (20, 80, p)
        mean = xb.mean(axis=1)
        centred = xb - mean[:, None, :]
        cov = np.einsum("bni,bnj->bij", centred, centred) / 80
        sol = _boot.refit(fitter.spec, fitter.phi, [(mean, cov)], [80])
        eff = fitter.defined_values(sol.phi)
        ok = sol.converged[:, None]
        np.testing.assert_array_equal(count[r], ok.sum(axis=0))
        np.testing.assert_array_equal(below[r], ((eff <= 0) & ok).sum(axis=0))
        np.testing.assert_array_equal(above[r], ((eff >= 0) & ok).sum(axis=0))
    assert count.min() >= 19  # nearly every resample converges


def test_percentile_bootstrap_power_runs_and_agrees_with_the_monte_carlo_ci():
    res = power(THREE.replace("0.3*a", "0.5*a"), n=150, reps=16, seed=8, test="percentile", bootstrap=60)
    mc = power(THREE.replace("0.3*a", "0.5*a"), n=150, reps=16, seed=8, test="mc", draws=2000)
    assert res.details["bootstrap"] == 60 and res.details["test"] == "percentile"
    assert "percentile bootstrap" in res.details["design"]
    # same data sets: the two intervals disagree in only a few replicates near the boundary
    assert abs(_row(res, "ind")["power"] - _row(mc, "ind")["power"]) <= 0.2
    pd.testing.assert_frame_equal(
        res.table[res.table["kind"] == "coefficient"], mc.table[mc.table["kind"] == "coefficient"]
    )


def test_non_normal_items_keep_ml_estimates_unbiased():
    res = power(THREE, n=300, reps=300, seed=6, test="sobel", skew=1.0, kurtosis=3.0)
    normal = power(THREE, n=300, reps=300, seed=6, test="sobel")
    assert res.details["skew"] == [1.0] * 9 and res.details["kurtosis"] == [3.0] * 9
    assert "Vale and Maurelli" in res.details["design"]
    for name in ("a", "b", "f1=~x2"):
        assert abs(_row(res, name)["bias"]) < 0.03
    assert _row(res, "a")["mean_est"] != _row(normal, "a")["mean_est"]  # the data are not the normal ones


def test_latent_results_are_identical_for_any_threads_and_dask_workers():
    model = TWO.format(b=0.25)
    one = power(model, n=[80, 120], reps=260, seed=13, test="sobel", threads=1)  # chunks of 250 and 10
    two = power(model, n=[80, 120], reps=260, seed=13, test="sobel", threads=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    single = power(model, n=[120], reps=260, seed=13, test="sobel", threads=1)  # other Ns do not matter
    pd.testing.assert_frame_equal(
        one.table[one.table["n"] == 120].reset_index(drop=True), single.table.reset_index(drop=True)
    )
    pytest.importorskip("distributed")
    from sciplab.stats.power.runner import local_threads

    if local_threads() < 2:
        pytest.skip("a 2-worker local cluster needs 2 CPUs")
    dask = power(model, n=[80, 120], reps=260, seed=13, test="sobel", workers=2)
    pd.testing.assert_frame_equal(one.table, dask.table)
    assert "LocalCluster(2" in dask.details["run"] and "batched" in dask.details["run"]


def test_latent_sample_size_matches_the_asymptotic_wald_power():
    from statistics import NormalDist

    from sciplab.stats.power import sample_size

    model = TWO.format(b=0.3)
    res = sample_size(model, effect="f2~f1", target=0.8, reps=300, seed=17, test="sobel")
    # independent: the ML standard error of a huge sample scaled to N gives the Wald test's power
    # Phi(|theta| / SE(N) - z), so N = ((z_.975 + z_.80) * SE_1 / theta)^2 with SE_1 = SE * sqrt(n)
    pop = latent_population(model)
    big = 200_000
    x = draw(np.random.default_rng(1), 1, big, pop.cov, np.linalg.cholesky(pop.cov), None)[0]
    fit = sem(pd.DataFrame(x, columns=pop.observed), "f1 =~ x1 + x2 + x3\nf2 =~ y1 + y2 + y3\nf2 ~ f1")
    row = fit.table.query("lhs == 'f2' and op == '~' and rhs == 'f1'").iloc[0]
    z = NormalDist().inv_cdf
    n_asym = ((z(0.975) + z(0.8)) * row["se"] * np.sqrt(big) / res.details["population"]) ** 2
    assert abs(res.n - n_asym) / n_asym < 0.15, (res.n, n_asym)
    lo, hi = res.details["n_ci"]
    assert lo <= res.n <= hi
    assert abs(res.details["power"] - 0.8) < 3 * res.details["mcse"] + 0.02
    assert res.details["power_ci"][0] <= res.details["power"] <= res.details["power_ci"][1]
    # the confirmation run is power() at that N with the same seed
    again = power(model, n=res.n, reps=300, seed=17, test="sobel")
    pd.testing.assert_frame_equal(res.confirmation, again.table)
    assert "batched" in res.details["run"] and "Required N" in res.summary()


def test_fiml_sample_size_runs_through_the_sem_engine():
    from sciplab.stats.power import sample_size

    model = "m ~ 0.5*a*x; y ~ 0.5*b*m; ind := a*b"
    res = sample_size(model, effect="a", target=0.8, reps=6, seed=4, missing="mcar:0.1:fiml", n_min=20)
    assert res.n >= 20 and "FIML" in res.details["estimator"] and res.details["path"] == "m ~ x"
    again = power(model, n=res.n, reps=6, seed=4, missing="mcar:0.1:fiml")
    pd.testing.assert_frame_equal(res.confirmation, again.table)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": "zz"}, "no effect or parameter named 'zz'"),
        ({"effect": "f3~f1"}, "population value of 'f3~f1' is 0"),
        ({"effect": "ind", "n_min": 3}, "outside"),
        ({"effect": "ind", "target": 1.5}, "target must be in"),
    ],
)
def test_latent_sample_size_bad_input(kwargs, match):
    from sciplab.stats.power import sample_size

    with pytest.raises(InvalidParameterError, match=match):
        sample_size(THREE, reps=10, seed=1, **kwargs)
