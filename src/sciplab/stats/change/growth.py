"""Multilevel growth model of session-by-session scores (statsmodels ``MixedLM``).

Implements :func:`growth_model`: ``y_ti = b0 + b1 time_ti + sum b_p x_p + (u0i + u1i time_ti) + e_ti``
on ``ln(t + 1)`` (Finch, Lambert & Schaalje 2001) or ``t``, with person-mean-centred within/between
decomposition of time-varying predictors; ``MixedLM.fit(method="lbfgs")``. Convergence problems are
reported in ``details`` and as :class:`sciplab.ConvergenceWarning`.

Deliberate difference from lavaan: one residual variance (statsmodels ``MixedLM``); lavaan's
``growth()`` frees one residual variance per wave, so estimates agree closely, not exactly.

Sources
-------
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: The
statistical generation of expected recovery curves. *Clin Psychol Psychother, 8*, 231-242.
Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical linear models: Applications and data
analysis methods* (2nd ed.). Sage. (Random intercept and slope growth models, ch. 6.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as st

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_level
from sciplab.stats.change._mixed import _fit_mixed
from sciplab.stats.change.sessions import _long, _time

__all__ = ["GrowthResult", "growth_model"]


@dataclasses.dataclass(frozen=True)
class GrowthResult(Result):
    """Multilevel growth model: parameter table (lavaan-style columns) and convergence in ``details``."""

    title: ClassVar[str] = "Multilevel growth model (MixedLM)"

    def summary(self) -> str:
        """Parameter table, variance components, convergence."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['measure']} ~ {d['time_label']}: {d['n_obs']} observations, {d['n_clients']} clients; "
            f"{'REML' if d['reml'] else 'ML'}, log-likelihood {d['llf']:.3f}"
        )
        cols = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "ci_lower", "ci_upper"]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append("converged" if d["converged"] else "CONVERGENCE PROBLEMS: " + "; ".join(d["convergence_messages"]))
        return "\n".join(lines)


