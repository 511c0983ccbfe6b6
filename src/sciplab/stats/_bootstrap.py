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
* **Intervals** (:mod:`sciplab.stats._intervals`, names re-exported here) work on a ``(B, p)``
  array of replicate estimates (NaN = failed replicate, dropped per column and counted):
  percentile, BC and BCa intervals, the circular percentile interval, the approximate bootstrap
  p-value and the Monte Carlo standard error of each endpoint. A caller holding its replicates as
  rows (one per statistic) takes them all at once, with only the order statistics the summary reads
  put in place (:func:`select_summary_rows`), bit for bit the values of the column functions.
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
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from sciplab._core.errors import InvalidParameterError
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.validation import MAX_BOOTSTRAP

# the intervals live in their own module; their names stay importable from here
from sciplab.stats._intervals import (  # noqa: F401
    SELECT_SPLIT_SIZE,
    SORT_SPLIT_SIZE,
    _bca_levels,
    _pvalue,
    _pvalue_counts,
    _quantile_cols,
    _quantile_positions,
    _valid_columns,
    bc_ci,
    bca_ci,
    bca_probs,
    bca_probs_rows,
    bootstrap_pvalue,
    circular_percentile_ci,
    endpoint_mcse,
    finite_counts,
    jackknife_acceleration,
    norm_cdf,
    norm_ppf,
    percentile_ci,
    quantiles_sorted,
    replicate_summary,
    select_rows,
    select_summary_rows,
    sort_rows,
    sorted_columns,
    summary_rows,
)
from sciplab.stats._numpy_stream import numpy_counts
from sciplab.stats._sums_run import SumsRun, _pool

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
        return SumsRun(self.B, BLOCK, lambda k: self._block_sums(kernels, k, operand, transform), pool, workers)

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


def _kernels() -> ModuleType:
    """The compiled kernels (imported on first use: numba takes about a second to import)."""
    from sciplab.stats import _resample_kernels

    return _resample_kernels


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
