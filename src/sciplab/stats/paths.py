"""Path and mediation models for observed variables, with fast vectorised bootstrap intervals.

Implements recursive (acyclic) path models written in lavaan-style syntax
(:mod:`sciplab.stats.syntax`): several predictors, parallel and serial mediators, several outcomes,
covariates. Each equation is fitted by ordinary least squares; every indirect effect of the model
is enumerated (specific indirect effect per directed path, total indirect and total effect per
X -> Y pair) and reported with delta-method SEs and bootstrap (percentile, BC, BCa) or Monte Carlo
intervals (sources below).

Sources
-------
* Equation-wise OLS of recursive models with uncorrelated residuals = ML for the coefficients
  (Bollen 1989, ch. 4); SE = sqrt(sigma^2 (X'X)^-1), sigma^2 = SSE / (N - k) (Greene 2012).
* Indirect effects as products of coefficients along each path; total effects (I - B)^-1 - I
  (Bollen 1987; Hayes 2022, PROCESS models 4 and 6).
* Delta method for defined parameters: Var f(theta) = J V J', J by central differences
  (lavaan's ``:=``; Sobel 1982).
* Bootstrap: rows resampled once per replicate for all equations (Preacher & Hayes 2008);
  percentile, BC and BCa intervals (Efron 1987) from :mod:`sciplab.stats._bootstrap`.
* Monte Carlo interval: coefficients drawn from N(theta_hat, V_hat) (Preacher & Selig 2012).

Deliberate differences from lavaan (``sem(model, data, fixed.x = TRUE)``)
------------------------------------------------------------------------
* Coefficients are identical. Standard errors are the OLS ones; for a just-identified recursive
  model lavaan's ML SE = OLS SE * sqrt((N - k) / N), k = coefficients in the equation including
  the intercept.
* Residual variances (``y ~~ y``) are reported as SSE / (N - k) (lavaan: SSE / N); their
  ``std_all`` is lavaan's (residual variance / model-implied variance, both with divisor N).
* ``std_all`` of coefficients uses the model-implied variances, as lavaan; ``r2`` rows are the
  OLS R^2 of each equation (equal to lavaan's ``r2`` for just-identified models).
* Residual covariances between outcomes (``y1 ~~ y2``) are the covariances of the OLS residuals;
  covariances among exogenous variables (``x1 ~~ x2``) are sample covariances (divisor N - 1).
* Intercepts are always estimated, shown only when the model asks for them (``y ~ 1``).
* Model fit: an over-identified model (df > 0, some paths fixed at 0) reports lavaan's chi-square,
  df, CFI, TLI, RMSEA (with its 90% CI) and SRMR in ``fit``, computed by refitting the model by
  ML (:func:`sciplab.stats.sem.sem`, N in the likelihood). Its residual variances use divisor N,
  so they are smaller than the OLS ones above by the factor (N - k) / N.

References
----------
Bollen, K. A. (1987). Total, direct, and indirect effects in structural equation models.
*Sociological Methodology, 17*, 37-69.
Efron, B. (1987). Better bootstrap confidence intervals. *JASA, 82*, 171-185.
Hayes, A. F. (2022). *Introduction to mediation, moderation, and conditional process analysis*
(3rd ed.). Guilford.
Preacher, K. J., & Hayes, A. F. (2008). Asymptotic and resampling strategies for assessing and
comparing indirect effects in multiple mediator models. *Behavior Research Methods, 40*, 879-891.
Preacher, K. J., & Selig, J. P. (2012). Advantages of Monte Carlo confidence intervals for
indirect effects. *Communication Methods and Measures, 6*, 77-98.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.apa import apa_p
from sciplab._core.errors import DataError, DataWarning, InvalidParameterError, suggest
from sciplab._core.random import SeedLike
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab._core.validation import check_level, check_replicates, require_frame
from sciplab.stats import _bootstrap as bs
from sciplab.stats._path_boot import BootRun, jackknife, n_statistics
from sciplab.stats._path_boot import mc_draws as mc_draws_of
from sciplab.stats._path_model import MAX_PATHS, _counted_df, _Engine, _Model
from sciplab.stats._path_tables import FIT_COLUMNS, empty_frames, fill_frames, frames, no_fit, table_text
from sciplab.stats.syntax import ParsedModel, parse_model

__all__ = ["PathResult", "paths"]

CI_METHODS = ("percentile", "bc", "bca", "mc", "none")
MISSING_RULES = ("listwise",)
MC_DRAWS = 20_000


# --------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class PathResult(Result):
    """Result of :func:`paths`.

    Attributes
    ----------
    table
        lavaan-style parameter table: ``lhs op rhs label est se z pvalue ci_lower ci_upper std_all
        std_ci_lower std_ci_upper boot_p ci_lower_mcse ci_upper_mcse``. Rows: regressions (``~``),
        intercepts (``~1``, when asked), (residual) (co)variances (``~~``), R^2 (``r2``), the user's
        defined parameters and every indirect/total effect (``:=``).
    details
        n used, rows dropped, B, CI method, level, seed, failed replicates, version, ...
    indirect
        One row per effect: ``effect`` (specific, total_indirect, direct, total), ``from``, ``to``,
        ``path`` (spelled out with arrows) and the same statistics as ``table``.
    model
        The parsed parameter table of the model syntax.
    """

    indirect: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    model: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    fit: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "Path model (equation-wise OLS)"

    def summary(self) -> str:
        """Complete text summary; the only place that rounds.

        Settings, every parameter with its label, R^2, every defined parameter (``:=``) and every
        indirect/total effect, so a command line can print it as is. Numbers to three decimals;
        p-values in APA style (``< .001``, no leading zero).
        """
        d = self.details
        ci = d.get("ci_method")
        level = f"{100 * float(d.get('level', 0.95)):g}%"
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"N = {d.get('n')} (dropped {d.get('n_dropped')} incomplete rows); CI: {ci} {level}"
            + (f", B = {d.get('bootstrap')}, seed = {d.get('seed')}" if d.get("bootstrap") else "")
            + (f", {d.get('mc_draws')} draws, seed = {d.get('seed')}" if d.get("mc_draws") else "")
        )
        if d.get("failed_replicates"):
            lines.append(f"Failed (singular) replicates: {d['failed_replicates']}")
        if len(self.fit) and self.fit["df"].iloc[0] > 0:
            f = self.fit.iloc[0]
            lines.append(
                f"Model fit (ML): chi2({int(f['df'])}) = {f['chisq']:.3f}, p {apa_p(f['pvalue'])}, "
                f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                f"[{f['rmsea.ci.lower']:.3f}, {f['rmsea.ci.upper']:.3f}], SRMR = {f['srmr']:.3f}"
            )
        t = self.table
        sections = [
            ("Regressions", t[t["op"] == "~"], ["lhs", "op", "rhs", "label"]),
            ("Intercepts and means", t[t["op"] == "~1"], ["lhs", "op", "label"]),
            ("Variances and covariances", t[t["op"] == "~~"], ["lhs", "op", "rhs", "label"]),
            ("R-squared", t[t["op"] == "r2"], ["lhs"]),
            ("Defined parameters", t[(t["op"] == ":=") & t["user"]], ["label", "op", "rhs"]),
        ]
        for name, rows, keys in sections:
            if len(rows):
                lines += ["", name, _text_table(rows, keys, r2=name == "R-squared")]
        if len(self.indirect):
            lines += ["", "Indirect and total effects", _text_table(self.indirect, ["effect", "path", "name"])]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"parameters": [...], "indirect": [...], "details": {...}}``."""
        return {
            "parameters": to_jsonable(self.table),
            "indirect": to_jsonable(self.indirect),
            "details": to_jsonable(self.details),
        }

    def _repr_html_(self) -> str:
        fmt = {"float_format": _fmt, "na_rep": "", "index": False}
        items = "".join(
            f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
            for k, v in self.details.items()
            if not isinstance(v, list | dict)
        )
        return (
            f"<h4>{html.escape(self.title)}</h4>{self.table.to_html(**fmt)}"
            f"<h5>Indirect and total effects</h5>{self.indirect.to_html(**fmt)}<ul>{items}</ul>"
        )


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def _text_table(rows: pd.DataFrame, keys: list[str], *, r2: bool = False) -> str:
    """Rows as aligned text: ``keys`` then est, se, z, p (APA), CI and std_all (blank when NaN)."""

    def num(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float | np.floating) and np.isfinite(v) else ""

    out = pd.DataFrame({k: rows[k].astype(str).to_numpy() for k in keys})
    out["est"] = [num(v) for v in rows["est"]]
    if not r2:
        out["se"] = [num(v) for v in rows["se"]]
        out["z"] = [num(v) for v in rows["z"]]
        out["p"] = [apa_p(v) for v in rows["pvalue"]]
    out["ci"] = [f"[{num(lo)}, {num(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else "" for lo, hi in
                 zip(rows["ci_lower"], rows["ci_upper"], strict=True)]  # fmt: skip
    if not r2:
        out["std_all"] = [num(v) for v in rows["std_all"]]
    out = out.loc[:, [c for c in out.columns if c in keys or (out[c] != "").any()]]
    return out.to_string(index=False)


