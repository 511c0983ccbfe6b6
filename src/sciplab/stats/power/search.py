"""The sample-size search of :func:`sciplab.stats.power.sample_size`, for any study that counts rejections.

A doubling (or halving) search at a quarter of the replicates, a grid of sample sizes around the
crossing, a binomial logistic power curve ``logit(power) = b0 + b1 log N`` fitted by IRLS (the "set
N, find power" curve of Schoemann et al. 2017's technical appendix), refined near the first crossing,
solved for the target and confirmed by a full run. Path and latent/FIML studies share it; they differ
only in how they count rejections at a list of N and how they run the confirmation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab.stats.power.results import SampleSizeResult

MAX_N = 1_000_000
"""Largest sample size of one replicate."""


def check_ns(n: object, *, minimum: int = 3) -> list[int]:
    """One sample size or a list of them: whole numbers from ``minimum`` to :data:`MAX_N`."""
    values = list(n) if isinstance(n, list | tuple | range | np.ndarray | pd.Series) else [n]
    if not values:
        raise InvalidParameterError("n must be a sample size or a non-empty list of sample sizes")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer | float | np.floating):
            raise InvalidParameterError(f"n must be whole numbers (sample sizes), got {v!r}")
        if isinstance(v, float | np.floating) and (not math.isfinite(v) or not float(v).is_integer()):
            raise InvalidParameterError(f"n must be whole numbers (sample sizes), got {v!r}")
        out.append(int(v))
    for v in out:
        if not minimum <= v <= MAX_N:
            raise InvalidParameterError(
                f"n = {v} is outside {minimum}..{MAX_N:,}: each equation needs more cases than coefficients "
                f"(the smallest usable N for this model is {minimum})"
            )
    return sorted(dict.fromkeys(out))


def logistic_curve(ns: np.ndarray, k: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binomial GLM ``logit p = b0 + b1 log n`` by IRLS; coefficients and their covariance."""
    X = np.column_stack([np.ones(len(ns)), np.log(ns)])
    y = (k + 0.5) / (m + 1.0)  # start from the empirical logits (kept away from 0 and 1)
    beta = np.linalg.lstsq(X, np.log(y / (1 - y)), rcond=None)[0]
    for _ in range(100):
        eta = X @ beta
        p = 1 / (1 + np.exp(-eta))
        wts = np.maximum(m * p * (1 - p), 1e-9)
        z = eta + (k - m * p) / wts
        new = np.linalg.solve(X.T @ (wts[:, None] * X), X.T @ (wts * z))
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    p = 1 / (1 + np.exp(-(X @ beta)))
    wts = np.maximum(m * p * (1 - p), 1e-9)
    return beta, np.linalg.inv(X.T @ (wts[:, None] * X))


def _runs_refined(runs: Mapping[int, tuple[int, int, str]]) -> list[int]:
    """Sample sizes of the refinement stage."""
    return [v for v, (_, _, stage) in runs.items() if stage == "refine"]


def _crossing(
    runs: Mapping[int, tuple[int, int, str]], lo: float, hi: float, logit_t: float
) -> tuple[float, float, np.ndarray, float, float] | None:
    """``log N`` where the logistic curve fitted to the runs with ``lo <= N <= hi`` reaches the target.

    Returns ``(log N, its SE by the delta method, coefficients, lo, hi)``, or ``None`` when fewer than
    three sample sizes lie in the range or the curve does not rise with N.
    """
    ns = np.array(sorted(v for v in runs if lo <= v <= hi), dtype=float)
    if len(ns) < 3:
        return None
    k = np.array([runs[int(v)][0] for v in ns], dtype=float)
    m = np.array([runs[int(v)][1] for v in ns], dtype=float)
    beta, cov = logistic_curve(ns, k, m)
    if not beta[1] > 0:
        return None
    log_n = (logit_t - beta[0]) / beta[1]
    grad = np.array([-1 / beta[1], -(logit_t - beta[0]) / beta[1] ** 2])
    return log_n, math.sqrt(max(float(grad @ cov @ grad), 0.0)), beta, lo, hi


