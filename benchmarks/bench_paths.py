"""Speed of sciplab.stats.paths (issue 3 targets), measured in one run.

1. scip-core (2 predictors, 2 mediators, 2 outcomes), n = 1,000, B = 5,000 percentile: < 1 s.
2. Single mediator, n = 1,000, B = 5,000 vs pingouin.mediation_analysis(n_boot=5000): >= 50x.
3. n = 100,000, B = 2,000 completes; peak memory from resource.getrusage.

Run: uv run python benchmarks/bench_paths.py
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd

from sciplab.scip.templates import get_template
from sciplab.stats.paths import paths


def median_time(fn, repeats=7):
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def scip_data(n, seed=0):
    rng = np.random.default_rng(seed)
    anx, avo = rng.normal(size=n), 0.4 * rng.normal(size=n) + rng.normal(size=n)
    sse = -0.3 * anx - 0.2 * avo + rng.normal(size=n)
    ea = -0.2 * anx - 0.3 * avo + rng.normal(size=n)
    sup = 0.3 * sse + 0.2 * ea - 0.1 * avo + rng.normal(size=n)
    dis = -0.3 * sse - 0.2 * ea + 0.2 * anx + rng.normal(size=n)
    return pd.DataFrame(
        {"attachment_anxiety": anx, "attachment_avoidance": avo, "social_self_efficacy": sse,
         "emotional_awareness": ea, "social_support": sup, "distress": dis}
    )  # fmt: skip


def main() -> None:
    core = get_template("scip-core").syntax
    df = scip_data(1000)
    t_core = median_time(lambda: paths(df, core, bootstrap=5000, seed=1))
    print(f"scip-core n=1000 B=5000 percentile: median {t_core * 1000:.0f} ms (target < 1000 ms)")

    import pingouin as pg

    single = df[["attachment_anxiety", "social_self_efficacy", "distress"]].set_axis(["x", "m", "y"], axis=1)

    # interleaved rounds (7 pingouin runs, 21 of ours) so that both see the same machine load
    def ours_fn():
        return paths(single, "m ~ x\ny ~ m + x", bootstrap=5000, seed=1)

    def pg_fn():
        return pg.mediation_analysis(data=single, x="x", m="m", y="y", n_boot=5000, seed=1)

    ours_fn(), pg_fn()  # warm-up
    ours, theirs = [], []
    for _ in range(7):
        for fn, times in ((ours_fn, ours), (ours_fn, ours), (pg_fn, theirs), (ours_fn, ours)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    t_ours, t_pg = statistics.median(ours), statistics.median(theirs)
    print(
        f"single mediator n=1000 B=5000: sciplab {t_ours * 1000:.1f} ms, pingouin {t_pg * 1000:.0f} ms, "
        f"ratio {t_pg / t_ours:.0f}x (target >= 50x)"
    )

    big = scip_data(100_000, seed=1)
    t = time.perf_counter()
    res = paths(big, core, bootstrap=2000, seed=1)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak_gib = peak / 2**20 if sys.platform != "darwin" else peak / 2**30
    print(
        f"n=100000 B=2000 scip-core: {elapsed:.1f} s, failed replicates {res.details['failed_replicates']}, "
        f"peak RSS {peak_gib:.2f} GiB (limit 24 GiB)"
    )


if __name__ == "__main__":
    main()
