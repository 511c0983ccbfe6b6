"""Compiled kernels of the resampling engine: bootstrap draws as row indices or counts.

Imported lazily by :mod:`sciplab.stats._bootstrap` (``numba`` costs about half a second to import,
so commands that never resample, and small runs drawn with numpy, do not pay for it). Every kernel
releases the GIL, so the engine runs blocks of replicates in a thread pool; compiled code is cached
on disk when a cache folder is writable and its files are whole, and compiled in memory otherwise
(a broken or unwritable cache never fails the user's command; :func:`_cache_usable`).

Random stream
-------------
Replicate ``b`` (0-based, over all replicates) of a resampling run with 64-bit key ``K`` has its own
stream: a SplitMix64 generator (Steele, Lea & Flood 2014) started at
``s_b = mix(K ^ mix((b + 1) * gamma))``, i.e. outputs ``mix(s_b + t * gamma)``, t = 1, 2, ...
(``gamma`` the 64-bit golden-ratio increment, ``mix`` the MurmurHash3/Stafford variant-13 finaliser).
A replicate's draws therefore depend only on ``(K, b)``: any chunking of the replicates, any number
of threads and any order of evaluation give identical resamples.

Each output ``z`` of the stream gives two 32-bit candidates, its upper half first, then its lower
half: the candidates of a replicate are ``hi(z_1), lo(z_1), hi(z_2), lo(z_2), ...`` (all 64 bits
of a SplitMix64 output are of full quality; one 64-bit mix per two draws halves the cost of the
generator). Each draw of a row position in ``[0, m)`` takes the next candidate ``u`` and uses
Lemire's (2019) multiply-shift with rejection: ``x = u * m``; accept when ``x mod 2^32 >=
(2^32 - m) mod m``, then the position is ``x >> 32``; a rejected candidate is skipped. Accepted
positions are exactly uniform; strata (and samples) must hold fewer than 2^32 rows (checked by the
caller). The candidates run on across strata (a stratum may start with the lower half of an output).

Strata: rows are resampled within each stratum; ``members`` lists the rows stratum by stratum and
``bounds`` (length strata + 1) delimits the strata in it. Slot ``members[s0 + t]`` of a replicate
receives row ``members[s0 + j_t]`` with ``j_t`` uniform on the stratum (the unstratified case is one
stratum holding ``0 .. n - 1``). Draws of a replicate run over the strata in order.

References
----------
Lemire, D. (2019). Fast random integer generation in an interval. *ACM TOMACS, 29*(1), 3.
Steele, G. L., Lea, D., & Flood, C. H. (2014). Fast splittable pseudorandom number generators.
*OOPSLA 2014*, 453-472.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sciplab._core.numba_cache import kernel_cache_usable


def _probe() -> None:  # pragma: no cover - never called; locates the cache folder
    pass


def _cache_usable() -> bool:
    """Whether the kernels may be cached on disk (else they are compiled in memory, never failing).

    Numba raises at import when no cache folder is writable ("cannot cache function"), fails every
    call with ``UnpicklingError`` on a truncated cache file and aborts the process on empty ones.
    So: a writable folder must exist, and every cache file of this module already there must be
    whole (unpickles); broken files are removed, and when they cannot be, caching is off.
    """
    return kernel_cache_usable(nb.njit, _probe, __file__)


_CACHE = _cache_usable()
"""Cache compiled kernels on disk (:func:`_cache_usable`)."""

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)


@nb.njit(inline="always", cache=_CACHE)
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=_CACHE)
def _start(key: np.uint64, b: int) -> np.uint64:
    return _mix(key ^ _mix(np.uint64(b + 1) * _GAMMA))


_HALF = np.uint64(1 << 32)
"""Flag of a pending lower half in the ``pending`` word of a stream position (see :func:`_draw`)."""


@nb.njit(inline="always", cache=_CACHE)
def _draw(
    state: np.uint64, pending: np.uint64, m: np.uint64, threshold: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64]:
    """Next stream position and a uniform position in ``[0, m)`` (Lemire multiply-shift with rejection).

    A stream position is ``(state, pending)``: ``pending`` is ``2^32 + lo`` while the lower half
    ``lo`` of the last output is still to be used as a candidate, else 0.
    """
    while True:
        if pending != 0:
            u = pending & _LOW32
            pending = np.uint64(0)
        else:
            state += _GAMMA
            z = _mix(state)
            u = z >> _S32
            pending = _HALF | (z & _LOW32)
        x = u * m
        if (x & _LOW32) >= threshold:
            return state, pending, x >> _S32


@nb.njit(inline="always", cache=_CACHE)
def _resample_row(state: np.uint64, members: np.ndarray, bounds: np.ndarray, out: np.ndarray, as_counts: bool) -> None:
    """One replicate, stratum by stratum: row indices per slot into ``out``, or counts per row."""
    pending = np.uint64(0)
    for s in range(bounds.shape[0] - 1):
        s0 = bounds[s]
        m = np.uint64(bounds[s + 1] - s0)
        threshold = (_TWO32 - m) % m
        for t in range(bounds[s + 1] - s0):
            state, pending, j = _draw(state, pending, m, threshold)
            row = members[s0 + np.int64(j)]
            if as_counts:
                out[row] += 1
            else:
                out[members[s0 + t]] = row


@nb.njit(nogil=True, cache=_CACHE)
def fill_indices(key: np.uint64, lo: int, members: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    """Row indices of replicates ``lo .. lo + len(out) - 1`` into ``out`` (``(reps, n)`` int64)."""
    for r in range(out.shape[0]):
        _resample_row(_start(key, lo + r), members, bounds, out[r], False)


DRAW_BLOCK = 256
"""Candidates (``DRAW_BLOCK / 2`` outputs) of a replicate's stream generated at once by :func:`_count_all`."""


