"""Benchmark of the SCIP simulation: adult-phase speed vs a Mesa version, memory at 1M agents, sweep scaling.

Run: ``uv run python benchmarks/bench_sim.py [--agents 200000] [--million] [--sweep]``.
Prints agent-steps per second (weekly steps x agents; wall and CPU time) for the compiled network phase with
about 59 ties per agent (the benchmark configuration) and with the model's default parameters, the same rules
as a straightforward Mesa 3 model (benchmarks/mesa_baseline.py) and their ratio; with ``--million`` the peak
resident memory of 1,000,000 agents through the adult phase; with ``--sweep`` the wall and worker CPU time of
a sweep on 1 vs 2 local Dask workers.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from sciplab.sim.childhood import run_childhood  # noqa: E402
from sciplab.sim.network import adult_step, init_adulthood, set_threads  # noqa: E402
from sciplab.sim.params import SimParams  # noqa: E402

#: the benchmark configuration (about 59 ties per agent, as the Mesa baseline) and the model's defaults
CONFIGS = {
    "benchmark": {"network.initial_ties": 50.0, "network.meet_rate": 0.6},
    "default": {},
}


def _sciplab_model(n: int, config: str = "benchmark"):
    p = SimParams(n_agents=n, childhood_months=12).updated(CONFIGS[config])
    rng = np.random.default_rng(1)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    for w in range(4):  # warm-up (caches, first allocations)
        adult_step(pop, p, rng, w)
    return pop, p, rng


def _sciplab_run(model, weeks: int, start: int) -> tuple[float, float]:
    """(agent-steps per wall second, per CPU second of this process)."""
    pop, p, rng = model
    t, c = time.perf_counter(), time.process_time()
    for w in range(weeks):
        adult_step(pop, p, rng, start + w)
    return pop.n * weeks / (time.perf_counter() - t), pop.n * weeks / (time.process_time() - c)


def _mesa_run(model, weeks: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    for _ in range(weeks):
        model.step()
    return model.n * weeks / (time.perf_counter() - t), model.n * weeks / (time.process_time() - c)


def speed(
    agents: list[int], weeks: int, mesa_agents: int, mesa_weeks: int, repeats: int, threads: list[int],
    configs: list[str] | None = None,
) -> None:  # fmt: skip
    """Interleave repeats of every model, configuration and thread setting (same run, shared machine); medians."""
    from mesa_baseline import NetworkModel

    configs = configs or list(CONFIGS)
    models = {(c, n): _sciplab_model(n, c) for c in configs for n in agents}
    # start Mesa at the mean degree sciplab reached, so both do the same work per agent
    degree = round(float(models[(configs[0], agents[0])][0].ties.degree().mean()))
    mesa = NetworkModel(mesa_agents, initial_ties=degree, seed=1)
    mesa.step()  # warm-up
    rates: dict[tuple[str, int, int] | str, list[tuple[float, float]]] = {}
    week = 4
    loads = [os.getloadavg()[0]]
    for _ in range(repeats):
        for (c, n), model in models.items():
            for t in threads:
                set_threads(t)
                rates.setdefault((c, n, t), []).append(_sciplab_run(model, weeks, week))
            week += weeks
        set_threads(1)
        rates.setdefault("mesa", []).append(_mesa_run(mesa, mesa_weeks))
        loads.append(os.getloadavg()[0])
    med = {k: float(np.median([r[0] for r in v])) for k, v in rates.items()}
    cpu = {k: float(np.median([r[1] for r in v])) for k, v in rates.items()}
    print("What is measured: weekly adult-phase steps (meetings + formation, tie strengthening/decay/conflicts/")
    print("pruning, received/perceived support, SISa loneliness, life events + 9-node symptom network) per second,")
    print(f"as agents x weeks / wall time and / CPU time of this process (all threads); medians of {repeats}")
    print(f"interleaved repeats in this run; machine load average {min(loads):.1f}-{max(loads):.1f} on "
          f"{os.cpu_count()} cores.")  # fmt: skip
    print("sciplab threads = threads of the compiled kernels (identical results for any number); Mesa is one thread.")
    print("Configurations: benchmark = network.initial_ties 50, meet_rate 0.6 (the Mesa baseline's density; the")
    print("target is judged on it); default = the model's defaults (initial_ties 20), 4 weeks into adulthood.")
    for (c, n), model in models.items():
        deg = float(model[0].ties.degree().mean())
        for t in threads:
            r = med[(c, n, t)]
            print(f"  sciplab {c:9}, {n:>7} agents, mean degree {deg:4.1f}, {t} thread(s), {weeks} weeks x {repeats}: "
                  f"{r / 1e6:5.2f} M agent-steps/s wall, {cpu[(c, n, t)] / 1e6:5.2f} M per CPU second")  # fmt: skip
    mdeg = float(np.mean([len(a.ties) for a in mesa.people]))
    print(f"  Mesa 3 (same rules, one Agent object per person, per-agent step), {mesa_agents} agents, mean degree "
          f"{mdeg:4.1f}, {mesa_weeks} weeks x {repeats}: {med['mesa'] / 1e3:6.1f} k agent-steps/s wall, "
          f"{cpu['mesa'] / 1e3:6.1f} k per CPU second")  # fmt: skip
    for c, n in models:
        for t in threads:
            print(f"  ratio sciplab({c}, {n} agents, {t} thread(s)) / Mesa: {med[(c, n, t)] / med['mesa']:6.1f}x wall, "
                  f"{cpu[(c, n, t)] / cpu['mesa']:6.1f}x CPU")  # fmt: skip


def million() -> None:
    """1,000,000 agents: peak resident memory, and init_adulthood's peak vs a weekly step's (traced)."""
    import tracemalloc

    t = time.perf_counter()
    p = SimParams(n_agents=1_000_000, childhood_months=24)
    rng = np.random.default_rng(2)
    pop = run_childhood(p, rng)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    init_adulthood(pop, p, rng)
    live, init_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for w in range(8):
        adult_step(pop, p, rng, w)
    step_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gib = 2**30
    print(f"1,000,000 agents: 8 adult weeks, mean degree {pop.ties.degree().mean():.1f}, "
          f"peak resident memory {peak:.2f} GiB, {time.perf_counter() - t:.0f} s")  # fmt: skip
    print(f"  traced NumPy memory above the childhood state: after init_adulthood {(live - base) / gib:.2f} GiB, "
          f"init peak {(init_peak - base) / gib:.2f} GiB, weekly-step peak {(step_peak - base) / gib:.2f} GiB, "
          f"init / step = {(init_peak - base) / (step_peak - base):.2f}")  # fmt: skip


def _worker_cpu() -> float:
    """User + system CPU seconds of this (worker) process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _tree_cpu() -> float:
    """User + system CPU seconds of this process (client, scheduler) and all its children (nannies, workers)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # a process that just ended
            continue
        total += t.user + t.system
    return total


def _sweep_once(workers: int, grid: dict, repetitions: int, fixed: dict) -> tuple[dict[str, float], object]:
    """One timed sweep on a fresh local cluster of ``workers`` (started and warmed before timing)."""
    from distributed import Client, LocalCluster, get_task_stream

    from sciplab.sim import sweep

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50)  # fmt: skip
    client = Client(cluster)
    try:
        # untimed: what every sweep does on new workers (the warm-up plugin: imports, compiled kernels)
        t = time.perf_counter()
        sweep({"therapy.policy": ["scip"]}, 1, fixed={"n_agents": 200, "years": 0.2}, seed=0,
              scheduler=cluster.scheduler_address)  # fmt: skip
        warm = time.perf_counter() - t
        load = os.getloadavg()[0]
        before, tree = client.run(_worker_cpu), _tree_cpu()
        t = time.perf_counter()
        with get_task_stream(client=client) as ts:
            res = sweep(grid, repetitions, fixed=fixed, seed=1, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - t
        tree = _tree_cpu() - tree
        after = client.run(_worker_cpu)
    finally:
        client.close()
        cluster.close()
    cpu = sum(after[w] - before[w] for w in after)
    busy = sum(s["stop"] - s["start"] for d in ts.data for s in d["startstops"] if s["action"] == "compute")
    return {"wall": wall, "cpu": cpu, "other": tree - cpu, "busy": busy / (workers * wall), "warm": warm,
            "load": load}, res.table  # fmt: skip


def sweep_ratio(agents: int = 15_000, years: float = 2.0, repetitions: int = 2, rounds: int = 3) -> None:
    """The same sweep timed on 1 and on 2 local Dask workers, interleaved; wall, CPU and worker occupancy.

    4 policies x ``repetitions`` tasks of ``agents`` agents for ``years`` years (more tasks than
    workers, an even number, so the count itself does not leave a worker idle). Each measurement
    starts a fresh cluster (no other cluster alive), warms it with an untimed tiny sweep (what every
    sweep does on a new worker: imports and compiled kernels, about 6 s, reported), then times the
    sweep: wall time, CPU of the workers (getrusage in each worker, before and after), CPU of this
    process and the nannies (scheduler, client, monitors), and worker occupancy (task compute time /
    workers x wall: 100 % = no worker idle). Rounds alternate the order of 1 and 2 workers; medians,
    and the median of the per-round speed-ups (each pair measured minutes apart under the same load).
    """
    grid = {"therapy.policy": ["scip", "fixed", "complementary", "disconfirming"]}
    fixed = {"n_agents": agents, "years": years}
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    tables = []
    for r in range(rounds):
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            m, table = _sweep_once(workers, grid, repetitions, fixed)
            runs[workers].append(m)
            tables.append(table)
            print(f"  round {r + 1}, {workers} worker(s): wall {m['wall']:5.1f} s, CPU workers {m['cpu']:5.1f} s, "
                  f"other processes {m['other']:4.1f} s, occupancy {m['busy']:4.0%}, untimed warm-up "
                  f"{m['warm']:4.1f} s, load {m['load']:.1f}", flush=True)  # fmt: skip
    med = {w: {k: float(np.median([m[k] for m in v])) for k in v[0]} for w, v in runs.items()}
    ups = [a["wall"] / b["wall"] for a, b in zip(runs[1], runs[2], strict=True)]
    loads = [m["load"] for v in runs.values() for m in v]
    same = all(t.equals(tables[0]) for t in tables)
    print(f"sweep: {4 * repetitions} tasks (4 policies x {repetitions}) x {agents} agents x {years:g} years, a fresh "
          f"warmed local cluster per measurement (one thread per worker), medians of {rounds} rounds (order "
          f"alternating); load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")  # fmt: skip
    for w in (1, 2):
        m = med[w]
        print(f"  {w} worker(s): wall {m['wall']:6.1f} s, CPU of all workers {m['cpu']:6.1f} s, other processes "
              f"{m['other']:4.1f} s, worker occupancy {m['busy']:.0%}")  # fmt: skip
    up = med[1]["wall"] / med[2]["wall"]
    print(f"  speed-up 2 vs 1 worker: {up:.2f}x wall (parallel efficiency {up / 2:.0%}; per-round "
          f"{', '.join(f'{u:.2f}' for u in ups)}, median {float(np.median(ups)):.2f}x); CPU 2 / 1 workers "
          f"{med[2]['cpu'] / med[1]['cpu']:.2f} (1.00 = no overhead); results identical: {same}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, nargs="+", default=[100_000, 20_000])
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    ap.add_argument("--mesa-agents", type=int, default=2000)
    ap.add_argument("--mesa-weeks", type=int, default=2)
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--sweep-only", action="store_true", help="only the sweep scaling (skip the speed comparison)")
    a = ap.parse_args()
    if not a.sweep_only:
        speed(a.agents, a.weeks, a.mesa_agents, a.mesa_weeks, a.repeats, a.threads, a.configs)
    if a.million:
        million()
    if a.sweep or a.sweep_only:
        sweep_ratio()


if __name__ == "__main__":
    main()