# --------------------------------------------------------------------------------------------
# Model compilation


def _prepare(data: pd.DataFrame, model: _Model, missing: str) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The model's columns as a checked ``(n, p)`` float array, rows in total, rows dropped, column SDs."""
    require_frame(data)
    if missing not in MISSING_RULES:
        raise InvalidParameterError(
            f"missing={missing!r} is not supported; allowed: {', '.join(MISSING_RULES)}"
            " (FIML will come with the SEM engine)"
        )
    labels = data.columns.tolist()
    plain = all(isinstance(c, str) for c in labels)
    cols = labels if plain else [str(c) for c in labels]
    absent = [v for v in model.variables if v not in cols]
    if absent:
        parts = [f"'{v}'{suggest(v, cols)}" for v in absent]
        raise DataError(
            f"variable{'s' if len(absent) > 1 else ''} of the model not found in the data: " + "; ".join(parts)
        )
    kinds = _column_dtypes(data)
    XT = None
    numbers = all(isinstance(d, np.dtype) and d.kind in "fiu" for d in kinds)
    if plain and numbers and len(cols) <= 2 * len(model.variables):
        # plain numpy numbers (none complex, none non-numeric: pandas' type checks below would pass),
        # converted in one call: a view for one block of floats, its rows the columns
        where = {c: j for j, c in enumerate(cols)}
        XT = data.to_numpy(dtype=float).T[[where[v] for v in model.variables]]
        X = np.ascontiguousarray(XT.T)
    else:
        # per-column dtypes and values (a sub-frame, data.loc[:, variables], costs more than the checks)
        dtypes = dict(zip(cols, kinds, strict=True))
        cplx = [v for v in model.variables if pd.api.types.is_complex_dtype(dtypes[v])]
        if cplx:
            shown = ", ".join(f"'{v}' ({dtypes[v]})" for v in cplx)
            raise DataError(
                f"model variables must be real numbers; complex-valued (the imaginary part would be lost): {shown}"
            )
        bad = [
            v
            for v in model.variables
            if not (pd.api.types.is_numeric_dtype(dtypes[v]) or pd.api.types.is_bool_dtype(dtypes[v]))
        ]
        if bad:
            shown = ", ".join(f"'{v}' ({dtypes[v]})" for v in bad)
            raise DataError(f"model variables must be numeric; not numeric: {shown}")
        X = _model_columns(data, model.variables, cols, dtypes)
    complete = bool(np.isfinite(X if XT is None else XT).all())
    if complete and XT is not None:  # largest |value| per column: the same maxima from contiguous rows
        top = _check_magnitude(model.variables, X, top=np.abs(XT).max(axis=1))
    else:
        if not complete:
            X[~np.isfinite(X)] = np.nan
        top = _check_magnitude(model.variables, X)
    n_total = X.shape[0]
    if not complete:
        X = X[~np.isnan(X).any(axis=1)]
    n = X.shape[0]
    dropped = n_total - n
    if n == 0:
        raise DataError(
            f"no complete rows: all {n_total} rows have a missing value in at least one of "
            + ", ".join(model.variables)
        )
    k_max = max(1 + len(eq.free) for eq in model.equations)
    if n <= k_max + 1:
        raise DataError(
            f"too few complete rows: {n} for an equation with {k_max} coefficients (need at least {k_max + 2})"
        )
    sd = X.std(axis=0, ddof=0)
    # zero variance relative to the column's own magnitude (values of 1e-50 can vary; 1e6 +- 1e-9 cannot)
    top = top if not dropped else np.abs(X).max(axis=0)  # largest |value| of the rows used
    const = [v for v, s, t in zip(model.variables, sd, top, strict=True) if not s > 1e-12 * t]
    if const:
        raise DataError(
            f"constant variable{'s' if len(const) > 1 else ''} (zero variance in the {n} rows used): "
            + ", ".join(const)
        )
    if dropped:
        warnings.warn(
            f"{dropped} of {n_total} rows dropped (listwise) for missing values in model variables",
            DataWarning,
            stacklevel=3,
        )
    return X, n_total, dropped, sd


