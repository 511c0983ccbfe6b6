"""Replicates and parameter sweeps, locally or on a Dask cluster, resumable, one Parquet shard per task.

A sweep is the Cartesian product of a parameter grid times ``replicates``. Task ``k`` always gets
the seed ``SeedSequence(seed).spawn(n_tasks)[k]`` (Mesa's ``batch_run`` idea with NumPy's
spawned streams), so results do not depend on the number of workers or the order tasks finish in.
Each task runs :func:`sciplab.sim.simulate` (latent truth, no questionnaires) and returns one row:
grid values, replicate, seed entropy, the calibration statistics and summary means. With ``out`` each
row is written to ``out/shards/task-<k>.parquet``; a rerun skips tasks whose shard exists
(resumable) and refuses a folder holding a different sweep.

Schedulers: ``None`` starts a ``dask.distributed.LocalCluster`` (``n_workers`` processes, one thread
each); an address (``tcp://host:8786``) connects to a running scheduler, failing with a clear error
after ``timeout`` seconds; ``"synchronous"`` runs in this process without Dask.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, SciplabError, suggest
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.results import Result, package_version
from sciplab.sim.params import SimParams, parameter_names

__all__ = ["SweepResult", "read_grid", "sweep"]


@dataclasses.dataclass(frozen=True)
class SweepResult(Result):
    """One row per task (grid point x replicate): parameters, seed, statistics."""

    title: ClassVar[str] = "SCIP simulation sweep"

    def by_point(self) -> pd.DataFrame:
        """Means over replicates for each grid point."""
        keys = list(self.details["grid"])
        num = self.table.select_dtypes("number").drop(columns=["task", "replicate", "seed_entropy"], errors="ignore")
        cols = [c for c in num.columns if c not in keys]
        return self.table.groupby(keys, as_index=False, dropna=False)[cols].mean()


def _check_names(names: Sequence[str], where: str) -> None:
    known = parameter_names()
    for name in names:
        if name not in known:
            raise InvalidParameterError(f"{where}: unknown simulation parameter {name!r}{suggest(name, known)}")


def read_grid(path: str | os.PathLike[str]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    r"""Read a grid file: ``[grid]`` (name -> list of values) and optional ``[fixed]`` (name -> value).

    Names are dotted parameter names (``n_agents``, ``therapy.policy``, ``network.meet_rate``);
    unknown names are refused with close-name suggestions.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.toml"
    >>> _ = p.write_text('[fixed]\nn_agents = 200\n[grid]\n"therapy.policy" = ["scip", "fixed"]\n')
    >>> read_grid(p)
    ({'therapy.policy': ['scip', 'fixed']}, {'n_agents': 200})
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: grid file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{p}: not valid TOML: {exc}") from exc
    extra = set(raw) - {"grid", "fixed"}
    if extra:
        name = sorted(extra)[0]
        raise DataError(f"{p}: unknown table or key {name!r}{suggest(name, ['grid', 'fixed'])}; use [grid] and [fixed]")
    grid = raw.get("grid", {})
    fixed = raw.get("fixed", {})
    if not isinstance(grid, dict) or not grid:
        raise DataError(f"{p}: needs a [grid] table with at least one parameter and a list of values")
    _check_names(list(grid) + list(fixed), str(p))
    out = {}
    for k, v in grid.items():
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise DataError(f"{p}: grid parameter {k!r} has an empty list of values")
        out[k] = vals
    return out, dict(fixed)


def _tasks(grid: Mapping[str, list[Any]], replicates: int, seed: int) -> list[dict[str, Any]]:
    points = list(itertools.product(*grid.values())) if grid else [()]
    n = len(points) * replicates
    children = np.random.SeedSequence(seed).spawn(n)
    tasks = []
    for k, (point, rep) in enumerate(itertools.product(points, range(replicates))):
        tasks.append({"task": k, "replicate": rep, "point": dict(zip(grid, point, strict=True)), "seed": children[k]})
    return tasks


