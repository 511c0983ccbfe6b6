"""Benchmark sciplab's SSM against the PyPI ``circumplex`` package (same process, same data).

    uv run python benchmarks/bench_ssm.py [--data jz2017.csv] [--rounds 5] [--bootstrap 2000]

The data path comes from ``--data``, else ``$SCIPLAB_SHARED_DATA/jz2017.csv``, else
``../shared/data/jz2017.csv`` beside the repository (a clear message when absent).

1. jz2017, 8 octants, one group (mean-based), B = 2,000: sciplab ``ssm`` vs ``ssm_analyze``.
2. Groups + contrast (Gender, female vs male and their difference), B = 2,000: target >= 200x.
3. Correlation-based, 10 measures x 2 groups: sciplab alone (target < 1 s); the peer is timed
   once for the ratio with ``--with-peer-corr`` (slow).

Before timing, both sides must give the same point estimates (1e-9) and intervals that agree
within Monte Carlo error (0.02 on elevation, x, y, amplitude; 2 degrees on displacement, compared
on the circle). Runs are interleaved (one warm-up each); medians with min - max, wall and CPU.
The peer is GPL and only run here, never read or copied.

sciplab's compiled resampling kernels are loaded first: a session's steady state. A fresh process
draws its first 6e7 draws with numpy instead (the same draws, about 5 ns more per draw, no numba
import; ``sciplab.stats._bootstrap.NUMPY_DRAWS``), so one-off scripts run case 1 about 12 ms slower
in CPU and half a second faster in all.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _harness import interleave, machine, ratio_line, shared_data

from sciplab.stats.circumplex import ssm

SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
PDS = ["PARPD", "SCZPD", "SZTPD", "ASPD", "BORPD", "HISPD", "NARPD", "AVPD", "DPNPD", "OCPD"]
LINEAR = ["e", "x", "y", "a"]


def check_same(ours: pd.DataFrame, peer: pd.DataFrame) -> None:
    """Point estimates equal, intervals within Monte Carlo error (row order: as listed by both)."""
    peer = peer.rename(columns=str.lower)
    assert list(ours["label"].astype(str)) == list(peer["label"].astype(str)), (ours["label"], peer["label"])
    for p in LINEAR:
        np.testing.assert_allclose(ours[f"{p}_est"], peer[f"{p}_est"], rtol=0, atol=1e-9)
        for end in ("lci", "uci"):
            np.testing.assert_allclose(ours[f"{p}_{end}"], peer[f"{p}_{end}"], rtol=0, atol=0.02)
    for col in ("d_est", "d_lci", "d_uci"):
        gap = np.abs((ours[col].to_numpy() - peer[col].to_numpy() + 180.0) % 360.0 - 180.0)
        tol = 1e-6 if col == "d_est" else 2.0
        assert np.all(gap <= tol), (col, gap)
    np.testing.assert_allclose(ours["fit_est"], peer["fit_est"], rtol=0, atol=1e-9)


def case(label: str, ours_fn, peer_fn, rounds: int, target: float | None) -> None:
    check_same(ours_fn().table, peer_fn().results)
    res = interleave({"sciplab": ours_fn, "circumplex (PyPI)": peer_fn}, rounds)
    print(f"\n[{label}] estimates equal, intervals within Monte Carlo error")
    for series in res.values():
        print(f"    {series.line()}")
    print("    " + ratio_line("speed ratio", res["circumplex (PyPI)"], res["sciplab"], target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="path of jz2017.csv (default: the shared reference data)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--with-peer-corr", action="store_true", help="also time the peer on case 3 (slow)")
    args = parser.parse_args()
    from sciplab.stats import _bootstrap

    _bootstrap._kernels()  # a session's steady state (see the module notes)
    df = pd.read_csv(shared_data("jz2017.csv", args.data))
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from circumplex import __version__ as peer_version
    from circumplex import ssm_analyze

    B = args.bootstrap
    print(f"machine: {machine()}")
    print(f"jz2017: n = {len(df)}; B = {B}; circumplex (PyPI) {peer_version}; {args.rounds} interleaved rounds")
    print("threads: sciplab resamples in up to 2 threads (CPU time counts both); the peer runs numpy in one")

    case(
        "1 mean-based, one group, 8 octants",
        lambda: ssm(df, SCALES, bootstrap=B, seed=1),
        lambda: ssm_analyze(df, SCALES, boots=B, seed=1),
        args.rounds,
        20,
    )
    case(
        "2 mean-based, groups (Gender) + contrast",
        lambda: ssm(df, SCALES, group="Gender", contrast=True, bootstrap=B, seed=1),
        lambda: ssm_analyze(df, SCALES, grouping="Gender", contrast=True, boots=B, seed=1),
        args.rounds,
        200,
    )

    corr = interleave(
        {"sciplab": lambda: ssm(df, SCALES, measures=PDS, group="Gender", bootstrap=B, seed=1)}, args.rounds
    )
    print("\n[3] correlation-based, 10 measures x 2 groups")
    print(f"    {corr['sciplab'].line()}")
    print(f"    target < 1 s: {'met' if corr['sciplab'].wall_median < 1 else 'NOT met'}")
    if args.with_peer_corr:
        peer = interleave(
            {"circumplex (PyPI)": lambda: ssm_analyze(df, SCALES, measures=PDS, grouping="Gender", boots=B, seed=1)},
            1,
            warmup=False,
        )
        print(f"    {peer['circumplex (PyPI)'].line()}")
        print("    " + ratio_line("speed ratio", peer["circumplex (PyPI)"], corr["sciplab"]))
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    main()