def _column_dtypes(data: pd.DataFrame) -> list[Any]:
    """The columns' dtypes in order.

    From pandas' block manager when it has ``get_dtypes`` (``data.dtypes`` wraps the same array in
    a Series: about 150 Python calls, a tenth of the set-up of a call), else ``data.dtypes``.
    """
    get = getattr(getattr(data, "_mgr", None), "get_dtypes", None)
    if get is not None:
        kinds = list(get())
        if len(kinds) == data.shape[1]:
            return kinds
    return list(data.dtypes)


MAX_MAGNITUDE = 1e75
"""Largest absolute value (and inverse of the smallest non-zero one) a model variable may hold:
variances of residual variances need fourth powers of the data, which leave double precision
(about 1.8e308) beyond this."""


def _model_columns(data: pd.DataFrame, variables: list[str], cols: list[str], dtypes: dict[str, Any]) -> np.ndarray:
    """The model's columns as one C-ordered ``(n, p)`` float array (checked numeric by the caller).

    A frame of plain numpy numbers with string labels and not much wider than the model is
    converted in one call (a view for one block of floats); otherwise column by column (nullable
    dtypes: missing values become NaN). The values are the same either way.
    """
    if len(cols) <= 2 * len(variables) and all(
        isinstance(c, str) and isinstance(dtypes[c], np.dtype) and dtypes[c].kind in "fiu" for c in data.columns
    ):
        where = {c: j for j, c in enumerate(cols)}
        return np.ascontiguousarray(data.to_numpy(dtype=float)[:, [where[v] for v in variables]])
    frame = data.loc[:, variables] if any(not isinstance(c, str) for c in data.columns) else data
    X = np.empty((len(data), len(variables)))
    for j, v in enumerate(variables):
        X[:, j] = frame[v].to_numpy(dtype=float, na_value=np.nan)
    return X


