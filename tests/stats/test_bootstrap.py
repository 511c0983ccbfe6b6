"""Tests of the shared resampling engine sciplab.stats._bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sciplab._core.errors import InvalidParameterError
from sciplab.stats import _bootstrap as bs


def test_indices_do_not_depend_on_chunk_size():
    r = bs.Resampler(n=37, B=1000, seed=5)
    whole = r.indices()
    for size in (1, 7, 256, 300, 1000):
        parts = np.concatenate([idx for _, _, idx in r.chunks(size)])
        np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(r.indices(250, 530), whole[250:530])
    assert whole.shape == (1000, 37) and whole.min() >= 0 and whole.max() < 37


def test_counts_equal_bincount_of_indices_for_any_range():
    r = bs.Resampler(n=50, B=700, seed=1)
    idx = r.indices()
    ref = np.stack([np.bincount(i, minlength=50) for i in idx]).astype(float)
    np.testing.assert_array_equal(r.counts(), ref)
    np.testing.assert_array_equal(r.counts(100, 613), ref[100:613])
    assert r.counts(5, 5).shape == (0, 50)
    assert (r.counts().sum(axis=1) == 50).all()


def test_same_seed_same_indices_different_seed_different():
    a = bs.Resampler(20, 10, seed=3).indices()
    np.testing.assert_array_equal(a, bs.Resampler(20, 10, seed=3).indices())
    assert not np.array_equal(a, bs.Resampler(20, 10, seed=4).indices())


def test_stratified_resampling_keeps_group_sizes():
    strata = np.array([0] * 10 + [1] * 5 + [2] * 25)
    r = bs.Resampler(40, 300, seed=2, strata=strata)
    idx = r.indices()
    np.testing.assert_array_equal(strata[idx], np.broadcast_to(strata, idx.shape))
    # every member of a stratum is drawn with equal probability
    counts = np.bincount(idx[:, :10].ravel(), minlength=40)[:10]
    assert counts.min() > 0.8 * counts.mean()


def test_chunks_reject_bad_size():
    with pytest.raises(InvalidParameterError):
        list(bs.Resampler(5, 5, 1).chunks(0))


def test_percentile_ci_is_type7_quantiles_and_drops_nan():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(999, 3))
    reps[::10, 1] = np.nan
    ci = bs.percentile_ci(reps, 0.9)
    np.testing.assert_allclose(ci[:, 0], np.quantile(reps[:, 0], [0.05, 0.95]))
    col = reps[:, 1][np.isfinite(reps[:, 1])]
    np.testing.assert_allclose(ci[:, 1], np.quantile(col, [0.05, 0.95], method="linear"))


def _direct_bca(reps, est, jack, level):
    """Textbook BCa (Efron & Tibshirani 1993, eq. 14.9-14.15), one parameter."""
    alpha = 1 - level
    z0 = stats.norm.ppf(np.mean(reps < est))
    d = jack.mean() - jack
    a = (d**3).sum() / (6 * ((d**2).sum()) ** 1.5) if np.any(d) else 0.0
    out = []
    for z in (stats.norm.ppf(alpha / 2), stats.norm.ppf(1 - alpha / 2)):
        out.append(np.quantile(reps, stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))))
    return np.array(out), a


def test_bc_and_bca_match_direct_computation():
    rng = np.random.default_rng(1)
    x = rng.exponential(size=40)
    r = bs.Resampler(40, 2000, seed=9)
    reps = x[r.indices()].mean(axis=1)
    jack = np.array([np.delete(x, i).mean() for i in range(40)])
    est = x.mean()
    direct, a = _direct_bca(reps, est, jack, 0.95)
    np.testing.assert_allclose(bs.jackknife_acceleration(jack), [a])
    np.testing.assert_allclose(bs.bca_ci(reps, est, a, 0.95)[:, 0], direct)
    direct_bc, _ = _direct_bca(reps, est, np.zeros(3), 0.95)
    np.testing.assert_allclose(bs.bc_ci(reps, est, 0.95)[:, 0], direct_bc)
    # skewed statistic: BCa moves the interval to the right of the percentile interval
    assert bs.bca_ci(reps, est, a)[1, 0] > bs.percentile_ci(reps)[1, 0]


def test_bc_nan_when_estimate_outside_replicates():
    reps = np.linspace(1, 2, 100)
    assert np.isnan(bs.bc_ci(reps, np.array([5.0]))).all()


def test_bootstrap_pvalue():
    reps = np.array([[-1.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
    np.testing.assert_allclose(bs.bootstrap_pvalue(reps, np.array([1.5, 2.5])), [0.5, 0.0])
    assert bs.bootstrap_pvalue(reps, np.array([0.0, 2.5]))[0] == 1.0
    assert np.isnan(bs.bootstrap_pvalue(np.full((4, 1), np.nan), np.array([1.0]))[0])


def test_endpoint_mcse_matches_repeated_bootstraps():
    """MC SE of the 2.5 % quantile vs the SD over independent bootstrap runs."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=100)
    ends, ses = [], []
    for seed in range(40):
        reps = x[bs.Resampler(100, 1000, seed).indices()].mean(axis=1)
        ends.append(bs.percentile_ci(reps)[0, 0])
        ses.append(bs.endpoint_mcse(reps, np.array([0.025]))[0, 0])
    ratio = np.mean(ses) / np.std(ends, ddof=1)
    assert 0.6 < ratio < 1.6, ratio


@pytest.mark.parametrize("bad", [-1, 10**8, 2.5, True, "100"])
def test_check_replicates_rejects(bad):
    with pytest.raises(InvalidParameterError):
        bs.check_replicates(bad)


def test_check_level_and_auto_chunk():
    assert bs.check_level(0.9) == 0.9
    for bad in (0, 1, 95, "x"):
        with pytest.raises(InvalidParameterError):
            bs.check_level(bad)
    assert bs.auto_chunk(1000, 5000) == 5000
    assert 1 <= bs.auto_chunk(10**6, 5000, floats_per_row=3) < 5000