def search(
    counts: Callable[[list[int], int], dict[int, tuple[int, int]]],
    confirm: Callable[[int], tuple[pd.DataFrame, dict[str, Any]]],
    *,
    effect: str,
    truth: float,
    path: str,
    target: float,
    reps: int,
    lo_bound: int,
    start: int,
    n_max: int,
) -> SampleSizeResult:
    """The search of :func:`sciplab.stats.power.sample_size`, for any study that counts rejections at a list of N.

    ``counts(ns, reps)`` gives ``{n: (rejections, converged replicates)}`` of the effect;
    ``confirm(n)`` runs the full study at ``n`` and gives its table and details.
    """
    n_max = check_ns(n_max, minimum=lo_bound)[0]
    start = min(max(start, lo_bound), n_max)
    if abs(truth) < 1e-12:
        raise InvalidParameterError(
            f"the population value of {effect!r} is 0: its rejection rate is a Type I error, no N reaches a power"
        )
    runs: dict[int, tuple[int, int, str]] = {}  # n -> (rejections, replicates, stage)
    search_reps = min(reps, max(200, reps // 4))

    def run(ns: list[int], r: int, stage: str) -> None:
        todo = [v for v in ns if v not in runs or runs[v][1] < r]
        if todo:
            for v, (k, m) in counts(todo, r).items():
                runs[v] = (k, m, stage)

    def pw(v: int) -> float:
        k, m, _ = runs[v]
        return k / m if m else 0.0

    n_try = start
    run([n_try], search_reps, "search")
    if pw(n_try) >= target:
        # the first N is enough: halve down to the last N below the target (or the smallest usable N)
        while n_try > lo_bound:
            lower_try = max(lo_bound, n_try // 2)
            run([lower_try], search_reps, "search")
            if pw(lower_try) < target:
                break
            n_try = lower_try
    else:
        while pw(n_try) < target and n_try < n_max:
            n_try = min(n_max, n_try * 2)
            run([n_try], search_reps, "search")
    if pw(n_try) < target:
        raise InvalidParameterError(
            f"the power for {effect!r} is {pw(n_try):.3f} at n_max = {n_max:,}, below the target {target}; raise "
            "n_max or check the effect sizes"
        )
    upper = n_try
    lower = max(lo_bound, upper // 2)
    grid = sorted({int(round(v)) for v in np.geomspace(max(lo_bound, lower * 0.8), max(upper * 1.2, lo_bound + 1), 8)})
    run(grid, reps, "curve")
    logit_t = math.log(target / (1 - target))
    # the curve is fitted where it matters: the grid around the crossing (search runs far below it
    # would pull a two-parameter curve away from the target region) ...
    fit = _crossing(runs, min(grid), max(grid), logit_t)
    if fit is not None:
        # ... then refined on five sample sizes within 15% of the first crossing, so that the shape of
        # the two-parameter curve over the wide grid cannot bias N
        first = math.exp(fit[0])
        near = sorted({int(round(first * f)) for f in (0.85, 0.92, 1.0, 1.08, 1.15)} - {0})
        near = [v for v in near if lo_bound <= v <= n_max]
        run(near, reps, "refine")
        refined = _crossing(runs, math.floor(first * 0.84), math.ceil(first * 1.16), logit_t)
        if refined is not None:
            fit = refined
    note = ""
    if fit is None:
        n_star = float(upper)
        n_ci: tuple[int | None, int | None] = (None, None)
        note = "the fitted curve does not rise with N; N is the search's first N reaching the target"
        beta = np.array([math.nan, math.nan])
    else:
        log_n, se, beta, lo_fit, hi_fit = fit
        n_star = math.exp(log_n)
        n_ci = (
            int(math.floor(math.exp(log_n - 1.959963984540054 * se))),
            int(math.ceil(math.exp(log_n + 1.959963984540054 * se))),
        )
    lo_show, hi_show = min(grid + list(_runs_refined(runs))), max(grid + list(_runs_refined(runs)))
    ns_arr = np.array(sorted(v for v in runs if lo_show <= v <= hi_show), dtype=float)
    k_arr = np.array([runs[int(v)][0] for v in ns_arr], dtype=float)
    m_arr = np.array([runs[int(v)][1] for v in ns_arr], dtype=float)
    n_req = int(min(max(math.ceil(n_star), lo_bound), n_max))
    conf_table, details = confirm(n_req)
    row = conf_table[conf_table["name"] == effect].iloc[0]
    if row["power"] < target - 2 * row["mcse"]:
        note = (note + "; " if note else "") + (
            f"the confirmation run's power at N = {n_req} is more than 2 MC SE below the target"
        )
    p_arr = k_arr / np.maximum(m_arr, 1)
    table = pd.DataFrame(
        {
            "n": ns_arr.astype(int),
            "power": p_arr,
            "mcse": np.sqrt(p_arr * (1 - p_arr) / np.maximum(m_arr, 1)),
            "replicates": m_arr.astype(int),
            "fitted": 1 / (1 + np.exp(-(beta[0] + beta[1] * np.log(ns_arr)))),
            "stage": [runs[int(v)][2] for v in ns_arr],
        }
    )
    details.update(
        {
            "n": n_req,
            "n_fitted": n_star,
            "n_ci": list(n_ci),
            "target": target,
            "effect": effect,
            "path": path,
            "population": truth,
            "power": float(row["power"]),
            "mcse": float(row["mcse"]),
            "power_ci": [float(row["ci_lower"]), float(row["ci_upper"])],
            "curve_coefficients": [float(beta[0]), float(beta[1])],
            "note": note,
        }
    )
    return SampleSizeResult(table=table, details=details, confirmation=conf_table)
