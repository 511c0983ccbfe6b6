"""Vale-Maurelli / Fleishman generation and missing-data designs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sciplab import InvalidParameterError
from sciplab.stats.power import Missing, fleishman, population
from sciplab.stats.power.generate import (
    complete_cases,
    draw,
    intermediate_correlation,
    mar_intercept,
    non_normal,
    parse_missing,
)


def _moments(a, b, c, d):
    """Mean, variance, skewness and excess kurtosis of a + bZ + cZ^2 + dZ^3 from normal moments."""
    z = np.polynomial.hermite_e.hermegauss(80)
    x, w = z[0], z[1] / z[1].sum()
    y = a + b * x + c * x**2 + d * x**3
    m = np.sum(w * y)
    v = np.sum(w * (y - m) ** 2)
    return m, v, np.sum(w * (y - m) ** 3) / v**1.5, np.sum(w * (y - m) ** 4) / v**2 - 3


@pytest.mark.parametrize(("skew", "kurt"), [(1.0, 1.5), (-0.5, 0.5), (2.0, 7.0), (0.0, 3.0)])
def test_fleishman_coefficients_give_the_requested_moments(skew, kurt):
    m, v, s, k = _moments(*fleishman(skew, kurt))
    np.testing.assert_allclose([m, v, s, k], [0, 1, skew, kurt], atol=1e-8)


def test_fleishman_refuses_unreachable_combinations():
    with pytest.raises(InvalidParameterError, match="Fleishman"):
        fleishman(3.0, 0.0)


def test_intermediate_correlation_inverts_the_vale_maurelli_polynomial():
    c1, c2 = fleishman(1.0, 1.5), fleishman(-0.5, 0.5)
    rho = intermediate_correlation(0.4, c1, c2)
    _, b1, g1, d1 = c1
    _, b2, g2, d2 = c2
    r = rho * (b1 * b2 + 3 * b1 * d2 + 3 * d1 * b2 + 9 * d1 * d2) + rho**2 * 2 * g1 * g2 + rho**3 * 6 * d1 * d2
    assert r == pytest.approx(0.4, abs=1e-12)


def test_vale_maurelli_sample_has_the_marginal_moments_and_the_covariances():
    pop = population("m ~ 0.5*x; y ~ 0.4*m")
    nn = non_normal(pop.cov, pop.variables, 1.0, 1.5)
    data = draw(np.random.default_rng(2), 1, 300_000, pop.cov, np.linalg.cholesky(pop.cov), nn)[0]
    np.testing.assert_allclose(np.cov(data, rowvar=False), pop.cov, atol=0.015)
    z = (data - data.mean(0)) / data.std(0)
    np.testing.assert_allclose((z**3).mean(0), 1.0, atol=0.05)
    np.testing.assert_allclose((z**4).mean(0) - 3, 1.5, atol=0.25)


def test_mcar_and_mar_rates():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((4, 50_000, 3))
    w = complete_cases(rng, data, [1, 2], Missing(0.2), None, 1.0, 0.0)
    assert w.mean() == pytest.approx(0.8**2, abs=0.005)
    g0 = mar_intercept(0.3)
    w = complete_cases(rng, data, [1], Missing(0.3, "MAR", cause="x"), 0, 1.0, g0)
    assert 1 - w.mean() == pytest.approx(0.3, abs=0.005)
    # MAR: the missing rows have higher values of the cause
    missing_rows = w == 0
    assert data[..., 0][missing_rows].mean() > data[..., 0][~missing_rows].mean() + 0.3


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (0.1, Missing(0.1)),
        ("mcar:0.2", Missing(0.2)),
        ("MAR:0.25:anx", Missing(0.25, "MAR", None, "anx")),
        ({"rate": 0.1, "variables": ["y"]}, Missing(0.1, variables=("y",))),
        ("mcar:0.2:fiml", Missing(0.2, method="fiml")),
        (None, None),
    ],
)
def test_parse_missing(spec, expected):
    assert parse_missing(spec) == expected


@pytest.mark.parametrize("spec", ["mcar", "mcar:x", "mar:0.2", "mcar:1.5", "nope:0.1", {"rat": 0.1}, [0.1], True])
def test_parse_missing_refuses(spec):
    with pytest.raises(InvalidParameterError):
        parse_missing(spec)


@given(st.one_of(st.text(max_size=40), st.floats(allow_nan=True), st.none()))
def test_parse_missing_never_crashes(spec):
    try:
        out = parse_missing(spec)
    except InvalidParameterError:
        return
    assert out is None or 0 <= out.rate < 1
