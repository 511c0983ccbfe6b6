"""SEM speed against semopy, in one process: HS CFA fit, 1,000 bootstrap refits, FIML on 10,000 rows.

1. The Holzinger-Swineford 3-factor CFA (``../shared/data``): ``sciplab.cfa`` (parse, fit, SEs, fit
   measures, standardized solution) against ``semopy.Model(desc).fit(data)`` followed by
   ``inspect()`` (estimates and SEs). Both must give the same loadings and variances (semopy's
   SLSQP stops earlier: agreement to 5e-3 is checked) before any time is printed.
2. 1,000 bootstrap replicates of the same CFA: ``cfa(..., se="bootstrap", bootstrap=1000,
   bollen_stine=False)`` (every replicate refitted, batched) against semopy refitting resamples
   one by one. semopy is timed on ``--semopy-reps`` resamples (default 50) and its per-replicate
   time scaled to 1,000 (stated in the output); targets: at least 20x, and under 5 s on an idle
   machine.
3. FIML on 10,000 rows, 12 indicators of 3 factors, 20 % MCAR: wall time, and how it grows with the
   number of missing-data patterns (the likelihood is evaluated pattern by pattern, batched by
   pattern size), by also fitting 5 % and 10 % MCAR.
4. The bootstrap under FIML (HS CFA, 10 % MCAR, 1,000 resamples refitted in batches) against the
   time of one FIML fit times 1,000 (what a per-replicate refit loop would cost at best).

Prints medians over ``--repeats`` runs, wall and CPU (``time.process_time``) seconds, the load
average (the numbers scale with how busy the machine is) and the ratios.

Run: uv run --group dev python benchmarks/bench_sem.py [--repeats 3] [--semopy-reps 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sciplab.stats.sem import cfa

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "HolzingerSwineford1939.csv"
HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs, and the last result."""
    walls, cpus = [], []
    out: object = None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def semopy_fit(data: pd.DataFrame) -> pd.DataFrame:
    import semopy

    model = semopy.Model(HS)
    model.fit(data)
    return model.inspect()


def check_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> float:
    """Largest absolute difference of loadings and variances between sciplab and semopy."""
    worst = 0.0
    for r in theirs.itertuples(index=False):
        lval, op, rval, est = r[0], r[1], r[2], float(r[3])
        if op == "~":  # semopy writes indicator ~ factor for loadings
            sel = ours[(ours["lhs"] == rval) & (ours["op"] == "=~") & (ours["rhs"] == lval)]
        else:
            sel = ours[
                (ours["op"] == "~~")
                & (((ours["lhs"] == lval) & (ours["rhs"] == rval)) | ((ours["lhs"] == rval) & (ours["rhs"] == lval)))
            ]
        if len(sel):
            worst = max(worst, abs(float(sel["est"].iloc[0]) - est))
    return worst


