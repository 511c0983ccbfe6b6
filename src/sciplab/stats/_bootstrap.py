"""The one resampling engine of SCIP Lab (path models and SSM; SEM and power analysis to come).

Design
------
* **Indices, not loops.** Replicate ``b`` draws its rows from its own counter-based stream, a
  function of ``(seed, b)`` only, in compiled kernels (:mod:`sciplab.stats._resample_kernels`,
  exact uniform draws). A caller processing replicates in chunks of any size, in any order or in
  several threads gets exactly the same resamples: results do not depend on the chunk size (memory
  bound) chosen.
* **Stratified resampling** (SSM groups): rows are resampled within each stratum, stratum sizes
  fixed.
* **Weighted sums block by block.** :meth:`Resampler.weighted_sums` gives ``counts() @ table``
  block by block in a small thread pool (the kernels release the GIL): with the kernels, one
  compiled pass per block draws each replicate's counts and forms its sums (no count matrix, no
  BLAS); an optional ``transform`` (e.g. compiled estimation) runs on each block in the same
  thread. Each replicate is computed the same way whichever thread runs it, so the output is
  bit-identical to a sequential run and does not depend on the chunk size.
* **Two implementations of one stream.** The counts come from the compiled kernels or, while a
  process has not loaded them (numba and the scipy.linalg it pulls in cost about half a second to
  import), from a vectorised numpy implementation of the same stream (:func:`numpy_counts`, sums
  by BLAS): identical integer counts, sums equal to rounding (about 1e-16 relative). A process
  draws with numpy until its resampling work would have paid for the import
  (:data:`NUMPY_DRAWS`), then loads the kernels (the ski-rental rule: never more than about twice
  the cost of the better choice in hindsight).
* **One seed rule** (:func:`resampling_seed`): the integer that keys the streams is the one recorded
  in ``details``; passing it back as ``seed`` reproduces the run (also after a Generator was given).
* **Jackknife by downdating** (:func:`jackknife_sums`): leave-one-out sums without refitting loops.
* **Intervals** work on a ``(B, p)`` array of replicate estimates (NaN = failed replicate, dropped
  per column and counted): percentile (type-7 quantiles, = R ``quantile(type = 7)``), bias-corrected
  (BC) and bias-corrected and accelerated (BCa; Efron 1987, acceleration from the jackknife), the
  circular percentile interval for angles, the approximate bootstrap p-value, and the Monte Carlo
  standard error of each interval endpoint. A caller holding its replicates as rows (one per
  statistic) sorts them in place once (:func:`sort_rows`) and takes every interval, endpoint MC SE
  and p-value from the sorted rows (:func:`bca_probs_rows`, :func:`summary_rows`), bit for bit the
  values of the column functions.
* **Start now, collect later** (:meth:`Resampler.start_sums`): the blocks are submitted to the pool
  at once, so the caller computes its point estimates while the replicates are drawn.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. *JASA, 82*, 171-185.
Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. *Am Stat, 50*, 361-365.
Lemire, D. (2019). Fast random integer generation in an interval. *ACM TOMACS, 29*(1), 3.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist
from types import ModuleType

import numpy as np

from sciplab._core.angles import circular_mean, wrap_pi
from sciplab._core.errors import InvalidParameterError
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.validation import MAX_BOOTSTRAP
from sciplab.stats._numpy_stream import numpy_counts
from sciplab.stats._sums_run import SumsRun

BLOCK = 256
"""Replicates per block (the unit of work of the thread pool)."""

MAX_B = MAX_BOOTSTRAP

GEMM_SINGLE_THREAD = 2**17
"""Multiply-adds per product slice in :meth:`Resampler.weighted_sums`: small enough that BLAS runs
each slice in the calling thread (OpenBLAS hands GEMMs above ~2.6e5 multiply-adds to its own thread
pool, a costly hand-off on a busy machine), large enough for efficient kernels."""

NUMPY_DRAWS = 60_000_000
"""Draws (rows x replicates, summed over the process) made with numpy before the compiled kernels are
loaded: numba's import costs about 0.5 s of CPU and numpy draws cost about 5 ns more per draw
than the kernels (about 7 vs 2 ns with the sums), so 6e7-1e8 draws cost about what the import saves
(see the module notes; kept at the lower end)."""

NUMPY_MAX_ROWS = 2**16
"""Largest unstratified sample drawn with numpy (larger ones use the kernels at once)."""

_MAX_STRATUM = 2**32 - 1

THREAD_BLOCK_BYTES = 256e6
"""Blocks are generated in a thread pool only when one block's temporaries stay below this."""


