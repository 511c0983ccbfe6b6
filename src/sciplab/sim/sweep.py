"""Repetitions and parameter sweeps, locally or on a Dask cluster, resumable, one Parquet shard per task.

A sweep is the Cartesian product of a parameter grid times ``repetitions`` (independent runs of one
grid point with different seeds; "bootstrap" is kept for resamples of data). Task ``k`` always gets
the seed ``SeedSequence(seed).spawn(n_tasks)[k]`` (Mesa's ``batch_run`` idea with NumPy's
spawned streams), so results do not depend on the number of workers or the order tasks finish in.
Each task runs :func:`sciplab.sim.simulate` (latent truth, no questionnaires) and returns one row:
grid values, repetition, seed entropy, the calibration statistics and summary means. With ``out`` each
row is written to ``out/shards/task-<k>.parquet``; a rerun skips tasks whose shard exists
(resumable) and refuses a folder holding a different sweep.

Dask sweeps warm every worker first (imports and compiled kernels, :mod:`sciplab.sim._sweep_workers`)
and start the longest tasks first (:func:`estimate_cost`), so the last tasks to finish are short and
no worker waits while another runs a long one.

Schedulers: ``None`` starts a ``dask.distributed.LocalCluster`` (``n_workers`` processes, one thread
each); an address (``tcp://host:8786``) connects to a running scheduler, failing with a clear error
after ``timeout`` seconds; ``"synchronous"`` runs in this process without Dask.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, SciplabError, suggest
from sciplab._core.files import atomic_write, load_structured, write_text_atomic
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.results import Result, package_version
from sciplab.sim.measurement import latent
from sciplab.sim.params import SimParams, parameter_names

__all__ = ["SweepResult", "estimate_cost", "estimate_memory_gib", "read_grid", "summary_row", "sweep"]


def estimate_memory_gib(params: SimParams) -> float:
    """Peak memory of one simulation, estimated from its size before it runs (GiB).

    Tie slots hold a partner (4 bytes), a strength and a gain (4 each) per slot, ``max_ties`` slots
    per agent; per-agent state, the symptom networks and the step temporaries add about 1.5 KB per
    agent (measured peak of the adult phase; ``benchmarks/bench_sim.py --million``).
    """
    k = min(params.network.max_ties, max(params.n_agents - 1, 1))
    return params.n_agents * (12 * k + 1500) / 2**30


def estimate_cost(params: SimParams) -> float:
    """Relative run time of one simulation (arbitrary units), to start the longest tasks first.

    Agents x steps: childhood months, adult weeks weighted by the ties each agent keeps (the tie-slot
    passes dominate an adult week) and follow-up weeks. Only the order matters.
    """
    ties = min(params.network.initial_ties, params.network.max_ties)
    return params.n_agents * (params.childhood_months + 52 * params.years * (1 + ties / 10) + params.followup_weeks)


def _available_memory_gib() -> float:
    """Memory available to new processes now (``MemAvailable``; else the physical memory), GiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 2**30
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 64.0


def _check_memory(need: float, limit: float, source: str) -> None:
    """Refuse (before anything runs) a grid whose largest point needs more than ``limit`` GiB per task."""
    if need > limit:
        raise InvalidParameterError(
            f"the largest grid point needs about {need:.2f} GiB per task (estimated from n_agents and "
            f"network.max_ties), more than the {limit:.2f} GiB {source}; use fewer agents or tie slots"
            + ("" if "budget" in source else ", or fewer workers")
        )


@dataclasses.dataclass(frozen=True)
class SweepResult(Result):
    """One row per task (grid point x repetition): parameters, seed, statistics."""

    title: ClassVar[str] = "SCIP simulation sweep"

    def by_point(self) -> pd.DataFrame:
        """Means over repetitions for each grid point."""
        keys = list(self.details["grid"])
        num = self.table.select_dtypes("number").drop(columns=["task", "repetition", "seed_entropy"], errors="ignore")
        cols = [c for c in num.columns if c not in keys]
        return self.table.groupby(keys, as_index=False, dropna=False)[cols].mean()


def _check_names(names: Sequence[str], where: str) -> None:
    known = parameter_names()
    for name in names:
        if name not in known:
            raise InvalidParameterError(f"{where}: unknown simulation parameter {name!r}{suggest(name, known)}")


