"""Recovery study of the SCIP simulation (issue 18): bias, RMSE and CI coverage of scip-core paths.

Run: ``uv run python benchmarks/sim_recovery.py [--replications 200] [--agents 1000] [--scheduler local]``
(200 replications give coverage to about +-1.5 points, one Monte Carlo SE).
Prints the table of :func:`sciplab.sim.recovery.recovery` (latent vs observed estimator per path) and
a short reading of it; the committed output of the default run is ``benchmarks/sim_recovery.txt``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from sciplab.sim.recovery import recovery


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--reference-agents", type=int, default=15_000)
    ap.add_argument("--years", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--scheduler", default="local", help="'synchronous', 'local' (2-worker Dask cluster) or address")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    t = time.perf_counter()
    load = os.getloadavg()[0]

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            print(f"  {done}/{total} replications, {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)

    res = recovery(
        replications=a.replications, n_agents=a.agents, reference_agents=a.reference_agents, years=a.years,
        seed=a.seed, scheduler=None if a.scheduler == "local" else a.scheduler, n_workers=a.workers,
        progress=progress,
    )  # fmt: skip
    print(res.summary())
    tab = res.table
    for est in ("latent", "observed", "sem"):
        g = tab[tab["estimator"] == est]
        print(f"{est}: coverage {g['coverage'].min():.2f}-{g['coverage'].max():.2f} (mean {g['coverage'].mean():.3f}), "
              f"mean |bias| {g['bias'].abs().mean():.3f}, mean RMSE {g['rmse'].mean():.3f}")  # fmt: skip
    obs = tab[tab["estimator"] == "observed"].set_index(["lhs", "rhs"])
    first = obs.loc[[k for k in obs.index if k[0] in ("social_self_efficacy", "emotional_awareness")]]
    sem = tab[tab["estimator"] == "sem"].set_index(["lhs", "rhs"]).loc[first.index]
    print(f"attenuation of the attachment -> competency paths by measurement error: observed / true = "
          f"{first['ratio'].min():.2f}-{first['ratio'].max():.2f}; latent SEM on item parcels / true = "
          f"{sem['ratio'].min():.2f}-{sem['ratio'].max():.2f}")  # fmt: skip
    print(
        f"coverage Monte Carlo SE at 95 % and {a.replications} replications: "
        f"{(0.95 * 0.05 / a.replications) ** 0.5:.3f}"
    )
    print(
        f"wall time {time.perf_counter() - t:.0f} s; load average {load:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