def growth_model(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    measure: str,
    time: Literal["log", "linear"] = "log",
    predictors: Sequence[str] = (),
    within_between: Sequence[str] = (),
    random_slope: bool = True,
    reml: bool = True,
    level: float = 0.95,
    date: str | None = None,
) -> GrowthResult:
    """Multilevel growth model with random intercept (and slope) and within/between decomposition.

    Parameters
    ----------
    data
        Long data, one row per client and session.
    client, session, measure
        Column names.
    time
        ``"log"`` (``ln(session + 1)``, Finch et al. 2001) or ``"linear"`` (``session``).
    predictors
        Further columns entered as they are (client-level or time-varying).
    within_between
        Time-varying columns split into ``<col>_between`` (client mean) and ``<col>_within``
        (deviation from the client mean): person-mean centring.
    random_slope
        Random slope of time (with intercept-slope covariance) besides the random intercept.
    reml
        REML (default) or ML.
    level
        Confidence level of the Wald intervals.
    date
        Optional date column (checked for order).

    Returns
    -------
    GrowthResult
        ``.table`` (lavaan parameter-table columns: ``lhs op rhs label est se z pvalue ci_lower
        ci_upper std_all``; fixed effects ``~``, variance components ``~~``); ``.details`` with
        ``converged`` and ``convergence_messages``. Problems also raise
        :class:`sciplab.ConvergenceWarning`.

    Notes
    -----
    ``y_ti = b0 + b1 time_ti + sum b_p x_p + (u0i + u1i time_ti) + e_ti``; statsmodels
    ``MixedLM.fit(method="lbfgs")``. Rows with a missing value in any model column are dropped
    (counted in ``details``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(0, 1, 40)
    >>> df = pd.DataFrame([(c, t, 10 + u[c] - 0.5 * t + rng.normal(0, 0.5)) for c in range(40) for t in range(6)],
    ...                   columns=["id", "s", "y"])
    >>> r = growth_model(df, client="id", session="s", measure="y", time="linear", random_slope=False)
    >>> round(float(r.table.set_index("rhs").loc["time", "est"]), 1)
    -0.5
    """
    if time not in ("log", "linear"):
        raise InvalidParameterError(f"time must be 'log' or 'linear', got {time!r}")
    check_level(level)
    preds, wb = list(predictors), list(within_between)
    clash = set(preds) & set(wb)
    if clash:
        raise InvalidParameterError(f"columns {sorted(clash)} are in both predictors and within_between")
    long = _long(data, client=client, session=session, values=[measure, *preds, *wb], date=date)
    n_all = len(long)
    long = long.dropna(subset=[measure, *preds, *wb])
    counts = long.groupby("client", sort=False).size()
    if len(counts) < 2:
        raise DataError(f"a growth model needs at least 2 clients with data; the data have {len(counts)}")
    if counts.max() < 2:
        raise DataError("every client has only one session: a growth model needs repeated measures")
    t = _time(long["session"], time)
    X = pd.DataFrame({"intercept": 1.0, "time": t}, index=long.index)
    for p in preds:
        X[p] = long[p]
    for w in wb:
        mean = long.groupby("client", sort=False)[w].transform("mean")
        X[f"{w}_between"] = mean
        X[f"{w}_within"] = long[w] - mean
    Z = X[["intercept", "time"]] if random_slope else X[["intercept"]]
    X, Z = X.reset_index(drop=True), Z.reset_index(drop=True)
    fit = _fit_mixed(long[measure].to_numpy(), X, Z, long["client"].to_numpy(), reml=reml, what="growth model")
    zc = float(st.norm.ppf(1 - (1 - level) / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        zval = fit.fe / fit.bse_fe
    rows = []
    for name, est, se, zv in zip(fit.fe_names, fit.fe, fit.bse_fe, zval, strict=True):
        rows.append(
            {
                "lhs": measure, "op": "~" if name != "intercept" else "~1", "rhs": "" if name == "intercept" else name,
                "label": name, "est": est, "se": se, "z": zv, "pvalue": 2 * st.norm.sf(abs(zv)),
                "ci_lower": est - zc * se, "ci_upper": est + zc * se, "std_all": np.nan,
            }
        )  # fmt: skip
    for i, ri in enumerate(fit.re_names):
        for j in range(i, len(fit.re_names)):
            rj = fit.re_names[j]
            rows.append(
                {
                    "lhs": f"{client}:{ri}", "op": "~~", "rhs": f"{client}:{rj}", "label": f"G[{ri},{rj}]",
                    "est": fit.cov_re[i, j], "se": np.nan, "z": np.nan, "pvalue": np.nan,
                    "ci_lower": np.nan, "ci_upper": np.nan, "std_all": np.nan,
                }
            )  # fmt: skip
    rows.append(
        {
            "lhs": measure, "op": "~~", "rhs": measure, "label": "residual", "est": fit.sigma2, "se": np.nan,
            "z": np.nan, "pvalue": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "std_all": np.nan,
        }
    )  # fmt: skip
    details = {
        "measure": measure,
        "time": time,
        "time_label": "ln(session + 1)" if time == "log" else "session",
        "predictors": preds,
        "within_between": wb,
        "random": fit.re_names,
        "reml": reml,
        "estimator": "statsmodels MixedLM, method='lbfgs'",
        "level": level,
        "llf": fit.llf,
        "n_obs": fit.n_obs,
        "n_clients": fit.n_groups,
        "n_dropped_missing": int(n_all - len(long)),
        "converged": fit.converged,
        "convergence_messages": fit.messages,
        "centring": "person-mean (within = x - client mean; between = client mean)" if wb else None,
        "sources": ["Finch, Lambert & Schaalje (2001)", "Raudenbush & Bryk (2002)"],
        "version": package_version(),
    }
    return GrowthResult(table=pd.DataFrame(rows), details=details)
