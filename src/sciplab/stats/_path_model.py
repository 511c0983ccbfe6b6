"""The path model behind :func:`sciplab.stats.paths.paths` and its batched estimation engine.

Parameters, equations, the compiled model (causal order, implied moments, every indirect path) and
the engine that estimates all replicates at once.

Split from ``paths.py`` so each module stays readable; only :mod:`sciplab.stats.paths` uses it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sciplab._core.errors import InvalidParameterError
from sciplab.stats import _formulas as kf
from sciplab.stats.syntax import ParsedModel

MAX_PATHS = 10_000
"""Default cap on the specific indirect paths enumerated (``paths(max_paths=...)`` raises it)."""
SEM_HINT = "the SEM engine (sciplab.stats.sem, planned) will fit such models by maximum likelihood"


@dataclasses.dataclass
class _Param:
    lhs: str
    op: str
    rhs: str
    label: str
    kind: str  # reg, int, resvar, rescov, var, cov, mean
    user: bool
    fixed: float = math.nan  # fixed value (reg only)


@dataclasses.dataclass
class _Equation:
    y: str
    free: list[str]  # free regressors, in order
    free_rows: list[int]  # parameter rows of those coefficients
    fixed: list[str]
    fixed_values: list[float]
    fixed_rows: list[int]
    int_row: int | None


class _Model:
    """A path model compiled from a parameter table (variables in causal order)."""

    def __init__(self, parsed: ParsedModel, max_paths: int = MAX_PATHS) -> None:
        t = parsed.table
        self.parsed = parsed
        bad = t[~t["op"].isin(["~", "~1", "~~", ":="])]
        if len(bad):
            row = bad.iloc[0]
            if row["op"] == "=~":
                raise InvalidParameterError(
                    f"the model defines a latent variable ('{row['lhs']} =~ ...', line {row['line']}); "
                    f"paths() fits observed variables only; {SEM_HINT}"
                )
            raise InvalidParameterError(f"operator {row['op']!r} is not supported by paths()")
        labels = t[(t["op"] != ":=") & (t["label"] != "")]
        dup = labels[labels["label"].duplicated(keep=False)]
        if len(dup):
            lab = dup.iloc[0]["label"]
            where = ", ".join(f"'{r.lhs} {r.op} {r.rhs}'" for r in dup[dup["label"] == lab].itertuples())
            raise InvalidParameterError(
                f"label {lab!r} is shared by {where}: an equality constraint, which equation-wise "
                f"OLS cannot impose; {SEM_HINT}"
            )
        reg = t[t["op"] == "~"]
        if reg.empty:
            raise InvalidParameterError("the model has no regression ('y ~ x'); nothing to estimate")
        endo = list(dict.fromkeys(reg["lhs"]))
        names: list[str] = []
        for _, r in t[t["op"] != ":="].iterrows():
            for v in (r["lhs"], r["rhs"]):
                if v and v not in names:
                    names.append(v)
        for v in t[t["op"] == "~1"]["lhs"]:
            if v not in names:
                names.append(v)
        exo = [v for v in names if v not in endo]
        parents = {y: [x for x in reg[reg["lhs"] == y]["rhs"]] for y in endo}
        order = self._topological(endo, parents)
        self.exo, self.endo = exo, order
        self.variables = exo + order
        self.index = {v: i for i, v in enumerate(self.variables)}  # 0-based in variable space

        params: list[_Param] = []
        for _, r in t[t["op"] != ":="].iterrows():
            op = r["op"]
            if op == "~":
                kind = "reg"
            elif op == "~1":
                kind = "int" if r["lhs"] in endo else "mean"
            else:
                a, b = r["lhs"], r["rhs"]
                if (a in endo) != (b in endo):
                    raise InvalidParameterError(
                        f"'{a} ~~ {b}' (line {r['line']}) pairs an outcome with an exogenous "
                        f"variable; equation-wise OLS cannot estimate it; {SEM_HINT}"
                    )
                if a in endo:
                    if a != b and (self._reaches(a, b, parents) or self._reaches(b, a, parents)):
                        raise InvalidParameterError(
                            f"'{a} ~~ {b}' (line {r['line']}): a residual covariance between "
                            f"variables on one causal chain; {SEM_HINT}"
                        )
                    kind = "resvar" if a == b else "rescov"
                else:
                    kind = "var" if a == b else "cov"
            if op != "~" and r["free"] == 0:
                raise InvalidParameterError(
                    f"'{r['lhs']} {op} {r['rhs']}' (line {r['line']}): fixed values are supported "
                    f"for regression coefficients only; {SEM_HINT}"
                )
            params.append(
                _Param(r["lhs"], op, r["rhs"], r["label"], kind, True, r["ustart"] if r["free"] == 0 else math.nan)
            )
        for y in order:  # lavaan adds residual variances of outcomes automatically
            if not any(p.kind == "resvar" and p.lhs == y for p in params):
                params.append(_Param(y, "~~", y, "", "resvar", False))
        self.params = params
        self.equations: list[_Equation] = []
        for y in order:
            eq = _Equation(y, [], [], [], [], [], None)
            for i, p in enumerate(params):
                if p.lhs != y:
                    continue
                if p.kind == "reg":
                    if math.isnan(p.fixed):
                        eq.free.append(p.rhs)
                        eq.free_rows.append(i)
                    else:
                        eq.fixed.append(p.rhs)
                        eq.fixed_values.append(p.fixed)
                        eq.fixed_rows.append(i)
                elif p.kind == "int":
                    eq.int_row = i
            self.equations.append(eq)
        self.label_rows = {p.label: i for i, p in enumerate(params) if p.label}
        self.user_defined = [
            (r["lhs"], parsed.expressions[r["lhs"]], r["line"]) for _, r in t[t["op"] == ":="].iterrows()
        ]
        self._enumerate_effects(max_paths)

    @staticmethod
    def _topological(endo: list[str], parents: Mapping[str, list[str]]) -> list[str]:
        """Outcomes in causal order (iterative depth-first search: long chains need no recursion)."""
        order: list[str] = []
        state: dict[str, int] = {}
        for root in endo:
            if state.get(root) == 2:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            state[root] = 1
            while stack:
                v, i = stack[-1]
                ps = [x for x in parents.get(v, []) if x in parents]
                if i < len(ps):
                    stack[-1] = (v, i + 1)
                    x = ps[i]
                    if state.get(x) == 1:
                        trail = [u for u, _ in stack]
                        cycle = trail[trail.index(x) :] + [x]
                        raise InvalidParameterError(
                            "the model is non-recursive (a feedback loop: "
                            + " -> ".join(reversed(cycle))
                            + f"); paths() fits recursive (acyclic) models only; {SEM_HINT}"
                        )
                    if state.get(x) != 2:
                        state[x] = 1
                        stack.append((x, 0))
                else:
                    stack.pop()
                    state[v] = 2
                    order.append(v)
        return order

    @staticmethod
    def _reaches(a: str, b: str, parents: Mapping[str, list[str]]) -> bool:
        todo, seen = [b], set()
        while todo:
            v = todo.pop()
            if v == a:
                return True
            if v not in seen:
                seen.add(v)
                todo.extend(parents.get(v, []))
        return False

    def _enumerate_effects(self, max_paths: int) -> None:
        """All directed paths of length >= 2 (specific indirect effects) and X -> Y totals.

        The paths are counted first (dynamic programming over the causal order, polynomial) and
        enumerated only when there are at most ``max_paths``: their number grows exponentially
        with the number of mediators (a fully recursive model of 20 variables has about 10^6).
        """
        children: dict[str, list[tuple[str, int]]] = {v: [] for v in self.variables}
        for i, p in enumerate(self.params):
            if p.kind == "reg" and not (p.fixed == 0.0):
                children[p.rhs].append((p.lhs, i))
        n_paths = _count_indirect_paths(self.variables, children)
        if n_paths > max_paths:
            raise InvalidParameterError(
                f"the model has {n_paths:,} specific indirect paths, more than max_paths={max_paths:,} "
                "(their number grows exponentially with the mediators); raise max_paths to enumerate "
                "them all, or drop paths the theory does not need and define the effects of interest "
                "with ':=' (e.g. 'ind := a*b')"
            )
        effects: list[dict[str, Any]] = []
        for src in self.variables:
            paths_to: dict[str, list[list[tuple[str, int]]]] = {}
            # iterative pre-order depth-first walk, children in written order (no recursion limit)
            todo: list[tuple[str, list[tuple[str, int]]]] = [(src, [])]
            while todo:
                v, trail = todo.pop()
                if len(trail) >= 2:
                    paths_to.setdefault(v, []).append(trail)
                todo.extend((child, trail + [(child, row)]) for child, row in reversed(children[v]))
            for dst in self.variables:
                if dst not in paths_to:
                    continue
                specific = paths_to[dst]
                for trail in specific:
                    chain = [src] + [v for v, _ in trail]
                    effects.append(
                        {
                            "effect": "specific",
                            "from": src,
                            "to": dst,
                            "path": " \u2192 ".join(chain),
                            "name": "ind." + ".".join(chain),
                            "rows": [[r for _, r in trail]],
                            "direct": None,
                            "expr": "*".join(self._ref(r) for _, r in trail),
                        }
                    )
                all_rows = [[r for _, r in trail] for trail in specific]
                direct = next(
                    (
                        i
                        for i, p in enumerate(self.params)
                        if p.kind == "reg" and p.lhs == dst and p.rhs == src and p.fixed != 0.0
                    ),
                    None,
                )
                ind_expr = " + ".join("*".join(self._ref(r) for r in rows) for rows in all_rows)
                if len(specific) > 1:
                    effects.append(
                        {
                            "effect": "total_indirect",
                            "from": src,
                            "to": dst,
                            "path": f"{src} \u2192 \u2026 \u2192 {dst} (all indirect)",
                            "name": f"ind.{src}.{dst}",
                            "rows": all_rows,
                            "direct": None,
                            "expr": ind_expr,
                        }
                    )
                if direct is not None:
                    effects.append(
                        {
                            "effect": "direct",
                            "from": src,
                            "to": dst,
                            "path": f"{src} \u2192 {dst}",
                            "name": f"direct.{src}.{dst}",
                            "rows": [],
                            "direct": direct,
                            "expr": self._ref(direct),
                        }
                    )
                effects.append(
                    {
                        "effect": "total",
                        "from": src,
                        "to": dst,
                        "path": f"{src} \u2192 {dst} (total)",
                        "name": f"total.{src}.{dst}",
                        "rows": all_rows,
                        "direct": direct,
                        "expr": (self._ref(direct) + " + " if direct is not None else "") + ind_expr,
                    }
                )
        self.effects = effects

    def _ref(self, row: int) -> str:
        p = self.params[row]
        return p.label or f"({p.lhs}~{p.rhs})"

    # -- derived quantities from parameter arrays ---------------------------------------------

    def derived(self, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """User-defined (``:=``) and enumerated effects ``(R, U)``, ``(R, K)`` from parameter arrays ``(R, P)``.

        :meth:`derived_rows` on the transposed views (the same operations element by element).
        """
        R = est.shape[0]
        user = np.empty((len(self.user_defined), R))
        eff = np.empty((len(self.effects), R))
        self.derived_rows(est.T, user, eff)
        return user.T, eff.T

    def derived_rows(self, est: np.ndarray, user: np.ndarray, eff: np.ndarray) -> None:
        """User-defined (``:=``) and enumerated effects of parameter rows ``(P, R)`` into ``user``, ``eff``.

        Rows are the layout in which bootstrap replicates are gathered and sorted; :meth:`derived`
        serves the column layout through this method.

        Each effect adds its paths in the order listed (the same sums as path by path); every
        distinct path's product is computed once (paths padded with a row of ones).
        """
        R = est.shape[1]
        values: dict[str, Any] = {lab: est[i] for lab, i in self.label_rows.items()}
        for j, (name, expr, _) in enumerate(self.user_defined):
            res = np.broadcast_to(np.asarray(expr.evaluate(values), dtype=float), (R,))
            values[name] = res
            user[j] = res
        eff[:] = 0.0
        index, paths_of, direct_of = self._effect_plan()
        if index.size:
            padded = np.concatenate([est, np.ones((1, R))], axis=0)
            prods = padded[index[:, 0]]
            for c in range(1, index.shape[1]):
                prods *= padded[index[:, c]]
            for j, cols in enumerate(paths_of):
                for k in cols:
                    eff[j] += prods[k]
        for j, d in direct_of:
            eff[j] += est[d]

    def _effect_plan(self) -> tuple[np.ndarray, list[list[int]], list[tuple[int, int]]]:
        """The effects as products of distinct paths, built once per model.

        Returns the distinct paths as a padded ``(K, L)`` index array (``P`` = the column of ones),
        the path numbers of each effect and the ``(effect, direct row)`` pairs.
        """
        plan = self.__dict__.get("_plan")
        if plan is None:
            P = len(self.params)
            distinct: dict[tuple[int, ...], int] = {}
            paths_of = [[distinct.setdefault(tuple(rows), len(distinct)) for rows in e["rows"]] for e in self.effects]
            width = max((len(k) for k in distinct), default=0)
            index = np.full((len(distinct), width), P, dtype=np.intp)
            for key, k in distinct.items():
                index[k, : len(key)] = key
            direct_of = [(j, e["direct"]) for j, e in enumerate(self.effects) if e["direct"] is not None]
            plan = self.__dict__["_plan"] = (index, paths_of, direct_of)
        return plan


def _count_indirect_paths(variables: list[str], children: Mapping[str, list[tuple[str, int]]]) -> int:
    """Number of directed paths of length >= 2 in the (acyclic) model, without enumerating them."""
    from_v: dict[str, int] = {}  # paths of length >= 1 starting at v
    index = {v: i for i, v in enumerate(variables)}
    for v in sorted(variables, key=lambda u: -index[u]):  # children come later in causal order
        from_v[v] = sum(1 + from_v[c] for c, _ in children[v])
    return sum(from_v[v] - len(children[v]) for v in variables)


def _counted_df(parsed: ParsedModel) -> int | None:
    """Degrees of freedom of the ML refit counted from the syntax, or None when not countable here.

    For regressions plus (co)variances among outcomes (no intercepts, constraints, fixed values or
    repeated labels, no ``~~`` touching an exogenous variable), lavaan's ``sem()`` defaults
    (``fixed.x``, ``auto.var``, ``auto.cov.y``) give ``df = p (p + 1) / 2 - px (px + 1) / 2 -
    (free slopes + outcome variances + outcome covariances)`` (p observed, px exogenous; Bollen
    1989, ch. 4), where the covariances are every pair of pure outcomes (not predicting anything)
    plus the other pairs written with ``~~``: the count :func:`sem` makes after building its model
    (a test compares both). Anything else returns None and is fitted.
    """
    t = parsed.table
    ops = t["op"].tolist()
    if len(parsed.constraints) or parsed.group_modifiers or not set(ops) <= {"~", "~~", ":="}:
        return None
    rows = [
        (lhs, op, rhs, label, ustart)
        for lhs, op, rhs, label, ustart in zip(
            t["lhs"].tolist(), ops, t["rhs"].tolist(), t["label"].tolist(), t["ustart"].tolist(), strict=True
        )
        if op != ":="
    ]
    labels = [row[3] for row in rows if row[3]]
    if len(labels) != len(set(labels)) or any(not math.isnan(row[4]) for row in rows):
        return None
    y_names = {lhs for lhs, op, *_ in rows if op == "~"}
    x_names = {rhs for _, op, rhs, *_ in rows if op == "~"}
    pure_y = y_names - x_names
    covs = set()
    for lhs, op, rhs, *_ in rows:
        if op != "~~":
            continue
        if lhs not in y_names or rhs not in y_names:
            return None  # a (co)variance of an exogenous variable: not fixed.x any more
        if lhs != rhs and not (lhs in pure_y and rhs in pure_y):
            covs.add(frozenset((lhs, rhs)))
    p = len(y_names | x_names)
    px = len(x_names - y_names)
    n_reg = ops.count("~")
    free = n_reg + len(y_names) + len(pure_y) * (len(pure_y) - 1) // 2 + len(covs)
    return p * (p + 1) // 2 - px * (px + 1) // 2 - free


# --------------------------------------------------------------------------------------------
# Estimation engine on moment matrices


class _Engine:
    """Evaluates all parameters for a batch of moment matrices in standardised variable space."""

    def __init__(self, model: _Model, X: np.ndarray, *, sd: np.ndarray | None = None) -> None:
        """``sd``: ``X.std(axis=0, ddof=0)`` when the caller has it already (the data checks do)."""
        self.model = model
        self.mean = X.mean(axis=0)
        self.sd = X.std(axis=0, ddof=0) if sd is None else sd
        self.q = X.shape[1] + 1
        Z = np.column_stack([np.ones(X.shape[0]), (X - self.mean) / self.sd])
        self.products = kf.pair_products(Z)
        self.n = X.shape[0]

    def full_moments(self) -> np.ndarray:
        return kf.unpack_moments(self.products.sum(axis=0), self.q)[0]

    def compute(self, M: np.ndarray, *, ols_cov: bool = False) -> dict[str, np.ndarray]:
        """Raw-unit estimates ``est``, ``std``, ``r2`` and ``failed`` for moments ``(R, q, q)``."""
        m = self.model
        R = M.shape[0]
        p = len(m.variables)
        P = len(m.params)
        est = np.full((R, P), np.nan)
        std = np.full((R, P), np.nan)
        N = M[:, 0, 0]
        mu = M[:, 0, 1:] / N[:, None]
        cov_ml = M[:, 1:, 1:] / N[:, None, None] - mu[:, :, None] * mu[:, None, :]
        beta = np.zeros((R, p, p))  # z-space coefficients, row = outcome
        G = np.zeros((R, len(m.equations), self.q))
        failed = np.zeros(R, dtype=bool)
        r2 = np.full((R, len(m.equations)), np.nan)
        eq_cov: list[np.ndarray] = []
        sd, mean = self.sd, self.mean
        for e, eq in enumerate(m.equations):
            yi = m.index[eq.y]
            cols = np.array([0] + [m.index[v] + 1 for v in eq.free], dtype=int)
            fcols = np.array([m.index[v] + 1 for v in eq.fixed], dtype=int)
            fz = np.array([f * sd[m.index[v]] / sd[yi] for v, f in zip(eq.fixed, eq.fixed_values, strict=True)])
            coef, g, sing = kf.batched_ols(M, yi + 1, cols, fcols, fz)
            failed |= sing
            G[:, e] = g
            for j, v in enumerate(eq.free):
                beta[:, yi, m.index[v]] = coef[:, j + 1]
                est[:, eq.free_rows[j]] = coef[:, j + 1] * sd[yi] / sd[m.index[v]]
            for v, f, row in zip(eq.fixed, eq.fixed_values, eq.fixed_rows, strict=True):
                beta[:, yi, m.index[v]] = f * sd[m.index[v]] / sd[yi]
                est[:, row] = f
            intercept = mean[yi] + sd[yi] * coef[:, 0]
            for v in eq.free + eq.fixed:
                intercept = intercept - est[:, m.params.index(self._reg(eq.y, v))] * mean[m.index[v]]
            if eq.int_row is not None:
                est[:, eq.int_row] = intercept
            k = len(cols)
            if ols_cov:
                sigma2 = float(g[0] @ M[0] @ g[0]) / (N[0] - k)
                xtx = M[0][np.ix_(cols, cols)]
                Vz = sigma2 * np.linalg.inv(xtx)
                # raw = T c: slopes b_j = c_j s_y / s_j; intercept = m_y + s_y c_0 - sum b_j m_j
                T = np.zeros((k, k))
                T[0, 0] = sd[yi]
                for j, v in enumerate(eq.free, start=1):
                    T[j, j] = sd[yi] / sd[m.index[v]]
                    T[0, j] = -sd[yi] * mean[m.index[v]] / sd[m.index[v]]
                eq_cov.append(T @ Vz @ T.T)
        # residual moments (z-space, divisor N) and model-implied covariance
        res = (G @ M) @ np.swapaxes(G, 1, 2) / N[:, None, None]  # G M G' (matmul: 2-8x faster than einsum)
        for e, eq in enumerate(m.equations):  # R^2 = 1 - SSE / SST, SSE = g' M g = N res_ee
            yi = m.index[eq.y]
            with np.errstate(divide="ignore", invalid="ignore"):  # a resample without variance in y
                r2[:, e] = 1.0 - res[:, e, e] / cov_ml[:, yi, yi]
        psi = np.zeros((R, p, p))
        nx = len(m.exo)
        psi[:, :nx, :nx] = cov_ml[:, :nx, :nx]  # exogenous variables come first
        eq_pos = {eq.y: e for e, eq in enumerate(m.equations)}
        for eq in m.equations:
            yi = m.index[eq.y]
            psi[:, yi, yi] = res[:, eq_pos[eq.y], eq_pos[eq.y]]
        for prm in m.params:
            if prm.kind == "rescov":
                a, b = m.index[prm.lhs], m.index[prm.rhs]
                psi[:, a, b] = psi[:, b, a] = res[:, eq_pos[prm.lhs], eq_pos[prm.rhs]]
        if failed.any():  # keep failed replicates finite (their values are discarded below)
            beta[failed] = 0.0
            psi[failed] = np.eye(p)
        var_imp = kf.implied_variances_recursive(beta, psi)  # variables are in causal order
        sd_imp = np.sqrt(np.clip(var_imp, 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            for i, prm in enumerate(m.params):
                if prm.kind == "reg":
                    yi, xi = m.index[prm.lhs], m.index[prm.rhs]
                    std[:, i] = beta[:, yi, xi] * sd_imp[:, xi] / sd_imp[:, yi]
                elif prm.kind == "int":
                    yi = m.index[prm.lhs]
                    std[:, i] = est[:, i] / (sd_imp[:, yi] * sd[yi])
                elif prm.kind in ("resvar", "rescov"):
                    a, b = m.index[prm.lhs], m.index[prm.rhs]
                    ea, eb = eq_pos[prm.lhs], eq_pos[prm.rhs]
                    k_a = 1 + len(m.equations[ea].free)
                    scale = sd[a] * sd[b]
                    if prm.kind == "resvar":
                        est[:, i] = res[:, ea, ea] * N / (N - k_a) * scale
                        std[:, i] = res[:, ea, ea] / var_imp[:, a]
                    else:
                        est[:, i] = res[:, ea, eb] * scale
                        std[:, i] = res[:, ea, eb] / np.sqrt(res[:, ea, ea] * res[:, eb, eb])
                elif prm.kind in ("var", "cov"):
                    a, b = m.index[prm.lhs], m.index[prm.rhs]
                    est[:, i] = cov_ml[:, a, b] * N / (N - 1) * sd[a] * sd[b]
                    std[:, i] = cov_ml[:, a, b] / np.sqrt(cov_ml[:, a, a] * cov_ml[:, b, b])
                elif prm.kind == "mean":
                    a = m.index[prm.lhs]
                    est[:, i] = mean[a] + sd[a] * mu[:, a]
                    std[:, i] = (mean[a] / sd[a] + mu[:, a]) / np.sqrt(cov_ml[:, a, a])
        est[failed] = np.nan
        std[failed] = np.nan
        r2[failed] = np.nan
        return {"est": est, "std": std, "r2": r2, "failed": failed, "eq_cov": eq_cov, "sd": sd}

    def _reg(self, y: str, x: str) -> _Param:
        return next(p for p in self.model.params if p.kind == "reg" and p.lhs == y and p.rhs == x)


# --------------------------------------------------------------------------------------------
# Data preparation and checks


# --------------------------------------------------------------------------------------------
# Compiled estimation of bootstrap replicates (sciplab.stats._path_kernels, loaded with numba)


COMPILE_ESTIMATION_AFTER = 4_000_000
"""Replicates a process estimates with the numpy engine before compiling the estimation kernel
(when no compiled copy is cached): compiling costs about 5 s of CPU (7.3 s at load 3; the lane-wise
kernel is twice the code of the scalar one it replaced), the kernel saves about 1.3 microseconds per
replicate for the single mediator (numpy engine 1.36, kernel 0.06) and 4 for scip-core, and runs in
the resampling threads (ski rental: 4e6 x 1.3 us is about the compile)."""

_ESTIMATED = [0]
"""Replicates estimated with the numpy engine in this process while the kernels were loaded."""


def _use_compiled(B: int) -> bool:
    """Whether this run's ``B`` replicates are estimated by the compiled kernel (:data:`COMPILE_ESTIMATION_AFTER`)."""
    from sciplab.stats import _path_kernels as pk

    if pk.ready() or _ESTIMATED[0] + B > COMPILE_ESTIMATION_AFTER:
        return True
    _ESTIMATED[0] += B
    return False


