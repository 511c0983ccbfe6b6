"""Benchmark of the SCIP simulation: adult-phase speed vs a Mesa version, memory at 1M agents, sweep scaling.

Run: ``uv run python benchmarks/bench_sim.py [--agents 200000] [--million] [--sweep]``.
Prints agent-steps per second (weekly steps x agents; wall and CPU time) for the compiled network phase with about 50
ties per agent, the same rules as a straightforward Mesa 3 model (benchmarks/mesa_baseline.py) and
their ratio; with ``--million`` the peak resident memory of 1,000,000 agents through the adult
phase; with ``--sweep`` the wall time of a sweep on 1 vs 2 local Dask workers.
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


def _sciplab_model(n: int):
    p = SimParams(n_agents=n, childhood_months=12).updated({"network.initial_ties": 50.0, "network.meet_rate": 0.6})
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


def speed(agents: list[int], weeks: int, mesa_agents: int, mesa_weeks: int, repeats: int, threads: list[int]) -> None:
    """Interleave repeats of every model and thread setting (same run, shared machine); report medians."""
    from mesa_baseline import NetworkModel

    models = {n: _sciplab_model(n) for n in agents}
    # start Mesa at the mean degree sciplab reached, so both do the same work per agent
    degree = round(float(models[agents[0]][0].ties.degree().mean()))
    mesa = NetworkModel(mesa_agents, initial_ties=degree, seed=1)
    mesa.step()  # warm-up
    rates: dict[tuple[int, int] | str, list[tuple[float, float]]] = {}
    week = 4
    for _ in range(repeats):
        for n, model in models.items():
            for t in threads:
                set_threads(t)
                rates.setdefault((n, t), []).append(_sciplab_run(model, weeks, week))
                week += weeks
        set_threads(1)
        rates.setdefault("mesa", []).append(_mesa_run(mesa, mesa_weeks))
    med = {k: float(np.median([r[0] for r in v])) for k, v in rates.items()}
    cpu = {k: float(np.median([r[1] for r in v])) for k, v in rates.items()}
    print("What is measured: weekly adult-phase steps (meetings + formation, tie strengthening/decay/conflicts/")
    print("pruning, received/perceived support, SISa loneliness, life events + 9-node symptom network) per second,")
    print(f"as agents x weeks / wall time and / CPU time of this process (all threads); medians of {repeats}")
    load = os.getloadavg()[0]
    print(f"interleaved repeats in this run; machine load average at start {load:.1f} on {os.cpu_count()} cores.")
    print("sciplab threads = threads for the tie-slot passes (identical results for any number); Mesa is one thread.")
    for n, model in models.items():
        deg = float(model[0].ties.degree().mean())
        for t in threads:
            r = med[(n, t)]
            print(f"  sciplab (compiled kernels), {n:>7} agents, mean degree {deg:4.1f}, {t} thread(s), "
                  f"{weeks} weeks x {repeats}: {r / 1e6:5.2f} M agent-steps/s wall, "
                  f"{cpu[(n, t)] / 1e6:5.2f} M per CPU second")  # fmt: skip
    mdeg = float(np.mean([len(a.ties) for a in mesa.people]))
    print(f"  Mesa 3 (same rules, one Agent object per person, per-agent step), {mesa_agents} agents, mean degree "
          f"{mdeg:4.1f}, {mesa_weeks} weeks x {repeats}: {med['mesa'] / 1e3:6.1f} k agent-steps/s wall, "
          f"{cpu['mesa'] / 1e3:6.1f} k per CPU second")  # fmt: skip
    for n in models:
        for t in threads:
            print(f"  ratio sciplab({n} agents, {t} thread(s)) / Mesa: {med[(n, t)] / med['mesa']:5.1f}x wall, "
                  f"{cpu[(n, t)] / cpu['mesa']:5.1f}x CPU")  # fmt: skip


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


def sweep_ratio(agents: int = 15_000, years: float = 2.0) -> None:
    """Coarse tasks on already-running local clusters (1 and 2 workers), so the ratio shows parallelism.

    Cluster start-up and the workers' first import are paid before timing (a real sweep reuses its
    cluster across many tasks); each of the 4 tasks simulates ``agents`` agents for ``years`` years.
    """
    from distributed import Client, LocalCluster

    from sciplab.sim import sweep

    grid = {"therapy.policy": ["scip", "fixed", "complementary", "disconfirming"]}
    fixed = {"n_agents": agents, "years": years}
    times, tables = {}, {}
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("sciplab.sim.model"))  # warm the workers
            sweep({"therapy.policy": ["scip"]}, 1, fixed={"n_agents": 200, "years": 0.2}, seed=0,
                  scheduler=cluster.scheduler_address)  # fmt: skip
            t = time.perf_counter()
            res = sweep(grid, 1, fixed=fixed, seed=1, scheduler=cluster.scheduler_address)
            times[workers] = time.perf_counter() - t
            tables[workers] = res.table
    same = tables[1].equals(tables[2])
    print(f"sweep: 4 tasks x {agents} agents x {years:g} years on a running local cluster: 1 worker "
          f"{times[1]:.1f} s, 2 workers {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x "
          f"(results identical: {same})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, nargs="+", default=[100_000, 20_000])
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--mesa-agents", type=int, default=2000)
    ap.add_argument("--mesa-weeks", type=int, default=2)
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    speed(a.agents, a.weeks, a.mesa_agents, a.mesa_weeks, a.repeats, a.threads)
    if a.million:
        million()
    if a.sweep:
        sweep_ratio()


if __name__ == "__main__":
    main()