def _check_magnitude(names: list[str], X: np.ndarray, *, top: np.ndarray | None = None) -> np.ndarray:
    """Refuse columns whose values are too large (or all too small) to be squared twice in floats.

    Returns the largest absolute value of each column (missing values ignored).
    """
    top = np.abs(X).max(axis=0) if top is None else top
    if np.isnan(top).any():  # missing values: the largest of the others (-inf for a column without any)
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(X), -np.inf, np.abs(X)), axis=0)
    bad = [(v, t) for v, t in zip(names, top, strict=True) if t > MAX_MAGNITUDE or 0 < t < 1 / MAX_MAGNITUDE]
    if bad:
        shown = ", ".join(f"'{v}' (largest |value| {t:.3g})" for v, t in bad)
        raise DataError(
            f"values outside the range double precision can analyse (|value| between {1 / MAX_MAGNITUDE:g} and "
            f"{MAX_MAGNITUDE:g}) in {shown}; rescale these columns (e.g. change their units) before fitting"
        )
    return top


def _check_collinear(model: _Model, moments: np.ndarray) -> None:
    """Refuse an equation whose predictors are perfectly collinear.

    ``moments`` are the engine's full moments of the standardized variables
    (:meth:`_Engine.full_moments`), so their lower-right block over ``N`` is the correlation matrix.
    """
    corr = moments[1:, 1:] / moments[0, 0]
    for eq in model.equations:
        if len(eq.free) < 2:
            continue
        idx = [model.index[v] for v in eq.free]
        w, v = np.linalg.eigh(corr[np.ix_(idx, idx)])
        if w[0] < 1e-10:
            involved = [eq.free[j] for j in np.flatnonzero(np.abs(v[:, 0]) > 1e-3)]
            raise DataError(
                f"perfectly collinear predictors in the equation for '{eq.y}': "
                + ", ".join(involved)
                + " (one is a linear combination of the others); drop or combine one of them"
            )


# --------------------------------------------------------------------------------------------
# Public function


