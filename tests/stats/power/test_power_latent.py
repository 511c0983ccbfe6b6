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


def _fiml_reference(study, n: int, chunk: int, reps: int):
    """The chunk's replicate data sets (the same draws as ``run_latent_chunk``) and one ``sem()`` per replicate."""
    from sciplab._core.errors import ConvergenceWarning
    from sciplab.stats.power.latent import _apply_missing

    f = study.fitter
    data_ss, miss_ss, _ = np.random.SeedSequence([study.seed, n, chunk]).spawn(3)
    data = draw(np.random.default_rng(data_ss), reps, n, study.cov, study.chol, study.nonnormal)
    data = _apply_missing(
        np.random.default_rng(miss_ss), data, study.missing_columns, study.missing, study.cause, study.cause_sd,
        study.g0,
    )  # fmt: skip
    keys = [(lhs, op, rhs) for _, lhs, op, rhs, _ in f.rows] + [(nm, ":=", "") for nm in f.defined]
    est = np.full((reps, len(keys)), np.nan)
    se = np.full((reps, len(keys)), np.nan)
    for r in range(reps):  # the per-replicate reference the batched path replaces
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sem(pd.DataFrame(data[r][:, f.columns], columns=f.observed), f.parsed, missing="fiml", std=False)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            continue
        t = res.table
        at = {
            (a, o, b if o != ":=" else ""): i
            for i, (a, o, b) in enumerate(zip(t["lhs"], t["op"], t["rhs"], strict=True))
        }
        idx = [at[k] for k in keys]
        est[r], se[r] = t["est"].to_numpy()[idx], t["se"].to_numpy()[idx]
    return data, est, se


@pytest.mark.parametrize(
    ("model", "missing"),
    [
        ("f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3; m ~ 0.3*a*f1; y ~ 0.3*b*m; ind := a*b", "mar:0.25:x1:fiml"),
        ("m ~ 0.4*a*x; y ~ 0.3*b*m + 0.1*x; ind := a*b", "mcar:0.2:fiml"),
    ],
)
def test_batched_fiml_power_equals_per_replicate_sem_fits(model, missing):
    """Same draws -> the batched FIML refits give sem()'s estimates, SEs and rejections, replicate by replicate."""
    from statistics import NormalDist

    from sciplab.stats.power.latent import _delta_se, _fiml_batch_fit, prepare_sem, run_latent_chunk

    study, _ = prepare_sem(model, test="sobel", level=0.95, seed=7, missing=missing, analysis_model=None, draws=100)
    n, reps = 90, 10
    data, est_ref, se_ref = _fiml_reference(study, n, 0, reps)
    f = study.fitter
    phi, V, ok = _fiml_batch_fit(f, data)
    # the same replicates converge (sem(): no ConvergenceWarning)
    np.testing.assert_array_equal(ok, np.isfinite(est_ref).all(axis=1))
    assert ok.sum() >= reps - 2
    phi, V, est_ref, se_ref = phi[ok], V[ok], est_ref[ok], se_ref[ok]
    kk = [k for *_, k in f.rows]
    th = f.spec.theta(phi)
    est = np.concatenate([th[:, kk], f.defined_values(phi)], axis=1)
    Vt = np.einsum("ia,rab,jb->rij", f.spec.K, V, f.spec.K)
    se = np.concatenate([np.sqrt(np.diagonal(Vt, axis1=1, axis2=2))[:, kk], _delta_se(f, phi, V)], axis=1)
    np.testing.assert_allclose(est, est_ref, atol=1e-6)
    np.testing.assert_allclose(se, se_ref, rtol=1e-5)
    z = NormalDist().inv_cdf(0.975)
    reject_ref = np.abs(est_ref) > z * se_ref
    np.testing.assert_array_equal(np.abs(est) > z * se, reject_ref)
    out = run_latent_chunk(study, n, 0, reps)  # the engine's own chunk: the same counts and sums
    assert out["ok"] == ok.sum()
    np.testing.assert_array_equal(out["rejections"], reject_ref.sum(axis=0))
    np.testing.assert_allclose(out["est_sum"], est_ref.sum(axis=0), atol=1e-6 * reps)


def test_fiml_power_has_no_per_replicate_refit_loop(monkeypatch):
    """A FIML power run never calls sem() and solves each chunk's replicates in one batched refit."""
    import sciplab.stats.sem as sem_pkg
    import sciplab.stats.sem.core as core
    from sciplab.stats.sem import _fiml_batch

    def forbidden(*args, **kwargs):
        raise AssertionError("a per-replicate sem() fit ran")

    monkeypatch.setattr(sem_pkg, "sem", forbidden)
    monkeypatch.setattr(core, "sem", forbidden)
    calls: list[int] = []
    evaluations: list[int] = []
    refit, evaluate = _fiml_batch.refit_own_patterns, _fiml_batch.evaluate_slots

    def counting_refit(designs, Xr, phi0, **kw):
        calls.append(Xr[0].shape[0])
        return refit(designs, Xr, phi0, **kw)

    def counting_evaluate(*args, **kw):
        evaluations.append(1)
        return evaluate(*args, **kw)

    monkeypatch.setattr(_fiml_batch, "refit_own_patterns", counting_refit)
    monkeypatch.setattr(_fiml_batch, "evaluate_slots", counting_evaluate)
    res = power(TWO.format(b=0.4), n=[100, 140], reps=150, seed=5, missing="mcar:0.2:fiml", threads=1)
    assert sorted(calls) == [150, 150]  # one batched refit per chunk of 150 replicates
    # likelihood evaluations count solver steps (and step halvings), each for all running replicates
    # at once: a per-replicate loop would need at least one per replicate and step (> 2 x 150 x 10)
    assert len(evaluations) < 150
    assert "batched FIML" in res.details["run"] and "batches" in res.details["estimator"]
    assert res.details["failed_total"] == 0
