"""Internal consistency of an instrument's scales: alpha, its CI, item statistics and omega.

Per scale, on complete cases of its (reverse-keyed) items:

* Cronbach's alpha from the item covariance matrix: ``k/(k-1) (1 - sum s_i^2 / s_X^2)``;
* standardized alpha ``k r / (1 + (k - 1) r)`` with r the mean inter-item correlation;
* Feldt, Woodruff & Salih (1987) CI: ``1 - (1 - alpha) F^-1(1 - g/2; N-1, (N-1)(k-1))`` and
  ``1 - (1 - alpha) F^-1(g/2; N-1, (N-1)(k-1))``;
* corrected item-total (item-rest) correlations; negative ones are flagged as probable key errors;
* alpha if item deleted;
* McDonald's omega total from a one-factor model fitted by maximum likelihood
  (``(sum lambda)^2 / ((sum lambda)^2 + sum psi)``, model-implied total variance; McDonald 1999).

Kernels take arrays; :func:`reliability` selects the items through the scoring engine.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import ConvergenceWarning, DataError, DataWarning
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_level, require_frame
from sciplab.instruments.registry import get_instrument, require_key
from sciplab.instruments.schema import Instrument
from sciplab.scoring.engine import OnInvalid, prepare_items

# ----------------------------------------------------------------------------------------------
# Kernels


def cronbach_alpha(cov: np.ndarray) -> float:
    """Cronbach's alpha from an item covariance matrix."""
    k = cov.shape[0]
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def standardized_alpha(corr: np.ndarray) -> float:
    """Standardized alpha ``k r / (1 + (k - 1) r)`` from an item correlation matrix."""
    k = corr.shape[0]
    rbar = (corr.sum() - k) / (k * (k - 1))
    return float(k * rbar / (1 + (k - 1) * rbar))


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987) confidence interval for alpha."""
    g = 1 - level
    d1, d2 = n - 1, (n - 1) * (k - 1)
    from scipy import stats as st  # imported on use: `import sciplab.scoring` stays light (issue 19)

    lower = 1 - (1 - alpha) * st.f.ppf(1 - g / 2, d1, d2)
    upper = 1 - (1 - alpha) * st.f.ppf(g / 2, d1, d2)
    return float(lower), float(upper)


def alpha_if_deleted(cov: np.ndarray) -> np.ndarray:
    """Alpha of the remaining ``k - 1`` items, for each item (vectorised over items)."""
    k = cov.shape[0]
    if k < 3:
        return np.full(k, np.nan)
    total = cov.sum()
    rowsum = cov.sum(axis=1)
    diag = np.diag(cov)
    total_minus = total - 2 * rowsum + diag
    trace_minus = np.trace(cov) - diag
    with np.errstate(divide="ignore", invalid="ignore"):
        return (k - 1) / (k - 2) * (1 - trace_minus / total_minus)


def item_rest_correlations(cov: np.ndarray) -> np.ndarray:
    """Correlation of each item with the sum of the other items."""
    rowsum = cov.sum(axis=1)
    diag = np.diag(cov)
    rest_var = cov.sum() - 2 * rowsum + diag
    cov_rest = rowsum - diag
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov_rest / np.sqrt(diag * rest_var)


@dataclasses.dataclass(frozen=True)
class OneFactorFit:
    """ML one-factor solution: loadings, unique variances, convergence, Heywood flag."""

    loadings: np.ndarray
    uniquenesses: np.ndarray
    converged: bool
    heywood: bool
    fmin: float


def one_factor_ml(cov: np.ndarray) -> OneFactorFit:
    """Fit ``Sigma = lambda lambda' + diag(psi)`` by maximum likelihood.

    Minimises F = ln|Sigma| + tr(S Sigma^-1) - ln|S| - p with analytic gradients (L-BFGS-B,
    psi bounded below by 1e-6 s_ii; a bound hit is a Heywood case). The loading vector's sign is
    chosen so that its sum is positive.
    """
    p = cov.shape[0]
    scale = np.sqrt(np.diag(cov))
    R = cov / np.outer(scale, scale)
    vals, vecs = np.linalg.eigh(R)
    lam0 = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-6))
    psi0 = np.clip(1 - lam0**2, 0.05, None)
    logdet_r = np.linalg.slogdet(R)[1]

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lam, psi = theta[:p], theta[p:]
        sigma = np.outer(lam, lam) + np.diag(psi)
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return 1e10, np.zeros_like(theta)
        inv = np.linalg.inv(sigma)
        value = logdet + np.trace(R @ inv) - logdet_r - p
        g = inv - inv @ R @ inv
        return float(value), np.concatenate([2 * g @ lam, np.diag(g)])

    from scipy import optimize

    lower = 1e-6
    bounds = [(None, None)] * p + [(lower, None)] * p
    res = optimize.minimize(
        f,
        np.concatenate([lam0, psi0]),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
    )
    lam, psi = res.x[:p], res.x[p:]
    if lam.sum() < 0:
        lam = -lam
    heywood = bool(np.any(psi <= lower * 1.01))
    return OneFactorFit(lam * scale, psi * scale**2, bool(res.success), heywood, float(res.fun))


def omega_total(fit: OneFactorFit) -> float:
    """McDonald's omega total with the model-implied total variance in the denominator."""
    common = fit.loadings.sum() ** 2
    return float(common / (common + fit.uniquenesses.sum()))


