"""Benchmark sciplab's SSM against the PyPI ``circumplex`` package (same process, same data).

    uv run python benchmarks/bench_ssm.py [--repeats 5]

1. jz2017, 8 octants, one group (mean-based), 2,000 resamples: sciplab vs ``circumplex.ssm_analyze``
   (target: >= 20x faster).
2. Correlation-based, 10 measures x 2 groups (Gender), 2,000 resamples: sciplab alone (target < 1 s);
   the PyPI package is timed once for the ratio when ``--with-peer-corr`` is given (slow).

Medians of several runs after one warm-up; the PyPI package is GPL and used only as a peer here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from sciplab.stats.circumplex import ssm

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "jz2017.csv"
SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
PDS = ["PARPD", "SCZPD", "SZTPD", "ASPD", "BORPD", "HISPD", "NARPD", "AVPD", "DPNPD", "OCPD"]


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up (imports, BLAS threads, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--with-peer-corr", action="store_true", help="also time the peer on case 2 (slow)")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"shared data not found: {DATA}")
    df = pd.read_csv(DATA)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from circumplex import __version__ as peer_version
    from circumplex import ssm_analyze

    B = args.bootstrap
    print(f"jz2017: n = {len(df)}; B = {B}; medians of {args.repeats} runs; circumplex (PyPI) {peer_version}")

    ours, ours_all = _median_time(lambda: ssm(df, SCALES, bootstrap=B, seed=1), args.repeats)
    peer, peer_all = _median_time(lambda: ssm_analyze(df, SCALES, boots=B, seed=1), max(3, args.repeats // 2))
    print("\n[1] mean-based, one group, 8 octants")
    print(f"    sciplab    median {ours * 1e3:8.1f} ms  runs {[round(t * 1e3, 1) for t in ours_all]}")
    print(f"    circumplex median {peer * 1e3:8.1f} ms  runs {[round(t * 1e3, 1) for t in peer_all]}")
    ratio = peer / ours
    print(f"    speed ratio {ratio:.1f}x  (target >= 20x: {'met' if ratio >= 20 else 'NOT met'})")

    corr, corr_all = _median_time(
        lambda: ssm(df, SCALES, measures=PDS, group="Gender", bootstrap=B, seed=1), args.repeats
    )
    print("\n[2] correlation-based, 10 measures x 2 groups")
    print(f"    sciplab    median {corr * 1e3:8.1f} ms  runs {[round(t * 1e3, 1) for t in corr_all]}")
    print(f"    target < 1 s: {'met' if corr < 1 else 'NOT met'}")
    if args.with_peer_corr:
        t0 = time.perf_counter()
        ssm_analyze(df, SCALES, measures=PDS, grouping="Gender", boots=B, seed=1)
        peer_corr = time.perf_counter() - t0
        print(f"    circumplex single run {peer_corr:8.2f} s  -> ratio {peer_corr / corr:.0f}x")


if __name__ == "__main__":
    main()