def paths(
    data: pd.DataFrame,
    model: str | ParsedModel,
    *,
    bootstrap: int = 5000,
    ci: str = "percentile",
    level: float = 0.95,
    seed: SeedLike = None,
    standardize: bool = True,
    missing: str = "listwise",
    chunk_size: int | None = None,
    mc_draws: int = MC_DRAWS,
    max_paths: int = MAX_PATHS,
    progress: Callable[[int, int], None] | None = None,
) -> PathResult:
    """Fit a recursive path (mediation) model by equation-wise OLS with bootstrap intervals.

    Parameters
    ----------
    data
        One row per person; model variables are columns (numeric).
    model
        lavaan-style syntax (``~``, ``~~``, ``~1``, labels, fixed values, ``:=``) or a
        :class:`~sciplab.stats.syntax.ParsedModel`.
    bootstrap
        Number of bootstrap replicates B (resampling rows once per replicate for all equations).
        Ignored for ``ci="mc"`` and ``ci="none"``.
    ci
        ``"percentile"`` (default), ``"bc"`` (bias-corrected; inflates Type I error at small N),
        ``"bca"`` (bias-corrected and accelerated, jackknife acceleration), ``"mc"`` (Monte Carlo,
        Preacher & Selig 2012; ``mc_draws`` draws of the coefficients) or ``"none"`` (normal-theory
        Wald intervals, no resampling).
    level
        Confidence level in (0, 1).
    seed
        Integer, Generator or None (a fresh seed is drawn and recorded in ``details["seed"]``).
    standardize
        Compute fully standardized estimates (``std_all``) and their intervals.
    missing
        ``"listwise"``: rows with a missing value in any model variable are dropped (and counted).
    chunk_size
        Replicates per batch (memory bound); by default about 500 MB per batch. Results do not
        depend on it.
    max_paths
        Most specific indirect paths to enumerate (default :data:`MAX_PATHS`); a model with more
        (their number grows exponentially with the mediators) is refused with the count.
    mc_draws
        Number of Monte Carlo draws for ``ci="mc"``: draws of the coefficients from their
        estimated normal sampling distribution, not resamples of the rows, hence a name of its own
        (``bootstrap`` counts resamples and is ignored for ``ci="mc"``).
    progress
        Optional callback ``progress(done, total)`` called after each batch of replicates.

    Returns
    -------
    PathResult
        ``.table`` (lavaan parameter table plus standardized estimates, bootstrap p-values and the
        Monte Carlo SE of each interval endpoint), ``.indirect``, ``.details``, ``.summary()``.

    Raises
    ------
    DataError
        Missing or non-numeric variables, constant or collinear predictors, too few rows.
    InvalidParameterError
        Unknown CI method, bad B or level, latent variables, non-recursive models.
    ModelSyntaxError
        Syntax errors in ``model``.

    Notes
    -----
    Coefficients equal lavaan's ML estimates (``sem(model, data)``, ``fixed.x = TRUE``) for
    recursive models; lavaan's SE = OLS SE * sqrt((N - k) / N) with k the number of coefficients of
    the equation including the intercept. Specific indirect effect = product of the coefficients
    along a path; total effect = direct + sum of specific indirect effects. Delta-method SEs:
    Var f = J V J' with a central-difference Jacobian and V block-diagonal across equations.
    Bootstrap p-value: p = min(1, 2 min(#{theta* > 0}, #{theta* < 0}) / B) (approximate).
    Matches R: ``lavaan::sem(model, data, se = "bootstrap")`` point estimates and, within Monte
    Carlo error, bootstrap intervals.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=200); m = 0.5 * x + rng.normal(size=200)
    >>> y = 0.4 * m + 0.1 * x + rng.normal(size=200)
    >>> df = pd.DataFrame({"x": x, "m": m, "y": y})
    >>> res = paths(df, "m ~ a*x; y ~ b*m + x; ab := a*b", bootstrap=500, seed=1)
    >>> row = res.table.set_index("lhs").loc["ab"]
    >>> bool(row["ci_lower"] > 0)
    True
    >>> res.indirect["path"].iloc[0]
    'x → m → y'
    """
    ci = str(ci).lower() if isinstance(ci, str) else ci
    if ci not in CI_METHODS:
        raise InvalidParameterError(
            f"ci must be one of {', '.join(CI_METHODS)}, got {ci!r}{suggest(str(ci), CI_METHODS)}"
        )
    level = check_level(level)
    B = check_replicates(bootstrap, name="bootstrap")
    if ci in ("percentile", "bc", "bca") and B == 0:
        raise InvalidParameterError(
            f"bootstrap=0 skips resampling, but ci={ci!r} needs replicates; use ci='none' (Wald) "
            "or ci='mc' (Monte Carlo)"
        )
    if ci in ("percentile", "bc", "bca") and B < 100:
        raise InvalidParameterError(
            f"bootstrap={B} replicates are too few for {ci} intervals; use at least 1,000 (default 5,000)"
        )
    mc_draws = check_replicates(mc_draws, name="mc_draws", allow_zero=False)
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer) or chunk_size < 1
    ):
        raise InvalidParameterError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    max_paths = check_replicates(max_paths, name="max_paths", allow_zero=True)
    if isinstance(model, ParsedModel):
        parsed, spec = model, _Model(model, max_paths)
    elif isinstance(model, str):
        parsed, spec = _compile(model, max_paths)
    else:
        raise InvalidParameterError(
            f"model must be lavaan-style syntax (str) or a ParsedModel, got {type(model).__name__}"
        )
    n_stats = n_statistics(spec)
    if ci in ("percentile", "bc", "bca"):  # replicate estimates (and standardized), blocks gathered
        bs.check_memory(B, n_stats, arrays=3 if standardize else 2, name="bootstrap")
    elif ci == "mc":
        bs.check_memory(mc_draws, n_stats, arrays=3, name="mc_draws")
    X, n_total, dropped, sd = _prepare(data, spec, missing)
    n = X.shape[0]
    engine = _Engine(spec, X, sd=sd)
    seed_used: int | None = None
    boot: BootRun | None = None
    if ci in ("percentile", "bc", "bca"):
        seed_used = bs.resampling_seed(seed)
        # the resampling threads start now: everything up to boot.finish() runs while they draw
        # (an error raised meanwhile cancels them, below)
        boot = BootRun(engine, spec, B, seed_used, chunk_size)
    elif ci == "mc":
        seed_used = bs.resampling_seed(seed)
    try:
        moments = engine.full_moments()
        _check_collinear(spec, moments)
        if ci == "bc" and n < 500:
            warnings.warn(
                f"bias-corrected (BC) bootstrap intervals inflate Type I error at small N (n = {n}; "
                "Fritz, Taylor & MacKinnon 2012); consider ci='percentile'",
                DataWarning,
                stacklevel=2,
            )
        return _estimate(
            data_shape=(n, n_total, dropped),
            X=X,
            parsed=parsed,
            spec=spec,
            engine=engine,
            moments=moments,
            boot=boot,
            ci=ci,
            level=level,
            B=B,
            seed_used=seed_used,
            standardize=standardize,
            missing=missing,
            chunk_size=chunk_size,
            mc_draws=mc_draws,
            progress=progress,
        )
    finally:
        if boot is not None:
            boot.cancel()


