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


def sweep_ratio(agents: int = 15_000, years: float = 2.0, rounds: int = 2) -> None:
    """Coarse tasks on already-running local clusters (1 and 2 workers), so the ratio shows parallelism.

    Cluster start-up and the workers' first import and compile are paid before timing (a real sweep
    reuses its cluster across many tasks); each of the 4 tasks simulates ``agents`` agents for
    ``years`` years. Wall time of the sweep and CPU time of all workers (getrusage in each worker,
    before and after); 1 and 2 workers alternate ``rounds`` times (same load for both); medians.
    """
    from distributed import Client, LocalCluster

    from sciplab.sim import sweep

    grid = {"therapy.policy": ["scip", "fixed", "complementary", "disconfirming"]}
    fixed = {"n_agents": agents, "years": years}
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    tables = {}
    loads = [os.getloadavg()[0]]
    clusters = {}
    try:
        for workers in (1, 2):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=50)  # fmt: skip
            client = Client(cluster)
            clusters[workers] = (cluster, client)
            client.run(lambda: __import__("sciplab.sim.model"))  # warm the workers (imports, numba cache)
            sweep({"therapy.policy": ["scip"] * workers}, 1, fixed={"n_agents": 200, "years": 0.2}, seed=0,
                  scheduler=cluster.scheduler_address)  # fmt: skip
        for _ in range(rounds):
            for workers in (1, 2):
                cluster, client = clusters[workers]
                before = client.run(_worker_cpu)
                t = time.perf_counter()
                res = sweep(grid, 1, fixed=fixed, seed=1, scheduler=cluster.scheduler_address)
                walls[workers].append(time.perf_counter() - t)
                after = client.run(_worker_cpu)
                cpus[workers].append(sum(after[w] - before[w] for w in after))
                tables[workers] = res.table
                loads.append(os.getloadavg()[0])
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
    wall = {w: float(np.median(v)) for w, v in walls.items()}
    cpu = {w: float(np.median(v)) for w, v in cpus.items()}
    same = tables[1].equals(tables[2])
    print(f"sweep: 4 tasks x {agents} agents x {years:g} years on running local clusters (one thread per worker), "
          f"medians of {rounds} alternating rounds; load average {min(loads):.1f}-{max(loads):.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    for w in (1, 2):
        print(f"  {w} worker(s): wall {wall[w]:6.1f} s, CPU of all workers {cpu[w]:6.1f} s")
    up = wall[1] / wall[2]
    print(f"  speed-up 2 vs 1 worker: {up:.2f}x wall (parallel efficiency {up / 2:.0%}); "
          f"CPU 2 / 1 workers {cpu[2] / cpu[1]:.2f} (1.00 = no overhead); results identical: {same}")  # fmt: skip


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