def resampling_seed(seed: SeedLike) -> int:
    """The integer seed of a resampling run: the key of its streams and the value to record.

    The one conversion used by every resampling analysis (paths, SSM, ...), so ``details["seed"]``
    always reproduces the run when passed back as ``seed``:

    * an integer is used as is (validated: non-negative);
    * ``None`` draws fresh OS entropy (an integer below 2^63);
    * a ``Generator`` (or ``SeedSequence``) gives its next integer below 2^63 - 1, so a user's
      generator still controls the run and the integer drawn is recorded.

    Examples
    --------
    >>> resampling_seed(7)
    7
    >>> import numpy as np
    >>> resampling_seed(np.random.default_rng(1)) == resampling_seed(np.random.default_rng(1))
    True
    """
    if isinstance(seed, np.random.SeedSequence):
        seed = np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    resolved = resolve_seed(seed)
    assert resolved is not None  # only a Generator resolves to None, handled above
    return resolved


MEMORY_BUDGET_BYTES = 2 * 2**30
"""Largest size of the replicate arrays an analysis may allocate (checked before allocating)."""


def check_memory(replicates: int, columns: int, *, arrays: int, name: str = "bootstrap") -> None:
    """Refuse a run whose ``arrays`` arrays of ``replicates x columns`` floats exceed the budget.

    The message gives the estimate and the largest number of replicates that fits, so a user
    asking for ``bootstrap=10_000_000`` learns what to change instead of meeting a failed allocation.
    """
    per_replicate = max(1, columns) * 8 * max(1, arrays)
    need = replicates * per_replicate
    if need > MEMORY_BUDGET_BYTES:
        fits = MEMORY_BUDGET_BYTES // per_replicate
        raise InvalidParameterError(
            f"{name}={replicates:,} needs about {need / 2**30:.1f} GiB for the replicate estimates "
            f"({columns:,} statistics); at most {fits:,} fit in the {MEMORY_BUDGET_BYTES / 2**30:g} GiB "
            f"budget: lower {name} (or analyse fewer statistics at once)"
        )


