"""Latent-variable structural equation models: ``sem``, ``cfa``, ``growth`` (lavaan's defaults).

Normal-theory ML on the covariance (and mean) structure, fitted by Fisher scoring with analytic
gradients (:mod:`._ml`); SEs from the expected or observed information, robust (MLR: sandwich
SEs and the Yuan-Bentler scaled statistic), or the case bootstrap with all replicates refitted in
batches (:mod:`._boot`); FIML for incomplete data; several groups with equality constraints.

Deliberate differences from lavaan
----------------------------------
* One optimiser (Fisher scoring with step halving) instead of ``nlminb``: same minimum, the
  iteration counts differ.
* Inequality constraints (``<``, ``>``) are imposed by an active set: a violated constraint is
  refitted as an equality, and then counts in ``npar``/``df`` (lavaan does not count them).
* Under FIML exogenous observed predictors are modelled (``fixed.x = FALSE``).

References
----------
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software, 48*(2). https://doi.org/10.18637/jss.v048.i02
Bollen, K. A. (1989). *Structural equations with latent variables.* Wiley.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import ConvergenceWarning, DataWarning, InvalidParameterError
from sciplab._core.random import SeedLike
from sciplab._core.results import package_version
from sciplab._core.validation import check_level, check_replicates, require_frame
from sciplab.stats.sem import _data, _fit, _ml, _post
from sciplab.stats.sem._result import TABLE_COLUMNS, SEMResult
from sciplab.stats.sem._spec import Design, Spec, build, check_columns
from sciplab.stats.syntax import ParsedModel, parse_model

__all__ = ["cfa", "growth", "sem"]

ESTIMATORS = ("ml", "mlr")
MISSING = ("listwise", "fiml")
SE_TYPES = ("expected", "observed", "robust", "bootstrap")
CI_TYPES = ("normal", "percentile", "bc", "bca")


def _choice(value: Any, allowed: tuple[str, ...], name: str) -> str:
    text = str(value).lower() if isinstance(value, str) else value
    if text == "ml" and name == "missing":
        text = "fiml"
    if text not in allowed:
        raise InvalidParameterError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(text)


def sem(
    data: pd.DataFrame,
    model: str | ParsedModel,
    *,
    estimator: str = "ml",
    missing: str = "listwise",
    group: str | None = None,
    group_equal: tuple[str, ...] | list[str] | str = (),
    se: str | None = None,
    bootstrap: int | None = None,
    ci: str | None = None,
    level: float = 0.95,
    seed: SeedLike = None,
    std: bool = True,
    bollen_stine: bool = True,
    progress: Any = None,
    _kind: str = "sem",
) -> SEMResult:
    """Fit a structural equation model written in lavaan syntax.

    Parameters
    ----------
    data
        One row per case; the observed variables of the model as numeric columns.
    model
        lavaan model syntax (``=~ ~ ~~ ~1 := == < >``, labels, fixed and start values, ``NA*``,
        ``c(...)`` per group) or a parsed model.
    estimator
        ``"ml"`` (normal-theory maximum likelihood) or ``"mlr"`` (ML estimates, Huber-White
        sandwich SEs, Yuan-Bentler scaled test and scaled fit indices; implies a mean structure).
    missing
        ``"listwise"`` (complete rows) or ``"fiml"`` (full-information ML on all rows with at
        least one value; also ``"ml"`` as in lavaan).
    group
        Column defining groups (multigroup model; groups in order of appearance).
    group_equal
        Parameter types constrained equal across groups: ``loadings intercepts means residuals
        residual.covariances lv.variances lv.covariances regressions``.
    se
        ``"expected"`` (default for complete-data ML), ``"observed"`` (default under FIML),
        ``"robust"`` (default for MLR) or ``"bootstrap"``.
    bootstrap
        Replicates for ``se="bootstrap"`` (default 1000); the Bollen-Stine p-value of the test
        statistic comes from the same number of model-based replicates.
    ci
        ``"normal"`` (Wald; default) or, with the bootstrap, ``"percentile"`` (default), ``"bc"``,
        ``"bca"``.
    level
        Confidence level of the intervals.
    seed
        Seed of the bootstrap (recorded in ``details``).
    std
        Compute the standardized solution with delta-method SEs (``result.std``).
    bollen_stine
        With ``se="bootstrap"``, also bootstrap the test statistic (Bollen-Stine p-value in
        ``fit["pvalue.bollen.stine"]``; doubles the work). Complete data only: under FIML the
        bootstrap gives SEs and intervals, no Bollen-Stine p-value.
    progress
        With ``se="bootstrap"``, a callable ``progress(done, total)`` called after each batch of
        replicates (the CLI draws a progress bar with it).

    Returns
    -------
    SEMResult
        ``.table`` (lavaan parameter table), ``.fit`` (one row of fit measures), ``.std``,
        ``.modindices()``, ``.summary()``, ``.details``.

    Notes
    -----
    ``chisq = N F_ML`` with N (lavaan's ``likelihood = "normal"``); residual variances therefore
    use divisor N, where OLS uses N - k (see :func:`sciplab.paths`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.standard_normal(300)
    >>> d = pd.DataFrame({f"x{i}": f + rng.standard_normal(300) for i in (1, 2, 3)})
    >>> fit = sem(d, "f =~ x1 + x2 + x3")
    >>> int(fit.fit["df"].iloc[0]), fit.table.loc[0, ["lhs", "op", "rhs"]].tolist(), float(fit.table.loc[0, "est"])
    (0, ['f', '=~', 'x1'], 1.0)

    Matches R: ``lavaan::sem(model, data)`` (``cfa()``, ``growth()`` for the other defaults).
    """
    require_frame(data)
    estimator = _choice(estimator, ESTIMATORS, "estimator")
    missing = _choice(missing, MISSING, "missing")
    level = check_level(level)
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    group_equal = tuple(group_equal)
    if se is None:
        se = "robust" if estimator == "mlr" else ("observed" if missing == "fiml" else "expected")
    se = _choice(se, SE_TYPES, "se")
    if se == "bootstrap":
        bootstrap = 1000 if bootstrap is None else check_replicates(bootstrap, allow_zero=False)
        ci = "percentile" if ci is None else _choice(ci, CI_TYPES, "ci")
    else:
        if bootstrap:
            raise InvalidParameterError("bootstrap replicates need se='bootstrap'")
        ci = "normal" if ci is None else _choice(ci, CI_TYPES, "ci")
        if ci != "normal":
            raise InvalidParameterError(f"ci={ci!r} needs se='bootstrap'; without the bootstrap intervals are 'normal'")
    if se == "bootstrap" and missing == "fiml" and ci == "bca":
        raise InvalidParameterError(
            "ci='bca' needs leave-one-out refits, which are implemented for complete data only; with "
            "missing='fiml' use ci='percentile' or ci='bc'"
        )
    parsed = model if isinstance(model, ParsedModel) else parse_model(model)
    if parsed.table[parsed.table["op"].isin(["=~", "~", "~~", "~1"])].empty:
        raise InvalidParameterError("the model has no parameters (no =~, ~, ~~ or ~1 statement)")
    check_columns(parsed, data)
    from sciplab.stats.sem._spec import variables

    observed, latent = variables(parsed)
    groups, X, dropped = _data.prepare(data, observed, group=group, missing=missing)
    if not groups:
        raise InvalidParameterError("no usable rows: every row misses a model variable")
    for lab, x in zip(groups, X, strict=True):
        _data.check_group(x, observed, lab, missing=missing, ngroups=len(groups))
    if len(groups) == 1 and group_equal:
        raise InvalidParameterError("group_equal needs a group column with at least two groups")
    ntotal = int(sum(len(x) for x in X))
    meanstructure = (
        bool((parsed.table["op"] == "~1").any())
        or missing == "fiml"
        or len(groups) > 1
        or _kind == "growth"
        or estimator == "mlr"
    )
    if missing == "fiml":
        blocks, patterns = _data.pattern_blocks(X, ntotal)
        em = [_data.em_moments(x) for x in X]
        means, covs = [m[0] for m in em], [m[1] for m in em]
    else:
        blocks, means, covs = _data.complete_blocks(X, ntotal)
        patterns = [1] * len(groups)
    spec = build(
        parsed,
        groups=groups,
        kind=_kind,
        meanstructure=meanstructure,
        group_equal=group_equal,
        fixed_x=missing != "fiml",
        sample=list(zip(means, covs, strict=True)),
    )
    phi0 = _post.starts(spec, means, covs)
    _post.check_identified(spec, phi0)
    sol = _ml.fisher_scoring(spec.designs, blocks, phi0[None], meanstructure=meanstructure, newton=1e-2)
    # inequality constraints (< >): active set -- a violated constraint is imposed as an equality
    # and the model refitted, until every inequality holds (Nocedal & Wright 2006, ch. 16.5)
    active: list[str] = []
    for _round in range(len(spec.inequalities)):
        violated = _violated(spec, parsed, sol.phi[0])
        if not violated:
            break
        active += [f"{c.left.text} {c.op} {c.right.text}" for c in violated]
        parsed = dataclasses.replace(
            parsed,
            constraints=tuple(dataclasses.replace(c, op="==") if c in violated else c for c in parsed.constraints),
        )
        spec = build(
            parsed, groups=groups, kind=_kind, meanstructure=meanstructure, group_equal=group_equal,
            fixed_x=missing != "fiml", sample=list(zip(means, covs, strict=True)),
        )  # fmt: skip
        phi0 = _post.starts(spec, means, covs)
        sol = _ml.fisher_scoring(spec.designs, blocks, phi0[None], meanstructure=meanstructure, newton=1e-2)
    phi = sol.phi[0]
    converged = bool(sol.converged[0])
    if not converged:
        warnings.warn(
            f"the ML estimator did not converge after {int(sol.iterations[0])} iterations (largest gradient "
            f"{np.abs(sol.grad[0]).max():.2g}); the estimates are unreliable. Try: starting values "
            "(start(0.5)*x), a different marker indicator, fixing a near-zero variance, rescaling "
            "variables with very different variances, or a simpler model",
            ConvergenceWarning,
            stacklevel=2,
        )
    theta = spec.theta(phi[None])[0]
    vcov_phi, extra = _vcov(
        spec, blocks, sol, phi, X, ntotal, se=se, estimator=estimator, missing=missing, bootstrap=bootstrap,
        seed=seed, bollen_stine=bollen_stine, means=means, covs=covs, progress=progress,
    )  # fmt: skip
    table, std_table = _table(spec, parsed, phi, theta, vcov_phi, level=level, ci=ci, extra=extra, std=std)
    fit = _fit_measures(spec, blocks, parsed, phi, sol, X, means, covs, ntotal, missing=missing,
                        estimator=estimator, extra=extra)  # fmt: skip
    heywood = table[table["flag"] == "heywood"]
    if len(heywood):
        names = ", ".join(
            f"{r.lhs} ~~ {r.rhs}" + (f" (group {r.group})" if len(groups) > 1 else "") for r in heywood.itertuples()
        )
        warnings.warn(
            f"negative variance estimate (Heywood case): {names}; the model may be misspecified or the "
            "sample too small (flagged in the table and summary)",
            DataWarning,
            stacklevel=2,
        )
    _check_inequalities(parsed, table)
    details: dict[str, Any] = {
        "model_type": _kind,
        "estimator": estimator,
        "se": se,
        "missing": missing,
        "optimizer": "fisher-scoring",
        "iterations": int(sol.iterations[0]),
        "converged": converged,
        "n": ntotal,
        "n_dropped": dropped,
        "groups": [str(g) for g in groups] if group is not None else [],
        "group": group,
        "group_equal": list(group_equal),
        "n_per_group": [len(x) for x in X],
        "patterns": patterns,
        "chisq_groups": extra.get("chisq_groups", []),
        "meanstructure": meanstructure,
        "observed": spec.observed,
        "latent": spec.latent,
        "fixed_x": spec.fixed_x,
        "level": level,
        "ci_method": ci,
        "bootstrap": bootstrap or 0,
        "seed": extra.get("seed"),
        "failed_replicates": extra.get("failed", 0),
        "heywood": [f"{r.lhs} ~~ {r.rhs}" for r in heywood.itertuples()],
        "active_inequalities": active,
        "version": package_version(),
    }
    lazy = {"mi_fn": lambda: _post.modindices(spec, phi, blocks, ntotal)}
    return SEMResult(table=table, details=details, fit=fit, std=std_table, _lazy=lazy)


def cfa(data: pd.DataFrame, model: str | ParsedModel, **kwargs: Any) -> SEMResult:
    """Confirmatory factor analysis: :func:`sem` with lavaan's ``cfa()`` defaults (the same as ``sem()``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> f = rng.standard_normal(200)
    >>> d = pd.DataFrame({f"x{i}": f + rng.standard_normal(200) for i in range(1, 5)})
    >>> int(cfa(d, "f =~ x1 + x2 + x3 + x4").fit["df"].iloc[0])
    2
    """
    return sem(data, model, _kind="cfa", **kwargs)


def growth(data: pd.DataFrame, model: str | ParsedModel, **kwargs: Any) -> SEMResult:
    """Latent growth model: :func:`sem` with lavaan's ``growth()`` defaults.

    A mean structure with observed intercepts fixed at 0 and latent means free.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> i, s = rng.normal(2, 1, 300), rng.normal(0.5, 0.3, 300)
    >>> d = pd.DataFrame({f"t{t}": i + t * s + rng.normal(0, 0.5, 300) for t in range(4)})
    >>> fit = growth(d, "i =~ 1*t0 + 1*t1 + 1*t2 + 1*t3; s =~ 0*t0 + 1*t1 + 2*t2 + 3*t3")
    >>> round(float(fit.table.query("lhs == 's' and op == '~1'")["est"].iloc[0]), 1)
    0.5
    """
    return sem(data, model, _kind="growth", **kwargs)


# --------------------------------------------------------------------------------------------


def _vcov(
    spec: Spec,
    blocks: list[_ml.Block],
    sol: _ml.Solution,
    phi: np.ndarray,
    X: list[np.ndarray],
    ntotal: int,
    *,
    se: str,
    estimator: str,
    missing: str,
    bootstrap: int | None,
    seed: SeedLike,
    bollen_stine: bool,
    means: list[np.ndarray],
    covs: list[np.ndarray],
    progress: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    extra: dict[str, Any] = {}
    q = spec.q
    if q == 0:
        return np.zeros((0, 0)), extra
    H_exp = sol.info[0]
    if se == "expected":
        return _inv(H_exp) * 2.0 / ntotal, extra
    H_obs = observed_hessian(spec, blocks, phi)
    if se == "observed":
        return _inv(H_obs) * 2.0 / ntotal, extra
    if se == "robust":
        from sciplab.stats.sem import _robust

        return _robust.sandwich(spec, phi, X, H_obs, ntotal), extra
    from sciplab.stats.sem import _boot

    if missing == "fiml":  # Bollen-Stine needs complete rows to transform; not offered under FIML
        return _boot.bootstrap_vcov_fiml(spec, phi, X, bootstrap or 1000, seed, extra, H_obs, progress=progress)
    return _boot.bootstrap_vcov(
        spec, phi, X, bootstrap or 1000, seed, extra, bollen_stine=bollen_stine, progress=progress
    )


def _inv(H: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(H)


def observed_hessian(spec: Spec, blocks: list[_ml.Block], phi: np.ndarray) -> np.ndarray:
    """Hessian of the ML discrepancy: central differences of the analytic gradient."""
    return _ml.hessian(spec.designs, blocks, phi[None], spec.meanstructure)[0]


def _table(
    spec: Spec,
    parsed: ParsedModel,
    phi: np.ndarray,
    theta: np.ndarray,
    vcov_phi: np.ndarray,
    *,
    level: float,
    ci: str,
    extra: dict[str, Any],
    std: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from scipy import special

    t = spec.table
    V = spec.K @ vcov_phi @ spec.K.T if spec.q else np.zeros((spec.n_theta, spec.n_theta))
    free = t["free"].to_numpy()
    est = np.where(free > 0, theta[np.maximum(free, 1) - 1] if spec.n_theta else 0.0, t["value"].to_numpy())
    se = np.where(free > 0, np.sqrt(np.abs(np.diag(V)))[np.maximum(free, 1) - 1] if spec.n_theta else 0.0, 0.0)
    # defined parameters: expression of labels, delta method on phi
    labels = _label_values(spec)
    defined = parsed.table[parsed.table["op"] == ":="]

    def defined_values(points: np.ndarray) -> np.ndarray:
        th = spec.theta(points)
        vals = {lab: (th[:, k] if k >= 0 else np.full(len(points), v)) for lab, (k, v) in labels.items()}
        out = [np.broadcast_to(parsed.expressions[nm].evaluate(vals), (len(points),)) for nm in defined["lhs"]]
        return np.stack(out, axis=1) if out else np.zeros((len(points), 0))

    def_est = defined_values(phi[None])[0]
    if len(defined) and spec.q:
        J = _post.numeric_jacobian(defined_values, phi)
        def_se = np.sqrt(np.abs(np.diag(J @ vcov_phi @ J.T)))
    else:
        def_se = np.zeros(len(defined))
    zq = special.ndtri((1 + level) / 2)
    nrow, ndef = len(t), len(defined)
    labels_col = ["" if str(lab).startswith(".") else lab for lab in t["label"]]
    cols: dict[str, Any] = {
        "lhs": list(t["lhs"]) + list(defined["lhs"]),
        "op": list(t["op"]) + [":="] * ndef,
        "rhs": list(t["rhs"]) + list(defined["rhs"]),
        "label": labels_col + list(defined["label"]),
        "group": np.concatenate([t["group"].to_numpy(), np.zeros(ndef, dtype=int)]),
        "est": np.concatenate([est, def_est]),
        "se": np.concatenate([se, def_se]),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["z"] = np.where(cols["se"] > 0, cols["est"] / cols["se"], np.nan)
    cols["pvalue"] = 2 * special.ndtr(-np.abs(cols["z"]))
    cols["ci_lower"] = cols["est"] - zq * cols["se"]
    cols["ci_upper"] = cols["est"] + zq * cols["se"]
    if "boot_theta" in extra:
        from sciplab.stats.sem import _boot

        _boot.intervals(cols, spec, extra, defined_values, level=level, ci=ci, free=free, phi=phi)
    # standardized solution (defined parameters: the expression on the standardized values, as lavaan)
    lv, al = _post.std_values(spec, phi[None], t)
    std_lv = np.concatenate([lv[0], np.full(ndef, np.nan)])
    std_all = np.concatenate([al[0], np.full(ndef, np.nan)])
    if ndef:
        first = {lab: i for i, lab in reversed(list(enumerate(t["label"]))) if lab}
        vals_lv = {lab: lv[0][i] for lab, i in first.items()}
        vals_all = {lab: al[0][i] for lab, i in first.items()}
        for i, nm in enumerate(defined["lhs"]):
            expr = parsed.expressions[nm]
            if all(n in vals_lv for n in expr.names):
                std_lv[nrow + i] = expr.evaluate(vals_lv)
                std_all[nrow + i] = expr.evaluate(vals_all)
    cols["std_lv"], cols["std_all"] = std_lv, std_all
    std_table = pd.DataFrame()
    if std and spec.q:

        def both(points: np.ndarray) -> np.ndarray:
            a, b = _post.std_values(spec, points, t)
            return np.concatenate([a, b], axis=1)

        J = _post.numeric_jacobian(both, phi)
        sv = np.sqrt(np.abs(np.einsum("ij,jk,ik->i", J, vcov_phi, J)))
        with np.errstate(divide="ignore", invalid="ignore"):
            zs = np.where(sv[nrow:] > 1e-12, al[0] / sv[nrow:], np.nan)
        std_table = pd.DataFrame(
            {
                "lhs": cols["lhs"][:nrow], "op": cols["op"][:nrow], "rhs": cols["rhs"][:nrow],
                "label": labels_col, "group": cols["group"][:nrow],
                "std_lv": lv[0], "se_std_lv": sv[:nrow], "std_all": al[0], "se_std_all": sv[nrow:],
                "z_std_all": zs, "pvalue_std_all": 2 * special.ndtr(-np.abs(zs)),
            }
        )  # fmt: skip
    # R²
    r2 = _post.r_squared(spec, phi)
    m = len(r2)
    for key, extra_values in (
        ("lhs", list(r2["lhs"])), ("op", ["r2"] * m), ("rhs", list(r2["rhs"])), ("label", [""] * m),
    ):  # fmt: skip
        cols[key] = list(cols[key]) + extra_values
    cols["group"] = np.concatenate([cols["group"], r2["group"].to_numpy(dtype=int)])
    cols["est"] = np.concatenate([cols["est"], r2["est"].to_numpy(dtype=float)])
    for key in ("se", "z", "pvalue", "ci_lower", "ci_upper", "std_lv", "std_all"):
        cols[key] = np.concatenate([np.asarray(cols[key], dtype=float), np.full(m, np.nan)])
    is_var = np.array([o == "~~" and a_ == b_ for o, a_, b_ in zip(cols["op"], cols["lhs"], cols["rhs"], strict=True)])
    cols["flag"] = np.where(is_var & (cols["est"] < 0), "heywood", "")
    return pd.DataFrame({c: cols[c] for c in TABLE_COLUMNS}), std_table


def _label_values(spec: Spec) -> dict[str, tuple[int, float]]:
    """Label -> (theta index or -1, fixed value)."""
    out: dict[str, tuple[int, float]] = {}
    for r in spec.records:
        if r["label"] and r["label"] not in out:
            out[r["label"]] = (r["free"] - 1, r["value"]) if r["free"] > 0 else (-1, r["value"])
    return out


def _violated(spec: Spec, parsed: ParsedModel, phi: np.ndarray) -> list[Any]:
    """Inequality constraints (``<``, ``>``) that do not hold at ``phi`` (labels and ``:=`` names)."""
    ineq = [c for c in parsed.constraints if c.op in ("<", ">")]
    if not ineq:
        return []
    th = spec.theta(phi[None])[0]
    vals: dict[str, Any] = {lab: (th[k] if k >= 0 else v) for lab, (k, v) in _label_values(spec).items()}
    for name, expr in parsed.expressions.items():
        try:
            vals[name] = float(expr.evaluate(vals))
        except (KeyError, NameError):  # pragma: no cover - a := of unknown names is refused earlier
            continue
    out = []
    for c in ineq:
        left, right = float(c.left.evaluate(vals)), float(c.right.evaluate(vals))
        if (left > right) if c.op == "<" else (left < right):
            out.append(c)
    return out


def _check_inequalities(parsed: ParsedModel, table: pd.DataFrame) -> None:
    if not parsed.constraints:
        return
    vals = {r.label: r.est for r in table.itertuples() if r.label and r.op != ":="}
    vals.update({r.lhs: r.est for r in table.itertuples() if r.op == ":="})
    for c in parsed.constraints:
        if c.op == "==":
            continue
        left, right = c.left.evaluate(vals), c.right.evaluate(vals)
        tol = 1e-7 * max(1.0, abs(float(left)), abs(float(right)))  # an active constraint holds with equality
        ok = left <= right + tol if c.op == "<" else left >= right - tol
        if not ok:
            warnings.warn(
                f"inequality constraint on line {c.line} ('{c.left.text} {c.op} {c.right.text}') does not hold "
                f"at the estimates ({float(left):.4g} vs {float(right):.4g}); the estimator could not "
                "impose it: fix the parameter or respecify the model",
                ConvergenceWarning,
                stacklevel=3,
            )


def baseline_designs(spec: Spec, covs: list[np.ndarray], means: list[np.ndarray]) -> tuple[list[Design], np.ndarray]:
    """Independence model: free variances (and means), fixed.x moments kept; start values."""
    p = len(spec.observed)
    xs = [spec.observed.index(v) for v in spec.fixed_x]
    free_v = [i for i in range(p) if i not in xs]
    G = len(spec.groups)
    per = len(free_v) * (2 if spec.meanstructure else 1)
    q = per * G
    designs, start = [], np.zeros(q)
    for g in range(G):
        S0, m0 = np.zeros((p, p)), np.zeros(p)
        for a in xs:
            m0[a] = means[g][a]
            for b in xs:
                S0[a, b] = covs[g][a, b]
        DS, Dm = np.zeros((q, p, p)), np.zeros((q, p))
        for j, i in enumerate(free_v):
            k = g * per + j
            DS[k, i, i] = 1.0
            start[k] = covs[g][i, i]
            if spec.meanstructure:
                k2 = g * per + len(free_v) + j
                Dm[k2, i] = 1.0
                start[k2] = means[g][i]
        designs.append(Design(p, p, np.zeros((p, p)), S0, m0, np.zeros((q, p, p)), DS, Dm))
    return designs, start


def loglik(f: float, blocks: list[_ml.Block], ntotal: int) -> float:
    """Sample log-likelihood from the discrepancy ``f`` of :func:`._ml.evaluate`."""
    k = sum(float(b.w @ np.full(len(b.w), b.idx.shape[1])) for b in blocks)
    return -0.5 * ntotal * (f + k * math.log(2 * math.pi))


def _fit_measures(
    spec: Spec,
    blocks: list[_ml.Block],
    parsed: ParsedModel,
    phi: np.ndarray,
    sol: _ml.Solution,
    X: list[np.ndarray],
    means: list[np.ndarray],
    covs: list[np.ndarray],
    ntotal: int,
    *,
    missing: str,
    estimator: str,
    extra: dict[str, Any],
) -> pd.DataFrame:
    ms = spec.meanstructure
    logl = loglik(float(sol.f[0]), blocks, ntotal)
    sat = [Design(len(spec.observed), len(spec.observed), np.zeros((len(spec.observed),) * 2), c, m,
                  np.zeros((0,) + (len(spec.observed),) * 2), np.zeros((0,) + (len(spec.observed),) * 2),
                  np.zeros((0, len(spec.observed)))) for m, c in zip(means, covs, strict=True)]  # fmt: skip
    f1, _, _ = _ml.evaluate(sat, blocks, np.zeros((1, 0)), meanstructure=ms, order=0)
    logl_h1 = loglik(float(f1[0]), blocks, ntotal)
    chisq = max(2 * (logl_h1 - logl), 0.0)
    if len(spec.groups) > 1:  # each group's share of the statistic (lavaan's "Test statistic for each group")
        per = []
        for g in range(len(spec.groups)):
            bg = [b for b in blocks if b.group == g]
            f0g = _ml.evaluate(spec.designs, bg, phi[None], meanstructure=ms, order=0)[0][0]
            f1g = _ml.evaluate(sat, bg, np.zeros((1, 0)), meanstructure=ms, order=0)[0][0]
            per.append(ntotal * float(f0g - f1g))
        extra["chisq_groups"] = per
    df = _post.ndat(spec) - spec.q
    bdesigns, bstart = baseline_designs(spec, covs, means)
    if missing == "listwise":  # closed form: sample variances (and means) are the ML estimates
        bphi = bstart
        bf = _ml.evaluate(bdesigns, blocks, bstart[None], meanstructure=ms, order=0)[0][0]
    else:
        bsol = _ml.fisher_scoring(bdesigns, blocks, bstart[None], meanstructure=ms, newton=0.0, tol=1e-8)
        bphi, bf = bsol.phi[0], bsol.f[0]
    blogl = loglik(float(bf), blocks, ntotal)
    bchisq = max(2 * (logl_h1 - blogl), 0.0)
    bdf = _post.ndat(spec) - len(bstart)
    sig, mu = [], []
    for d in spec.designs:
        m = _ml.moments(d, phi[None], jac=False)
        sig.append(m.sigma[0])
        mu.append(m.mu[0] if ms else None)
    srmr = _fit.srmr(covs, means, sig, [u if u is not None else mm for u, mm in zip(mu, means, strict=True)],
                     [len(x) for x in X], ms)  # fmt: skip
    out = _fit.measures(
        chisq=chisq, df=df, bchisq=bchisq, bdf=bdf, logl=logl, logl_h1=logl_h1, npar=spec.q,
        ntotal=ntotal, groups=len(spec.groups), srmr_value=srmr,
    )  # fmt: skip
    if estimator == "mlr":
        from sciplab.stats.sem import _robust

        c = _robust.scaling_factor(spec.designs, phi, X, df, blocks, means, covs)
        bspec_c = _robust.scaling_factor(bdesigns, bphi, X, bdf, blocks, means, covs)
        out.update(_fit.scaled_measures(chisq=chisq, df=df, c=c, bchisq=bchisq, bdf=bdf, bc=bspec_c,
                                        ntotal=ntotal, groups=len(spec.groups)))  # fmt: skip
    if "bollen_stine_pvalue" in extra:
        out["pvalue.bollen.stine"] = extra["bollen_stine_pvalue"]
    return pd.DataFrame([out])
