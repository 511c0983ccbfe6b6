"""Scoring speed: sciplab.score vs a straightforward pandas row-wise scorer, same run.

Scores 1,000,000 respondents x 36 ECR items with ``sciplab.score`` (target: under 2 s on the
project's 2-core machine). The row-wise baseline (``DataFrame.apply(axis=1)`` with the same rules:
reverse keys, range check, all items required) is far too slow for a million rows, so it is timed on
a 20,000-row slice and compared per respondent; the ratio printed is per-respondent throughput.

Run: uv run python benchmarks/bench_scoring.py [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import sciplab

AVOID = list(range(1, 37, 2))
ANX = list(range(2, 37, 2))
REVERSE = {3, 15, 19, 22, 25, 27, 29, 31, 33, 35}


def rowwise(df: pd.DataFrame) -> pd.DataFrame:
    def one(row: pd.Series) -> pd.Series:
        vals = {}
        for i in range(1, 37):
            v = row[f"ECR_{i:02d}"]
            if pd.isna(v) or not 1 <= v <= 7:
                v = np.nan
            vals[i] = 8 - v if i in REVERSE else v
        avo = [vals[i] for i in AVOID]
        anx = [vals[i] for i in ANX]
        return pd.Series(
            {
                "ECR_avoidance": np.mean(avo) if not np.isnan(avo).any() else np.nan,
                "ECR_anxiety": np.mean(anx) if not np.isnan(anx).any() else np.nan,
            }
        )

    return df.apply(one, axis=1)


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-rows", type=int, default=20_000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.integers(1, 8, size=(args.rows, 36)), columns=[f"ECR_{i:02d}" for i in range(1, 37)])
    sciplab.score(df.head(100), "ECR")  # load the registry once, as any session would
    t_ours, res = timed(lambda: sciplab.score(df, "ECR"), args.repeats)
    small = df.head(args.baseline_rows)
    t_base, base = timed(lambda: rowwise(small), 1)
    ours_small = sciplab.score(small, "ECR").scores
    np.testing.assert_allclose(ours_small.to_numpy(), base[ours_small.columns].to_numpy())
    per_ours = t_ours / args.rows
    per_base = t_base / args.baseline_rows
    print(
        f"sciplab.score: {args.rows:,} x 36 items in {t_ours:.3f} s (median of {args.repeats}); "
        f"{args.rows / t_ours:,.0f} respondents/s"
    )
    print(
        f"pandas row-wise: {args.baseline_rows:,} rows in {t_base:.3f} s; "
        f"{args.baseline_rows / t_base:,.0f} respondents/s"
    )
    print(f"ratio (per respondent): sciplab is {per_base / per_ours:,.0f}x faster; results identical on the slice")
    print(f"target: < 2 s for 1,000,000 x 36 -> {'met' if t_ours < 2 and args.rows >= 1_000_000 else 'see above'}")


if __name__ == "__main__":
    main()