def default_threads() -> int:
    """Worker threads for resampling: 2 when at least 2 CPUs are available to this process, else 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


@dataclass(frozen=True)
class Resampler:
    """Reproducible case resampling of ``n`` rows, optionally within strata.

    Replicate ``b`` draws from its own stream, a function of ``(seed, b)`` only (see
    :mod:`sciplab.stats._resample_kernels`): any range, chunking or thread count gives the same
    resamples.

    Parameters
    ----------
    n
        Number of rows.
    B
        Number of replicates.
    seed
        Integer seed (already resolved by the caller; record it in ``details``).
    strata
        Optional integer labels (length ``n``); rows are resampled within each stratum.
    """

    n: int
    B: int
    seed: int
    strata: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise InvalidParameterError(f"cannot resample {self.n} rows")
        if self.strata is None:
            members, bounds = np.arange(self.n, dtype=np.int64), np.array([0, self.n], dtype=np.int64)
        else:
            groups = _strata_members(np.asarray(self.strata))
            members = np.concatenate(groups).astype(np.int64)
            bounds = np.cumsum([0] + [g.size for g in groups]).astype(np.int64)
            if members.size != self.n:
                raise InvalidParameterError(f"strata must have one label per row ({self.n}), got {members.size}")
        if np.diff(bounds).max() > _MAX_STRATUM:
            raise InvalidParameterError(f"cannot resample more than {_MAX_STRATUM:,} rows in one stratum")
        key = np.random.SeedSequence(self.seed).generate_state(1, np.uint64)[0]
        object.__setattr__(self, "_plan", (key, members, bounds))

    def _range(self, start: int, stop: int | None) -> tuple[int, int]:
        stop = self.B if stop is None else min(stop, self.B)
        return start, max(start, stop)

    def indices(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Row indices of replicates ``start:stop`` as a ``(stop - start, n)`` int64 array."""
        start, stop = self._range(start, stop)
        out = np.empty((stop - start, self.n), dtype=np.int64)
        if out.size:
            key, members, bounds = self._plan
            _kernels().fill_indices(key, start, members, bounds, out)
        return out

    def chunks(self, chunk_size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, indices)`` covering all replicates in chunks of ``chunk_size``."""
        if chunk_size < 1:
            raise InvalidParameterError(f"chunk_size must be >= 1, got {chunk_size}")
        for start in range(0, self.B, chunk_size):
            stop = min(start + chunk_size, self.B)
            yield start, stop, self.indices(start, stop)

    def counts(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Resampling weights: how often each row appears in each replicate, ``(reps, n)`` floats.

        Weighted statistics (weighted means, weighted cross-products) on these counts equal the
        statistics of the resampled data, and batch well with ``einsum``/matrix products.
        """
        start, stop = self._range(start, stop)
        out = np.empty((stop - start, self.n))
        if out.size:
            kernels = None if self._numpy_draws(out.size) else _kernels()
            self._fill_counts(kernels, start, out)
        return out

    def _numpy_draws(self, draws: int, *, count: bool = True) -> bool:
        """Whether ``draws`` draws of this run are made with numpy (and counted as such); see :data:`NUMPY_DRAWS`."""
        if self.strata is not None or self.n > NUMPY_MAX_ROWS or "sciplab.stats._resample_kernels" in sys.modules:
            return False
        with _DRAWN_LOCK:
            if _DRAWN[0] + draws > NUMPY_DRAWS:
                return False
            if count:
                _DRAWN[0] += draws
        return True

    def uses_kernels(self) -> bool:
        """Whether :meth:`weighted_sums` of this whole run draws with the compiled kernels.

        They are then loaded by this call; otherwise the run draws with numpy (a process that has
        not loaded them and has drawn little so far, :data:`NUMPY_DRAWS`).
        """
        if self._numpy_draws(self.n * self.B, count=False):
            return False
        _kernels()
        return True

    def _fill_counts(self, kernels: ModuleType | None, start: int, out: np.ndarray) -> None:
        key, members, bounds = self._plan
        if kernels is None:
            numpy_counts(key, start, out)
        else:
            kernels.fill_counts(key, start, members, bounds, out)

    def weighted_sums(
        self,
        table: np.ndarray,
        chunk_size: int | None = None,
        *,
        threads: int | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, counts(start, stop) @ table)`` chunk by chunk, in order.

        The fast route to weighted sufficient statistics (weighted sums of per-row products) of
        every replicate. Replicates run in blocks of :data:`BLOCK` (in a thread pool): a block of
        counts, then BLAS products in row slices of about :data:`GEMM_SINGLE_THREAD` multiply-adds.

        Parameters
        ----------
        table
            ``(n, k)`` per-row values (e.g. cross-products of the variables).
        chunk_size
            Replicates per yielded chunk (default: all). Results do not depend on it.
        threads
            Worker threads computing blocks (default :func:`default_threads`; 1 = no pool).
            Results are bit-identical for any number of threads.
        transform
            Optional function applied to each block of sums in the worker thread that computed it
            (``(reps, k)`` -> ``(reps, ...)``, one row per replicate; e.g. compiled, GIL-releasing
            estimation): the chunks then hold its rows. It must treat replicates independently.

        Notes
        -----
        Equal to ``counts(start, stop) @ table`` up to floating-point summation order; every
        replicate is always computed by the same code on the same values, so the results do not
        depend on ``chunk_size`` or ``threads``.
        """
        table = np.ascontiguousarray(table, dtype=float)
        if table.ndim != 2 or table.shape[0] != self.n:
            raise InvalidParameterError(f"table must have shape ({self.n}, k), got {table.shape}")
        size = max(self.B, 1) if chunk_size is None else int(chunk_size)
        if size < 1:
            raise InvalidParameterError(f"chunk_size must be >= 1, got {chunk_size}")
        if self.B == 0:
            return
        run = self.start_sums(table, threads=threads, transform=transform)
        try:
            yield from run.chunks(size)
        finally:
            run.cancel()

    def start_sums(
        self,
        table: np.ndarray,
        *,
        threads: int | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> SumsRun:
        """Start computing the blocks of :meth:`weighted_sums` and return at once.

        With a thread pool the blocks are computed while the caller does other work (point
        estimates, tables); :meth:`SumsRun.chunks` then yields them in order and
        :meth:`SumsRun.cancel` stops a run the caller abandons. Without a pool (one thread) the
        blocks are computed when asked for. Same values as :meth:`weighted_sums`.
        """
        table = np.ascontiguousarray(table, dtype=float)
        if table.ndim != 2 or table.shape[0] != self.n:
            raise InvalidParameterError(f"table must have shape ({self.n}, k), got {table.shape}")
        # import (and compile) the kernels before the pool starts, unless numpy draws this run
        kernels = None if self._numpy_draws(self.n * self.B) else _kernels()
        # the kernels take the table transposed (one contiguous column per moment); numpy draws use BLAS
        operand = table if kernels is None else np.ascontiguousarray(table.T)
        n_blocks = -(-self.B // BLOCK)
        workers = default_threads() if threads is None else max(1, int(threads))
        if BLOCK * self.n * 8 > THREAD_BLOCK_BYTES:  # each running block holds its counts
            workers = 1
        workers = min(workers, n_blocks)
        pool = _pool(workers) if workers > 1 else None
        return SumsRun(self.B, BLOCK, lambda k: self._block_sums(kernels, k, operand, transform), pool)

    def _block_sums(
        self,
        kernels: ModuleType | None,
        k: int,
        operand: np.ndarray,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        sums = self._block_raw_sums(kernels, k, operand)
        return sums if transform is None else transform(sums)

    def _block_raw_sums(self, kernels: ModuleType | None, k: int, operand: np.ndarray) -> np.ndarray:
        """``counts`` of block ``k`` times the table: ``(rows of block k, table columns)``.

        With the kernels, one compiled pass draws each replicate's counts and forms its sums
        (``operand`` is the transposed table, :func:`~sciplab.stats._resample_kernels.fill_sums`);
        with numpy draws, counts of the block then BLAS products. The counts are the same exact
        integers either way; the sums agree to rounding (about 1e-16 relative).
        """
        lo = k * BLOCK
        reps = min(BLOCK, self.B - lo)
        if kernels is not None:
            key, members, bounds = self._plan
            sums = np.empty((reps, operand.shape[0]))
            kernels.fill_sums(key, lo, members, bounds, operand, sums)
            return sums
        cnt = np.empty((reps, self.n))
        self._fill_counts(kernels, lo, cnt)
        width = operand.shape[1]
        local = _blas_thread_local()
        if local is not None:  # BLAS stays in this thread for any size: large slices
            rows = GEMM_ROWS
            before = local(1)
        else:
            rows = max(2, min(BLOCK, GEMM_SINGLE_THREAD // max(1, self.n * width)))
        try:
            # product slices of rows .. 2 rows - 1 replicates (one row only if the block has one)
            n_slices = max(1, reps // rows)
            bounds_r = [reps * i // n_slices for i in range(n_slices + 1)]
            out = np.empty((reps, width))
            for a, b in zip(bounds_r[:-1], bounds_r[1:], strict=True):
                if b - a == 1:  # keep the matrix-matrix kernel (a vector product may round differently)
                    out[a:b] = (np.repeat(cnt[a:b], 2, axis=0) @ operand)[:1]
                else:
                    out[a:b] = cnt[a:b] @ operand
        finally:
            if local is not None:
                local(before)
        return out


GEMM_ROWS = 32
"""Replicates per product slice when BLAS can be kept in the calling thread (:func:`_blas_thread_local`):
(measured best here: 1.3x faster than the small slices of :data:`GEMM_SINGLE_THREAD` at 10 columns,
1.9x at 28)."""


@functools.cache
def _blas_thread_local() -> Callable[[int], int] | None:
    """OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27) of numpy's bundled BLAS, or None.

    It sets the number of BLAS threads of the calling thread only and returns the previous value,
    so the resampling threads run their products single-threaded without changing anything for
    the user's other threads. Elsewhere (another BLAS, an older OpenBLAS) the products are cut
    into slices small enough for OpenBLAS to stay in the calling thread by itself.
    """
    import ctypes
    from pathlib import Path

    folder = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(folder.glob("libscipy_openblas*.so*")):
        try:
            fn = ctypes.CDLL(str(path)).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn  # type: ignore[no-any-return]
    return None


_DRAWN = [0]
"""Draws made with numpy in this process (:data:`NUMPY_DRAWS`)."""
_DRAWN_LOCK = threading.Lock()

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The process-wide resampling pool with ``workers`` threads.

    Started once per process: thread start-up costs about a millisecond per thread, a tenth of a
    whole 5,000-replicate run. A forked child starts afresh (its parent's threads do not exist in it).
    """
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sciplab-resample")
        return _POOLS[workers]