def _estimate(
    *,
    data_shape: tuple[int, int, int],
    X: np.ndarray,
    parsed: ParsedModel,
    spec: _Model,
    engine: _Engine,
    moments: np.ndarray,
    boot: BootRun | None,
    ci: str,
    level: float,
    B: int,
    seed_used: int | None,
    standardize: bool,
    missing: str,
    chunk_size: int | None,
    mc_draws: int,
    progress: Callable[[int, int], None] | None,
) -> PathResult:
    """The point estimates, intervals and result of :func:`paths` (a bootstrap, if any, is running)."""
    n, n_total, dropped = data_shape
    full = engine.compute(moments[None], ols_cov=True)
    est, std = full["est"][0], full["std"][0]
    user_est, eff_est = spec.derived(full["est"])
    user_std, eff_std = spec.derived(full["std"])
    V = _param_cov(spec, full, n)
    se = np.sqrt(np.clip(np.diagonal(V), 0, None))
    se[np.diagonal(V) <= 0] = np.nan
    d_se = _delta_se(spec, est, V)

    P = len(spec.params)
    n_eq = len(spec.equations)
    point = np.concatenate([est, full["r2"][0], user_est[0], eff_est[0]])
    point_std = np.concatenate([std, full["r2"][0], user_std[0], eff_std[0]])
    se_all = np.concatenate([se, np.full(n_eq, np.nan), d_se])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = point / se_all
    pval = 2 * bs.norm_cdf(-np.abs(z))  # normal upper tail, as scipy.stats.norm.sf
    if ci == "bca":  # the jackknife runs while the bootstrap does
        jack, jack_std = jackknife(engine, spec, chunk_size)
        acc, acc_std = bs.jackknife_acceleration(jack), bs.jackknife_acceleration(jack_std)
    else:
        acc = acc_std = np.zeros(point.size)
    fit = _fit_indices(X, spec, parsed)
    model_table = _model_table(spec)
    text = table_text(spec)
    ci_name = {"none": "wald", "mc": "monte carlo"}.get(ci, ci)
    details = {
        "n": n,
        "n_total": n_total,
        "n_dropped": dropped,
        "missing": missing,
        "ci_method": ci_name,
        "level": level,
        "bootstrap": B if ci in ("percentile", "bc", "bca") else 0,
        "mc_draws": mc_draws if ci == "mc" else 0,
        "seed": seed_used,
        "failed_replicates": 0,
        "standardize": bool(standardize),
        "estimator": "OLS (equation-wise)",
        "se": "normal theory (OLS)",
        "variables": list(spec.variables),
        "exogenous": list(spec.exo),
        "outcomes": list(spec.endo),
        "r2": {eq.y: float(full["r2"][0, e]) for e, eq in enumerate(spec.equations)},
        "model": parsed.source.strip(),
        "version": _package_version(),
    }
    if len(fit):
        details["fit"] = {k: float(v) for k, v in fit.iloc[0].items()}

    nan = np.full(point.size, np.nan)
    ci_lo = ci_hi = std_lo = std_hi = boot_p = mc_lo = mc_hi = nan
    alpha = 1 - level
    if not standardize:
        point_std = nan
    stats = {
        "est": point, "se": se_all, "z": z, "pvalue": pval, "ci_lower": ci_lo, "ci_upper": ci_hi,
        "std_all": point_std, "std_ci_lower": std_lo, "std_ci_upper": std_hi, "boot_p": boot_p,
        "ci_lower_mcse": mc_lo, "ci_upper_mcse": mc_hi,
    }  # fmt: skip
    start = P + n_eq + len(spec.user_defined)
    made = empty_frames(text, point.size, start)  # the frames, built while the bootstrap runs
    if boot is not None:
        rows, failed = boot.finish(progress, standardize)
        details["failed_replicates"] = failed
        # every statistic's interval, endpoint MC SEs and p-value from its row of replicates, with
        # only the order statistics read put in place (raw and standardized rows in two threads)
        counts = bs.finite_counts(rows)
        D = point.size
        # raw and standardized statistics side by side: one vectorised pass for both (per column, so
        # the same values as two passes); the standardized rows keep only their interval
        if standardize:
            estimate, acceleration = np.concatenate([point, point_std]), np.concatenate([acc, acc_std])
        else:
            estimate, acceleration = point, acc
        if ci == "percentile":
            probs = np.array([alpha / 2, 1 - alpha / 2])
        else:  # counts of replicates below the estimate: the order does not matter
            probs = bs.bca_probs_rows(rows, counts, estimate, acceleration, level)
        summ = bs.select_summary_rows(rows, counts, estimate, probs, threads=bs.default_threads())
        stats["ci_lower"], stats["ci_upper"] = summ["ci"][:, :D]
        stats["ci_lower_mcse"], stats["ci_upper_mcse"] = summ["mcse"][:, :D]
        stats["boot_p"] = summ["pvalue"][:D]
        if standardize:
            stats["std_ci_lower"], stats["std_ci_upper"] = summ["ci"][:, D:]
        if failed:
            warnings.warn(
                f"{failed} of {B} bootstrap replicates were singular (a predictor without variance "
                "or collinear in the resample) and were dropped",
                DataWarning,
                stacklevel=3,
            )
    elif ci == "mc":
        assert seed_used is not None  # drawn by paths() for ci="mc"
        draws = mc_draws_of(spec, est, V, mc_draws, seed_used)
        ci_lo, ci_hi = bs.percentile_ci(draws, level)
        mc_lo, mc_hi = bs.endpoint_mcse(draws, np.array([alpha / 2, 1 - alpha / 2]))
        for i, prm in enumerate(spec.params):
            if not (prm.kind in ("reg", "int", "resvar") and math.isnan(prm.fixed)):
                ci_lo[i] = ci_hi[i] = mc_lo[i] = mc_hi[i] = np.nan
        ci_lo[P : P + n_eq] = ci_hi[P : P + n_eq] = np.nan
        stats.update(ci_lower=ci_lo, ci_upper=ci_hi, ci_lower_mcse=mc_lo, ci_upper_mcse=mc_hi)
    else:
        zc = float(bs.norm_ppf(1 - alpha / 2))
        stats.update(ci_lower=point - zc * se_all, ci_upper=point + zc * se_all)
    table, indirect = frames(text, stats, start) if made is None else fill_frames(made, stats, start)
    return PathResult(table=table, details=details, indirect=indirect, model=model_table, fit=fit)


