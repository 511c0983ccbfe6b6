"""The one resampling engine of SCIP Lab (path models, SSM, SEM, reliability).

Design
------
* **Indices, not loops.** Case-resampling indices are drawn in fixed blocks of
  :data:`BLOCK` replicates, each block from its own child of one ``SeedSequence``
  (``SeedSequence(seed).spawn``-style keys). A caller processing replicates in chunks of any size
  therefore gets exactly the same resamples as one processing them all at once: results do not
  depend on the chunk size (memory bound) chosen.
* **Stratified resampling** (SSM groups): rows are resampled within each stratum, stratum sizes
  fixed.
* **Intervals** work on a ``(B, p)`` array of replicate estimates (NaN = failed replicate, dropped
  per column and counted): percentile (type-7 quantiles, = R ``quantile(type = 7)``), bias-corrected
  (BC) and bias-corrected and accelerated (BCa; Efron 1987, acceleration from the jackknife), the
  circular percentile interval for angles, the approximate bootstrap p-value, and the Monte Carlo
  standard error of each interval endpoint.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. *JASA, 82*, 171-185.
Hyndman, R. J., & Fan, Y. (1996). Sample quantiles in statistical packages. *Am Stat, 50*, 361-365.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from sciplab._core.errors import InvalidParameterError

BLOCK = 256
"""Replicates per independently seeded block of indices."""

MAX_B = 10_000_000


def check_replicates(B: int, *, name: str = "bootstrap", allow_zero: bool = True) -> int:
    """Validate a number of replicates (0 allowed to switch resampling off)."""
    if isinstance(B, bool) or not isinstance(B, int | np.integer):
        raise InvalidParameterError(f"{name} must be a whole number of replicates, got {B!r}")
    B = int(B)
    low = 0 if allow_zero else 1
    if B < low or B > MAX_B:
        raise InvalidParameterError(
            f"{name} must be between {low} and {MAX_B:,} replicates, got {B:,}"
            + ("; use 0 to skip resampling" if allow_zero else "")
        )
    return B


def check_level(level: float) -> float:
    """Validate a confidence level in (0, 1)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        raise InvalidParameterError(f"level must be in (0, 1), e.g. 0.95, got {level!r}")
    return value


