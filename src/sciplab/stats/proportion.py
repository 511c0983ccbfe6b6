"""Confidence intervals for a binomial proportion.

Implements
----------
* :func:`wilson_interval` -- the Wilson (1927) score interval, vectorised over arrays of counts::

      centre = (p + z^2 / (2n)) / (1 + z^2 / n)
      half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))

  with ``p = x / n`` and ``z`` the two-sided normal quantile of ``level``. Unlike the Wald interval
  it stays inside [0, 1] and keeps close to nominal coverage for small ``n`` and for proportions
  near 0 or 1 (Newcombe 1998, method 3; Brown, Cai & DasGupta 2001), which is why clinic reports of
  recovery rates in small services use it. ``n = 0`` gives NaN bounds (no information).

Sources
-------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*JASA, 22*, 209-212.
Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. *Statistics in Medicine, 17*, 857-872 (Table II gives worked examples).
Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a binomial proportion.
*Statistical Science, 16*, 101-133.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as st

from sciplab._core.errors import InvalidParameterError
from sciplab._core.validation import check_level

__all__ = ["wilson_interval"]


def wilson_interval(successes: Any, n: Any, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes`` out of ``n`` (scalars or arrays of equal shape).

    Parameters
    ----------
    successes, n
        Whole-number counts, ``0 <= successes <= n``; ``n = 0`` gives NaN bounds.
    level
        Two-sided confidence level in (0, 1).

    Returns
    -------
    (lower, upper)
        Arrays (0-d for scalar input) of the bounds, in [0, 1].

    Raises
    ------
    InvalidParameterError
        Counts that are negative, not whole, or with ``successes > n`` (naming the first one).

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    level = check_level(level)
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError:
        raise InvalidParameterError(
            f"successes and n must have the same shape, got {np.shape(successes)} and {np.shape(n)}"
        ) from None
    bad = ~np.isfinite(x) | ~np.isfinite(m) | (x < 0) | (m < 0) | (x != np.round(x)) | (m != np.round(m)) | (x > m)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
        raise InvalidParameterError(
            f"successes and n must be whole counts with 0 <= successes <= n; got successes={x[i]!r}, n={m[i]!r}"
            + (f" at position {tuple(int(j) for j in i)}" if bad.ndim else "")
        )
    z = float(st.norm.ppf(1 - (1 - level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        denom = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
        # x = 0 and x = n have exact bounds 0 and 1 (rounding would leave them a hair inside)
        lower = np.where(m > 0, np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
        upper = np.where(m > 0, np.where(x == m, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return lower, upper