def _fit_indices(X: np.ndarray, spec: _Model, parsed: ParsedModel) -> pd.DataFrame:
    """Lavaan's fit measures of an over-identified model by ML (empty when the model is saturated)."""
    from sciplab._core.errors import SciplabError

    saturated = spec.__dict__.get("_saturated")
    if saturated is None:  # counted once per compiled model (compiled models are cached by their text)
        saturated = spec.__dict__["_saturated"] = _counted_df(spec.parsed) == 0
    if saturated:  # no fit measures, and no ML refit to find that out
        return no_fit()
    from sciplab.stats.sem import sem

    frame = pd.DataFrame(X, columns=list(spec.variables))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sem(frame, parsed, std=False)
    except SciplabError:  # a model the ML engine cannot fit: no fit measures, the OLS results stand
        return pd.DataFrame(columns=FIT_COLUMNS)
    if res.fit["df"].iloc[0] <= 0:
        return pd.DataFrame(columns=FIT_COLUMNS)
    return res.fit[FIT_COLUMNS].reset_index(drop=True)


def _model_table(spec: _Model) -> pd.DataFrame:
    """A copy of the model's parameter table.

    Copied from a consolidated copy kept per compiled model: the same frame, a third of the cost.
    """
    table = spec.__dict__.get("_model_table")
    if table is None:
        table = spec.__dict__["_model_table"] = spec.parsed.table.copy()
    return table.copy()


