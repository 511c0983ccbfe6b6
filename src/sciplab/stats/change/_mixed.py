"""Mixed-model fitting shared by the growth model and the expected-treatment-response reference.

statsmodels ``MixedLM`` fitted by L-BFGS; every warning statsmodels raises is collected as a message,
a random-effects covariance on the boundary (a variance near 0 or a correlation near +-1) is
reported, and problems surface once as :class:`sciplab.ConvergenceWarning`.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from statsmodels.regression.mixed_linear_model import MixedLM

from sciplab._core.errors import ConvergenceWarning, DataError


@dataclasses.dataclass
class _MixedFit:
    fe: np.ndarray
    fe_names: list[str]
    cov_fe: np.ndarray
    bse_fe: np.ndarray
    cov_re: np.ndarray
    re_names: list[str]
    sigma2: float
    converged: bool
    messages: list[str]
    llf: float
    n_obs: int
    n_groups: int


def _fit_mixed(
    y: np.ndarray,
    X: pd.DataFrame,
    Z: pd.DataFrame,
    groups: np.ndarray,
    *,
    reml: bool = True,
    what: str = "mixed model",
    stacklevel: int = 3,
) -> _MixedFit:
    """Fit ``MixedLM(y, X, groups, exog_re=Z)`` by L-BFGS, collecting every warning as a message."""
    model = MixedLM(np.asarray(y, float), X, groups=np.asarray(groups), exog_re=Z)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(method="lbfgs", reml=reml)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise DataError(f"{what}: the model cannot be estimated on these data ({exc})") from None
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    converged = bool(getattr(res, "converged", True))
    cov_re = np.asarray(res.cov_re, float)
    if not converged and not any("converge" in m.lower() for m in messages):
        messages.append("optimizer reported non-convergence")
    if cov_re.size:
        var = np.diag(cov_re)
        tiny = var <= 1e-6 * max(float(res.scale), 1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov_re / np.sqrt(np.outer(var, var))
        off = np.abs(corr[~np.eye(len(var), dtype=bool)])
        if tiny.any() or (off.size and np.nanmax(off) > 0.999):
            messages.append(
                "random-effects covariance is singular (a variance near 0 or a correlation near +-1: "
                "on the boundary); simplify the random part"
            )
    fe_names = list(X.columns)
    k = len(fe_names)
    cov_all = np.asarray(res.cov_params(), float)
    cov_fe = cov_all[:k, :k]
    if messages:
        warnings.warn(f"{what}: {'; '.join(messages)}", ConvergenceWarning, stacklevel=stacklevel)
    return _MixedFit(
        fe=np.asarray(res.fe_params, float),
        fe_names=fe_names,
        cov_fe=cov_fe,
        bse_fe=np.asarray(res.bse_fe, float),
        cov_re=cov_re,
        re_names=list(Z.columns),
        sigma2=float(res.scale),
        converged=converged and not messages,
        messages=messages,
        llf=float(res.llf),
        n_obs=int(len(y)),
        n_groups=int(len(np.unique(groups))),
    )