MAX_GRID_VALUES = 10_000
"""Most values one grid parameter may list."""
MAX_TASKS = 1_000_000
"""Most tasks (grid points x repetitions) one sweep may run."""


def _check_value(value: Any, name: str, *, source: str, field: str) -> Any:
    """One parameter value from a grid file: a string, boolean or finite number, valid for the parameter."""
    if isinstance(value, dict | list):
        kind = "table" if isinstance(value, dict) else "list"
        raise DataError(f"{source}: {field} must be a string, boolean or number, got a {kind}")
    if not isinstance(value, str | bool | int | float):
        raise DataError(f"{source}: {field} must be a string, boolean or number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DataError(f"{source}: {field} must be a finite number, got {value!r}")
    try:
        SimParams().updated({name: value})
    except InvalidParameterError as exc:
        raise DataError(f"{source}: {field}: {exc}") from exc
    return value


def read_grid(path: str | os.PathLike[str]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    r"""Read a sweep grid file (TOML): ``[grid]`` (parameter -> list of values) and optional ``[fixed]``.

    The format::

        [fixed]                           # optional: held fixed in every task
        n_agents = 2000
        years = 2.0

        [grid]                            # required: every combination is one grid point
        "therapy.policy" = ["scip", "fixed"]
        "network.meet_rate" = [0.3, 0.6, 0.9]

    Names are dotted parameter names (``n_agents``, ``therapy.policy``, ``network.meet_rate``; see
    :func:`sciplab.sim.parameter_table`); dotted names must be quoted. A grid value is a list of at
    most :data:`MAX_GRID_VALUES` strings, booleans or finite numbers (a single value counts as a
    one-element list); a fixed value is one such value. Every value is checked against the
    parameter's type and range. Unknown names are refused with close-name suggestions; every error
    is a :class:`~sciplab._core.errors.DataError` naming the file and the field. The file is read
    through :func:`sciplab._core.files.load_structured` (size, UTF-8, nesting depth).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.toml"
    >>> _ = p.write_text('[fixed]\nn_agents = 200\n[grid]\n"therapy.policy" = ["scip", "fixed"]\n')
    >>> read_grid(p)
    ({'therapy.policy': ['scip', 'fixed']}, {'n_agents': 200})
    """
    p = Path(path)
    src = str(p)
    raw = load_structured(p, what="sweep grid file", kinds=("toml",))
    extra = [k for k in raw if k not in ("grid", "fixed")]
    if extra:
        name = sorted(extra)[0]
        raise DataError(
            f"{src}: unknown table or key {name!r}{suggest(name, ['grid', 'fixed'])}; use [grid] and [fixed]"
        )
    grid = raw.get("grid")
    fixed = raw.get("fixed", {})
    if not isinstance(grid, dict) or not grid:
        raise DataError(f"{src}: needs a [grid] table with at least one parameter and a list of values")
    if not isinstance(fixed, dict):
        raise DataError(f"{src}: [fixed] must be a table of parameter = value, got {type(fixed).__name__}")
    known = parameter_names()
    for table, entries in (("grid", grid), ("fixed", fixed)):
        for name in entries:
            if name not in known:
                raise DataError(f"{src}: [{table}] unknown simulation parameter {name!r}{suggest(name, known)}")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise DataError(f"{src}: parameter {both[0]!r} is in both [grid] and [fixed]; keep it in one")
    out: dict[str, list[Any]] = {}
    for name, v in grid.items():
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise DataError(f"{src}: [grid] {name!r} has an empty list of values")
        if len(vals) > MAX_GRID_VALUES:
            raise DataError(f"{src}: [grid] {name!r} lists {len(vals):,} values; at most {MAX_GRID_VALUES:,}")
        out[name] = [
            _check_value(x, name, source=src, field=f"{name} (value {k + 1} in [grid])") for k, x in enumerate(vals)
        ]
    fixed_out = {name: _check_value(v, name, source=src, field=f"{name} (in [fixed])") for name, v in fixed.items()}
    return out, fixed_out


def _tasks(grid: Mapping[str, list[Any]], repetitions: int, seed: int, common: bool = False) -> list[dict[str, Any]]:
    """Tasks in grid-point-major order; ``common``: repetition ``r`` has the same seed at every point."""
    points = list(itertools.product(*grid.values())) if grid else [()]
    n = len(points) * repetitions
    children = np.random.SeedSequence(seed).spawn(repetitions if common else n)
    tasks = []
    for k, (point, rep) in enumerate(itertools.product(points, range(repetitions))):
        child = children[rep] if common else children[k]
        tasks.append({"task": k, "repetition": rep, "point": dict(zip(grid, point, strict=True)), "seed": child})
    return tasks


def summary_row(res: Any) -> list[dict[str, Any]]:
    """The default task summary: summary means and every calibration statistic (one row)."""
    from sciplab.sim.calibrate import statistics

    p = res.persons
    row: dict[str, Any] = {"n_clients": res.details["n_clients"]}
    for col in ("perceived_support", "loneliness", "distress", "degree"):
        row[f"mean_{col}"] = float(p[latent(col)].mean())
    clients = p[p["in_therapy"]]
    for col in ("improvement", "alliance_end", "security_gain", "n_ruptures", "dropped_out"):
        name = col if col in clients else latent(col)
        row[f"mean_{col}"] = float(clients[name].astype(float).mean()) if len(clients) else float("nan")
    row.update(statistics(res))
    return [row]


def _run_task(
    task: dict[str, Any],
    fixed: Mapping[str, Any],
    shard_dir: str | None,
    summarize: Callable[[Any], list[dict[str, Any]]] = summary_row,
    options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    from sciplab.sim.model import simulate

    if shard_dir is not None:
        shard = Path(shard_dir) / f"task-{task['task']:06d}.parquet"
        if shard.exists():
            return pd.read_parquet(shard).to_dict("records")
    params = SimParams().updated({**fixed, **task["point"]})
    kwargs = {"instruments": None, "session_instruments": None, **dict(options or {})}
    res = simulate(params=params, seed=task["seed"], **kwargs)
    head: dict[str, Any] = {"task": task["task"], "repetition": task["repetition"], **task["point"]}
    head["seed_entropy"] = str(task["seed"].entropy)
    head["seed_spawn_key"] = ",".join(map(str, task["seed"].spawn_key))
    rows = [{**head, **r} for r in summarize(res)]
    if shard_dir is not None:
        with atomic_write(Path(shard_dir) / f"task-{task['task']:06d}.parquet", overwrite=True) as tmp:
            pd.DataFrame(rows).to_parquet(tmp, index=False)
    return rows


def _priority_groups(tasks: list[dict[str, Any]], cost: list[float]) -> list[tuple[int, list[dict[str, Any]]]]:
    """Tasks grouped by Dask priority: a quarter-octave level of the estimated cost (higher runs first)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for task, c in zip(tasks, cost, strict=True):
        groups.setdefault(round(4 * math.log2(max(c, 1.0))), []).append(task)
    return sorted(groups.items(), reverse=True)


def _warm_workers(client: Any) -> None:
    """Register the warm-up worker plugin: imports and compiled kernels before the first task, on every worker."""
    from sciplab.sim._sweep_workers import WarmUp

    client.register_plugin(WarmUp())


def _probe_scheduler(address: str, timeout: float) -> None:
    """Fail unless a Dask scheduler at ``address`` answers an identity request within ``timeout`` seconds.

    ``Client(address, timeout=...)`` bounds the TCP connection but not the handshake after it: a port
    that accepts connections and never answers (a stuck process, a proxy, a non-Dask server) hung the
    sweep for good. The probe runs in its own thread and event loop (also under a running loop, as in
    Jupyter) and is cancelled at the deadline.
    """
    import asyncio
    import threading

    from distributed.comm import connect

    async def probe() -> None:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await comm.read()
        finally:
            comm.abort()
        kind = reply.get("type") if isinstance(reply, dict) else None
        if kind != "Scheduler":
            raise ValueError(f"the server answered as {kind or 'something else'}, not as a Dask scheduler")

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(probe(), timeout))
            outcome.append(None)
        except MemoryError:  # a frame length read from a server that does not speak Dask's protocol
            outcome.append(ValueError("the server answered with something that is not Dask's protocol"))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="sciplab-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if not outcome:  # pragma: no cover - wait_for cancels the probe at the deadline
        raise TimeoutError(f"no answer within {timeout:g} s")
    if outcome[0] is not None:
        raise outcome[0]


def _connect(scheduler: str | None, n_workers: int, timeout: float) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency of the [dist] extra
        raise SciplabError("sweeps need dask.distributed: install sciplab[dist]") from exc
    if scheduler is None:
        # ":0": the scheduler's HTTP server (dashboard, metrics) takes a free port, so concurrent sweeps
        # never fail with "Port 8787 is already in use" (seen when two test runs overlapped).
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        )
        try:
            return Client(cluster), cluster
        except BaseException:  # never leave a started cluster behind (seen on a saturated machine)
            cluster.close()
            raise
    try:
        _probe_scheduler(scheduler, timeout)
        return Client(scheduler, timeout=f"{timeout}s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise SciplabError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({type(exc).__name__}: "
            f"{str(exc) or 'no answer'}); "
            "check the address (tcp://host:8786) and that the scheduler is running"
        ) from exc


def sweep(
    grid: Mapping[str, Sequence[Any]] | str | os.PathLike[str],
    repetitions: int = 1,
    *,
    scheduler: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    seed: SeedLike = None,
    out: str | os.PathLike[str] | None = None,
    n_workers: int = 2,
    timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
    summarize: Callable[[Any], list[dict[str, Any]]] | None = None,
    common_seeds: bool = False,
    simulate_options: Mapping[str, Any] | None = None,
    max_memory_gib: float | None = None,
) -> SweepResult:
    """Run every grid point ``repetitions`` times (Dask), one result row per task (or per summary row).

    Parameters
    ----------
    grid
        ``{dotted parameter name: [values]}`` or a grid TOML file (see :func:`read_grid`).
    repetitions
        Independent runs (different spawned seeds) per grid point.
    scheduler
        ``None`` (LocalCluster with ``n_workers``), a scheduler address, or ``"synchronous"``.
    fixed
        Parameters held fixed (``{"n_agents": 500}``), merged under a grid file's ``[fixed]``.
    seed
        Master seed (recorded); task seeds are spawned from it.
    out
        Folder for Parquet shards (``shards/``) and ``sweep.json``; enables resuming.
    n_workers
        Worker processes of the local cluster.
    timeout
        Seconds (above 0, at most 3600) to wait for a remote scheduler before failing with its address.
    progress
        Optional ``progress(done, total)`` callback.
    summarize
        ``summarize(SimResult) -> list of row dicts`` (a module-level function, so Dask can send it);
        default :func:`summary_row` (summary means and the calibration statistics).
    common_seeds
        Give repetition ``r`` the same seed at every grid point (common random numbers: the same
        population meets every policy, so paired differences have less Monte Carlo noise).
    simulate_options
        Extra keyword arguments of :func:`sciplab.sim.simulate` (default: latent truth only).
    max_memory_gib
        Refuse a grid whose largest point would need more memory per worker than this (estimated
        with :func:`estimate_memory_gib` before anything runs; default: the memory available now
        divided by the local workers, or for a remote scheduler the smallest worker memory limit,
        checked once connected and before any task is sent).

    Examples
    --------
    >>> res = sweep({"therapy.policy": ["scip", "fixed"]}, 1, fixed={"n_agents": 150, "years": 0.5},
    ...             seed=1, scheduler="synchronous")
    >>> res.table[["task", "therapy.policy"]].values.tolist()
    [[0, 'scip'], [1, 'fixed']]
    """
    file_fixed: dict[str, Any] = {}
    if isinstance(grid, str | os.PathLike):
        grid, file_fixed = read_grid(grid)
    grid = {str(k): list(v) if isinstance(v, list | tuple) else [v] for k, v in dict(grid).items()}
    fixed = {**file_fixed, **dict(fixed or {})}
    _check_names(list(grid) + list(fixed), "sweep")
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or not 1 <= repetitions <= MAX_TASKS:
        raise InvalidParameterError(f"repetitions must be a whole number from 1 to {MAX_TASKS}, got {repetitions!r}")
    n_points = math.prod(len(v) for v in grid.values())
    if n_points * repetitions > MAX_TASKS:
        raise InvalidParameterError(
            f"{n_points:,} grid points x {repetitions:,} repetitions = {n_points * repetitions:,} tasks; at most "
            f"{MAX_TASKS:,}: use fewer grid values or repetitions"
        )
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or not 1 <= n_workers <= 4096:
        raise InvalidParameterError(f"n_workers must be a whole number from 1 to 4096, got {n_workers!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
        raise InvalidParameterError(f"timeout must be a number of seconds above 0 and at most 3600, got {timeout!r}")
    if max_memory_gib is not None and (
        isinstance(max_memory_gib, bool) or not isinstance(max_memory_gib, int | float) or not max_memory_gib > 0
    ):
        raise InvalidParameterError(f"max_memory_gib must be a positive number of GiB, got {max_memory_gib!r}")
    # validate every grid point and its memory need before starting anything
    need, costs = 0.0, []
    for point in itertools.product(*grid.values()):
        params = SimParams().updated({**fixed, **dict(zip(grid, point, strict=True))})
        need = max(need, estimate_memory_gib(params))
        costs.append(estimate_cost(params))
    remote = scheduler not in (None, "synchronous")
    workers = 1 if scheduler == "synchronous" else n_workers
    if max_memory_gib is not None:
        _check_memory(need, float(max_memory_gib), "memory budget per worker (max_memory_gib)")
    elif not remote:  # a remote cluster's workers are checked once connected, before any task is sent
        avail = _available_memory_gib()
        _check_memory(need, avail / workers, f"available per worker ({avail:.1f} GiB available / {workers} worker(s))")
    recorded = resolve_seed(seed)
    tasks = _tasks(grid, repetitions, recorded, common_seeds)
    task_options: dict[str, Any] = {"summarize": summarize or summary_row, "options": dict(simulate_options or {})}
    shard_dir = None
    if out is not None:
        folder = Path(out)
        summary_name = getattr(summarize or summary_row, "__qualname__", "custom")
        manifest = {"grid": grid, "fixed": fixed, "repetitions": repetitions, "seed": recorded,
                    "summary": summary_name, "common_seeds": common_seeds}  # fmt: skip
        digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()
        mfile = folder / "sweep.json"
        if folder.exists() and not folder.is_dir():
            raise DataError(f"{folder}: exists and is not a folder; choose a new folder name for the sweep")
        if mfile.exists():
            old = load_structured(mfile, what="sweep manifest", kinds=("json",))
            if not isinstance(old, dict) or old.get("digest") != digest:
                raise DataError(
                    f"{folder}: holds a different sweep (grid, repetitions or seed differ); choose another folder"
                )
        elif folder.exists() and any(folder.iterdir()):
            raise DataError(f"{folder}: folder exists and is not a sweep folder; choose another folder")
        (folder / "shards").mkdir(parents=True, exist_ok=True)
        text = json.dumps({**manifest, "digest": digest}, indent=2, default=str)
        write_text_atomic(mfile, text, overwrite=True)
        shard_dir = str(folder / "shards")
    rows: list[dict[str, Any]] = []
    if scheduler == "synchronous":
        for k, task in enumerate(tasks):
            rows.extend(_run_task(task, fixed, shard_dir, **task_options))
            if progress is not None:
                progress(k + 1, len(tasks))
    else:
        from distributed import as_completed

        client, cluster = _connect(scheduler, n_workers, timeout)
        try:
            if remote and max_memory_gib is None:
                limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
                if any(limits):
                    _check_memory(need, min(x for x in limits if x) / 2**30, f"memory limit of a worker at {scheduler}")
            _warm_workers(client)
            futures = []
            # longest first (by estimated cost, in coarse levels): the last tasks to finish are short
            per_task = [costs[t["task"] // repetitions] for t in tasks]
            for level, group in _priority_groups(tasks, per_task):
                futures += client.map(
                    _run_task, group, fixed=fixed, shard_dir=shard_dir, pure=False, priority=level, **task_options
                )
            for k, (fut, result) in enumerate(as_completed(futures, with_results=True)):
                rows.extend(result)
                fut.release()
                if progress is not None:
                    progress(k + 1, len(tasks))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    table = pd.DataFrame(rows).sort_values("task", kind="stable", ignore_index=True)
    details = {
        "grid": grid,
        "fixed": fixed,
        "repetitions": repetitions,
        "seed": recorded,
        "n_tasks": len(tasks),
        "scheduler": scheduler or f"LocalCluster({n_workers})",
        "out": str(out) if out is not None else None,
        "version": package_version(),
    }
    return SweepResult(table=table, details=details)
