"""The blocks of one resampling run (:meth:`sciplab.stats._bootstrap.Resampler.start_sums`).

All blocks are submitted to the pool at once, so they are computed while the caller does other
work; the caller then takes them in order, or cancels the run. The process-wide thread pools
(:func:`_pool`) live here too. Split from :mod:`sciplab.stats._bootstrap` so each module stays
readable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import numpy as np

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


class SumsRun:
    """``total`` replicates in blocks of ``size`` (``compute(k)`` gives block ``k``), in a pool or on demand."""

    def __init__(
        self,
        total: int,
        size: int,
        compute: Callable[[int], np.ndarray],
        pool: ThreadPoolExecutor | None,
    ) -> None:
        self._total, self._size, self._compute, self._pool = total, size, compute, pool
        n_blocks = -(-total // size)
        self._done: dict[int, np.ndarray] = {}
        # the workers never wait for the consumer, and only running blocks hold temporaries
        # (results are small: rows x table columns)
        self._futures: list[Future[np.ndarray]] = (
            [pool.submit(compute, k) for k in range(n_blocks)] if pool is not None else []
        )

    def block(self, k: int) -> np.ndarray:
        """Block ``k`` (replicates ``k * size`` on), waiting for it when it runs in the pool."""
        if self._pool is not None:
            return self._futures[k].result()
        if k not in self._done:
            self._done.clear()
            self._done[k] = self._compute(k)
        return self._done[k]

    def chunks(self, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, values)`` for all replicates in order, ``size`` at a time."""
        bs, total = self._size, self._total
        for start in range(0, total, size):
            stop = min(start + size, total)
            first, last = start // bs, (stop - 1) // bs
            parts = [
                self.block(k)[max(start, k * bs) - k * bs : min(stop, (k + 1) * bs) - k * bs]
                for k in range(first, last + 1)
            ]
            yield start, stop, parts[0].copy() if len(parts) == 1 else np.concatenate(parts)

    def cancel(self) -> None:
        """Cancel the blocks not started; wait for the running ones (they hold the only temporaries)."""
        for future in self._futures:
            future.cancel()
        wait(self._futures)