def _run_task(task: dict[str, Any], fixed: Mapping[str, Any], shard_dir: str | None) -> dict[str, Any]:
    from sciplab.sim.calibrate import statistics
    from sciplab.sim.model import simulate

    if shard_dir is not None:
        shard = Path(shard_dir) / f"task-{task['task']:06d}.parquet"
        if shard.exists():
            return pd.read_parquet(shard).iloc[0].to_dict()
    params = SimParams().updated({**fixed, **task["point"]})
    res = simulate(params=params, seed=task["seed"], instruments=None)
    p = res.persons
    row: dict[str, Any] = {"task": task["task"], "replicate": task["replicate"], **task["point"]}
    row["seed_entropy"] = str(task["seed"].entropy)
    row["seed_spawn_key"] = ",".join(map(str, task["seed"].spawn_key))
    row["n_clients"] = res.details["n_clients"]
    for col in ("perceived_support", "loneliness", "distress", "degree"):
        row[f"mean_{col}"] = float(p[col].mean())
    clients = p[p["client"]]
    for col in ("improvement", "alliance_end", "security_gain", "n_ruptures", "dropped_out"):
        row[f"mean_{col}"] = float(clients[col].astype(float).mean()) if len(clients) else float("nan")
    row.update(statistics(res))
    if shard_dir is not None:
        tmp = Path(shard_dir) / f".task-{task['task']:06d}.tmp.parquet"
        pd.DataFrame([row]).to_parquet(tmp, index=False)
        os.replace(tmp, Path(shard_dir) / f"task-{task['task']:06d}.parquet")
    return row


def _connect(scheduler: str | None, n_workers: int, timeout: float) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency of the [dist] extra
        raise SciplabError("sweeps need dask.distributed: install sciplab[dist]") from exc
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=f"{timeout}s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise SciplabError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({type(exc).__name__}); "
            "check the address (tcp://host:8786) and that the scheduler is running"
        ) from exc


def sweep(
    grid: Mapping[str, Sequence[Any]] | str | os.PathLike[str],
    replicates: int = 1,
    *,
    scheduler: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    seed: SeedLike = None,
    out: str | os.PathLike[str] | None = None,
    n_workers: int = 2,
    timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run every grid point ``replicates`` times (Dask), one result row per task.

    Parameters
    ----------
    grid
        ``{dotted parameter name: [values]}`` or a grid TOML file (see :func:`read_grid`).
    replicates
        Replicates per grid point.
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
        Seconds to wait for a remote scheduler before failing.
    progress
        Optional ``progress(done, total)`` callback.

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
    if isinstance(replicates, bool) or not isinstance(replicates, int) or not 1 <= replicates <= 1_000_000:
        raise InvalidParameterError(f"replicates must be a whole number from 1 to 1000000, got {replicates!r}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or not 1 <= n_workers <= 4096:
        raise InvalidParameterError(f"n_workers must be a whole number from 1 to 4096, got {n_workers!r}")
    # validate every grid point before starting anything
    for point in itertools.product(*grid.values()):
        SimParams().updated({**fixed, **dict(zip(grid, point, strict=True))})
    recorded = resolve_seed(seed)
    tasks = _tasks(grid, replicates, recorded)
    shard_dir = None
    if out is not None:
        folder = Path(out)
        manifest = {"grid": grid, "fixed": fixed, "replicates": replicates, "seed": recorded}
        digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()
        mfile = folder / "sweep.json"
        if mfile.exists():
            old = json.loads(mfile.read_text(encoding="utf-8"))
            if old.get("digest") != digest:
                raise DataError(
                    f"{folder}: holds a different sweep (grid, replicates or seed differ); choose another folder"
                )
        elif folder.exists() and any(folder.iterdir()):
            raise DataError(f"{folder}: folder exists and is not a sweep folder; choose another folder")
        (folder / "shards").mkdir(parents=True, exist_ok=True)
        mfile.write_text(json.dumps({**manifest, "digest": digest}, indent=2, default=str), encoding="utf-8")
        shard_dir = str(folder / "shards")
    rows: list[dict[str, Any]] = []
    if scheduler == "synchronous":
        for k, task in enumerate(tasks):
            rows.append(_run_task(task, fixed, shard_dir))
            if progress is not None:
                progress(k + 1, len(tasks))
    else:
        from distributed import as_completed

        client, cluster = _connect(scheduler, n_workers, timeout)
        try:
            futures = client.map(_run_task, tasks, fixed=fixed, shard_dir=shard_dir, pure=False)
            for k, fut in enumerate(as_completed(futures)):
                rows.append(fut.result())
                if progress is not None:
                    progress(k + 1, len(tasks))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    table = pd.DataFrame(rows).sort_values("task", ignore_index=True)
    details = {
        "grid": grid,
        "fixed": fixed,
        "replicates": replicates,
        "seed": recorded,
        "n_tasks": len(tasks),
        "scheduler": scheduler or f"LocalCluster({n_workers})",
        "out": str(out) if out is not None else None,
        "version": package_version(),
    }
    return SweepResult(table=table, details=details)
