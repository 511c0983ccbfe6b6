"""Tests of the shared resampling engine sciplab.stats._bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sciplab._core.errors import InvalidParameterError
from sciplab._core.validation import check_level, check_replicates
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
        check_replicates(bad)


def test_check_level_and_auto_chunk():
    assert check_level(0.9) == 0.9
    for bad in (0, 1, 95, "x"):
        with pytest.raises(InvalidParameterError):
            check_level(bad)
    assert bs.auto_chunk(1000, 5000) == 5000
    assert 1 <= bs.auto_chunk(10**6, 5000, floats_per_row=3) < 5000


# --- fast paths: weighted sums without count matrices, one-sort interval summaries -------------


@pytest.mark.parametrize(("n", "B", "k"), [(50, 700, 3), (1000, 513, 10), (7, 257, 28), (3000, 300, 6)])
def test_weighted_sums_equal_counts_times_table(n, B, k):
    r = bs.Resampler(n, B, seed=11)
    table = np.random.default_rng(n).normal(size=(n, k))
    ref = r.counts() @ table
    got = np.concatenate([s for _, _, s in r.weighted_sums(table, threads=1)])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7, 9, 10, 28])
def test_fused_sums_kernel_equals_counts_times_table(k: int) -> None:
    """The compiled sums (four, two or one moment columns per pass; float32 or float64 counts) are counts @ table."""
    kernels = bs._kernels()
    n, reps = 301, 11  # replicates not a multiple of the group of four
    r = bs.Resampler(n, 50, seed=12)
    key, members, bounds = r._plan
    table = np.random.default_rng(k).normal(size=(n, k))
    columns = np.ascontiguousarray(table.T)
    counts = np.empty((reps, n))
    kernels.fill_counts(key, 5, members, bounds, counts)
    ref = counts @ table
    got = np.empty((reps, k))
    kernels.fill_sums(key, 5, members, bounds, columns, got)  # float32 counts
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    wide = np.empty((reps, k))
    kernels._fill_sums(key, 5, members, bounds, columns, wide, np.empty((kernels.SUM_GROUP, n)))  # float64 counts
    np.testing.assert_array_equal(wide, got)  # small integer counts are exact in either: the same sums


def test_weighted_sums_threads_and_chunks_bit_identical():
    r = bs.Resampler(200, 1500, seed=4)
    table = np.random.default_rng(0).normal(size=(200, 6))
    seq = [(a, b, s) for a, b, s in r.weighted_sums(table, 100, threads=1)]
    par = [(a, b, s) for a, b, s in r.weighted_sums(table, 100, threads=2)]
    assert [(a, b) for a, b, _ in seq] == [(a, b) for a, b, _ in par]
    assert seq[-1][1] == 1500
    whole_seq = np.concatenate([s for _, _, s in seq])
    np.testing.assert_array_equal(np.concatenate([s for _, _, s in par]), whole_seq)
    for size in (1, 7, 256, 999, None):
        got = np.concatenate([s for _, _, s in r.weighted_sums(table, size, threads=2)])
        np.testing.assert_array_equal(got, whole_seq)


def test_weighted_sums_strata_and_errors():
    strata = np.array([0] * 10 + [1] * 30)
    r = bs.Resampler(40, 300, seed=2, strata=strata)
    table = np.random.default_rng(1).normal(size=(40, 3))
    got = np.concatenate([s for _, _, s in r.weighted_sums(table, 64)])
    np.testing.assert_allclose(got, r.counts() @ table, rtol=1e-12, atol=1e-12)
    with pytest.raises(InvalidParameterError):
        next(r.weighted_sums(np.ones((39, 2))))
    with pytest.raises(InvalidParameterError):
        next(r.weighted_sums(table, 0))
    assert list(bs.Resampler(40, 0, seed=2).weighted_sums(table)) == []


def test_vectorised_quantiles_bit_identical_to_numpy():
    rng = np.random.default_rng(5)
    reps = rng.normal(size=(997, 6))
    reps[:, 1] = np.round(reps[:, 1], 1)  # ties
    reps[::7, 2] = np.nan
    reps[:, 3] = np.nan  # all missing
    reps[1:, 4] = np.nan  # one value
    probs = np.array([0.0, 0.025, 0.3, 0.5, 0.975, 1.0, 0.123456789])
    got = bs._quantile_cols(reps, probs)
    for j in range(reps.shape[1]):
        col = reps[:, j][np.isfinite(reps[:, j])]
        expect = np.full(probs.size, np.nan) if col.size == 0 else np.quantile(col, probs, method="linear")
        np.testing.assert_array_equal(got[:, j], expect)
    probs2 = rng.uniform(size=(2, 6))
    probs2[0, 5] = np.nan
    got2 = bs._quantile_cols(reps, probs2)
    for j in (0, 1, 2, 5):
        col = reps[:, j][np.isfinite(reps[:, j])]
        for i in range(2):
            expect = np.nan if np.isnan(probs2[i, j]) else np.quantile(col, probs2[i, j], method="linear")
            np.testing.assert_array_equal(got2[i, j], expect)


def test_replicate_summary_bit_identical_to_separate_functions():
    rng = np.random.default_rng(8)
    reps = rng.gamma(2.0, size=(2000, 4)) - 1.0
    reps[::13, 1] = np.nan
    est = np.array([0.5, 0.0, -0.2, 1.0])
    for probs in (np.array([0.025, 0.975]), rng.uniform(0.01, 0.99, size=(2, 4))):
        s = bs.replicate_summary(reps, est, probs)
        np.testing.assert_array_equal(s["ci"], bs._quantile_cols(reps, probs))
        np.testing.assert_array_equal(s["mcse"], bs.endpoint_mcse(reps, probs))
        np.testing.assert_array_equal(s["pvalue"], bs.bootstrap_pvalue(reps, est))
    alpha = 1 - 0.9
    pct = bs.replicate_summary(reps, est, np.array([alpha / 2, 1 - alpha / 2]))["ci"]
    np.testing.assert_array_equal(pct, bs.percentile_ci(reps, 0.9))
    skipped = bs.replicate_summary(reps, est, np.array([0.05, 0.95]), mcse=False, pvalue=False)
    assert np.isnan(skipped["mcse"]).all() and np.isnan(skipped["pvalue"]).all()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process.*multi-threaded:DeprecationWarning")  # Python >= 3.12
def test_weighted_sums_work_in_a_forked_child_after_the_parent_used_the_pool():
    import multiprocessing as mp

    r = bs.Resampler(100, 1000, seed=8)
    table = np.random.default_rng(0).normal(size=(100, 3))
    parent = np.concatenate([s for _, _, s in r.weighted_sums(table, threads=2)])
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:  # the child inherits the parent's (thread-less) pool object
        child = pool.apply_async(_sums_in_child, (table,)).get(timeout=30)
    np.testing.assert_array_equal(child, parent)


def _sums_in_child(table: np.ndarray) -> np.ndarray:
    r = bs.Resampler(100, 1000, seed=8)
    return np.concatenate([s for _, _, s in r.weighted_sums(table, threads=2)])


def test_jackknife_sums_are_leave_one_out_sums_in_any_chunking():
    rng = np.random.default_rng(3)
    table = rng.normal(size=(23, 4))
    direct = np.array([np.delete(table, i, axis=0).sum(axis=0) for i in range(23)])
    for size in (None, 1, 5, 100):
        chunks = list(bs.jackknife_sums(table, size))
        assert chunks[0][0] == 0 and chunks[-1][1] == 23
        np.testing.assert_allclose(np.concatenate([c for _, _, c in chunks]), direct, atol=1e-12)


def test_bca_probs_is_the_formula_behind_bca_ci():
    rng = np.random.default_rng(4)
    reps = rng.normal(size=(500, 3))
    est, acc = np.array([0.1, 0.0, -0.2]), np.array([0.05, 0.0, -0.03])
    probs = bs.bca_probs(reps, est, acc, 0.9)
    for j in range(3):
        np.testing.assert_allclose(np.quantile(reps[:, j], probs[:, j]), bs.bca_ci(reps, est, acc, 0.9)[:, j])
    np.testing.assert_allclose(bs.bca_probs(reps, np.median(reps, axis=0), np.zeros(3), 0.9)[:, 0], [0.05, 0.95])


def test_resampling_seed_one_rule_for_every_kind_of_seed():
    assert bs.resampling_seed(0) == 0 and bs.resampling_seed(np.int64(12)) == 12
    fresh = bs.resampling_seed(None)
    assert isinstance(fresh, int) and 0 <= fresh < 2**63
    drawn = bs.resampling_seed(np.random.default_rng(5))
    assert drawn == int(np.random.default_rng(5).integers(0, 2**63 - 1))
    assert bs.resampling_seed(np.random.SeedSequence(5)) == drawn
    for bad in (-1, True, "1", 1.5):
        with pytest.raises(InvalidParameterError):
            bs.resampling_seed(bad)


def test_infinite_replicates_count_as_failed():
    rng = np.random.default_rng(2)
    reps = rng.normal(size=(400, 1))
    with_inf = np.vstack([reps, [[-np.inf]], [[np.inf]], [[np.nan]]])
    np.testing.assert_array_equal(bs.percentile_ci(with_inf), bs.percentile_ci(reps))
    np.testing.assert_array_equal(bs.bootstrap_pvalue(with_inf, np.array([0.1])), bs.bootstrap_pvalue(reps, [0.1]))


def test_normal_cdf_and_quantile_match_scipy() -> None:
    """The scipy-free normal helpers (start-up, issue 19) agree with scipy.special to ~1e-13."""
    from scipy.special import ndtr, ndtri

    from sciplab.stats._bootstrap import norm_cdf, norm_ppf

    x = np.concatenate([np.linspace(-37, 37, 4001), [np.nan, np.inf, -np.inf]])
    got, want = norm_cdf(x), ndtr(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    p = np.concatenate([np.linspace(0, 1, 4001), [1e-300, 1e-20, np.nan, -0.1, 1.1]])
    np.testing.assert_allclose(norm_ppf(p), ndtri(p), rtol=1e-13, atol=1e-14)
    assert norm_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-15)


def test_replicate_summary_partition_is_bit_identical_to_sorting() -> None:
    """The interval step partitions on the needed order statistics (issue 19); same bits as a sort."""
    rng = np.random.default_rng(3)
    for trial in range(60):
        B, p = int(rng.integers(1, 3000)), int(rng.integers(1, 12))
        reps = rng.normal(size=(B, p))
        if trial % 3 == 0:
            reps[rng.random(reps.shape) < 0.1] = np.nan
        if trial % 7 == 0:
            reps[:, 0] = np.nan
        if trial % 5 == 0:
            reps = np.round(reps, 1)  # ties
        if trial % 11 == 0:
            reps = rng.integers(0, 3, size=reps.shape).astype(float)  # few distinct values
        est = rng.normal(size=p)
        probs = np.array([0.025, 0.975]) if trial % 2 else bs.bca_probs(reps, est, np.zeros(p), 0.9)
        got = bs.replicate_summary(reps, est, probs)
        assert np.array_equal(got["ci"], bs._quantile_cols(reps, probs), equal_nan=True)
        assert np.array_equal(got["mcse"], bs.endpoint_mcse(reps, probs), equal_nan=True)


def test_sorted_rows_give_the_column_functions_bit_for_bit():
    """sort_rows + bca_probs_rows + summary_rows (paths' interval step) equal the column-wise functions."""
    rng = np.random.default_rng(11)
    reps = rng.gamma(2.0, size=(3000, 5)) - 1.0
    reps[::17, 1] = np.nan
    reps[5, 2], reps[9, 2] = np.inf, -np.inf
    est, acc = np.array([0.4, 0.0, -0.1, 1.0, 0.2]), np.array([0.0, 0.02, -0.01, 0.0, 0.03])
    for threads in (1, 2):
        rows = np.array(reps.T, order="C")
        counts = bs.sort_rows(rows, threads=threads)
        np.testing.assert_array_equal(counts, np.isfinite(reps).sum(axis=0))
        assert all(np.all(np.diff(rows[j, : counts[j]]) >= 0) for j in range(5))
        assert np.isnan(rows[1, counts[1] :]).all() and np.isnan(rows[2, counts[2] :]).all()
        probs = bs.bca_probs_rows(rows, counts, est, acc, 0.9)
        np.testing.assert_array_equal(probs, bs.bca_probs(reps, est, acc, 0.9))
        got = bs.summary_rows(rows, counts, est, probs)
        want = bs.replicate_summary(reps, est, probs)
        for key in ("ci", "mcse", "pvalue"):
            np.testing.assert_array_equal(got[key], want[key])
        np.testing.assert_array_equal(got["ci"], bs.bca_ci(reps, est, acc, 0.9))


def test_sort_rows_splits_large_arrays_across_threads_identically():
    rng = np.random.default_rng(12)
    rows = rng.normal(size=(9, 5000))
    one, two = rows.copy(), rows.copy()
    bs.sort_rows(one, threads=1)
    bs.sort_rows(two, threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, np.sort(rows, axis=1))


def test_started_sums_run_while_the_caller_works_and_can_be_abandoned():
    rng = np.random.default_rng(13)
    table = rng.normal(size=(300, 3))
    r = bs.Resampler(300, 1000, seed=4)
    want = np.concatenate([s for _, _, s in r.weighted_sums(table, threads=1)])
    for threads in (1, 2):
        run = r.start_sums(table, threads=threads)
        got = np.concatenate([s for _, _, s in run.chunks(333)])
        run.cancel()
        np.testing.assert_array_equal(got, want)
    abandoned = r.start_sums(table, threads=2)
    abandoned.cancel()  # blocks not started are dropped; a later run is unaffected
    np.testing.assert_array_equal(np.concatenate([s for _, _, s in r.weighted_sums(table, threads=2)]), want)
    with pytest.raises(InvalidParameterError):
        r.start_sums(np.ones((299, 3)))


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_select_summary_rows_equals_sorting_bit_for_bit(threads: int, compiled: bool) -> None:
    """paths' interval step reads only the order statistics it needs (issue 19): same bits as a sort.

    Compiled: the tails kept in heaps (kernels loaded); else partitions put them in place.
    """
    if compiled:
        bs._kernels()
    rng = np.random.default_rng(21)
    for trial in range(60):
        B, p = int(rng.integers(2, 6000)), int(rng.integers(1, 30))
        reps = rng.standard_t(3, size=(B, p))
        if trial % 3 == 0:
            reps[rng.random(reps.shape) < 0.05] = np.nan
        if trial % 4 == 0:
            reps[rng.random(reps.shape) < 0.01] = np.inf
        if trial % 7 == 0:
            reps[:, 0] = np.nan
        if trial % 5 == 0:
            reps = np.round(reps, 1)  # ties
        if trial % 11 == 0:
            reps = rng.integers(0, 3, size=reps.shape).astype(float)  # few distinct values
        est = rng.normal(size=p)
        if trial % 2:
            probs = np.array([0.025, 0.975]) if trial % 4 == 1 else np.array([0.0, 1.0])
        else:  # BC levels; some estimates outside the replicates (NaN levels), some far off centre
            est[:: max(1, p // 3)] = rng.choice([-50.0, 0.8, 50.0])
            probs = bs.bca_probs(np.where(np.isinf(reps), np.nan, reps), est, rng.normal(0, 0.05, size=p), 0.9)
        sorted_rows = np.array(reps.T, order="C")
        counts = bs.sort_rows(sorted_rows)
        want = bs.summary_rows(sorted_rows, counts, est, probs)
        rows = np.array(reps.T, order="C")
        got_counts = bs.finite_counts(rows)
        np.testing.assert_array_equal(got_counts, counts)
        if not trial % 2:
            np.testing.assert_array_equal(bs.bca_probs_rows(rows, got_counts, est, np.zeros(p), 0.9),
                                          bs.bca_probs_rows(sorted_rows, counts, est, np.zeros(p), 0.9))  # fmt: skip
        if trial % 6 == 0 and B > 200:  # a wide level: tails over a quarter of the row (sorted)
            probs = np.array(np.broadcast_to(probs[:, None] if probs.ndim == 1 else probs, (2, p)))
            probs[0] = np.clip(probs[0] + 0.3, 0, 0.45)
            want = bs.summary_rows(sorted_rows, counts, est, probs)
        got = bs.select_summary_rows(rows, got_counts, est, probs, threads=threads, compiled=compiled)
        for key in ("ci", "mcse", "pvalue"):
            assert np.array_equal(got[key], want[key], equal_nan=True), (trial, key)


def test_select_rows_places_the_order_statistics_of_both_tails() -> None:
    rng = np.random.default_rng(22)
    rows = rng.normal(size=(7, 1000))
    want = np.sort(rows, axis=1)
    for positions in ([3, 40, 960, 999], [0], [999], [10, 20], [600, 700], [100, 900], [240, 760]):
        got = rows.copy()
        bs.select_rows(got, np.array(positions))
        pos = np.array(positions)
        lo, hi = pos[pos < 500].max(initial=-1), pos[pos >= 500].min(initial=1000)
        keep = np.r_[0 : lo + 1, hi:1000]
        np.testing.assert_array_equal(got[:, keep], want[:, keep])
        np.testing.assert_array_equal(np.sort(got, axis=1), want)  # a permutation of each row


def test_sums_run_workers_and_a_waiting_caller_share_the_blocks() -> None:
    """Each block once, in any thread; values in order; a block's error reaches the caller who asks for it."""
    import threading

    from sciplab.stats._sums_run import SumsRun, _pool

    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def compute(k: int) -> np.ndarray:
        with lock:
            seen.append((k, threading.current_thread().name))
        if k == 7:
            raise ValueError("block 7")
        return np.full((10, 2), float(k))

    run = SumsRun(95, 10, compute, _pool(2), workers=2)
    got = []
    with pytest.raises(ValueError, match="block 7"):
        for _, _, values in run.chunks(25):
            got.append(values)
    run.cancel()
    assert np.concatenate(got)[:, 0].tolist() == sorted(np.concatenate(got)[:, 0].tolist())
    assert np.concatenate(got).shape[0] == 50  # chunks of 25 up to the failing block
    done = [k for k, _ in seen]
    assert len(done) == len(set(done))  # no block computed twice
    run = SumsRun(95, 10, lambda k: np.full((10, 1), float(k)), _pool(2), workers=2)
    whole = np.concatenate([v for _, _, v in run.chunks(95)])
    run.cancel()
    np.testing.assert_array_equal(whole[:, 0], np.repeat(np.arange(10.0), 10)[:95])


def test_select_rows_in_two_threads_equals_one() -> None:
    rng = np.random.default_rng(23)
    rows = rng.normal(size=(90, 5000))  # above SELECT_SPLIT_SIZE: two halves in two threads
    assert rows.size >= bs.SELECT_SPLIT_SIZE
    positions = np.array([0, 120, 140, 4860, 4880, 4999])
    one, two = rows.copy(), rows.copy()
    bs.select_rows(one, positions, threads=1)
    bs.select_rows(two, positions, threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[:, positions], np.sort(rows, axis=1)[:, positions])


def test_tail_order_stats_on_skewed_and_heavy_tailed_rows() -> None:
    """The compiled tails (issue 19) are the sort's values where normal bounds miss (retries, one tail or both)."""
    from sciplab.stats._intervals import _quantile_positions

    kernels = bs._kernels()
    rng = np.random.default_rng(24)
    for trial in range(30):
        B, p = int(rng.integers(50, 4000)), 6
        rows = np.stack([
            np.exp(rng.normal(0, 3, B)), -np.exp(rng.normal(0, 3, B)), rng.standard_cauchy(B),
            rng.normal(size=B), np.full(B, 1.5), np.where(rng.random(B) < 0.99, 0.0, 1e300),
        ])  # fmt: skip
        if trial % 2:
            rows[rng.random(rows.shape) < 0.1] = np.nan
        counts = bs.finite_counts(rows)
        srt = np.sort(rows, axis=1)
        levels = rng.choice([0.0, 0.001, 0.025, 0.05, 0.2, 0.8, 0.95, 0.975, 1.0], size=(4, p))
        prev, nxt, _, good = _quantile_positions(counts, levels, p)
        a, b = np.full(prev.shape, np.nan), np.full(prev.shape, np.nan)
        before = rows.copy()
        kernels.tail_order_stats(rows, counts, prev, nxt, good, a, b, 0, p)
        np.testing.assert_array_equal(rows, before)  # unchanged
        cols = np.arange(p)[None, :]
        np.testing.assert_array_equal(a[good], srt[cols, prev][good])
        np.testing.assert_array_equal(b[good], srt[cols, nxt][good])


def test_sorted_range_puts_the_sorted_values_in_place() -> None:
    """The interval kernel's selection (quickselect + short sort): the values a full sort puts at r0 .. r1 - 1."""
    kernels = bs._kernels()
    rng = np.random.default_rng(25)
    for trial in range(400):
        n = int(rng.integers(1, 400))
        values = rng.integers(0, 4, n).astype(float) if trial % 3 == 0 else rng.standard_t(2, n)
        if trial % 7 == 0:
            values = np.sort(values)[:: 1 if trial % 2 else -1].copy()  # sorted and reversed input
        r0 = int(rng.integers(0, n))
        r1 = int(rng.integers(r0 + 1, n + 1))
        got = values.copy()
        kernels._sorted_range(got, n, r0, r1)
        np.testing.assert_array_equal(got[r0:r1], np.sort(values)[r0:r1])
        np.testing.assert_array_equal(np.sort(got), np.sort(values))  # a permutation
