"""Population and analysis models: implied moments, standardization, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab import InvalidParameterError, ModelSyntaxError
from sciplab.stats.power import EngineUnavailableError, population
from sciplab.stats.power.generate import draw
from sciplab.stats.power.model import analysis_model

CORE = """
m1 ~ 0.3*x1 + 0.2*x2
m2 ~ -0.25*x1
y ~ 0.4*m1 + 0.2*m2 + 0.1*x1
x1 ~~ 0.4*x2
m1 ~~ 0.2*m2
"""


def test_standardized_population_has_unit_variances_and_closed_form_covariances():
    pop = population("m ~ 0.5*x; y ~ 0.4*m + 0.2*x")
    assert pop.variables == ("x", "m", "y")
    np.testing.assert_allclose(np.diag(pop.cov), 1.0, atol=1e-12)
    # cov(x, y) = c' + a b (standardized, unit variances); cov(m, y) = b + a c'
    np.testing.assert_allclose(pop.cov[0, 2], 0.2 + 0.5 * 0.4, atol=1e-12)
    np.testing.assert_allclose(pop.cov[1, 2], 0.4 + 0.5 * 0.2, atol=1e-12)


def test_implied_covariance_equals_bollen_formula():
    pop = population(CORE)
    names = list(pop.variables)
    idx = {v: i for i, v in enumerate(names)}
    B = np.zeros((5, 5))
    for y, x, v in [("m1", "x1", 0.3), ("m1", "x2", 0.2), ("m2", "x1", -0.25), ("y", "m1", 0.4), ("y", "m2", 0.2),
                    ("y", "x1", 0.1)]:  # fmt: skip
        B[idx[y], idx[x]] = v
    psi = np.diag(1 - np.einsum("ij,jk,ik->i", B, pop.cov, B))  # residual variances of unit-variance variables
    psi[idx["x1"], idx["x2"]] = psi[idx["x2"], idx["x1"]] = 0.4
    psi[idx["m1"], idx["m2"]] = psi[idx["m2"], idx["m1"]] = 0.2 * np.sqrt(
        psi[idx["m1"], idx["m1"]] * psi[idx["m2"], idx["m2"]]
    )
    inv = np.linalg.inv(np.eye(5) - B)
    np.testing.assert_allclose(pop.cov, inv @ psi @ inv.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(pop.cov), 1.0, atol=1e-12)


def test_huge_generated_sample_reproduces_the_implied_covariance():
    pop = population(CORE)
    data = draw(np.random.default_rng(5), 1, 400_000, pop.cov, np.linalg.cholesky(pop.cov), None)[0]
    # sampling SD of a covariance at N = 400,000 is below 0.0025; tolerance 0.01 = 4 SD
    np.testing.assert_allclose(np.cov(data, rowvar=False), pop.cov, atol=0.01)


def test_explicit_variances_are_used_as_given():
    pop = population("m ~ 0.39*x; m ~~ 1*m; y ~ 0.39*m; y ~~ 1*y; x ~~ 1*x")
    np.testing.assert_allclose(pop.cov[1, 1], 0.39**2 + 1, atol=1e-12)
    np.testing.assert_allclose(pop.cov[2, 2], 0.39**2 * (0.39**2 + 1) + 1, atol=1e-12)


def test_population_values_of_labels_and_defined_effects():
    pop = population("m ~ 0.3*a*x; y ~ 0.5*b*m; ind := a*b")
    assert pop.values == pytest.approx({"a": 0.3, "b": 0.5, "ind": 0.15})


def test_r2_at_least_one_names_the_equation():
    with pytest.raises(InvalidParameterError, match=r"'y ~ 0.8\*x1 \+ 0.7\*x2' implies R\^2 = 1.1"):
        population("y ~ 0.8*x1 + 0.7*x2")


def test_not_positive_definite_names_variables():
    with pytest.raises(InvalidParameterError, match="not positive definite"):
        population("y ~ 0.1*x1 + 0.1*x2 + 0.1*x3; x1 ~~ 0.9*x2; x2 ~~ 0.9*x3; x1 ~~ -0.9*x3")


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ("m ~ x", "needs a value for every regression"),
        ("m ~ 0.3*x; x ~~ 1.5*z", "between -1 and 1"),
        ("m ~ 0.3*x; m ~~ -1*m", "must be positive"),
        ("m ~ 0.3*x; m ~~ 0.2*x", "predictor"),
        ("f =~ 1*x1 + 0.8*x2; y ~ 0.3*f", "SEM engine"),
    ],
)
def test_bad_population_models(model, match):
    with pytest.raises((InvalidParameterError, EngineUnavailableError), match=match):
        population(model)


def test_latent_models_raise_the_typed_engine_error():
    with pytest.raises(EngineUnavailableError, match="sciplab.stats.sem"):
        population("f =~ 1*x1 + 0.8*x2 + 0.8*x3; y ~ 0.3*f")
    assert issubclass(EngineUnavailableError, NotImplementedError)


def test_defined_effect_with_unknown_label_is_a_syntax_error():
    with pytest.raises(ModelSyntaxError, match="unknown label 'c'"):
        population("m ~ 0.3*a*x; y ~ 0.3*b*m; ind := a*c")


def test_reduced_analysis_model_gets_population_regression_values():
    pop = population("m ~ 0.5*x; y ~ 0.4*m + 0.3*x")
    am = analysis_model(pop, "y ~ b*m")  # omits x: b absorbs the confounding path
    expected = pop.cov[1, 2] / pop.cov[1, 1]
    assert am.truth["b"] == pytest.approx(expected)
    assert am.truth["b"] == pytest.approx(0.4 + 0.5 * 0.3)


def test_default_effects_enumerate_every_indirect_path():
    pop = population(CORE)
    am = analysis_model(pop)
    assert dict(am.effect_paths) == {
        "ind1": "x1 -> m1 -> y",
        "ind2": "x1 -> m2 -> y",
        "ind3": "x2 -> m1 -> y",
    }
    assert am.truth["ind1"] == pytest.approx(0.3 * 0.4)
    assert am.truth["ind2"] == pytest.approx(-0.25 * 0.2)


def test_analysis_model_errors():
    pop = population("m ~ 0.5*x; y ~ 0.4*m")
    with pytest.raises(InvalidParameterError, match="does not generate"):
        analysis_model(pop, "y ~ mm")
    with pytest.raises(InvalidParameterError, match="fixes"):
        analysis_model(pop, "y ~ 0.3*m")
    with pytest.raises(InvalidParameterError, match="does not estimate"):
        analysis_model(population("m ~ 0.5*a*x; y ~ 0.4*b*m; ind := a*b"), "m ~ x; y ~ m")


def test_matrix_population_needs_an_analysis_model():
    corr = pd.DataFrame([[1, 0.3, 0.2], [0.3, 1, 0.4], [0.2, 0.4, 1]], index=list("xmy"), columns=list("xmy"))
    pop = population(corr)
    with pytest.raises(InvalidParameterError, match="analysis_model"):
        analysis_model(pop)
    am = analysis_model(pop, "m ~ a*x; y ~ b*m + x; ind := a*b")
    b = np.linalg.solve(corr.loc[["m", "x"], ["m", "x"]].to_numpy(), corr.loc[["m", "x"], "y"].to_numpy())[0]
    assert am.truth["ind"] == pytest.approx(0.3 * b)