@functools.cache
def _package_version() -> str:
    return package_version()


@functools.lru_cache(maxsize=64)
def _compile(source: str, max_paths: int = MAX_PATHS) -> tuple[ParsedModel, _Model]:
    # parsing and compiling are pure functions of the text; cached (results never mutate them)
    parsed = parse_model(source)
    return parsed, _Model(parsed, max_paths)


def _param_cov(spec: _Model, full: Mapping[str, Any], n: int) -> np.ndarray:
    """Block-diagonal sampling covariance of the table's parameters (0 = no SE)."""
    P = len(spec.params)
    V = np.zeros((P, P))
    est = full["est"][0]
    for e, eq in enumerate(spec.equations):
        cov = full["eq_cov"][e]
        rows = [eq.int_row if eq.int_row is not None else -1] + eq.free_rows
        for a, ra in enumerate(rows):
            for b, rb in enumerate(rows):
                if ra >= 0 and rb >= 0:
                    V[ra, rb] = cov[a, b]
        k = 1 + len(eq.free)
        for i, prm in enumerate(spec.params):
            if prm.kind == "resvar" and prm.lhs == eq.y:
                V[i, i] = 2 * est[i] ** 2 / (n - k)
    for i, prm in enumerate(spec.params):
        if prm.kind == "mean":  # SE of a sample mean, ML variance / n
            V[i, i] = full["sd"][spec.index[prm.lhs]] ** 2 / n
    return V


def _delta_se(spec: _Model, est: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Delta-method SEs of user-defined parameters and effects (central-difference Jacobian)."""
    free = np.flatnonzero(np.diagonal(V) > 0)
    h = 1e-6 * np.maximum(1.0, np.abs(est[free]))
    pert = np.repeat(est[None, :], 2 * free.size, axis=0)
    pert[np.arange(free.size), free] += h
    pert[free.size + np.arange(free.size), free] -= h
    up, ef = spec.derived(pert)
    vals = np.concatenate([up, ef], axis=1)
    if vals.shape[1] == 0:
        return np.zeros(0)
    J = (vals[: free.size] - vals[free.size :]) / (2 * h[:, None])  # (k, D)
    Vf = V[np.ix_(free, free)]
    var = np.einsum("kd,kl,ld->d", J, Vf, J)
    return np.sqrt(np.clip(var, 0, None))