def _forget_pools_after_fork() -> None:
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _kernels() -> ModuleType:
    """The compiled kernels (imported on first use: numba takes about a second to import)."""
    from sciplab.stats import _resample_kernels

    return _resample_kernels


# --------------------------------------------------------------------------------------------
# The normal distribution, without scipy (importing scipy.special costs a whole-process run about
# a tenth of a second, and these are applied to a few values per analysis)

_ERFC = np.frompyfunc(math.erfc, 1, 1)
_INV_CDF = NormalDist().inv_cdf


def norm_cdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal cdf, elementwise: ``erfc(-x / sqrt 2) / 2`` (as ``scipy.special.ndtr``; NaN stays NaN)."""
    z = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        return np.asarray(0.5 * _ERFC(-z / math.sqrt(2.0)), dtype=float)


def _inv_cdf(p: float) -> float:
    if not 0.0 <= p <= 1.0:  # also NaN
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return _INV_CDF(p)


_PPF = np.frompyfunc(_inv_cdf, 1, 1)


def norm_ppf(p: np.ndarray | float) -> np.ndarray:
    """Standard normal quantile, elementwise (Wichura's AS 241, as ``statistics.NormalDist``).

    ``0 -> -inf``, ``1 -> inf``, outside [0, 1] or NaN -> NaN (as ``scipy.special.ndtri``).
    """
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        return np.asarray(_PPF(np.asarray(p, dtype=float)), dtype=float)


def _strata_members(strata: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(strata == s) for s in np.unique(strata)]


def jackknife_sums(table: np.ndarray, chunk_size: int | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, sums)``: the column sums of ``table`` leaving out row ``i``, rows ``start:stop``.

    The jackknife counterpart of :meth:`Resampler.weighted_sums`: leave-one-out sufficient
    statistics by downdating (``sum - table[i]``), so a jackknife needs no refitting loop.
    ``chunk_size`` rows at a time (default: all) bound memory.
    """
    table = np.asarray(table, dtype=float)
    n = table.shape[0]
    size = n if chunk_size is None else max(1, int(chunk_size))
    full = table.sum(axis=0)
    for start in range(0, n, size):
        stop = min(start + size, n)
        yield start, stop, full[None, :] - table[start:stop]


def auto_chunk(n: int, B: int, floats_per_row: int = 1, budget_bytes: float = 5e8) -> int:
    """Chunk size (replicates) keeping about ``budget_bytes`` of ``n * floats_per_row`` per replicate."""
    per = max(1, n * max(1, floats_per_row) * 8)
    return int(max(1, min(B, budget_bytes // per)))


# --------------------------------------------------------------------------------------------
# Intervals


def _valid_columns(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    ok = np.isfinite(reps)
    if not ok.all() and np.isinf(reps).any():  # an infinite replicate is a failed one (it would sort among the valid)
        reps = np.where(ok, reps, np.nan)
    return reps, ok


def sorted_columns(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``reps`` (``(B, p)``) sorted, as rows of a ``(p, B)`` array, and finite counts.

    NaN sorts to the end of each row; the counts are the numbers of finite values per column.
    """
    reps, ok = _valid_columns(reps)
    return np.sort(reps.T, axis=1), ok.sum(axis=0)


def _quantile_positions(
    counts: np.ndarray, probs: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Type-7 order-statistic positions of ``probs`` per column: ``(prev, nxt, gamma, good)``."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    counts = np.asarray(counts)
    good = np.isfinite(probs) & (counts > 0)[None, :]
    q = np.where(good, np.clip(np.where(good, probs, 0.0), 0, 1), 0.0)
    c = np.maximum(counts, 1)[None, :]
    virtual = (c - 1) * q
    prev = np.floor(virtual)
    gamma = virtual - prev
    prev = prev.astype(np.intp)
    nxt = prev + 1
    above = virtual >= c - 1
    prev = np.where(above, c - 1, prev)
    nxt = np.where(above, c - 1, nxt)
    return prev, nxt, gamma, good


def quantiles_sorted(sorted_rows: np.ndarray, counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Type-7 quantiles from :func:`sorted_columns` output, all columns at once: ``(k, p)``.

    Row ``j`` uses its first ``counts[j]`` values; ``probs`` is ``(k,)`` or ``(k, p)`` (clipped to
    [0, 1]; NaN gives NaN). Bit-identical to ``np.quantile(..., method="linear")`` per column (same
    virtual index ``(c - 1) q`` and the same two-sided linear interpolation). Only the order
    statistics at the positions used need to be in place (e.g. rows sorted by :func:`sort_rows`).
    """
    p = sorted_rows.shape[0]
    prev, nxt, gamma, good = _quantile_positions(counts, probs, p)
    cols = np.arange(p)[None, :]
    a = sorted_rows[cols, prev]
    b = sorted_rows[cols, nxt]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    out[~good] = np.nan
    return out


def sort_rows(rows: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Sort each row of ``rows`` (``(p, B)`` replicates of ``p`` statistics) in place; finite counts per row.

    Failed replicates (NaN; infinite values are made NaN, as :func:`sorted_columns`) sort to the
    end of each row. ``rows`` must be a C-contiguous float array the caller owns (e.g. replicate
    estimates written column by column). A full sort, not a partition on the few positions an
    interval needs: numpy's vectorised sort of a row of 5,000 doubles is several times faster than
    a partition on six positions here, and the order statistics are the same values either way.
    With ``threads`` > 1 the rows are sorted in two halves at once (numpy releases the GIL).
    """
    p, width = rows.shape
    if np.isfinite(rows).all():
        counts = np.full(p, width, dtype=np.int64)
    else:
        inf = np.isinf(rows)
        if inf.any():  # an infinite replicate is a failed one (it would sort among the valid)
            rows[inf] = np.nan
        counts = width - np.isnan(rows).sum(axis=1)
    half = p // 2
    if threads > 1 and half and rows.size >= SORT_SPLIT_SIZE:
        future = _pool(2).submit(rows[half:].sort, axis=1)
        try:
            rows[:half].sort(axis=1)
        finally:
            future.result()
    else:
        rows.sort(axis=1)
    return counts


SORT_SPLIT_SIZE = 20_000
"""Values from which :func:`sort_rows` sorts its two halves in two threads (below, the hand-off costs more)."""


def _quantile_cols(reps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Type-7 quantiles per column, ignoring NaN; ``probs`` is ``(k,)`` or ``(k, p)``."""
    return quantiles_sorted(*sorted_columns(reps), probs)


def percentile_ci(reps: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile interval (type-7 quantiles) per column: ``(2, p)`` array of lower, upper.

    ``level`` is checked once, by the public analysis that calls this (``check_level``).
    """
    alpha = 1.0 - level
    return _quantile_cols(reps, np.array([alpha / 2, 1 - alpha / 2]))


def bca_probs(reps: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float) -> np.ndarray:
    """Quantile levels ``(2, p)`` of the BCa interval (BC when ``acceleration`` is 0); the one formula.

    z0 = Phi^-1(#{theta* < theta_hat} / B) over the finite replicates; the levels are
    Phi(z0 + (z0 + z) / (1 - a (z0 + z))) for z = z_{alpha/2}, z_{1-alpha/2} (Efron 1987).
    Infinite z0 (estimate outside all replicates) gives NaN levels. ``level`` is assumed checked.
    """
    reps, ok = _valid_columns(reps)
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    below = (np.where(ok, reps, np.inf) < estimate[None, :]).sum(axis=0)
    return _bca_levels(below, ok.sum(axis=0), acceleration, level)


def bca_probs_rows(
    rows: np.ndarray, counts: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float
) -> np.ndarray:
    """:func:`bca_probs` of replicates held as rows (``(p, B)``, failed ones NaN; e.g. after :func:`sort_rows`)."""
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    below = (rows < estimate[:, None]).sum(axis=1)  # NaN compares False: failed replicates are not below
    return _bca_levels(below, counts, acceleration, level)


def _bca_levels(below: np.ndarray, finite: np.ndarray, acceleration: np.ndarray, level: float) -> np.ndarray:
    """The BCa quantile levels from the counts of replicates below the estimate (the one formula)."""
    alpha = 1.0 - level
    a = np.atleast_1d(np.asarray(acceleration, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = norm_ppf(below / finite)
        zl, zu = norm_ppf(alpha / 2), norm_ppf(1 - alpha / 2)
        p_lo = norm_cdf(z0 + (z0 + zl) / (1 - a * (z0 + zl)))
        p_hi = norm_cdf(z0 + (z0 + zu) / (1 - a * (z0 + zu)))
    probs = np.vstack([p_lo, p_hi])
    probs[:, ~np.isfinite(z0)] = np.nan
    return probs


def bc_ci(reps: np.ndarray, estimate: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected percentile interval (Efron 1987): ``(2, p)``.

    z0 = Phi^-1(#{theta* < theta_hat} / B); quantiles at Phi(2 z0 + z_{alpha/2}) and
    Phi(2 z0 + z_{1-alpha/2}). Infinite z0 (estimate outside all replicates) gives NaN.
    """
    return bca_ci(reps, estimate, np.zeros(np.atleast_1d(estimate).shape), level)


def bca_ci(reps: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected and accelerated interval: ``(2, p)``; ``acceleration`` from :func:`jackknife_acceleration`."""
    return _quantile_cols(reps, bca_probs(reps, estimate, acceleration, level))


def jackknife_acceleration(jack: np.ndarray) -> np.ndarray:
    """Acceleration a-hat from leave-one-out estimates ``jack`` of shape ``(n, p)``.

    a = sum (mean - theta_(i))^3 / (6 [sum (mean - theta_(i))^2]^(3/2))  (Efron 1987).
    """
    jack = np.asarray(jack, dtype=float)
    if jack.ndim == 1:
        jack = jack[:, None]
    d = np.nanmean(jack, axis=0)[None, :] - jack
    num = np.nansum(d**3, axis=0)
    den = 6.0 * np.nansum(d**2, axis=0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, 0.0)


def bootstrap_pvalue(reps: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Approximate two-sided bootstrap p-value per column.

    p = min(1, 2 min(#{theta* > 0}, #{theta* < 0}) / B), and p = 1 when the estimate is 0 (as
    pingouin and R ``mediation``). Not a test under H0: the resamples are not drawn under H0.
    """
    reps, ok = _valid_columns(reps)
    return _pvalue(reps, ok, estimate)


def _pvalue(reps: np.ndarray, ok: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """:func:`bootstrap_pvalue` of replicates already checked by :func:`_valid_columns`."""
    # NaN compares False: failed replicates count on neither side
    return _pvalue_counts(ok.sum(axis=0), (reps > 0).sum(axis=0), (reps < 0).sum(axis=0), estimate)


def _pvalue_counts(counts: np.ndarray, pos: np.ndarray, neg: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """The bootstrap p-value from the numbers of finite, positive and negative replicates per column."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.minimum(1.0, 2.0 * np.minimum(pos, neg) / counts)
    p = np.where(np.asarray(estimate) == 0, 1.0, p)
    return np.where(counts > 0, p, np.nan)


def endpoint_mcse(reps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of type-7 quantile estimates at ``probs`` (``(k,)`` or ``(k, p)``).

    Uses the order-statistic (binomial) interval: the quantile's 68 % Monte Carlo interval runs
    from the order statistic at B q - sqrt(B q (1 - q)) to that at B q + sqrt(B q (1 - q)), and the
    MC SE is half its width (Hyndman & Fan 1996; a standard distribution-free estimate).
    """
    reps, ok = _valid_columns(reps)
    counts = ok.sum(axis=0).astype(float)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], reps.shape[1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(probs * (1 - probs) / counts[None, :])
    lo = _quantile_cols(reps, np.clip(probs - spread, 0, 1))
    hi = _quantile_cols(reps, np.clip(probs + spread, 0, 1))
    return (hi - lo) / 2.0


def replicate_summary(
    reps: np.ndarray,
    estimate: np.ndarray,
    probs: np.ndarray,
    *,
    mcse: bool = True,
    pvalue: bool = True,
) -> dict[str, np.ndarray]:
    """Interval endpoints, their Monte Carlo SEs and bootstrap p-values from one sort of ``reps``.

    Returns ``{"ci": (k, p), "mcse": (k, p), "pvalue": (p,)}`` equal (bit for bit) to
    ``_quantile_cols(reps, probs)``, :func:`endpoint_mcse` and :func:`bootstrap_pvalue`; ``probs``
    as in :func:`endpoint_mcse` (percentile: ``[alpha / 2, 1 - alpha / 2]``; BC/BCa: ``(2, p)``).
    Skipped parts (``mcse=False``, ``pvalue=False``) are NaN.
    """
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    rows = np.array(reps.T, order="C")  # one contiguous copy, sorted in place
    counts = sort_rows(rows)
    return summary_rows(rows, counts, estimate, probs, mcse=mcse, pvalue=pvalue)


def summary_rows(
    rows: np.ndarray,
    counts: np.ndarray,
    estimate: np.ndarray,
    probs: np.ndarray,
    *,
    mcse: bool = True,
    pvalue: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`replicate_summary` of replicates sorted by :func:`sort_rows` (``rows``, ``counts``)."""
    p = rows.shape[0]
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    out = {"ci": quantiles_sorted(rows, counts, probs)}
    if mcse:
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.sqrt(probs * (1 - probs) / counts.astype(float)[None, :])
        lo = quantiles_sorted(rows, counts, np.clip(probs - spread, 0, 1))
        hi = quantiles_sorted(rows, counts, np.clip(probs + spread, 0, 1))
        out["mcse"] = (hi - lo) / 2.0
    else:
        out["mcse"] = np.full(probs.shape, np.nan)
    if pvalue:  # NaN compares False: failed replicates count on neither side
        out["pvalue"] = _pvalue_counts(counts, (rows > 0).sum(axis=1), (rows < 0).sum(axis=1), estimate)
    else:
        out["pvalue"] = np.full(p, np.nan)
    return out


def circular_percentile_ci(reps_rad: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Circular percentile interval of angles (radians), ``(2, p)``, each endpoint in [0, 2 pi).

    1. mu = circular mean of the replicates; 2. delta = replicate - mu wrapped into (-pi, pi];
    3. endpoints = mu + type-7 quantiles of delta, reduced mod 2 pi (lower may exceed upper when
    the interval straddles 0).
    """
    reps, _ = _valid_columns(reps_rad)
    mu = circular_mean(reps, axis=0)
    delta = wrap_pi(reps - mu[None, :])
    q = percentile_ci(delta, level)
    return np.mod(q + mu[None, :], 2 * np.pi)