@nb.njit(inline="always", cache=_CACHE)
def _count_all(state: np.uint64, cnt: np.ndarray, buf: np.ndarray) -> None:
    """Counts of one unstratified replicate (rows ``0 .. n - 1``) added to ``cnt``.

    The stream of :func:`_draw`, generated :data:`DRAW_BLOCK` candidates at a time.

    Output ``t`` of the stream is ``mix(state + t gamma)``: the outputs of a block do not depend on
    each other, so the compiler computes them in SIMD lanes (``buf`` holds ``u * n`` for the upper
    then the lower half of each output) and flags any rejected candidate on the way. A block
    without rejections that does not reach the ``n``-th draw is counted without per-draw tests (the
    usual case: with ``n`` = 1,000, one candidate in 1.5e7 is rejected); otherwise a scalar pass
    accepts the candidates in order (Lemire's test) until ``n`` are drawn. The candidates after
    the last accepted one are discarded: the draws are exactly those of :func:`_draw`.
    """
    n = cnt.shape[0]
    m = np.uint64(n)
    threshold = (_TWO32 - m) % m
    size = buf.shape[0]
    half = size // 2
    done = 0
    while done < n:
        rejected = 0
        for t in range(half):  # independent outputs: vectorised
            z = _mix(state + np.uint64(t + 1) * _GAMMA)
            a = (z >> _S32) * m
            b = (z & _LOW32) * m
            buf[2 * t] = a
            buf[2 * t + 1] = b
            rejected += ((a & _LOW32) < threshold) + ((b & _LOW32) < threshold)
        state += np.uint64(half) * _GAMMA
        if rejected == 0 and done + size <= n:
            for t in range(size):
                cnt[buf[t] >> _S32] += 1.0
            done += size
            continue
        for t in range(size):
            x = buf[t]
            if (x & _LOW32) >= threshold:
                cnt[x >> _S32] += 1.0
                done += 1
                if done == n:
                    break


@nb.njit(inline="always", cache=_CACHE)
def _count_row(state: np.uint64, members: np.ndarray, bounds: np.ndarray, cnt: np.ndarray, buf: np.ndarray) -> None:
    if bounds.shape[0] == 2:  # one stratum: members are 0 .. n - 1, no look-up
        _count_all(state, cnt, buf)
        return
    _resample_row(state, members, bounds, cnt, True)


