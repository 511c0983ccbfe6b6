"""Bootstrap intervals of :mod:`sciplab.stats._bootstrap` (re-exported there): quantiles, BC/BCa, p-values.

Intervals work on a ``(B, p)`` array of replicate estimates (NaN = failed replicate, dropped per
column and counted): percentile (type-7 quantiles, = R ``quantile(type = 7)``), bias-corrected (BC)
and bias-corrected and accelerated (BCa; Efron 1987, acceleration from the jackknife), the circular
percentile interval for angles, the approximate bootstrap p-value, and the Monte Carlo standard
error of each interval endpoint. A caller holding its replicates as rows (one per statistic) takes
every interval, endpoint MC SE and p-value from them at once: sorted in place (:func:`sort_rows`,
:func:`summary_rows`) or, cheaper, with only the order statistics the summary reads put in place
(:func:`select_summary_rows`: the tails collected in one compiled pass per row and only the
positions read selected among them, or two partitions and two short sorts per row instead of a
sort), bit for bit the values of the column functions either way.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. *JASA, 82*, 171-185.
Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. *Am Stat, 50*, 361-365.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from sciplab._core.angles import circular_mean, wrap_pi
from sciplab.stats._sums_run import _pool

# --------------------------------------------------------------------------------------------
# The normal distribution, without scipy (importing scipy.special costs a whole-process run about
# a tenth of a second, and these are applied to a few values per analysis)

_ERFC = np.frompyfunc(math.erfc, 1, 1)
_INV_CDF = NormalDist().inv_cdf


def norm_cdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal cdf, elementwise: ``erfc(-x / sqrt 2) / 2`` (as ``scipy.special.ndtr``; NaN stays NaN)."""
    z = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        return np.asarray(0.5 * _ERFC(-z / math.sqrt(2.0)), dtype=float)


def _inv_cdf(p: float) -> float:
    if not 0.0 <= p <= 1.0:  # also NaN
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return _INV_CDF(p)


_PPF = np.frompyfunc(_inv_cdf, 1, 1)


def norm_ppf(p: np.ndarray | float) -> np.ndarray:
    """Standard normal quantile, elementwise (Wichura's AS 241, as ``statistics.NormalDist``).

    ``0 -> -inf``, ``1 -> inf``, outside [0, 1] or NaN -> NaN (as ``scipy.special.ndtri``).
    """
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        return np.asarray(_PPF(np.asarray(p, dtype=float)), dtype=float)


# --------------------------------------------------------------------------------------------
# Intervals


