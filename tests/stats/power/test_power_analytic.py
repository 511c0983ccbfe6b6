"""Analytic Sobel power (pwrss conventions) against the closed form, and MC convergence."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from sciplab import InvalidParameterError
from sciplab.stats.power import power, r2_y_exact, sobel_power, sobel_sample_size


def closed_form(a, b, cp, n, sd_x=1.0, sd_m=1.0, sd_y=1.0, r2_y=None, alpha=0.05):
    """Independent transcription of the pwrss-style closed form (Sobel 1982; Bulus 2023) with scipy's normal."""
    r2_m = a**2 * sd_x**2 / sd_m**2
    if r2_y is None:
        r2_y = (b**2 * sd_m**2 + cp**2 * sd_x**2) / sd_y**2
    se_a = math.sqrt(sd_m**2 * (1 - r2_m) / (n * sd_x**2))
    se_b = math.sqrt(sd_y**2 * (1 - r2_y) / (n * sd_m**2 * (1 - r2_m)))
    z_s = a * b / math.sqrt(a**2 * se_b**2 + b**2 * se_a**2)
    z = stats.norm.ppf(1 - alpha / 2)
    return stats.norm.cdf(z_s - z) + stats.norm.cdf(-z_s - z)


@pytest.mark.parametrize(
    ("a", "b", "cp", "n", "kw"),
    [
        (0.39, 0.39, 0.0, 100, {}),
        (0.14, 0.39, 0.2, 250, {}),
        (0.3, -0.2, 0.1, 80, {"sd_x": 0.5, "sd_m": 1.2, "sd_y": 2.0}),
        (0.5, 0.5, 0.3, 40, {"r2_y": 0.5}),
    ],
)
def test_sobel_power_equals_the_closed_form(a, b, cp, n, kw):
    assert sobel_power(a, b, cp, n, **kw) == pytest.approx(closed_form(a, b, cp, n, **kw), abs=1e-12)


def test_level_changes_alpha():
    assert sobel_power(0.3, 0.3, 0, 100, level=0.99) == pytest.approx(closed_form(0.3, 0.3, 0, 100, alpha=0.01))


def test_pwrss_default_r2_y_leaves_out_the_covariance_term():
    a, b, cp = 0.3, 0.3, 0.2
    assert r2_y_exact(a, b, cp) - (b**2 + cp**2) == pytest.approx(2 * a * b * cp)
    assert sobel_power(a, b, cp, 100) != sobel_power(a, b, cp, 100, r2_y=r2_y_exact(a, b, cp))
    assert sobel_power(a, b, 0.0, 100) == sobel_power(a, b, 0.0, 100, r2_y=r2_y_exact(a, b, 0.0))


@pytest.mark.parametrize(("a", "b", "target"), [(0.39, 0.39, 0.8), (0.14, 0.26, 0.9), (0.59, 0.14, 0.8)])
def test_sample_size_is_the_smallest_n_reaching_the_target(a, b, target):
    n = sobel_sample_size(a, b, 0.1, power=target)
    assert sobel_power(a, b, 0.1, n) >= target > sobel_power(a, b, 0.1, n - 1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sobel_power(0.39, 0.39, 0, 0), "n must be"),
        (lambda: sobel_power(1.2, 0.3, 0, 100), "R\\^2 of M"),
        (lambda: sobel_power(0.3, 0.9, 0.6, 100), "R\\^2 of Y"),
        (lambda: sobel_power(0.3, 0.3, 0, 100, sd_x=0), "sd_x must be positive"),
        (lambda: sobel_sample_size(0.0, 0.3, 0), "indirect effect is zero"),
        (lambda: sobel_sample_size(0.3, 0.3, 0, power=1.0), "power must be in"),
        (lambda: sobel_power(float("nan"), 0.3, 0, 100), "finite"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


@pytest.mark.parametrize("n", [600, 1500])
def test_monte_carlo_sobel_power_converges_to_the_analytic_value(n):
    # standardized X -> M -> Y (c' = 0), one path dominating: the estimated Sobel z is then close to
    # N(z_S, 1), the approximation the analytic formula makes
    a, b = 0.1, 0.6
    res = power(f"m ~ {a}*a*x; y ~ {b}*b*m + 0*x; ind := a*b", n=n, reps=4000, test="sobel", seed=11)
    row = res.table[res.table["name"] == "ind"].iloc[0]
    analytic = sobel_power(a, b, 0.0, n)
    assert abs(row["power"] - analytic) < 3 * row["mcse"] + 0.01, (row["power"], analytic)


def test_analytic_sobel_understates_power_when_paths_are_balanced():
    # with a = b the estimated z has SD about 0.5, not 1 (delta method), so the analytic value
    # (pwrss's normal approximation) is below the simulated power of the same Sobel test
    res = power("m ~ 0.2*a*x; y ~ 0.2*b*m + 0*x; ind := a*b", n=400, reps=2000, test="sobel", seed=11)
    row = res.table[res.table["name"] == "ind"].iloc[0]
    assert row["power"] > sobel_power(0.2, 0.2, 0.0, 400) + 3 * row["mcse"]