def fiml_data(n: int, missing: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal(np.zeros(3), [[1, 0.4, 0.3], [0.4, 1, 0.5], [0.3, 0.5, 1]], size=n)
    lam = np.array([1.0, 0.8, 0.7, 0.9])
    cols = {}
    for k in range(3):
        for j in range(4):
            cols[f"y{4 * k + j + 1}"] = lam[j] * f[:, k] + rng.normal(0, 0.7, n)
    d = pd.DataFrame(cols)
    return d.mask(rng.random(d.shape) < missing)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--semopy-reps", type=int, default=50)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if not DATA.exists():
        raise SystemExit(f"data not found: {DATA}")
    hs = pd.read_csv(DATA)
    print(f"load average: {os.getloadavg()}")

    # 1. one fit -------------------------------------------------------------------------------
    ours = cfa(hs, HS)
    theirs = semopy_fit(hs)
    diff = check_same(ours.table, theirs)
    print(f"HS CFA: largest |sciplab - semopy| estimate difference {diff:.2e}")
    assert diff < 5e-3, "sciplab and semopy disagree"
    w_o, c_o, _ = timed(lambda: cfa(hs, HS), args.repeats)
    w_s, c_s, _ = timed(lambda: semopy_fit(hs), args.repeats)
    print(f"HS CFA fit   sciplab {w_o:.3f} s wall {c_o:.3f} s CPU | semopy {w_s:.3f} s wall {c_s:.3f} s CPU")
    print(f"             ratio (semopy / sciplab): wall {w_s / w_o:.1f}x, CPU {c_s / c_o:.1f}x (target >= 5x)")

    # 2. bootstrap -------------------------------------------------------------------------------
    cfa(hs, HS, se="bootstrap", bootstrap=20, seed=1, bollen_stine=False)  # compile the resampling kernels
    w_b, c_b, boot = timed(
        lambda: cfa(hs, HS, se="bootstrap", bootstrap=1000, seed=1, bollen_stine=False), args.repeats
    )
    rng = np.random.default_rng(1)
    reps = []
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.semopy_reps):
        sample = hs.iloc[rng.integers(0, len(hs), len(hs))]
        reps.append(semopy_fit(sample))
    w_sb = (time.perf_counter() - w0) / args.semopy_reps * 1000
    c_sb = (time.process_time() - c0) / args.semopy_reps * 1000
    se_ours = boot.table[(boot.table["op"] == "=~") & (boot.table["se"] > 0)]["se"].to_numpy()  # type: ignore[attr-defined]
    load = [
        r[(r["op"] == "~") & (r["rval"].isin(["visual", "textual", "speed"]))]["Estimate"].to_numpy(float) for r in reps
    ]
    free = np.array(
        [
            x not in ("x1", "x4", "x7")
            for x in reps[0][(reps[0]["op"] == "~") & (reps[0]["rval"].isin(["visual", "textual", "speed"]))]["lval"]
        ]
    )
    se_semopy = np.std(np.array(load)[:, free], axis=0, ddof=1)
    print(f"bootstrap SEs of the free loadings: sciplab (1000) {np.round(se_ours, 3)}")
    print(f"                                    semopy ({args.semopy_reps}) {np.round(se_semopy, 3)}")
    print(f"1,000 bootstrap replicates  sciplab {w_b:.2f} s wall {c_b:.2f} s CPU | semopy {w_sb:.1f} s wall")
    print(f"             {c_sb:.1f} s CPU (scaled from {args.semopy_reps} refits)")
    print(
        f"             ratio (semopy / sciplab): wall {w_sb / w_b:.1f}x, CPU {c_sb / c_b:.1f}x (target >= 20x; < 5 s)"
    )

    # 3. FIML -------------------------------------------------------------------------------------
    model = "f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8\nf3 =~ y9 + y10 + y11 + y12"
    for rate in (0.05, 0.10, 0.20):
        d = fiml_data(10_000, rate)
        w_f, c_f, res = timed(lambda d=d: cfa(d, model, missing="fiml"), max(1, args.repeats - 1))
        pats = res.details["patterns"][0]  # type: ignore[attr-defined]
        print(f"FIML 10,000 rows x 12 indicators, {rate:.0%} MCAR: {pats} patterns, {w_f:.2f} s wall {c_f:.2f} s CPU")

    # 4. bootstrap under FIML: HS CFA with 10 % MCAR, every resample refitted in batches ------------
    d = hs.copy()
    cols = [f"x{i}" for i in range(1, 10)]
    d[cols] = d[cols].mask(np.random.default_rng(3).random((len(d), 9)) < 0.10)
    w_fb, c_fb, fb = timed(lambda: cfa(d, HS, missing="fiml", se="bootstrap", bootstrap=1000, seed=1), 1)
    w_f1, c_f1, _ = timed(lambda: cfa(d, HS, missing="fiml"), args.repeats)
    print(
        f"FIML bootstrap, HS CFA 10% MCAR, 1,000 replicates: {w_fb:.2f} s wall {c_fb:.2f} s CPU "
        f"({fb.details['failed_replicates']} failed); one FIML fit {c_f1:.3f} s CPU, so "  # type: ignore[attr-defined]
        f"{c_fb / (1000 * c_f1):.3f} of a per-replicate refit loop"
    )


if __name__ == "__main__":
    main()