def _valid_columns(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    ok = np.isfinite(reps)
    if not ok.all() and np.isinf(reps).any():  # an infinite replicate is a failed one (it would sort among the valid)
        reps = np.where(ok, reps, np.nan)
    return reps, ok


def sorted_columns(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``reps`` (``(B, p)``) sorted, as rows of a ``(p, B)`` array, and finite counts.

    NaN sorts to the end of each row; the counts are the numbers of finite values per column.
    """
    reps, ok = _valid_columns(reps)
    return np.sort(reps.T, axis=1), ok.sum(axis=0)


def _quantile_positions(
    counts: np.ndarray, probs: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Type-7 order-statistic positions of ``probs`` per column: ``(prev, nxt, gamma, good)``."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    counts = np.asarray(counts)
    good = np.isfinite(probs) & (counts > 0)[None, :]
    q = np.where(good, np.clip(np.where(good, probs, 0.0), 0, 1), 0.0)
    c = np.maximum(counts, 1)[None, :]
    virtual = (c - 1) * q
    prev = np.floor(virtual)
    gamma = virtual - prev
    prev = prev.astype(np.intp)
    nxt = prev + 1
    above = virtual >= c - 1
    prev = np.where(above, c - 1, prev)
    nxt = np.where(above, c - 1, nxt)
    return prev, nxt, gamma, good


def quantiles_sorted(sorted_rows: np.ndarray, counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Type-7 quantiles from :func:`sorted_columns` output, all columns at once: ``(k, p)``.

    Row ``j`` uses its first ``counts[j]`` values; ``probs`` is ``(k,)`` or ``(k, p)`` (clipped to
    [0, 1]; NaN gives NaN). Bit-identical to ``np.quantile(..., method="linear")`` per column (same
    virtual index ``(c - 1) q`` and the same two-sided linear interpolation). Only the order
    statistics at the positions used need to be in place (e.g. rows sorted by :func:`sort_rows`).
    """
    return _quantiles_at(sorted_rows, *_quantile_positions(counts, probs, sorted_rows.shape[0]))


def _quantiles_at(
    sorted_rows: np.ndarray, prev: np.ndarray, nxt: np.ndarray, gamma: np.ndarray, good: np.ndarray
) -> np.ndarray:
    """The quantiles of :func:`quantiles_sorted` at the positions of :func:`_quantile_positions` (element-wise)."""
    cols = np.arange(sorted_rows.shape[0])[None, :]
    return _interpolate(sorted_rows[cols, prev], sorted_rows[cols, nxt], gamma, good)


def _interpolate(a: np.ndarray, b: np.ndarray, gamma: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Type-7 interpolation between the order statistics ``a`` (at ``prev``) and ``b`` (at ``nxt``), as numpy."""
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    out[~good] = np.nan
    return out


SORT_SPLIT_SIZE = 20_000
"""Values from which :func:`sort_rows` sorts its two halves in two threads (below, the hand-off costs more)."""
SELECT_SPLIT_SIZE = 400_000
"""Values from which :func:`select_rows` works on two halves in two threads (it costs about half a sort;
below, handing half to a pool thread that may be asleep costs more than it saves)."""


def finite_counts(rows: np.ndarray) -> np.ndarray:
    """Finite values per row of ``rows`` (``(p, B)``); infinite values are made NaN in place.

    An infinite replicate is a failed one (it would sort among the valid), as in :func:`sorted_columns`.
    """
    p, width = rows.shape
    if np.isfinite(rows).all():
        return np.full(p, width, dtype=np.int64)
    inf = np.isinf(rows)
    if inf.any():
        rows[inf] = np.nan
    return width - np.isnan(rows).sum(axis=1)


def sort_rows(rows: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Sort each row of ``rows`` (``(p, B)`` replicates of ``p`` statistics) in place; finite counts per row.

    Failed replicates (NaN; infinite values are made NaN, as :func:`sorted_columns`) sort to the
    end of each row. ``rows`` must be a C-contiguous float array the caller owns (e.g. replicate
    estimates written column by column). With ``threads`` > 1 the rows are sorted in two halves
    at once (numpy releases the GIL).
    """
    counts = finite_counts(rows)
    _by_halves(rows, _sort, threads)
    return counts


def _sort(part: np.ndarray) -> None:
    part.sort(axis=1)


def _by_halves(
    rows: np.ndarray, work: Callable[[np.ndarray], None], threads: int, split: int = SORT_SPLIT_SIZE
) -> None:
    """``work`` on all rows, or on the two halves at once in two threads (``split`` values or more, ``threads`` > 1)."""
    _in_halves(rows.shape[0], rows.size, lambda r0, r1: work(rows[r0:r1]), threads, split)


def _in_halves(p: int, size: int, work: Callable[[int, int], None], threads: int, split: int) -> None:
    """``work(0, p)``, or ``work`` on rows ``0 .. p // 2`` and ``p // 2 .. p`` at once in two threads.

    Two threads when ``threads`` > 1, there are two rows or more and the ``size`` values reach ``split``.
    """
    half = p // 2
    if threads > 1 and half and size >= split:
        future = _pool(2).submit(work, half, p)
        try:
            work(0, half)
        finally:
            future.result()
    else:
        work(0, p)


def select_rows(rows: np.ndarray, positions: np.ndarray, *, threads: int = 1) -> None:
    """Put in place, in every row of ``rows`` (``(p, B)``), the order statistics at ``positions``, as a sort would.

    For intervals the positions sit in the two tails: each row is partitioned at the largest
    position of the lower half and the smallest of the upper half, and only the values beyond
    these are sorted (two partitions and two short sorts instead of a sort of the whole row: about
    half the time for 5,000 replicates). The values at every position up to the first and from the
    second one on are then those of the sorted row (NaN last, as :func:`sort_rows`); when the tails
    cover much of the row, the rows are sorted. Rows as :func:`sort_rows` wants them.
    """
    width = rows.shape[1]
    positions = np.asarray(positions)
    if positions.size == 0:
        return
    mid = width // 2
    low, high = positions[positions < mid], positions[positions >= mid]
    lo = int(low.max()) if low.size else -1
    hi = int(high.min()) if high.size else width
    if (lo + 1) + (width - hi) > width // 4:  # wide tails: a sort costs less
        _by_halves(rows, _sort, threads)
        return

    def select(part: np.ndarray) -> None:
        if lo >= 0:
            part.partition(lo, axis=1)  # the lo + 1 smallest first, the lo-th in place
            part[:, :lo].sort(axis=1)
        if hi < width:
            part[:, lo + 1 :].partition(hi - lo - 1, axis=1)  # then the largest from hi on
            part[:, hi + 1 :].sort(axis=1)

    _by_halves(rows, select, threads, SELECT_SPLIT_SIZE)


def _quantile_cols(reps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Type-7 quantiles per column, ignoring NaN; ``probs`` is ``(k,)`` or ``(k, p)``."""
    return quantiles_sorted(*sorted_columns(reps), probs)


def percentile_ci(reps: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile interval (type-7 quantiles) per column: ``(2, p)`` array of lower, upper.

    ``level`` is checked once, by the public analysis that calls this (``check_level``).
    """
    alpha = 1.0 - level
    return _quantile_cols(reps, np.array([alpha / 2, 1 - alpha / 2]))


def bca_probs(reps: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float) -> np.ndarray:
    """Quantile levels ``(2, p)`` of the BCa interval (BC when ``acceleration`` is 0); the one formula.

    z0 = Phi^-1(#{theta* < theta_hat} / B) over the finite replicates; the levels are
    Phi(z0 + (z0 + z) / (1 - a (z0 + z))) for z = z_{alpha/2}, z_{1-alpha/2} (Efron 1987).
    Infinite z0 (estimate outside all replicates) gives NaN levels. ``level`` is assumed checked.
    """
    reps, ok = _valid_columns(reps)
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    below = (np.where(ok, reps, np.inf) < estimate[None, :]).sum(axis=0)
    return _bca_levels(below, ok.sum(axis=0), acceleration, level)


def bca_probs_rows(
    rows: np.ndarray, counts: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float
) -> np.ndarray:
    """:func:`bca_probs` of replicates held as rows (``(p, B)``, failed ones NaN; e.g. after :func:`sort_rows`)."""
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    below = (rows < estimate[:, None]).sum(axis=1)  # NaN compares False: failed replicates are not below
    return _bca_levels(below, counts, acceleration, level)


def _bca_levels(below: np.ndarray, finite: np.ndarray, acceleration: np.ndarray, level: float) -> np.ndarray:
    """The BCa quantile levels from the counts of replicates below the estimate (the one formula)."""
    alpha = 1.0 - level
    a = np.atleast_1d(np.asarray(acceleration, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = norm_ppf(below / finite)
        zl, zu = norm_ppf(alpha / 2), norm_ppf(1 - alpha / 2)
        p_lo = norm_cdf(z0 + (z0 + zl) / (1 - a * (z0 + zl)))
        p_hi = norm_cdf(z0 + (z0 + zu) / (1 - a * (z0 + zu)))
    probs = np.vstack([p_lo, p_hi])
    probs[:, ~np.isfinite(z0)] = np.nan
    return probs


def bc_ci(reps: np.ndarray, estimate: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected percentile interval (Efron 1987): ``(2, p)``.

    z0 = Phi^-1(#{theta* < theta_hat} / B); quantiles at Phi(2 z0 + z_{alpha/2}) and
    Phi(2 z0 + z_{1-alpha/2}). Infinite z0 (estimate outside all replicates) gives NaN.
    """
    return bca_ci(reps, estimate, np.zeros(np.atleast_1d(estimate).shape), level)


def bca_ci(reps: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected and accelerated interval: ``(2, p)``; ``acceleration`` from :func:`jackknife_acceleration`."""
    return _quantile_cols(reps, bca_probs(reps, estimate, acceleration, level))


def jackknife_acceleration(jack: np.ndarray) -> np.ndarray:
    """Acceleration a-hat from leave-one-out estimates ``jack`` of shape ``(n, p)``.

    a = sum (mean - theta_(i))^3 / (6 [sum (mean - theta_(i))^2]^(3/2))  (Efron 1987).
    """
    jack = np.asarray(jack, dtype=float)
    if jack.ndim == 1:
        jack = jack[:, None]
    d = np.nanmean(jack, axis=0)[None, :] - jack
    num = np.nansum(d**3, axis=0)
    den = 6.0 * np.nansum(d**2, axis=0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, 0.0)


def bootstrap_pvalue(reps: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Approximate two-sided bootstrap p-value per column.

    p = min(1, 2 min(#{theta* > 0}, #{theta* < 0}) / B), and p = 1 when the estimate is 0 (as
    pingouin and R ``mediation``). Not a test under H0: the resamples are not drawn under H0.
    """
    reps, ok = _valid_columns(reps)
    return _pvalue(reps, ok, estimate)


def _pvalue(reps: np.ndarray, ok: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """:func:`bootstrap_pvalue` of replicates already checked by :func:`_valid_columns`."""
    # NaN compares False: failed replicates count on neither side
    return _pvalue_counts(ok.sum(axis=0), (reps > 0).sum(axis=0), (reps < 0).sum(axis=0), estimate)


def _pvalue_counts(counts: np.ndarray, pos: np.ndarray, neg: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """The bootstrap p-value from the numbers of finite, positive and negative replicates per column."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.minimum(1.0, 2.0 * np.minimum(pos, neg) / counts)
    p = np.where(np.asarray(estimate) == 0, 1.0, p)
    return np.where(counts > 0, p, np.nan)


def endpoint_mcse(reps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Monte Carlo standard error of type-7 quantile estimates at ``probs`` (``(k,)`` or ``(k, p)``).

    Uses the order-statistic (binomial) interval: the quantile's 68 % Monte Carlo interval runs
    from the order statistic at B q - sqrt(B q (1 - q)) to that at B q + sqrt(B q (1 - q)), and the
    MC SE is half its width (Hyndman & Fan 1996; a standard distribution-free estimate).
    """
    reps, ok = _valid_columns(reps)
    counts = ok.sum(axis=0).astype(float)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], reps.shape[1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(probs * (1 - probs) / counts[None, :])
    lo = _quantile_cols(reps, np.clip(probs - spread, 0, 1))
    hi = _quantile_cols(reps, np.clip(probs + spread, 0, 1))
    return (hi - lo) / 2.0


def replicate_summary(
    reps: np.ndarray,
    estimate: np.ndarray,
    probs: np.ndarray,
    *,
    mcse: bool = True,
    pvalue: bool = True,
) -> dict[str, np.ndarray]:
    """Interval endpoints, their Monte Carlo SEs and bootstrap p-values from one sort of ``reps``.

    Returns ``{"ci": (k, p), "mcse": (k, p), "pvalue": (p,)}`` equal (bit for bit) to
    ``_quantile_cols(reps, probs)``, :func:`endpoint_mcse` and :func:`bootstrap_pvalue`; ``probs``
    as in :func:`endpoint_mcse` (percentile: ``[alpha / 2, 1 - alpha / 2]``; BC/BCa: ``(2, p)``).
    Skipped parts (``mcse=False``, ``pvalue=False``) are NaN.
    """
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    rows = np.array(reps.T, order="C")  # one contiguous copy, sorted in place
    counts = sort_rows(rows)
    return summary_rows(rows, counts, estimate, probs, mcse=mcse, pvalue=pvalue)


def summary_rows(
    rows: np.ndarray,
    counts: np.ndarray,
    estimate: np.ndarray,
    probs: np.ndarray,
    *,
    mcse: bool = True,
    pvalue: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`replicate_summary` of replicates sorted by :func:`sort_rows` (``rows``, ``counts``)."""
    p = rows.shape[0]
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    out = {"ci": quantiles_sorted(rows, counts, probs)}
    if mcse:
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.sqrt(probs * (1 - probs) / counts.astype(float)[None, :])
        lo = quantiles_sorted(rows, counts, np.clip(probs - spread, 0, 1))
        hi = quantiles_sorted(rows, counts, np.clip(probs + spread, 0, 1))
        out["mcse"] = (hi - lo) / 2.0
    else:
        out["mcse"] = np.full(probs.shape, np.nan)
    if pvalue:  # NaN compares False: failed replicates count on neither side
        out["pvalue"] = _pvalue_counts(counts, (rows > 0).sum(axis=1), (rows < 0).sum(axis=1), estimate)
    else:
        out["pvalue"] = np.full(p, np.nan)
    return out


def select_summary_rows(
    rows: np.ndarray,
    counts: np.ndarray,
    estimate: np.ndarray,
    probs: np.ndarray,
    *,
    threads: int = 1,
    compiled: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`summary_rows` of unsorted rows, putting in place only the order statistics it reads.

    ``rows`` (``(p, B)``, owned by the caller, as :func:`sort_rows` wants them) and ``counts`` from
    :func:`finite_counts`. The interval and both MC SE endpoints of every row come from the order
    statistics at their positions: when the compiled kernels are loaded (``compiled``; they are not
    imported for this), one pass per row collects each tail and selects the positions read among it
    (:func:`~sciplab.stats._resample_kernels.tail_order_stats`, ``rows`` unchanged); otherwise
    one vectorised pass puts them in place (:func:`select_rows`). Each value is computed element by
    element as in :func:`summary_rows` after :func:`sort_rows`, so the results are the same bits.
    """
    p = rows.shape[0]
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    k = probs.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(probs * (1 - probs) / counts.astype(float)[None, :])
    levels = np.concatenate([probs, np.clip(probs - spread, 0, 1), np.clip(probs + spread, 0, 1)])
    prev, nxt, gamma, good = _quantile_positions(counts, levels, p)
    kernels = sys.modules.get("sciplab.stats._resample_kernels")
    if kernels is not None and compiled:  # loaded already: the tails' order statistics, one pass per row
        a, b = np.full(prev.shape, np.nan), np.full(prev.shape, np.nan)
        select = functools.partial(kernels.tail_order_stats, rows, counts, prev, nxt, good, a, b)
        _in_halves(p, rows.size, select, threads, SELECT_SPLIT_SIZE)
        q = _interpolate(a, b, gamma, good)
    else:
        select_rows(rows, np.concatenate([prev[good], nxt[good]]), threads=threads)
        q = _quantiles_at(rows, prev, nxt, gamma, good)
    # NaN compares False: failed replicates count on neither side
    above, below = np.count_nonzero(rows > 0, axis=1), np.count_nonzero(rows < 0, axis=1)  # (no int casts)
    pvalue = _pvalue_counts(counts, above, below, estimate)
    return {"ci": q[:k], "mcse": (q[2 * k :] - q[k : 2 * k]) / 2.0, "pvalue": pvalue}


def circular_percentile_ci(reps_rad: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Circular percentile interval of angles (radians), ``(2, p)``, each endpoint in [0, 2 pi).

    1. mu = circular mean of the replicates; 2. delta = replicate - mu wrapped into (-pi, pi];
    3. endpoints = mu + type-7 quantiles of delta, reduced mod 2 pi (lower may exceed upper when
    the interval straddles 0).
    """
    reps, _ = _valid_columns(reps_rad)
    mu = circular_mean(reps, axis=0)
    delta = wrap_pi(reps - mu[None, :])
    q = percentile_ci(delta, level)
    return np.mod(q + mu[None, :], 2 * np.pi)
