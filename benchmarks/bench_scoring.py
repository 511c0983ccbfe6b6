"""Scoring speed: ``sciplab.score`` vs a vectorised pandas scorer with the same validation, same run.

    uv run python benchmarks/bench_scoring.py [--rows 1000000] [--rounds 7]

Data: ``--rows`` respondents x 36 ECR items (1-7), in two forms: integers, complete (as read from
a clean CSV), and floats with 1 % missing responses (as read from a CSV with blanks; scored with
``min_answered=16`` so that prorating and the missing-data rule do work).

Contenders (interleaved, one warm-up each; medians with min - max, wall and CPU):

* ``sciplab.score(df, "ECR")`` - full validation (numeric, integer, in 1..7), reverse keys,
  missing-data rule, validity report, summary table;
* **pandas, vectorised**: the same checks and rules written the way a competent pandas user
  would (whole-frame comparisons, ``isin``/``mod``, ``DataFrame.mean(axis=1)``), no ``apply``;
* **numpy floor**: the bare arithmetic without any check (``to_numpy``, reverse keys, mean per
  scale), the memory-bandwidth floor the engine is measured against.

All three must give the same scale scores (checked before timing). Peak memory of each contender
is measured with ``tracemalloc`` (numpy and pandas report their buffers to it) and given relative
to the size of the item data.
"""

from __future__ import annotations

import argparse
import os
import tracemalloc

import numpy as np
import pandas as pd
from _harness import interleave, machine, ratio_line

import sciplab

COLS = [f"ECR_{i:02d}" for i in range(1, 37)]
AVOID = [f"ECR_{i:02d}" for i in range(1, 37, 2)]
ANX = [f"ECR_{i:02d}" for i in range(2, 37, 2)]
REVERSE = [f"ECR_{i:02d}" for i in (3, 15, 19, 22, 25, 27, 29, 31, 33, 35)]


def pandas_scorer(df: pd.DataFrame, min_answered: int = 18) -> pd.DataFrame:
    """Vectorised pandas: validate, reverse-key, apply the missing rule, score (mean of answered)."""
    items = df[COLS]
    if not all(pd.api.types.is_numeric_dtype(t) for t in items.dtypes):
        raise ValueError("item responses must be numbers")
    answered = items.notna()
    bad = answered & ((items < 1) | (items > 7) | (items % 1 != 0))
    if bad.to_numpy().any():
        raise ValueError(f"{int(bad.to_numpy().sum())} invalid responses")
    keyed = items.copy()
    keyed[REVERSE] = 8 - keyed[REVERSE]
    out = {}
    for name, cols in (("ECR_avoidance", AVOID), ("ECR_anxiety", ANX)):
        mean = keyed[cols].mean(axis=1)
        out[name] = mean.where(answered[cols].sum(axis=1) >= min_answered)
    return pd.DataFrame(out)


def numpy_floor(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The bare arithmetic: no checks, no missing-data rule (NaN propagates)."""
    X = df[COLS].to_numpy(dtype=float, copy=True)
    rev = [COLS.index(c) for c in REVERSE]
    X[:, rev] = 8 - X[:, rev]
    return {
        "ECR_avoidance": X[:, [COLS.index(c) for c in AVOID]].mean(axis=1),
        "ECR_anxiety": X[:, [COLS.index(c) for c in ANX]].mean(axis=1),
    }


def peak_memory(fn) -> float:
    """Peak traced bytes allocated while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def one_case(label: str, df: pd.DataFrame, min_answered: int, rounds: int, floor_ok: bool) -> None:
    kwargs = {"min_answered": min_answered} if min_answered != 18 else {}
    ours = sciplab.score(df, "ECR", **kwargs).scores
    peer = pandas_scorer(df, min_answered)
    np.testing.assert_array_equal(ours[peer.columns].to_numpy(), peer.to_numpy())
    if floor_ok:
        floor = numpy_floor(df)
        for name, values in floor.items():
            np.testing.assert_allclose(ours[name].to_numpy(), values, rtol=0, atol=1e-12)
    contenders = {
        "sciplab.score": lambda: sciplab.score(df, "ECR", **kwargs),
        "pandas, vectorised": lambda: pandas_scorer(df, min_answered),
        "numpy floor (no checks)": lambda: numpy_floor(df),
    }
    res = interleave(contenders, rounds)
    size = df[COLS].to_numpy().nbytes if df[COLS].dtypes.nunique() == 1 else df[COLS].memory_usage().sum()
    print(
        f"\n[{label}] {len(df):,} x 36 items, {size / 2**20:.0f} MiB of item data; scores equal "
        f"{'(all three)' if floor_ok else '(sciplab, pandas; the floor has no missing rule)'}"
    )
    for name, series in res.items():
        peak = peak_memory(contenders[name])
        print(f"  {series.line()}  peak {peak / size:.2f}x input")
    print("  " + ratio_line("sciplab vs pandas", res["pandas, vectorised"], res["sciplab.score"], 2.0))
    floor_ratio = res["sciplab.score"].wall_median / res["numpy floor (no checks)"].wall_median
    print(
        f"  sciplab / numpy floor: {floor_ratio:.2f}x wall (target <= 2x: {'met' if floor_ratio <= 2 else 'NOT met'})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(
        f"machine: {machine()}; BLAS/numba threads: {os.environ.get('OMP_NUM_THREADS', 'default')}; "
        "all three contenders run single-threaded numpy/pandas code"
    )
    rng = np.random.default_rng(1)
    complete = pd.DataFrame(rng.integers(1, 8, size=(args.rows, 36)), columns=COLS)
    sciplab.score(complete.head(100), "ECR")  # load the registry once, as any session would
    one_case("integers, complete", complete, 18, args.rounds, floor_ok=True)
    missing = complete.astype(float)
    del complete
    missing = missing.mask(rng.random(missing.shape) < 0.01)
    one_case("floats, 1 % missing, min_answered=16", missing, 16, args.rounds, floor_ok=False)
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    main()
