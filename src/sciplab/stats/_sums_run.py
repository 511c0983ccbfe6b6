"""The blocks of one resampling run (:meth:`sciplab.stats._bootstrap.Resampler.start_sums`).

All blocks are submitted to the pool at once, so they are computed while the caller does other
work; the caller then takes them in order, or cancels the run. The process-wide thread pools
(:func:`_pool`) live here too. Split from :mod:`sciplab.stats._bootstrap` so each module stays
readable.
"""

from __future__ import annotations

import itertools
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
    """``total`` replicates in blocks of ``size`` (``compute(k)`` gives block ``k``), in a pool or on demand.

    With a pool, ``workers`` tasks each take the next block not yet taken until none is left (one
    submission per worker, not per block), and a caller waiting for a block takes blocks too
    instead of idling: it computes any block no worker has started. Each block is computed by the
    same code whichever thread takes it, so the values do not depend on who computes what.
    """

    def __init__(
        self,
        total: int,
        size: int,
        compute: Callable[[int], np.ndarray],
        pool: ThreadPoolExecutor | None,
        workers: int = 1,
    ) -> None:
        self._total, self._size, self._compute, self._pool = total, size, compute, pool
        self._n_blocks = -(-total // size)
        self._done: dict[int, np.ndarray] = {}
        # the workers never wait for the consumer, and only running blocks hold temporaries
        # (results are small: rows x table columns)
        self._results: list[np.ndarray | _Failed | None] = [None] * self._n_blocks
        self._taken = itertools.count()  # next(): atomic (one C call under the GIL)
        self._cancelled = False
        self._changed = threading.Condition()
        self._futures: list[Future[None]] = (
            [pool.submit(self._work) for _ in range(min(workers, self._n_blocks))] if pool is not None else []
        )

    def _take(self) -> int | None:
        """The next block no thread has taken (None: all taken, or the run cancelled)."""
        k = next(self._taken)
        return k if k < self._n_blocks and not self._cancelled else None

    def _work(self) -> None:
        while (k := self._take()) is not None:
            self._run(k)

    def _run(self, k: int) -> None:
        try:
            out: np.ndarray | _Failed = self._compute(k)
        except BaseException as exc:  # noqa: BLE001 - raised to the caller that asks for block k
            out = _Failed(exc)
        with self._changed:
            self._results[k] = out
            self._changed.notify_all()

    def block(self, k: int) -> np.ndarray:
        """Block ``k`` (replicates ``k * size`` on); while it is not ready, the caller computes blocks not started."""
        if self._pool is None:
            if k not in self._done:
                self._done.clear()
                self._done[k] = self._compute(k)
            return self._done[k]
        results = self._results
        while results[k] is None:
            j = self._take()
            if j is not None:
                self._run(j)
                continue
            with self._changed:
                while results[k] is None:
                    self._changed.wait()
        out = results[k]
        if isinstance(out, _Failed):
            raise out.error
        assert out is not None
        return out

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
        """Stop taking blocks; wait for the running ones (they hold the only temporaries)."""
        self._cancelled = True
        wait(self._futures)


class _Failed:
    """The exception a block raised, kept for the caller who asks for that block."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
