"""Model syntax -> the full parameter table and the RAM matrices of each group (lavaan's defaults).

The parsed user table (:mod:`sciplab.stats.syntax`) is completed with lavaan's defaults for
``cfa()``/``sem()``/``growth()`` (Rosseel 2012, section 5; lavaan's documentation of
``lavOptions``): the first indicator of each latent variable fixed to 1 (``auto.fix.first``) unless
its loading is given or freed with ``NA*``; (residual) variances of every variable; covariances
among exogenous latent variables (``auto.cov.lv.x``) and among the residuals of pure outcomes
(``auto.cov.y``); exogenous observed predictors fixed at their sample moments (``fixed.x``, not
counted as parameters); with a mean structure, free observed intercepts and latent means fixed at 0
(``growth()``: observed intercepts 0, latent means free; multigroup with equal intercepts: latent
means free from the second group on).

Every parameter is placed in the reticular action model (RAM; McArdle & McDonald 1984) of its
group: variables ``v = (observed, latent)``, ``v = A v + e``, ``Cov(e) = S``, ``E(v) = (I - A)^-1 m``;
``=~`` and ``~`` fill ``A``, ``~~`` fills ``S``, ``~1`` fills ``m``. This is the LISREL model
(Lambda, Beta, Psi, Theta, nu, alpha) written as one matrix per kind; the implied moments are the
same. Free parameters are ``theta``; labels shared by several rows, ``group_equal`` and linear
``==`` constraints make ``theta = theta0 + K phi`` with ``K`` an orthonormal basis of the
constraints' null space, so the estimator works on the unconstrained ``phi``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, suggest
from sciplab.stats.syntax import Constraint, ParsedModel

GROUP_EQUAL = (
    "loadings",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
    "regressions",
)
KINDS = ("sem", "cfa", "growth")


@dataclass
class Design:
    """RAM design of one group: ``A = A0 + sum_l phi_l DA[l]`` (and likewise ``S``, ``m``)."""

    p: int
    n: int
    A0: np.ndarray
    S0: np.ndarray
    m0: np.ndarray
    DA: np.ndarray
    DS: np.ndarray
    Dm: np.ndarray


@dataclass
class Spec:
    """A compiled model: the full parameter table, designs per group, the constraint map."""

    table: pd.DataFrame  # lhs op rhs group label free(theta index, 0 fixed) value start user matrix row col
    observed: list[str]
    latent: list[str]
    groups: list[Any]
    meanstructure: bool
    fixed_x: list[str]
    theta0: np.ndarray
    K: np.ndarray  # (n_theta, q)
    designs: list[Design] = field(default_factory=list)
    inequalities: list[Constraint] = field(default_factory=list)
    theta_labels: list[str] = field(default_factory=list)
    kind: str = "sem"

    records: list[dict[str, Any]] = field(default_factory=list)  # the rows of ``table`` as dicts

    @property
    def q(self) -> int:
        return int(self.K.shape[1])

    @property
    def n_theta(self) -> int:
        return int(self.K.shape[0])

    def theta(self, phi: np.ndarray) -> np.ndarray:
        return self.theta0 + phi @ self.K.T


def _unique(seq: list[str]) -> list[str]:
    return list(dict.fromkeys(s for s in seq if s))


def variables(parsed: ParsedModel) -> tuple[list[str], list[str]]:
    """Observed and latent names of a model, in order of appearance."""
    t = parsed.table
    rows = [(a, o, b) for a, o, b in zip(t["lhs"], t["op"], t["rhs"], strict=True) if o in ("=~", "~", "~~", "~1")]
    latent = _unique([a for a, o, _ in rows if o == "=~"])
    names: list[str] = []
    for a, _, b in rows:
        names.extend([a, b])
    observed = [v for v in _unique(names) if v not in latent]
    # lavaan lists indicators first, in the order they load, then the other observed variables
    ind = _unique([b for _, o, b in rows if o == "=~"])
    observed = [v for v in ind if v in observed] + [v for v in observed if v not in ind]
    return observed, latent


def check_columns(parsed: ParsedModel, data: pd.DataFrame) -> None:
    """Every observed name must be a numeric column; suggest close names, refuse ordinal items."""
    observed, latent = variables(parsed)
    columns = [str(c) for c in data.columns]
    for v in observed:
        if v not in columns:
            hint = suggest(v, columns)
            line = parsed.table.loc[(parsed.table["lhs"] == v) | (parsed.table["rhs"] == v), "line"].min()
            raise DataError(
                f"variable {v!r} of the model (line {line}) is not a column of the data{hint}; if it is "
                f"a latent variable, give it indicators ('{v} =~ item1 + item2 + item3')"
            )
        col = data[v]
        if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
            what = "ordered categorical" if isinstance(col.dtype, pd.CategoricalDtype) else "not numeric"
            raise InvalidParameterError(
                f"column {v!r} is {what}"
                " (ordinal indicators): categorical estimators (WLSMV, polychoric correlations) are "
                "not implemented; treat the items as continuous (convert to numbers) or use parcels"
            )


def _kind_of(op: str, lhs: str, rhs: str, latent: set[str]) -> str:
    if op == "=~":
        return "loadings"
    if op == "~":
        return "regressions"
    if op == "~1":
        return "means" if lhs in latent else "intercepts"
    both_lv = lhs in latent and rhs in latent
    if lhs == rhs:
        return "lv.variances" if both_lv else "residuals"
    return "lv.covariances" if both_lv else "residual.covariances"


def build(
    parsed: ParsedModel,
    *,
    groups: list[Any],
    kind: str = "sem",
    meanstructure: bool = False,
    group_equal: tuple[str, ...] = (),
    fixed_x: bool = True,
    sample: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Spec:
    """Complete the user's table with lavaan's defaults and compile the RAM designs.

    ``sample`` holds ``(mean, biased covariance)`` of the observed variables per group (starting
    values and fixed.x values).
    """
    t = parsed.table
    user = t[t["op"].isin(["=~", "~", "~~", "~1"])]
    observed, latent = variables(parsed)
    lat = set(latent)
    ngroups = len(groups)
    for bad in [g for g in group_equal if g not in GROUP_EQUAL]:
        raise InvalidParameterError(
            f"group_equal: unknown parameter type {bad!r}{suggest(bad, GROUP_EQUAL)}; allowed: {', '.join(GROUP_EQUAL)}"
        )
    for rid, mod in parsed.group_modifiers.items():
        if len(mod) != ngroups:
            line = int(t.loc[t["id"] == rid, "line"].item())
            raise InvalidParameterError(
                f"the c(...) modifier on line {line} has {len(mod)} values but the data have {ngroups} "
                f"group{'s' if ngroups != 1 else ''}; give one value per group"
            )
    reg = user[user["op"] == "~"]
    meas = user[user["op"] == "=~"]
    y_names = set(reg["lhs"])
    x_names = set(reg["rhs"])
    indicators = set(meas["rhs"])
    for f in latent:
        if f in indicators and f not in set(meas["lhs"]):  # pragma: no cover - parser guarantees
            raise InvalidParameterError(f"latent variable {f!r} has no indicators")
    endogenous = y_names | indicators
    exo_ov = [v for v in observed if v in x_names and v not in endogenous]
    user_cov_vars = {
        v for a, o, b in zip(user["lhs"], user["op"], user["rhs"], strict=True) if o == "~~" for v in (a, b)
    }
    fixed_x_vars = [v for v in exo_ov if fixed_x and v not in user_cov_vars]
    exo_lv = [f for f in latent if f not in endogenous]
    pure_y = [v for v in _unique(list(reg["lhs"])) if v not in x_names and v not in indicators]
    rows: list[dict[str, Any]] = []
    index = {v: i for i, v in enumerate(observed + latent)}
    ucols = list(user.columns)
    columns = [user[c].tolist() for c in ucols]
    user_records = [SimpleNamespace(**dict(zip(ucols, vals, strict=True))) for vals in zip(*columns, strict=True)]
    for g in range(ngroups):
        present: set[tuple[str, str, str]] = set()
        first_loading: dict[str, int] = {}
        for r in user_records:
            mod = parsed.group_modifiers.get(int(r.id))
            label = mod.labels[g] if mod else r.label
            value = mod.values[g] if mod else (r.ustart if r.free == 0 else math.nan)
            start = mod.starts[g] if mod else r.start
            lhs, rhs = r.lhs, r.rhs
            if r.op == "~~" and index[lhs] > index[rhs]:
                lhs, rhs = rhs, lhs
            rows.append(
                {
                    "lhs": r.lhs if r.op != "~~" else lhs,
                    "op": r.op,
                    "rhs": r.rhs if r.op != "~~" else rhs,
                    "group": g + 1,
                    "label": label,
                    "value": value,
                    "start": start,
                    "user": 1,
                    "na_free": bool(r.na_free),
                    "line": int(r.line),
                }
            )
            key = (lhs, r.op, rhs)
            present.add(key)
            if r.op == "=~" and r.lhs not in first_loading:
                first_loading[r.lhs] = len(rows) - 1
        # marker variables (auto.fix.first)
        for i in first_loading.values():
            row = rows[i]
            if math.isnan(row["value"]) and not row["na_free"]:
                row["value"] = 1.0

        def add(lhs: str, op: str, rhs: str, value: float = math.nan, g: int = g, present: set = present) -> None:
            if op == "~~" and index[lhs] > index[rhs]:
                lhs, rhs = rhs, lhs
            if (lhs, op, rhs) in present:
                return
            present.add((lhs, op, rhs))
            rows.append(
                {
                    "lhs": lhs,
                    "op": op,
                    "rhs": rhs,
                    "group": g + 1,
                    "label": "",
                    "value": value,
                    "start": math.nan,
                    "user": 0,
                    "na_free": False,
                    "line": 0,
                }
            )

        mean_g, cov_g = sample[g] if sample is not None else (None, None)
        for v in observed + latent:
            if v in fixed_x_vars:
                continue
            add(v, "~~", v)
        for i, a in enumerate(exo_lv):
            for b in exo_lv[i + 1 :]:
                add(a, "~~", b)
        for i, a in enumerate(pure_y):
            for b in pure_y[i + 1 :]:
                if (a in lat) == (b in lat):
                    add(a, "~~", b)
        for i, a in enumerate(fixed_x_vars):
            for b in fixed_x_vars[i:]:
                ia, ib = observed.index(a), observed.index(b)
                add(a, "~~", b, float(cov_g[ia, ib]) if cov_g is not None else 0.0)
        if meanstructure:
            for v in observed:
                if v in fixed_x_vars:
                    add(v, "~1", "", float(mean_g[observed.index(v)]) if mean_g is not None else 0.0)
                else:
                    add(v, "~1", "", 0.0 if kind == "growth" else math.nan)
            for f in latent:
                free = kind == "growth" or ("intercepts" in group_equal and g > 0 and "means" not in group_equal)
                add(f, "~1", "", math.nan if free else 0.0)
    fx = set(fixed_x_vars)
    for r in rows:
        r["fixed_x"] = r["op"] in ("~~", "~1") and r["lhs"] in fx and (r["rhs"] in fx or r["op"] == "~1")
    # group_equal: free rows of those kinds share an automatic label across groups
    if ngroups > 1 and group_equal:
        for r in rows:
            k = _kind_of(r["op"], r["lhs"], r["rhs"], lat)
            if k in group_equal and math.isnan(r["value"]) and not r["label"] and not r["fixed_x"]:
                r["label"] = f".{r['lhs']}{r['op']}{r['rhs']}."
    # theta indices: one per free row, shared by rows with the same label
    free_index: dict[str, int] = {}
    theta_labels: list[str] = []
    for r in rows:
        if not math.isnan(r["value"]):
            r["free"] = 0
        elif r["label"] and r["label"] in free_index:
            r["free"] = free_index[r["label"]]
        else:
            theta_labels.append(r["label"] or f"{r['lhs']}{r['op']}{r['rhs']}")
            r["free"] = len(theta_labels)
            if r["label"]:
                free_index[r["label"]] = len(theta_labels)
    table = pd.DataFrame(rows)
    fixed_labels = {r["label"]: r["value"] for r in rows if r["label"] and r["free"] == 0}
    n_theta = len(theta_labels)
    theta0, K = _equality_map(parsed, table, n_theta, fixed_labels)
    designs = []
    p, n = len(observed), len(observed) + len(latent)
    q = K.shape[1]
    for g in range(ngroups):
        A0, S0, m0 = np.zeros((n, n)), np.zeros((n, n)), np.zeros(n)
        TA, TS, Tm = np.zeros((n_theta, n, n)), np.zeros((n_theta, n, n)), np.zeros((n_theta, n))
        for r in (SimpleNamespace(**r) for r in rows if r["group"] == g + 1):
            if r.op == "=~":
                mats, i, j = "A", index[r.rhs], index[r.lhs]
            elif r.op == "~":
                mats, i, j = "A", index[r.lhs], index[r.rhs]
            elif r.op == "~~":
                mats, i, j = "S", index[r.lhs], index[r.rhs]
            else:
                mats, i, j = "m", index[r.lhs], 0
            if r.free == 0:
                if mats == "A":
                    A0[i, j] = r.value
                elif mats == "S":
                    S0[i, j] = S0[j, i] = r.value
                else:
                    m0[i] = r.value
            else:
                k = r.free - 1
                if mats == "A":
                    TA[k, i, j] += 1.0
                elif mats == "S":
                    TS[k, i, j] = TS[k, j, i] = 1.0
                else:
                    Tm[k, i] += 1.0
        A0 = A0 + np.einsum("k,kij->ij", theta0, TA)
        S0 = S0 + np.einsum("k,kij->ij", theta0, TS)
        m0 = m0 + theta0 @ Tm
        DA = np.einsum("kl,kij->lij", K, TA).reshape(q, n, n)
        DS = np.einsum("kl,kij->lij", K, TS).reshape(q, n, n)
        Dm = np.einsum("kl,ki->li", K, Tm).reshape(q, n)
        designs.append(Design(p, n, A0, S0, m0, DA, DS, Dm))
    spec = Spec(
        table=table,
        observed=observed,
        latent=latent,
        groups=list(groups),
        meanstructure=meanstructure,
        fixed_x=fixed_x_vars,
        theta0=theta0,
        K=K,
        designs=designs,
        inequalities=[c for c in parsed.constraints if c.op != "=="],
        theta_labels=theta_labels,
        kind=kind,
        records=rows,
    )
    return spec


def _equality_map(
    parsed: ParsedModel, table: pd.DataFrame, n_theta: int, fixed_labels: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """``theta = theta0 + K phi`` from the linear ``==`` constraints (refuse non-linear or conflicting)."""
    eqs = [c for c in parsed.constraints if c.op == "=="]
    if not eqs:
        return np.zeros(n_theta), np.eye(n_theta)
    label_index = {}
    for lab, free in zip(table["label"], table["free"], strict=True):
        if lab and free > 0:
            label_index[lab] = free - 1
    rows, rhs = [], []
    for c in eqs:
        names = set(c.left.names) | set(c.right.names)
        bad = [nm for nm in names if nm not in label_index and nm not in fixed_labels]
        if bad:
            raise InvalidParameterError(
                f"constraint on line {c.line} uses {bad[0]!r}, which is not a parameter label "
                "(defined parameters ':=' cannot be constrained yet)"
            )

        def f(theta: np.ndarray, c: Constraint = c, names: set[str] = names) -> float:
            vals = {nm: (theta[label_index[nm]] if nm in label_index else fixed_labels[nm]) for nm in names}
            return float(c.left.evaluate(vals) - c.right.evaluate(vals))

        base = f(np.zeros(n_theta))
        grad = np.array([f(np.eye(n_theta)[k]) - base for k in range(n_theta)])
        probe = np.linspace(0.3, 1.7, n_theta)
        if not math.isclose(f(probe), base + grad @ probe, rel_tol=1e-9, abs_tol=1e-9):
            raise InvalidParameterError(
                f"constraint on line {c.line} ('{c.left.text} == {c.right.text}') is not linear; "
                "only linear equality constraints are implemented"
            )
        rows.append(grad)
        rhs.append(-base)
    C, d = np.array(rows), np.array(rhs)
    theta0, *_ = np.linalg.lstsq(C, d, rcond=None)
    if not np.allclose(C @ theta0, d, atol=1e-9):
        lines = ", ".join(str(c.line) for c in eqs)
        raise InvalidParameterError(
            f"the equality constraints (lines {lines}) conflict: no parameter values satisfy all of them "
            "(check fixed values and repeated constraints)"
        )
    u, s, vt = np.linalg.svd(C)
    rank = int((s > 1e-10 * max(1.0, s.max())).sum())
    K = vt[rank:].T
    # readable null-space basis: reduced echelon form in terms of the unconstrained parameters
    if K.shape[1]:
        K = _tidy_basis(K)
    return theta0, K


def _tidy_basis(K: np.ndarray) -> np.ndarray:
    """A basis of span(K) with unit entries on pivot parameters (so phi are parameter values)."""
    n, q = K.shape
    M = K.T.copy()
    pivots = []
    row = 0
    for col in range(n):
        if row >= q:
            break
        piv = row + int(np.argmax(np.abs(M[row:, col])))
        if abs(M[piv, col]) < 1e-10:
            continue
        M[[row, piv]] = M[[piv, row]]
        M[row] /= M[row, col]
        for r in range(q):
            if r != row:
                M[r] -= M[r, col] * M[row]
        pivots.append(col)
        row += 1
    M[np.abs(M) < 1e-13] = 0.0
    return M.T