def _compiled_estimator(engine: _Engine) -> Callable[[np.ndarray], np.ndarray]:
    """The compiled twin of ``engine.compute`` on packed sums: ``(R, k)`` -> ``(R, 2 P + E + 1)``.

    Rows hold ``est``, ``std``, ``r2`` and the failure flag (1.0 = failed), split by
    :func:`_split_estimates`. Used when the resampling kernels (hence numba) are loaded; it
    releases the GIL, so the resampling threads estimate their own blocks
    (:mod:`sciplab.stats._path_kernels`).
    """
    from sciplab.stats import _path_kernels as pk

    arrays = pk.plan(engine.model, engine.mean, engine.sd)
    P, E = len(engine.model.params), len(engine.model.equations)

    def run(sums: np.ndarray) -> np.ndarray:
        out = np.empty((sums.shape[0], 2 * P + E + 1))
        pk.estimate(np.ascontiguousarray(sums), *arrays, kf.SINGULAR_TOL, pk.LANES, out)
        return out

    return run


def _split_estimates(block: np.ndarray, P: int, E: int) -> dict[str, np.ndarray]:
    """The columns of :func:`_compiled_estimator` rows as ``engine.compute`` returns them."""
    return {
        "est": block[:, :P],
        "std": block[:, P : 2 * P],
        "r2": block[:, 2 * P : 2 * P + E],
        "failed": block[:, -1] != 0,
    }
