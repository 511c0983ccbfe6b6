"""Analytic power of the Sobel test of a single-mediator indirect effect, with pwrss's conventions.

For ``X -> M -> Y`` with unstandardized paths ``a`` (X -> M), ``b`` (M -> Y | X) and ``cp`` (c', X -> Y | M),
two-sided level ``1 - level``, ``z = Phi^-1(1 - alpha / 2)`` (Sobel 1982; the form of
``pwrss::power.z.mediation``, Bulus 2023)::

    R2_M = a^2 sd_X^2 / sd_M^2
    R2_Y = (b^2 sd_M^2 + cp^2 sd_X^2) / sd_Y^2      # when r2_y is not given
    se_a = sqrt(sd_M^2 (1 - R2_M) / (n sd_X^2))
    se_b = sqrt(sd_Y^2 (1 - R2_Y) / (n sd_M^2 (1 - R2_M)))
    z_S  = a b / sqrt(a^2 se_b^2 + b^2 se_a^2)
    power = Phi(z_S - z) + Phi(-z_S - z)

What pwrss drops from R2_Y: the variance of Y explained by M and X together is
``b^2 sd_M^2 + cp^2 sd_X^2 + 2 b cp a sd_X^2``; the default leaves out the covariance term
``2 a b cp sd_X^2``, so with a non-zero direct effect the default R2_Y is too small (too large when
``a b cp < 0``) and the Sobel SE of ``b`` too large (too small). Give ``r2_y`` to use the exact value;
:func:`r2_y_exact` computes it. With ``cp = 0`` the two agree.

How good the approximation is: it treats the estimated ``z`` as ``N(z_S, 1)``. That holds when one
path dominates (the test of ``ab`` is then about the test of the weaker path); with balanced paths
(``a = b``) the SD of the estimated ``z`` is about 0.5 (delta method), so the analytic value is below
the simulated power of the very same Sobel test (a = b = .2, N = 400: .815 analytic, .905 simulated).
Use :func:`sciplab.stats.power.power` with ``test="sobel"`` for the exact rejection rate.

References
----------
Bulus, M. (2023). pwrss: Statistical power and sample size calculation tools (R package).
https://CRAN.R-project.org/package=pwrss
Sobel, M. E. (1982). Asymptotic confidence intervals for indirect effects in structural equation
models. *Sociological Methodology, 13*, 290-312.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from sciplab._core.errors import InvalidParameterError
from sciplab._core.validation import check_finite, check_level

__all__ = ["r2_y_exact", "sobel_power", "sobel_sample_size"]

_N = NormalDist()
MAX_N = 10**9


def _inputs(
    a: float, b: float, cp: float, sd_x: float, sd_m: float, sd_y: float, r2_y: float | None, level: float
) -> tuple[float, float, float, float]:
    a = check_finite(a, name="a")
    b = check_finite(b, name="b")
    cp = check_finite(cp, name="cp")
    for name, v in (("sd_x", sd_x), ("sd_m", sd_m), ("sd_y", sd_y)):
        if check_finite(v, name=name) <= 0:
            raise InvalidParameterError(f"{name} must be positive, got {v!r}")
    check_level(level)
    r2_m = a * a * sd_x * sd_x / (sd_m * sd_m)
    if r2_m >= 1:
        raise InvalidParameterError(
            f"a = {a:g} with sd_x = {sd_x:g} and sd_m = {sd_m:g} implies R^2 of M = {r2_m:.3f} >= 1 (equation M ~ X)"
        )
    if r2_y is None:
        r2y = (b * b * sd_m * sd_m + cp * cp * sd_x * sd_x) / (sd_y * sd_y)
    else:
        r2y = check_finite(r2_y, name="r2_y", low=0.0)
    if r2y >= 1:
        raise InvalidParameterError(
            f"b = {b:g}, cp = {cp:g} imply R^2 of Y = {r2y:.3f} >= 1 (equation Y ~ M + X); "
            "lower the paths or raise sd_y"
        )
    return a, b, r2_m, r2y


def _z_sobel(a: float, b: float, n: float, sd_x: float, sd_m: float, sd_y: float, r2_m: float, r2_y: float) -> float:
    var_a = sd_m * sd_m * (1 - r2_m) / (n * sd_x * sd_x)
    var_b = sd_y * sd_y * (1 - r2_y) / (n * sd_m * sd_m * (1 - r2_m))
    denom = math.sqrt(a * a * var_b + b * b * var_a)
    return a * b / denom if denom > 0 else 0.0


def r2_y_exact(a: float, b: float, cp: float, *, sd_x: float = 1.0, sd_m: float = 1.0, sd_y: float = 1.0) -> float:
    """R^2 of ``Y ~ M + X`` including the ``2 a b cp sd_X^2`` term pwrss's default leaves out.

    Examples
    --------
    >>> round(r2_y_exact(0.3, 0.3, 0.2), 4)
    0.166
    """
    return (b * b * sd_m * sd_m + cp * cp * sd_x * sd_x + 2 * a * b * cp * sd_x * sd_x) / (sd_y * sd_y)


def sobel_power(
    a: float,
    b: float,
    cp: float,
    n: int,
    *,
    sd_x: float = 1.0,
    sd_m: float = 1.0,
    sd_y: float = 1.0,
    r2_y: float | None = None,
    level: float = 0.95,
) -> float:
    """Power of the two-sided Sobel z test of ``a*b`` at sample size ``n`` (pwrss conventions).

    Parameters
    ----------
    a, b, cp
        Paths X -> M, M -> Y (given X) and the direct effect c' (unstandardized; standardized when
        the SDs are 1).
    n
        Sample size.
    sd_x, sd_m, sd_y
        Standard deviations (a binary X with proportion p has ``sd_x = sqrt(p (1 - p))``).
    r2_y
        R^2 of ``Y ~ M + X``; default pwrss's ``(b^2 sd_M^2 + cp^2 sd_X^2) / sd_Y^2`` (module notes).
    level
        Confidence level; alpha = 1 - level, two-sided.

    Returns
    -------
    float
        ``Phi(z_S - z) + Phi(-z_S - z)``.

    Examples
    --------
    >>> round(sobel_power(0.39, 0.39, 0.0, 100), 4)
    0.8183
    """
    if isinstance(n, bool) or not isinstance(n, int | float) or not math.isfinite(n) or n < 1:
        raise InvalidParameterError(f"n must be a sample size of at least 1, got {n!r}")
    a, b, r2_m, r2y = _inputs(a, b, cp, sd_x, sd_m, sd_y, r2_y, level)
    z = _N.inv_cdf(1 - (1 - level) / 2)
    zs = _z_sobel(a, b, float(n), sd_x, sd_m, sd_y, r2_m, r2y)
    return _N.cdf(zs - z) + _N.cdf(-zs - z)


def sobel_sample_size(
    a: float,
    b: float,
    cp: float,
    *,
    power: float = 0.80,
    sd_x: float = 1.0,
    sd_m: float = 1.0,
    sd_y: float = 1.0,
    r2_y: float | None = None,
    level: float = 0.95,
) -> int:
    """Smallest integer ``n`` whose analytic Sobel power reaches ``power``.

    Examples
    --------
    >>> sobel_sample_size(0.39, 0.39, 0.0)
    96
    """
    check_level(power, name="power")
    a, b, r2_m, r2y = _inputs(a, b, cp, sd_x, sd_m, sd_y, r2_y, level)
    if a == 0 or b == 0:
        raise InvalidParameterError("with a = 0 or b = 0 the indirect effect is zero: no sample size reaches the power")

    def pw(n: int) -> float:
        return sobel_power(a, b, cp, n, sd_x=sd_x, sd_m=sd_m, sd_y=sd_y, r2_y=r2_y, level=level)

    hi = 2
    while pw(hi) < power:
        hi *= 2
        if hi > MAX_N:
            raise InvalidParameterError(f"the Sobel power stays below {power} up to n = {MAX_N:,}")
    lo = hi // 2
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi if pw(lo) < power else lo
