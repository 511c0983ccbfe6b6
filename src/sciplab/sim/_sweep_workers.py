"""Dask worker side of :func:`sciplab.sim.sweep`: warm every worker once before the tasks run.

A fresh worker pays about 6 s (imports of the simulation and calibration modules, then loading or
compiling the numba kernels) in its first task. :class:`WarmUp` is a worker plugin: it runs one tiny
simulation when it is registered (every current worker, in parallel, before any task is submitted)
and again on every worker that joins later, so no task carries that cost and the longest-first
order of the tasks holds. A worker that is already warm (a reused cluster) returns at once.
Imported only when a sweep uses Dask (``distributed`` is not imported by ``import sciplab.sim``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

NAME = "sciplab-sim-warm-up"
_warm = False


def warm_up() -> bool:
    """Import and compile everything a sweep task uses (one 200-agent simulation); once per process.

    Returns whether this call did the work (``False``: the process was already warm).
    """
    global _warm
    if _warm:
        return False
    import numpy as np

    from sciplab.sim.sweep import _run_task

    task = {"task": 0, "repetition": 0, "point": {}, "seed": np.random.SeedSequence(0)}
    _run_task(task, {"n_agents": 200, "years": 0.2, "followup_weeks": 2}, None)
    _warm = True
    return True


class WarmUp(WorkerPlugin):
    """Worker plugin: :func:`warm_up` when the worker starts (or when the plugin is registered)."""

    name = NAME

    async def setup(self, worker: Any) -> None:
        # in a thread: the worker's event loop keeps answering the scheduler (heartbeats) meanwhile
        await asyncio.get_running_loop().run_in_executor(None, warm_up)