# ----------------------------------------------------------------------------------------------
# Public analysis


@dataclasses.dataclass(frozen=True)
class ReliabilityResult(Result):
    """Per-scale reliability (``.table``) and per-item statistics (``.items``)."""

    items: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "Reliability"

    def summary(self) -> str:
        """Scale table, then items with negative item-rest correlations flagged."""
        cols = ["column", "n", "n_items", "alpha", "alpha_lci", "alpha_uci", "alpha_std", "omega_total"]
        lines = [self.title, "=" * len(self.title)]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append(
            f"alpha CI: Feldt, level {self.details['level']}; omega: one-factor ML, model-implied total variance"
        )
        for col in self.table.loc[self.table["omega_heywood"], "column"]:
            lines.append(
                f"HEYWOOD {col}: a unique variance of the one-factor model is at its bound; omega may be inflated"
            )
        bad = self.items[self.items["item_rest_r"] < 0]
        for _, row in bad.iterrows():
            lines.append(
                f"WARNING {row['column']} item {row['item']}: negative item-rest correlation "
                f"({row['item_rest_r']:.2f}) - check the reverse key"
            )
        return "\n".join(lines)


def reliability(
    data: pd.DataFrame,
    instrument: str | Instrument,
    *,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    scales: Sequence[str] | None = None,
    level: float = 0.95,
    on_invalid: OnInvalid = "error",
    instruments_dir: str | None = None,
    key_file: str | None = None,
) -> ReliabilityResult:
    """Cronbach's alpha (raw, standardized, Feldt CI), item statistics and omega total per scale.

    Parameters
    ----------
    data, instrument, columns, on_invalid, instruments_dir, key_file
        As in :func:`sciplab.score`.
    scales
        Scales to analyse (default: every scale with at least 2 items).
    level
        Confidence level of the Feldt interval.

    Returns
    -------
    ReliabilityResult
        ``.table``: one row per scale (n used, n dropped, k, alpha, CI, standardized alpha,
        omega total, ``omega_heywood`` (True when a unique variance of the one-factor model hit its
        bound, so omega may be inflated), mean inter-item r). ``.items``: per item of each scale,
        mean, SD, item-rest r and alpha if deleted.

    Notes
    -----
    Complete cases on each scale's items (listwise). Items are reverse-keyed first. Matches
    R ``psych::alpha`` (raw_alpha, std.alpha, r.drop, alpha if dropped) and pingouin
    ``cronbach_alpha`` (its CI is the Feldt interval).

    References
    ----------
    Cronbach (1951); Feldt, Woodruff & Salih (1987), Appl Psych Meas 11, 93-103;
    McDonald (1999), Test theory: A unified treatment.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> trait = rng.normal(size=200)
    >>> items = np.clip(np.round(1.5 + trait[:, None] + rng.normal(size=(200, 9))), 0, 3)
    >>> df = pd.DataFrame(items, columns=[f"PHQ9_{i}" for i in range(1, 10)])
    >>> r = reliability(df, "PHQ-9")
    >>> bool(0.7 < r.table.loc[0, "alpha"] < 0.95)
    True
    """
    require_frame(data)
    level = check_level(level)
    inst = require_key(get_instrument(instrument, instruments_dir=instruments_dir, key_file=key_file))
    chosen = [inst.scale(s) for s in scales] if scales is not None else [s for s in inst.scales if s.n_items >= 2]
    if not chosen:
        raise DataError(f"{inst.id} has no scale with at least 2 items")
    prep = prepare_items(data, inst, chosen, columns=columns, on_invalid=on_invalid)
    col_of = {i: j for j, i in enumerate(prep.items)}
    rows, item_rows, notes = [], [], []
    for sc in chosen:
        if sc.n_items < 2:
            raise DataError(f"{inst.id} scale {sc.name!r} has 1 item: reliability needs at least 2")
        sub = prep.X[:, [col_of[i] for i in sc.items]]
        complete = ~np.isnan(sub).any(axis=1)
        Y = sub[complete]
        n, k = Y.shape
        col = inst.column(sc.name)
        base = {
            "instrument": inst.id,
            "scale": sc.name,
            "column": col,
            "n": n,
            "n_dropped": int((~complete).sum()),
            "n_items": k,
        }
        if n < 3:
            raise DataError(f"{col}: only {n} complete response(s) on its {k} items; reliability needs at least 3")
        cov = np.cov(Y, rowvar=False)
        sd = np.sqrt(np.diag(cov))
        const = np.flatnonzero(sd == 0)
        if const.size:
            names = ", ".join(str(sc.items[j]) for j in const)
            warnings.warn(
                f"{col}: item(s) {names} have no variance; correlations and omega are undefined",
                DataWarning,
                stacklevel=2,
            )
            corr = np.full_like(cov, np.nan)
        else:
            corr = cov / np.outer(sd, sd)
        alpha = cronbach_alpha(cov)
        lo, hi = feldt_ci(alpha, n, k, level)
        omega, heywood = np.nan, False
        if not const.size:
            fit = one_factor_ml(cov)
            omega = omega_total(fit)
            if not fit.converged:
                warnings.warn(
                    f"{col}: one-factor ML did not converge; omega may be inaccurate", ConvergenceWarning, stacklevel=2
                )
            heywood = fit.heywood
            if fit.heywood:
                notes.append(f"{col}: Heywood case in the one-factor model (a unique variance at its bound)")
        rbar = (np.nansum(corr) - k) / (k * (k - 1)) if not const.size else np.nan
        rows.append(
            {
                **base,
                "alpha": alpha,
                "alpha_lci": lo,
                "alpha_uci": hi,
                "alpha_std": standardized_alpha(corr) if not const.size else np.nan,
                "omega_total": omega,
                "omega_heywood": heywood,
                "mean_inter_item_r": rbar,
            }
        )
        rest = item_rest_correlations(cov)
        drop = alpha_if_deleted(cov)
        rev = set(inst.key.reverse if inst.key else ())
        for j, item in enumerate(sc.items):
            item_rows.append(
                {
                    "column": col,
                    "item": item,
                    "item_column": prep.mapping[item],
                    "reversed": item in rev,
                    "mean": float(Y[:, j].mean()),
                    "sd": float(sd[j]),
                    "item_rest_r": rest[j],
                    "alpha_if_deleted": drop[j],
                }
            )
            if rest[j] < 0:
                notes.append(
                    f"{col}: item {item} correlates negatively with the rest of its scale "
                    f"({rest[j]:.2f}); check the reverse key"
                )
    details = {
        "instrument": inst.id,
        "key_status": inst.status,
        "level": level,
        "missing": "complete cases per scale (listwise)",
        "alpha_ci": "Feldt, Woodruff & Salih (1987)",
        "omega": "one-factor ML, omega total = (sum lambda)^2 / ((sum lambda)^2 + sum psi)",
        "notes": notes,
        "n_rows": int(data.shape[0]),
        "version": package_version(),
    }
    return ReliabilityResult(table=pd.DataFrame(rows), details=details, items=pd.DataFrame(item_rows))
