"""Wilson interval: Newcombe (1998) Table II worked examples, statsmodels, edge cases, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from sciplab._core.errors import InvalidParameterError
from sciplab.stats.proportion import wilson_interval

# Newcombe (1998), Statistics in Medicine 17, Table II, method 3 (score interval without continuity correction)
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "lo", "hi"), NEWCOMBE)
def test_newcombe_table_ii(x, n, lo, hi):
    low, up = wilson_interval(x, n)
    assert float(low) == pytest.approx(lo, abs=1e-4)
    assert float(up) == pytest.approx(hi, abs=1e-4)


def test_matches_statsmodels_vectorised():
    from statsmodels.stats.proportion import proportion_confint

    x = np.array([0, 1, 3, 7, 10, 50])
    n = np.array([5, 5, 12, 7, 40, 60])
    for level in (0.9, 0.95, 0.99):
        low, up = wilson_interval(x, n, level=level)
        ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
        np.testing.assert_allclose(low, ref_lo, atol=1e-12)
        np.testing.assert_allclose(up, ref_hi, atol=1e-12)


def test_zero_n_gives_nan():
    low, up = wilson_interval([0, 2], [0, 4])
    assert np.isnan(low[0]) and np.isnan(up[0])
    assert 0 < low[1] < 0.5 < up[1] < 1


@pytest.mark.parametrize(("x", "n"), [(3, 2), (-1, 4), (1.5, 4), (float("nan"), 3)])
def test_bad_counts_named(x, n):
    with pytest.raises(InvalidParameterError, match="successes"):
        wilson_interval(x, n)


def test_bad_level():
    with pytest.raises(InvalidParameterError, match="level"):
        wilson_interval(1, 4, level=1.5)


@given(hs.integers(0, 500).flatmap(lambda n: hs.tuples(hs.integers(0, n), hs.just(n))))
def test_interval_contains_estimate(pair):
    x, n = pair
    low, up = wilson_interval(x, n)
    if n == 0:
        assert np.isnan(low)
        return
    assert 0 <= float(low) <= x / n <= float(up) <= 1
