"""Where chunks run: this process (threads, all cores by default), or a Dask cluster.

Chunks are fixed by the study (``CHUNK`` replicates each, seeds per chunk), and the counts they
return are summed in chunk order, so a thread pool, a local Dask cluster of any size and a remote
scheduler give identical results for the same seed. Dask is imported only when asked for (the
``dist`` extra: ``pip install sciplab[dist]``); a scheduler that does not answer within ``timeout``
seconds is a clear error, never a hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from sciplab._core.errors import InvalidParameterError, SciplabError
from sciplab.stats.power.engine import CHUNK, run_chunk

Task = tuple[int, int, int]  # (n, chunk index, replicates)


def plan(ns: Sequence[int], reps: int, *, chunk: int = CHUNK) -> list[Task]:
    """Every chunk of the study, in a fixed order (``chunk`` replicates each, the last one fewer)."""
    tasks = []
    for n in ns:
        for c, start in enumerate(range(0, reps, chunk)):
            tasks.append((int(n), c, min(chunk, reps - start)))
    return tasks


def local_threads() -> int:
    """Threads of a local run: the CPUs available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: object) -> int | None:
    """``None`` or a whole number of local Dask worker processes, at most the CPUs available.

    More local processes than CPUs only add start-up time and memory; a larger cluster is reached
    with ``scheduler=`` (its workers are started by the cluster, not here).
    """
    if workers is None:
        return None
    cpus = local_threads()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= cpus:
        raise InvalidParameterError(
            f"workers must be a whole number of local Dask workers from 1 to {cpus} (the CPUs available), got "
            f"{workers!r}; for a larger cluster start a Dask scheduler and pass its address (scheduler=)"
        )
    return workers


def execute(
    spec: Any,
    tasks: list[Task],
    *,
    fn: Callable[[Any, int, int, int], dict[str, Any]] = run_chunk,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Run every task; return the chunk results in task order and a description of where they ran.

    ``fn(spec, n, chunk, reps)`` computes one chunk (default: the observed-variable engine's
    :func:`~sciplab.stats.power.engine.run_chunk`; latent/FIML studies pass
    :func:`~sciplab.stats.power.latent.run_latent_chunk`). It must be a module-level function so
    Dask workers can import it.
    """
    total = len(tasks)
    results: list[dict[str, Any] | None] = [None] * total
    if scheduler is None and workers is None:
        nthreads = local_threads() if threads is None else max(1, int(threads))
        if nthreads == 1 or total == 1:
            for k, (n, c, r) in enumerate(tasks):
                results[k] = fn(spec, n, c, r)
                if progress is not None:
                    progress(k + 1, total)
        else:
            with ThreadPoolExecutor(max_workers=nthreads) as pool:
                futures = {pool.submit(fn, spec, n, c, r): k for k, (n, c, r) in enumerate(tasks)}
                for done, fut in enumerate(as_completed(futures), start=1):
                    results[futures[fut]] = fut.result()
                    if progress is not None:
                        progress(done, total)
        where = f"local ({nthreads} thread{'s' if nthreads > 1 else ''})"
    else:
        where = _dask(fn, spec, tasks, results, workers, scheduler, timeout, progress)
    return [r for r in results if r is not None], where


def _dask(
    fn: Callable[[Any, int, int, int], dict[str, Any]],
    spec: Any,
    tasks: list[Task],
    results: list[dict[str, Any] | None],
    workers: int | None,
    scheduler: str | None,
    timeout: float,
    progress: Callable[[int, int], None] | None,
) -> str:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - dask is the [dist] extra
        raise SciplabError("a Dask run needs dask.distributed: install sciplab[dist]") from exc
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SciplabError(
                f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({type(exc).__name__}); "
                "check the address (tcp://host:8786) and that the scheduler is running"
            ) from exc
        where = f"Dask scheduler {scheduler}"
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        )
        client = Client(cluster)
        where = f"Dask LocalCluster({workers} workers)"
    try:
        spec_future = client.scatter(spec, broadcast=True)
        futures = [client.submit(fn, spec_future, n, c, r, pure=False) for n, c, r in tasks]
        index = {f.key: k for k, f in enumerate(futures)}
        for done, fut in enumerate(dask_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            if progress is not None:
                progress(done, len(tasks))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return where
