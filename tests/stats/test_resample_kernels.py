"""Tests of the compiled resampling kernels (sciplab.stats._resample_kernels).

The random stream is pinned against a pure-Python implementation of its documented definition
(SplitMix64 per replicate, two 32-bit candidates per output, Lemire multiply-shift with rejection),
written from the module docstring
with Python integers, so any change to the stream fails here first.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sciplab._core.errors import InvalidParameterError
from sciplab.stats import _bootstrap as bs
from sciplab.stats import _resample_kernels as K

MASK64 = 2**64 - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def candidates(state: int):
    """The 32-bit candidates of a stream started at ``state``: upper, then lower half of each output."""
    while True:
        state = (state + GAMMA) & MASK64
        z = mix(state)
        yield z >> 32
        yield z & 0xFFFFFFFF


def reference_indices(seed: int, b: int, n: int, strata: np.ndarray | None = None) -> list[int]:
    """Replicate ``b`` as documented, in plain Python integers."""
    key = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
    stream = candidates(mix(key ^ mix(((b + 1) * GAMMA) & MASK64)))
    if strata is None:
        groups = [list(range(n))]
    else:
        groups = [list(np.flatnonzero(strata == s)) for s in np.unique(strata)]
    out = [0] * n
    for members in groups:  # the candidates run on across strata
        m = len(members)
        threshold = (2**32 - m) % m
        for slot in members:
            while True:
                x = next(stream) * m
                if (x & 0xFFFFFFFF) >= threshold:
                    break
            out[slot] = members[x >> 32]
    return out


def test_stream_matches_its_documented_definition():
    r = bs.Resampler(11, 40, seed=2024)
    idx = r.indices()
    for b in (0, 1, 17, 39):
        assert idx[b].tolist() == reference_indices(2024, b, 11)


def test_stratified_stream_matches_its_documented_definition():
    strata = np.array([2, 0, 2, 1, 0, 2, 2, 1, 0])
    idx = bs.Resampler(9, 12, seed=5, strata=strata).indices()
    for b in (0, 5, 11):
        assert idx[b].tolist() == reference_indices(5, b, 9, strata)


def test_lemire_rejection_matches_reference_for_a_range_that_rejects_often():
    # m = 3 * 2^30 + 1 rejects about a quarter of the 32-bit candidates: the accepted positions and
    # the generator state after each draw must follow the definition exactly (both halves used)
    m = 3 * 2**30 + 1
    threshold = (2**32 - m) % m
    state, pending = np.uint64(12345), np.uint64(0)
    ref_state, ref_pending = 12345, None
    rejected = 0
    for _ in range(200):
        state, pending, j = K._draw(np.uint64(state), np.uint64(pending), np.uint64(m), np.uint64(threshold))
        while True:
            if ref_pending is not None:
                u, ref_pending = ref_pending, None
            else:
                ref_state = (ref_state + GAMMA) & MASK64
                z = mix(ref_state)
                u, ref_pending = z >> 32, z & 0xFFFFFFFF
            x = u * m
            if (x & 0xFFFFFFFF) >= threshold:
                break
            rejected += 1
        assert int(j) == x >> 32 and int(state) == ref_state
        assert int(pending) == (0 if ref_pending is None else 2**32 + ref_pending)
    assert rejected > 20  # the rejection branch was exercised


def test_draws_are_uniform_and_counts_are_multinomial():
    n, B = 13, 20_000
    counts = bs.Resampler(n, B, seed=77).counts()
    totals = counts.sum(axis=0)
    chi2 = ((totals - B) ** 2 / B).sum()
    assert stats.chi2.sf(chi2, n - 1) > 1e-3
    # each count is Binomial(n, 1/n): variance (n - 1) / n; pairwise covariance -1 / n
    np.testing.assert_allclose(counts.var(axis=0).mean(), (n - 1) / n, rtol=0.03)
    cov = np.cov(counts, rowvar=False)
    np.testing.assert_allclose(cov[np.triu_indices(n, 1)].mean(), -1 / n, atol=0.01)


def test_replicates_are_independent_of_each_other():
    # lag-1 correlation of the counts of one row across replicates is zero within Monte Carlo error
    counts = bs.Resampler(50, 10_000, seed=3).counts()
    r = np.corrcoef(counts[:-1, 0], counts[1:, 0])[0, 1]
    assert abs(r) < 4 / np.sqrt(10_000)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 40),
    B=st.integers(1, 600),
    k=st.integers(1, 24),
    seed=st.integers(0, 2**63),
    lo=st.integers(0, 599),
)
def test_sums_counts_and_indices_agree_for_any_range(n, B, k, seed, lo):
    r = bs.Resampler(n, B, seed)
    lo = min(lo, B - 1)
    idx = r.indices(lo)
    counts = r.counts(lo)
    ref = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(float)
    np.testing.assert_array_equal(counts, ref)
    table = np.random.default_rng(seed % 1000).normal(size=(n, k))
    sums = np.concatenate([s for _, _, s in r.weighted_sums(table, threads=1)])
    np.testing.assert_allclose(sums[lo:], counts @ table, rtol=1e-12, atol=1e-12)


def test_bad_sizes_are_refused():
    with pytest.raises(InvalidParameterError, match="rows"):
        bs.Resampler(0, 10, 1)
    with pytest.raises(InvalidParameterError, match="one label per row"):
        bs.Resampler(5, 10, 1, strata=np.array([0, 1]))


# --- a broken or unwritable compiled-kernel cache never fails a run (issue 11.10) -----------------

_CACHE_SCRIPT = (
    "from sciplab.stats._bootstrap import Resampler; r = Resampler(50, 300, 1, strata=[i % 3 for i in range(50)]); "
    "import numpy as np; t = np.arange(100.0).reshape(50, 2); "
    "s = np.concatenate([c for *_, c in r.weighted_sums(t)]).sum(); "
    "print(int(r.indices().sum()), float(r.counts().sum()), float(s))"
)


def _run_kernels(env_extra):
    import os
    import subprocess
    import sys

    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True, text=True, timeout=300)


def _expected():
    r = bs.Resampler(50, 300, 1, strata=[i % 3 for i in range(50)])
    t = np.arange(100.0).reshape(50, 2)
    sums = np.concatenate([c for *_, c in r.weighted_sums(t)]).sum()
    return f"{int(r.indices().sum())} {float(r.counts().sum())} {float(sums)}"


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_cache_files_fall_back_to_compiling(tmp_path, damage):
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first = _run_kernels(env)
    assert first.returncode == 0, first.stderr
    files = [p for p in tmp_path.rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert files, "the first run wrote no cache files"
    for p in files:
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    for _ in range(2):  # the damaged cache is repaired (or bypassed) and stays usable
        out = _run_kernels(env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == _expected().split() == first.stdout.split()


def test_unwritable_cache_location_falls_back_to_compiling():
    # no usable cache folder at all (numba: "cannot cache function ... no locator available")
    env = {"NUMBA_CACHE_DIR": "/proc/sciplab-no-such-dir", "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator"}
    out = _run_kernels(env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == _expected().split()


def reference_counts_vectorised(key: int, b: int, m: int, outputs: int) -> tuple[np.ndarray, int]:
    """Counts of replicate ``b`` over ``m`` rows as documented (numpy uint64, wrapping) and the
    number of rejected candidates; the ``2 outputs`` candidates must cover the draws (asserted)."""
    with np.errstate(over="ignore"):
        g = np.uint64(GAMMA)
        state = np.uint64(mix(key ^ mix(((b + 1) * GAMMA) & MASK64)))
        z = state + np.arange(1, outputs + 1, dtype=np.uint64) * g
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        u = np.stack([z >> np.uint64(32), z & np.uint64(0xFFFFFFFF)], axis=1).ravel()  # hi, lo, hi, ...
        x = u * np.uint64(m)
    threshold = (2**32 - m) % m
    accepted = (x & np.uint64(0xFFFFFFFF)) >= np.uint64(threshold)
    positions = (x[accepted] >> np.uint64(32))[:m]
    assert positions.size == m
    last = np.flatnonzero(accepted)[m - 1]
    return np.bincount(positions.astype(np.int64), minlength=m).astype(float), int(last + 1 - m)


def test_block_generated_counts_follow_the_stream_through_rejections():
    # the counting path generates DRAW_BLOCK candidates at a time and discards the unused ones; with
    # m = 6,700,417 (a factor of 2^32 + 1, so (2^32 - m) mod m = m - 1) about 1 candidate in 640 is
    # rejected, so thousands of rejections, block ends and a stop inside a block are exercised
    m = 6_700_417
    r = bs.Resampler(m, 2, seed=99)
    key = int(r._plan[0])
    counts = r.counts(1, 2)[0]
    ref, rejected = reference_counts_vectorised(key, 1, m, m // 2 + m // 100)
    assert rejected > 5_000
    np.testing.assert_array_equal(counts, ref)
    by_numpy = np.empty((1, m))
    bs.numpy_counts(r._plan[0], 1, by_numpy)  # the numpy implementation, through its redraw step
    np.testing.assert_array_equal(by_numpy[0], ref)
    table = np.random.default_rng(0).normal(size=(m, 2))
    sums = next(r.weighted_sums(table, threads=1))[2]
    np.testing.assert_allclose(sums[1], ref @ table, rtol=1e-10)  # the fused path draws the same rows


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), reps=st.integers(1, 300), seed=st.integers(0, 2**63), lo=st.integers(0, 10**9))
def test_numpy_counts_equal_the_kernel_counts(n, reps, seed, lo):
    key = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
    a, b = np.empty((reps, n)), np.empty((reps, n))
    K.fill_counts(key, lo, np.arange(n, dtype=np.int64), np.array([0, n], dtype=np.int64), a)
    bs.numpy_counts(key, lo, b)
    np.testing.assert_array_equal(a, b)


def test_numpy_redraw_handles_rejections_in_several_replicates():
    # rejections are rare in samples of usual size; m = 6,700,417 (see above) has thousands per
    # replicate, so the vectorised redraw is checked against the definition in two replicates at once
    m = 6_700_417
    r = bs.Resampler(m, 3, seed=5)
    key = int(r._plan[0])
    out = np.empty((2, m))
    bs.numpy_counts(r._plan[0], 1, out)
    for i, b in enumerate((1, 2)):
        ref, rejected = reference_counts_vectorised(key, b, m, m // 2 + m // 100)
        assert rejected > 5_000
        np.testing.assert_array_equal(out[i], ref)


def test_a_fresh_process_draws_small_runs_with_numpy_then_loads_the_kernels():
    import subprocess
    import sys

    code = """
import sys, numpy as np
from sciplab.stats import _bootstrap as bs
r = bs.Resampler(500, 400, seed=3)
table = np.random.default_rng(0).normal(size=(500, 6))
first = np.concatenate([s for _, _, s in r.weighted_sums(table)])
assert "numba" not in sys.modules, "small runs must not import numba"
bs._DRAWN[0] = bs.NUMPY_DRAWS  # this process has drawn enough: the next run loads the kernels
second = np.concatenate([s for _, _, s in r.weighted_sums(table)])
assert "numba" in sys.modules
# the same counts; the sums of the compiled pass differ from BLAS's only in rounding
assert np.allclose(first, second, rtol=1e-13, atol=1e-12), "both implementations must give the same sums"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
