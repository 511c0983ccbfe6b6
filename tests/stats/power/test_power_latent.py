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
    return res.table[res.table["name"] == name].iloc[0]


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
        (TWO.format(b=0.3), {"test": "percentile"}, "not available"),
        (TWO.format(b=0.3), {"analysis_model": "f1 =~ x1 + x2\nf1 ~~ f1\nx1 ~~ x2"}, "identif"),
        (TWO.format(b=0.3), {"analysis_model": "f1 =~ x1 + x2 + xx3"}, "xx3"),
        (TWO.format(b=0.3), {"skew": 1.0}, "normal data"),
        (TWO.format(b=0.3), {"workers": 2}, "locally"),
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


def test_sample_size_refuses_latent_and_fiml_studies_clearly():
    from sciplab.stats.power import sample_size

    with pytest.raises(InvalidParameterError, match="list of N"):
        sample_size(TWO.format(b=0.3), effect="f2~f1", reps=10, seed=1)
    with pytest.raises(InvalidParameterError, match="list of N"):
        sample_size("m ~ 0.3*a*x; y ~ 0.3*b*m; ind := a*b", effect="ind", reps=10, missing="mcar:0.1:fiml")