@dataclass(frozen=True)
class Resampler:
    """Reproducible case resampling of ``n`` rows, optionally within strata.

    Parameters
    ----------
    n
        Number of rows.
    B
        Number of replicates.
    seed
        Integer seed (already resolved by the caller; record it in ``details``).
    strata
        Optional integer labels (length ``n``); rows are resampled within each stratum.
    """

    n: int
    B: int
    seed: int
    strata: np.ndarray | None = None

    def _block(self, k: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(k,)))
        size = min(BLOCK, self.B - k * BLOCK)
        dtype = np.int32 if self.n < 2**31 else np.int64
        if self.strata is None:
            return rng.integers(0, self.n, size=(size, self.n), dtype=dtype)
        out = np.empty((size, self.n), dtype=dtype)
        for members in _strata_members(self.strata):  # loop over strata, never over replicates
            draws = rng.integers(0, members.size, size=(size, members.size))
            out[:, members] = members[draws]
        return out

    def indices(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Row indices of replicates ``start:stop`` as a ``(stop - start, n)`` array."""
        stop = self.B if stop is None else min(stop, self.B)
        if start >= stop:
            return np.empty((0, self.n), dtype=np.int64)
        first, last = start // BLOCK, (stop - 1) // BLOCK
        parts = [self._block(k) for k in range(first, last + 1)]
        whole = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        offset = first * BLOCK
        return whole[start - offset : stop - offset]

    def chunks(self, chunk_size: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, indices)`` covering all replicates in chunks of ``chunk_size``."""
        if chunk_size < 1:
            raise InvalidParameterError(f"chunk_size must be >= 1, got {chunk_size}")
        for start in range(0, self.B, chunk_size):
            stop = min(start + chunk_size, self.B)
            yield start, stop, self.indices(start, stop)

    def counts(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Resampling weights: how often each row appears in each replicate, ``(reps, n)`` floats.

        Weighted statistics (weighted means, weighted cross-products) on these counts equal the
        statistics of the resampled data, and batch well with ``einsum``/matrix products.
        """
        stop = self.B if stop is None else min(stop, self.B)
        out = np.empty((max(stop - start, 0), self.n))
        # one block of indices at a time: cache-sized temporaries, same values as indices()
        lo = start
        while lo < stop:
            hi = min(stop, (lo // BLOCK + 1) * BLOCK)
            idx = self.indices(lo, hi)
            reps = hi - lo
            dtype = np.int32 if reps * self.n < 2**31 else np.int64
            flat = (idx + (np.arange(reps, dtype=dtype)[:, None] * dtype(self.n))).ravel()
            out[lo - start : hi - start] = np.bincount(flat, minlength=reps * self.n).reshape(
                reps, self.n
            )
            lo = hi
        return out


def _strata_members(strata: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(strata == s) for s in np.unique(strata)]


def auto_chunk(n: int, B: int, floats_per_row: int = 1, budget_bytes: float = 5e8) -> int:
    """Chunk size (replicates) keeping about ``budget_bytes`` of ``n * floats_per_row`` per replicate."""
    per = max(1, n * max(1, floats_per_row) * 8)
    return int(max(1, min(B, budget_bytes // per)))


# --------------------------------------------------------------------------------------------
# Intervals


def _valid_columns(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    ok = np.isfinite(reps)
    return reps, ok


def _quantile_cols(reps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Type-7 quantiles per column, ignoring NaN; ``probs`` is ``(k,)`` or ``(k, p)``."""
    reps, _ = _valid_columns(reps)
    p = reps.shape[1]
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.repeat(probs[:, None], p, axis=1)
    out = np.full(probs.shape, np.nan)
    sorted_reps = np.sort(reps, axis=0)  # NaN sort to the end
    counts = np.isfinite(reps).sum(axis=0)
    for j in np.flatnonzero(counts > 0):  # loop over parameters, not replicates
        col = sorted_reps[: counts[j], j]
        good = np.isfinite(probs[:, j])
        out[good, j] = np.quantile(col, np.clip(probs[good, j], 0, 1), method="linear")
    return out


def percentile_ci(reps: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile interval (type-7 quantiles) per column: ``(2, p)`` array of lower, upper."""
    alpha = 1.0 - check_level(level)
    return _quantile_cols(reps, np.array([alpha / 2, 1 - alpha / 2]))


def _z0(reps: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    reps, ok = _valid_columns(reps)
    counts = ok.sum(axis=0)
    below = (np.where(ok, reps, np.inf) < np.asarray(estimate)[None, :]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = below / counts
    return _st.norm.ppf(prop)


def bc_ci(reps: np.ndarray, estimate: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected percentile interval (Efron 1987): ``(2, p)``.

    z0 = Phi^-1(#{theta* < theta_hat} / B); quantiles at Phi(2 z0 + z_{alpha/2}) and
    Phi(2 z0 + z_{1-alpha/2}). Infinite z0 (estimate outside all replicates) gives NaN.
    """
    return bca_ci(reps, estimate, np.zeros(np.atleast_1d(estimate).shape), level)


def bca_ci(reps: np.ndarray, estimate: np.ndarray, acceleration: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Bias-corrected and accelerated interval: ``(2, p)``; ``acceleration`` from :func:`jackknife_acceleration`."""
    alpha = 1.0 - check_level(level)
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    a = np.atleast_1d(np.asarray(acceleration, dtype=float))
    z0 = _z0(reps, estimate)
    zl, zu = _st.norm.ppf(alpha / 2), _st.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lo = _st.norm.cdf(z0 + (z0 + zl) / (1 - a * (z0 + zl)))
        p_hi = _st.norm.cdf(z0 + (z0 + zu) / (1 - a * (z0 + zu)))
    probs = np.vstack([p_lo, p_hi])
    probs[:, ~np.isfinite(z0)] = np.nan
    return _quantile_cols(reps, probs)


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
    counts = ok.sum(axis=0)
    pos = (np.where(ok, reps, 0) > 0).sum(axis=0)
    neg = (np.where(ok, reps, 0) < 0).sum(axis=0)
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


def circular_mean(angles_rad: np.ndarray, axis: int = 0) -> np.ndarray:
    """Circular mean ``atan2(mean sin, mean cos)`` ignoring NaN."""
    return np.arctan2(np.nanmean(np.sin(angles_rad), axis=axis), np.nanmean(np.cos(angles_rad), axis=axis))


def wrap_pi(angles_rad: np.ndarray) -> np.ndarray:
    """Wrap angles into (-pi, pi]."""
    out = np.mod(np.asarray(angles_rad, dtype=float) + np.pi, 2 * np.pi) - np.pi
    return np.where(out == -np.pi, np.pi, out)


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
