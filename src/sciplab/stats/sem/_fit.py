"""Fit measures with lavaan's names and conventions (``fitMeasures``).

Sources and conventions
-----------------------
* ``chisq = 2 (logl_H1 - logl_H0)``: N (not N - 1) times the minimum of the ML discrepancy
  (lavaan's ``likelihood = "normal"``); multigroup: summed over groups.
* ``cfi = 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - df_b, 0)`` (Bentler 1990);
  ``tli = (chisq_b/df_b - chisq/df) / (chisq_b/df_b - 1)`` (Tucker & Lewis 1973); the baseline is
  the independence model (free variances and means, fixed.x covariances kept).
* ``rmsea = sqrt(G) sqrt(max(chisq - df, 0) / (df N))``, CI from the noncentral chi-square
  (Steiger & Lind 1980; Browne & Cudeck 1993), ``rmsea.pvalue`` the test of close fit (H0:
  RMSEA <= .05); G groups as in lavaan.
* ``srmr``: Bentler's standardized root mean square residual, residuals scaled by the sample
  standard deviations, means included with a mean structure; groups weighted by N_g / N.
* ``aic = -2 logl + 2 npar``, ``bic = -2 logl + npar log N``, ``bic2`` with ``(N + 2) / 24``
  (Sclove 1987).
* Scaled (MLR) versions: Yuan-Bentler ``chisq.scaled = chisq / c``, ``c = tr(U Gamma) / df``;
  the scaled CFI, TLI and RMSEA use the scaled statistics of the model and the baseline (lavaan's
  ``.scaled`` columns).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FIT_NAMES = (
    "chisq",
    "df",
    "pvalue",
    "baseline.chisq",
    "baseline.df",
    "cfi",
    "tli",
    "rmsea",
    "rmsea.ci.lower",
    "rmsea.ci.upper",
    "rmsea.pvalue",
    "srmr",
    "logl",
    "unrestricted.logl",
    "aic",
    "bic",
    "bic2",
    "npar",
    "ntotal",
)
SCALED_NAMES = (
    "chisq.scaled",
    "df.scaled",
    "pvalue.scaled",
    "chisq.scaling.factor",
    "baseline.chisq.scaled",
    "baseline.df.scaled",
    "cfi.scaled",
    "tli.scaled",
    "rmsea.scaled",
    "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled",
    "rmsea.pvalue.scaled",
)


def _chi2_sf(x: float, df: float) -> float:
    from scipy import stats

    if df <= 0:
        return math.nan
    return float(stats.chi2.sf(x, df))


def cfi(chisq: float, df: float, bchisq: float, bdf: float) -> float:
    num = max(chisq - df, 0.0)
    den = max(chisq - df, bchisq - bdf, 0.0)
    return 1.0 if den == 0 else 1.0 - num / den


def tli(chisq: float, df: float, bchisq: float, bdf: float) -> float:
    if df <= 0 or bdf <= 0:
        return math.nan if df <= 0 else 1.0
    base = bchisq / bdf
    if base == 1.0:
        return math.nan
    return (base - chisq / df) / (base - 1.0)


def rmsea(chisq: float, df: float, n: int, groups: int = 1, level: float = 0.90) -> tuple[float, float, float, float]:
    """RMSEA, its CI at ``level`` and the p-value of close fit (RMSEA <= .05)."""
    from scipy import optimize, special

    if df <= 0:
        return (0.0, 0.0, 0.0, math.nan) if df == 0 else (math.nan,) * 4
    g = math.sqrt(groups)
    est = g * math.sqrt(max(chisq - df, 0.0) / (df * n))
    lo_p, hi_p = (1 + level) / 2, (1 - level) / 2

    def solve(target: float) -> float:
        def h(lam: float) -> float:
            return float(special.chndtr(chisq, df, lam) if lam > 0 else special.chdtr(df, chisq)) - target

        if h(0.0) < 0:
            return 0.0
        hi = max(chisq, 1.0)
        while h(hi) > 0:
            hi *= 2.0
            if hi > 1e9:  # pragma: no cover - absurd statistics
                return math.nan
        return float(optimize.brentq(h, 0.0, hi, xtol=1e-12, rtol=1e-12))

    lower = g * math.sqrt(solve(lo_p) / (df * n))
    upper = g * math.sqrt(solve(hi_p) / (df * n))
    ncp = n * df * 0.05**2 / groups
    pclose = float(1.0 - special.chndtr(chisq, df, ncp))
    return est, lower, upper, pclose


def srmr(
    S: list[np.ndarray],
    M: list[np.ndarray],
    sigma: list[np.ndarray],
    mu: list[np.ndarray],
    n: list[int],
    meanstructure: bool,
) -> float:
    """Bentler's SRMR (lavaan's ``srmr``), groups weighted by N_g / N."""
    total, out = sum(n), 0.0
    for s, m, sig, u, ng in zip(S, M, sigma, mu, n, strict=True):
        sd = np.sqrt(np.diag(s))
        r = (s - sig) / np.outer(sd, sd)
        iu = np.triu_indices(len(sd))
        ss = float((r[iu] ** 2).sum())
        count = len(iu[0])
        if meanstructure:
            ss += float((((m - u) / sd) ** 2).sum())
            count += len(sd)
        out += ng / total * math.sqrt(ss / count)
    return out


def measures(
    *,
    chisq: float,
    df: int,
    bchisq: float,
    bdf: int,
    logl: float,
    logl_h1: float,
    npar: int,
    ntotal: int,
    groups: int,
    srmr_value: float,
) -> dict[str, Any]:
    est, lo, hi, pclose = rmsea(chisq, df, ntotal, groups)
    return {
        "chisq": chisq,
        "df": df,
        "pvalue": _chi2_sf(chisq, df),
        "baseline.chisq": bchisq,
        "baseline.df": bdf,
        "cfi": cfi(chisq, df, bchisq, bdf),
        "tli": tli(chisq, df, bchisq, bdf),
        "rmsea": est,
        "rmsea.ci.lower": lo,
        "rmsea.ci.upper": hi,
        "rmsea.pvalue": pclose,
        "srmr": srmr_value,
        "logl": logl,
        "unrestricted.logl": logl_h1,
        "aic": -2 * logl + 2 * npar,
        "bic": -2 * logl + npar * math.log(ntotal),
        "bic2": -2 * logl + npar * math.log((ntotal + 2) / 24),
        "npar": npar,
        "ntotal": ntotal,
    }


def scaled_measures(
    *, chisq: float, df: int, c: float, bchisq: float, bdf: int, bc: float, ntotal: int, groups: int
) -> dict[str, Any]:
    """Yuan-Bentler scaled test and the fit indices computed from it (lavaan's ``.scaled``)."""
    cs = chisq / c if c > 0 else math.nan
    bcs = bchisq / bc if bc > 0 else math.nan
    est, lo, hi, pclose = rmsea(cs, df, ntotal, groups)
    return {
        "chisq.scaled": cs,
        "df.scaled": df,
        "pvalue.scaled": _chi2_sf(cs, df),
        "chisq.scaling.factor": c,
        "baseline.chisq.scaled": bcs,
        "baseline.df.scaled": bdf,
        "cfi.scaled": cfi(cs, df, bcs, bdf),
        "tli.scaled": tli(cs, df, bcs, bdf),
        "rmsea.scaled": est,
        "rmsea.ci.lower.scaled": lo,
        "rmsea.ci.upper.scaled": hi,
        "rmsea.pvalue.scaled": pclose,
    }