@nb.njit(nogil=True, cache=_CACHE)
def fill_counts(key: np.uint64, lo: int, members: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    """How often each row appears in replicates ``lo ..`` into ``out`` (``(reps, n)`` float64)."""
    buf = np.empty(DRAW_BLOCK, dtype=np.uint64)
    for r in range(out.shape[0]):
        row = out[r]
        row[:] = 0.0
        _count_row(_start(key, lo + r), members, bounds, row, buf)


SUM_GROUP = 4
"""Replicates whose sums :func:`fill_sums` forms in one pass over the table."""


EXACT_FLOAT32 = 1 << 24
"""Counts below this are exact in float32 (:func:`fill_sums` keeps them so for samples of fewer rows)."""


def fill_sums(
    key: np.uint64, lo: int, members: np.ndarray, bounds: np.ndarray, columns: np.ndarray, out: np.ndarray
) -> None:
    """Weighted sums ``counts @ table`` of replicates ``lo ..`` into ``out`` (``(reps, k)`` float64).

    ``columns`` is the table transposed, ``(k, n)`` C-contiguous. The counts of
    :data:`SUM_GROUP` replicates are drawn into ``n``-vectors (in L1 cache for usual ``n``), then
    passes over the table form their dot products with four columns at a time in SIMD lanes (each
    table value is loaded once per group, each count once per four columns: the passes are bound by
    cache bandwidth; the columns left over go two and one at a time). The sums are
    reassociated: their rounding differs from a BLAS product in the last bits, and is the same for
    a replicate whichever block or thread computes it (a replicate's lane in its group does not
    change its arithmetic). Counts are held in float32 when the sample has fewer than
    :data:`EXACT_FLOAT32` rows (a count never exceeds the rows, so it is exact, and so is its product
    with a table value once widened): half the bytes per pass, the same sums. (The width is chosen
    here, in Python, so that only the compiled variant used is compiled.)
    """
    n = columns.shape[1]
    counts = np.empty((SUM_GROUP, n), np.float32 if n < EXACT_FLOAT32 else float)
    _fill_sums(key, lo, members, bounds, columns, out, counts)


@nb.njit(nogil=True, cache=_CACHE, fastmath={"reassoc", "contract"})
def _fill_sums(
    key: np.uint64, lo: int, members: np.ndarray, bounds: np.ndarray, columns: np.ndarray, out: np.ndarray,
    cnt: np.ndarray,
) -> None:  # fmt: skip
    """:func:`fill_sums` with the counts of a group in ``cnt`` (``(SUM_GROUP, n)``, float32 or float64)."""
    k, n = columns.shape
    buf = np.empty(DRAW_BLOCK, dtype=np.uint64)
    reps = out.shape[0]
    for g in range(0, reps, SUM_GROUP):
        size = min(SUM_GROUP, reps - g)
        cnt[:] = 0.0
        for r in range(size):
            _count_row(_start(key, lo + g + r), members, bounds, cnt[r], buf)
        c0, c1, c2, c3 = cnt[0], cnt[1], cnt[2], cnt[3]
        for j in range(0, k - 3, 4):  # four columns at a time
            ca = columns[j]
            cb = columns[j + 1]
            cc = columns[j + 2]
            cd = columns[j + 3]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
            d0 = d1 = d2 = d3 = e0 = e1 = e2 = e3 = 0.0
            for i in range(n):
                x0, x1, x2, x3 = c0[i], c1[i], c2[i], c3[i]
                v, w, y, z = ca[i], cb[i], cc[i], cd[i]
                a0 += x0 * v
                a1 += x1 * v
                a2 += x2 * v
                a3 += x3 * v
                b0 += x0 * w
                b1 += x1 * w
                b2 += x2 * w
                b3 += x3 * w
                d0 += x0 * y
                d1 += x1 * y
                d2 += x2 * y
                d3 += x3 * y
                e0 += x0 * z
                e1 += x1 * z
                e2 += x2 * z
                e3 += x3 * z
            out[g, j], out[g, j + 1], out[g, j + 2], out[g, j + 3] = a0, b0, d0, e0
            if size > 1:
                out[g + 1, j], out[g + 1, j + 1], out[g + 1, j + 2], out[g + 1, j + 3] = a1, b1, d1, e1
            if size > 2:
                out[g + 2, j], out[g + 2, j + 1], out[g + 2, j + 2], out[g + 2, j + 3] = a2, b2, d2, e2
            if size > 3:
                out[g + 3, j], out[g + 3, j + 1], out[g + 3, j + 2], out[g + 3, j + 3] = a3, b3, d3, e3
        for j in range(k - k % 4, k - 1, 2):  # a pair left
            col = columns[j]
            cl2 = columns[j + 1]
            s0 = s1 = s2 = s3 = 0.0
            t0 = t1 = t2 = t3 = 0.0
            for i in range(n):
                v = col[i]
                w = cl2[i]
                s0 += c0[i] * v
                s1 += c1[i] * v
                s2 += c2[i] * v
                s3 += c3[i] * v
                t0 += c0[i] * w
                t1 += c1[i] * w
                t2 += c2[i] * w
                t3 += c3[i] * w
            out[g, j] = s0
            out[g, j + 1] = t0
            if size > 1:
                out[g + 1, j] = s1
                out[g + 1, j + 1] = t1
            if size > 2:
                out[g + 2, j] = s2
                out[g + 2, j + 1] = t2
            if size > 3:
                out[g + 3, j] = s3
                out[g + 3, j + 1] = t3
        for j in range(k - k % 2, k):  # an odd last column
            col = columns[j]
            s0 = s1 = s2 = s3 = 0.0
            for i in range(n):
                v = col[i]
                s0 += c0[i] * v
                s1 += c1[i] * v
                s2 += c2[i] * v
                s3 += c3[i] * v
            out[g, j] = s0
            if size > 1:
                out[g + 1, j] = s1
            if size > 2:
                out[g + 2, j] = s2
            if size > 3:
                out[g + 3, j] = s3


# --------------------------------------------------------------------------------------------
# Order statistics of the two tails (the intervals of :func:`sciplab.stats._intervals.select_summary_rows`)


@nb.njit(cache=_CACHE)
def _select(a: np.ndarray, lo: int, hi: int, k: int) -> None:
    """Put in ``a[k]`` the value a sort of ``a[lo:hi]`` would put there (``a[lo:hi]`` holds no NaN).

    None larger comes before it and none smaller after it: Hoare's quickselect with median-of-three
    pivots, as in Wirth's *Algorithms + Data Structures*; ranges of 16 or fewer values are sorted.
    """
    while hi - lo > 16:
        x, y, z = a[lo], a[(lo + hi - 1) // 2], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))
        i, j = lo, hi - 1
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:  # a[lo:j + 1] <= pivot <= a[i:hi]; between them, values equal to the pivot
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return
    _insertion_sort(a, lo, hi)


@nb.njit(cache=_CACHE)
def _insertion_sort(a: np.ndarray, lo: int, hi: int) -> None:
    """Sort ``a[lo:hi]`` in place (a few dozen values at most here)."""
    for t in range(lo + 1, hi):
        v = a[t]
        q = t
        while q > lo and a[q - 1] > v:
            a[q] = a[q - 1]
            q -= 1
        a[q] = v


@nb.njit(cache=_CACHE)
def _sorted_range(a: np.ndarray, n: int, r0: int, r1: int) -> None:
    """Put in ``a[r0:r1]`` the values a sort of ``a[:n]`` would put there (two selections and a short sort)."""
    _select(a, 0, n, r0)
    if r1 - 1 > r0:
        _select(a, r0 + 1, n, r1 - 1)
        _insertion_sort(a, r0 + 1, r1 - 1)  # the values between the two selected ones


@nb.njit(inline="always", cache=_CACHE)
def _normal_tail_z(f: float) -> float:
    """About the standard normal quantile of ``f`` in (0, 0.5] (Abramowitz & Stegun 26.2.23; error < 5e-4)."""
    t = np.sqrt(-2.0 * np.log(f))
    num = 2.515517 + 0.802853 * t + 0.010328 * t * t
    return -(t - num / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3))


@nb.njit(nogil=True, cache=_CACHE, fastmath={"reassoc", "contract"})
def _finite_mean_sd(row: np.ndarray, c: int) -> tuple[float, float]:
    """Mean and SD (divisor ``c``, the finite values) of the finite values of ``row``, in SIMD lanes (bounds only)."""
    total = 0.0
    for i in range(row.shape[0]):
        v = row[i]
        total += v if v == v else 0.0
    mean = total / c
    squares = 0.0
    for i in range(row.shape[0]):
        d = row[i] - mean
        squares += d * d if d == d else 0.0
    return mean, np.sqrt(squares / c)


@nb.njit(inline="always", cache=_CACHE)
def _tail_bound(mean: float, sd: float, k: int, c: int, widen: int, sign: float) -> float:
    """A bound with a little more than ``k`` of ``c`` values beyond it (``sign`` -1: below), wider on retries."""
    f = (k + 4.0 * np.sqrt(k) + 8.0) / c * 2.0**widen  # about 4 SD of a binomial count above k
    if f >= 0.5 or not (sd < np.inf):
        return np.inf * -sign  # every value
    return mean - sign * _normal_tail_z(f) * sd


@nb.njit(nogil=True, cache=_CACHE)
def tail_order_stats(
    rows: np.ndarray, counts: np.ndarray, prev: np.ndarray, nxt: np.ndarray, good: np.ndarray,
    a: np.ndarray, b: np.ndarray, r0: int, r1: int,
) -> None:  # fmt: skip
    """The order statistics ``a = sorted(row j)[prev[e, j]]``, ``b = ...[nxt[e, j]]`` of rows ``r0 .. r1 - 1``.

    ``rows`` is ``(p, B)`` (NaN = failed replicate, no infinities), ``counts`` its finite values per
    row; positions ``(L, p)`` count over the finite values in ascending order; ``a``, ``b`` are
    written where ``good``. Positions below half the row's count are in its lower tail, the others
    in its upper tail; the lower tail needs the ``k1`` smallest values, the upper the ``k2``
    largest. From the row's mean and SD, a bound with a little more than ``k1`` values below it
    under normality (and one for the upper tail) is set; one pass collects the values beyond the
    bounds and, when at least ``k1`` (``k2``) were, these are the smallest (largest) values of the
    row: among them only the positions read are put in place (:func:`_sorted_range`). A bound that
    caught too few (a skewed row) is widened and the pass repeated. Values are only compared and
    copied, never computed: the same values as a sort of the whole row. When the tails cover more
    than a quarter of the row it is sorted. ``rows`` is unchanged.
    """
    L = prev.shape[0]
    width = rows.shape[1]
    low = np.empty(width)
    high = np.empty(width)
    for j in range(r0, r1):
        c = counts[j]
        half = c // 2
        k1 = 0
        k2 = 0
        first1 = c  # the smallest position read in the lower tail
        first2 = c  # ... and in the upper tail
        for e in range(L):
            if good[e, j]:
                for pos in (prev[e, j], nxt[e, j]):
                    if pos < half:
                        k1 = max(k1, pos + 1)
                        first1 = min(first1, pos)
                    else:
                        k2 = max(k2, c - pos)
                        first2 = min(first2, pos)
        if k1 == 0 and k2 == 0:
            continue
        row = rows[j]
        n1 = 0
        n2 = 0
        if k1 + k2 > c // 4:  # wide tails: sort the finite values
            for i in range(width):
                v = row[i]
                if v == v:
                    low[n1] = v
                    n1 += 1
            low[:n1].sort()
            for e in range(L):
                if good[e, j]:
                    a[e, j] = low[prev[e, j]]
                    b[e, j] = low[nxt[e, j]]
            continue
        mean, sd = _finite_mean_sd(row, c)
        widen1 = 0
        widen2 = 0
        need1 = k1 > 0
        need2 = k2 > 0
        while need1 or need2:
            t1 = _tail_bound(mean, sd, k1, c, widen1, -1.0)
            t2 = _tail_bound(mean, sd, k2, c, widen2, 1.0)
            m1 = 0
            m2 = 0
            # without branches: every value is stored, and kept when beyond the bound (NaN compares
            # False); a tail already collected is not written again
            if need1 and need2:
                for i in range(width):
                    v = row[i]
                    low[m1] = v
                    m1 += v <= t1
                    high[m2] = v
                    m2 += v >= t2
            elif need1:
                for i in range(width):
                    v = row[i]
                    low[m1] = v
                    m1 += v <= t1
            else:
                for i in range(width):
                    v = row[i]
                    high[m2] = v
                    m2 += v >= t2
            if need1:
                if m1 >= k1:
                    n1, need1 = m1, False
                else:
                    widen1 += 1
            if need2:
                if m2 >= k2:
                    n2, need2 = m2, False
                else:
                    widen2 += 1
        start = c - n2
        if k1:  # only the order statistics read are put in place (they sit together near k1, k2)
            _sorted_range(low, n1, first1, k1)
        if k2:
            _sorted_range(high, n2, first2 - start, n2)
        for e in range(L):
            if good[e, j]:
                p0 = prev[e, j]
                p1 = nxt[e, j]
                a[e, j] = low[p0] if p0 < half else high[p0 - start]
                b[e, j] = low[p1] if p1 < half else high[p1 - start]
