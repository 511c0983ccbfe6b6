"""Benchmark of the SCIP simulation: adult-phase speed vs a Mesa version, memory at 1M agents, sweep scaling.

Run: ``uv run python benchmarks/bench_sim.py [--agents 200000] [--million] [--sweep]``.
Prints agent-steps per second (weekly steps x agents) for the vectorised network phase with about 50
ties per agent, the same rules as a straightforward Mesa 3 model (benchmarks/mesa_baseline.py) and
their ratio; with ``--million`` the peak resident memory of 1,000,000 agents through the adult
phase; with ``--sweep`` the wall time of a sweep on 1 vs 2 local Dask workers.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from sciplab.sim.childhood import run_childhood  # noqa: E402
from sciplab.sim.network import adult_step, init_adulthood  # noqa: E402
from sciplab.sim.params import SimParams  # noqa: E402


def sciplab_rate(n: int, weeks: int) -> tuple[float, float]:
    p = SimParams(n_agents=n, childhood_months=12).updated({"network.initial_ties": 50.0, "network.meet_rate": 0.6})
    rng = np.random.default_rng(1)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    for w in range(4):  # warm-up
        adult_step(pop, p, rng, w)
    t = time.perf_counter()
    for w in range(weeks):
        adult_step(pop, p, rng, w + 4)
    dt = time.perf_counter() - t
    return n * weeks / dt, float(pop.ties.degree().mean())


def mesa_rate(n: int, weeks: int) -> float:
    from mesa_baseline import NetworkModel

    m = NetworkModel(n, initial_ties=50, seed=1)
    t = time.perf_counter()
    for _ in range(weeks):
        m.step()
    return n * weeks / (time.perf_counter() - t)


def million() -> None:
    t = time.perf_counter()
    p = SimParams(n_agents=1_000_000, childhood_months=24)
    rng = np.random.default_rng(2)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    for w in range(8):
        adult_step(pop, p, rng, w)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"1,000,000 agents: 8 adult weeks, mean degree {pop.ties.degree().mean():.1f}, "
          f"peak memory {peak:.2f} GiB, {time.perf_counter() - t:.0f} s")  # fmt: skip


def sweep_ratio() -> None:
    from sciplab.sim import sweep

    grid = {"therapy.policy": ["scip", "fixed", "complementary", "disconfirming"]}
    fixed = {"n_agents": 3000, "years": 2.0}
    times = {}
    for workers in (1, 2):
        t = time.perf_counter()
        sweep(grid, 2, fixed=fixed, seed=1, n_workers=workers)
        times[workers] = time.perf_counter() - t
    print(f"sweep 8 tasks: 1 worker {times[1]:.1f} s, 2 workers {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--mesa-agents", type=int, default=2000)
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    rate, deg = sciplab_rate(a.agents, a.weeks)
    print(f"sciplab: {a.agents} agents x {a.weeks} weeks, mean degree {deg:.1f}: {rate / 1e6:.2f} M agent-steps/s")
    mrate = mesa_rate(a.mesa_agents, 5)
    print(f"mesa:    {a.mesa_agents} agents x 5 weeks: {mrate / 1e3:.1f} k agent-steps/s")
    print(f"ratio sciplab / mesa: {rate / mrate:.0f}x")
    if a.million:
        million()
    if a.sweep:
        sweep_ratio()


if __name__ == "__main__":
    main()
