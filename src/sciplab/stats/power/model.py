"""Population and analysis models of a power study: lavaan syntax with fixed values -> moments.

A *population model* says how the data are generated. It is written in the syntax of
:mod:`sciplab.stats.syntax` with every regression given a value (``m ~ 0.3*x``) or as a covariance
(correlation) matrix. Conventions (those of pwrSEM, Wang & Rhemtulla 2021):

* A coefficient is a standardized coefficient when the variances are left out: every variance not
  written is solved so that the variable has unit variance; exogenous variables get variance 1 and
  an endogenous variable the residual variance ``1 - R^2`` of its equation.
* A variance written explicitly (``m ~~ 1*m``) is used as given (for an endogenous variable it is the
  residual variance), so unstandardized designs such as MacKinnon et al. (2002: X ~ N(0, 1),
  unit residual variances) are written directly.
* A covariance between two different variables (``x1 ~~ 0.3*x2``; ``m1 ~~ 0.2*m2`` for residuals) is
  a correlation: it is multiplied by the two (residual) standard deviations.
* A residual covariance between a variable and one of its predictors (or their ancestors) is refused:
  equation-wise OLS would be biased, which is a different study.

The implied covariance matrix is built equation by equation in causal order (Bollen 1989, ch. 4:
Sigma = (I - B)^-1 Psi (I - B)^-T for recursive models). An equation whose coefficients imply
``R^2 >= 1`` and a covariance matrix that is not positive definite are errors naming the equation or
the variables.

The *analysis model* is what each replicate fits: by default the population structure with every
value freed. Its population values (the true values the power refers to) are the population
regression coefficients ``Sigma_PP^-1 Sigma_Py`` of each of its equations, so a misspecified or
reduced analysis model is handled exactly. Defined effects (``:=``) come from the analysis model,
else from the population model; without any, every specific indirect path is enumerated as
``ind1, ind2, ...`` in the order the paths are found.

References
----------
Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.
Wang, Y. A., & Rhemtulla, M. (2021). Power analysis for parameter estimation in structural equation
modeling: A discussion and tutorial. *Advances in Methods and Practices in Psychological Science,
4*(1). https://doi.org/10.1177/2515245920918253
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError, SciplabError, suggest
from sciplab.stats.syntax import Expression, ParsedModel, parse_expression, parse_model

__all__ = ["AnalysisModel", "EngineUnavailableError", "Population", "population"]

MAX_EFFECTS = 200
"""Most specific indirect paths enumerated automatically (define the effects with ':=' beyond)."""


class EngineUnavailableError(SciplabError, NotImplementedError):
    """The requested analysis needs an estimation engine this installation does not have."""


SEM_NEEDED = (
    "latent variables and FIML need the SEM engine (sciplab.stats.sem), which is not part of this "
    "installation yet; for now power() fits observed-variable path models (listwise deletion)"
)


def sem_available() -> bool:
    """Whether the SEM engine (``sciplab.stats.sem``) can be imported."""
    import importlib.util

    return importlib.util.find_spec("sciplab.stats.sem") is not None


@dataclass(frozen=True)
class Population:
    """A population: variable names, covariance matrix and (for syntax) the parsed model."""

    variables: tuple[str, ...]
    cov: np.ndarray
    parsed: ParsedModel | None = None
    values: Mapping[str, float] = field(default_factory=dict)  # label -> population value
    source: str = "syntax"

    @property
    def sd(self) -> np.ndarray:
        """Standard deviations of the variables."""
        return np.sqrt(np.diag(self.cov))

    def correlation(self) -> pd.DataFrame:
        """Implied correlation matrix as a labelled DataFrame."""
        sd = self.sd
        return pd.DataFrame(self.cov / np.outer(sd, sd), index=self.variables, columns=self.variables)


@dataclass(frozen=True)
class Equation:
    """One regression of the analysis model: outcome, predictors and their parameter names."""

    y: str
    predictors: tuple[str, ...]
    names: tuple[str, ...]  # parameter name of each coefficient (label or "y~x")


@dataclass(frozen=True)
class AnalysisModel:
    """What each replicate fits: equations, residual covariance pairs and defined effects."""

    equations: tuple[Equation, ...]
    rescov: tuple[tuple[str, str], ...]
    effects: Mapping[str, Expression]
    effect_paths: Mapping[str, str]
    truth: Mapping[str, float]  # population value of every coefficient and effect
    coef_rows: tuple[tuple[str, str, str, str], ...]  # (name, lhs, rhs, label) per coefficient
    auto_effects: bool = False

    @property
    def coefficient_names(self) -> list[str]:
        """Names of all regression coefficients, in equation order."""
        return [n for eq in self.equations for n in eq.names]


def _value_of(row: Any) -> float:
    return float(row["ustart"]) if not math.isnan(row["ustart"]) else math.nan


def _topological(variables: list[str], parents: Mapping[str, list[str]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for start in variables:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            v, i = stack.pop()
            if i == 0:
                if state.get(v) == 2:
                    continue
                state[v] = 1
            ps = parents.get(v, [])
            if i < len(ps):
                stack.append((v, i + 1))
                p = ps[i]
                if state.get(p) == 1:
                    raise InvalidParameterError(
                        f"the model has a feedback loop through {p!r} and {v!r}; power() handles recursive "
                        "(acyclic) path models"
                    )
                if not state.get(p):
                    stack.append((p, 0))
            else:
                state[v] = 2
                order.append(v)
    return order


def _check_ops(table: pd.DataFrame, what: str) -> None:
    bad = table[~table["op"].isin(["~", "~1", "~~", ":="])]
    if len(bad):
        row = bad.iloc[0]
        if row["op"] == "=~":
            raise EngineUnavailableError(
                f"the {what} defines a latent variable ('{row['lhs']} =~ ...', line {row['line']}): {SEM_NEEDED}"
            )
        raise InvalidParameterError(f"operator {row['op']!r} is not supported in the {what}")


def _ancestors(v: str, parents: Mapping[str, list[str]]) -> set[str]:
    out: set[str] = set()
    todo = list(parents.get(v, []))
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(parents.get(p, []))
    return out


def population(
    model: str | pd.DataFrame | np.ndarray | Population, *, variables: list[str] | None = None
) -> Population:
    """Build a :class:`Population` from syntax with fixed values or from a covariance matrix.

    Parameters
    ----------
    model
        lavaan-style syntax where every regression has a value (``m ~ 0.3*x``); or a square
        covariance/correlation matrix (a DataFrame with matching index and columns, or an array with
        ``variables``).
    variables
        Names for an array ``model``.

    Returns
    -------
    Population

    Examples
    --------
    >>> pop = population("m ~ 0.5*x; y ~ 0.4*m")
    >>> pop.variables
    ('x', 'm', 'y')
    >>> [round(float(v), 6) for v in pop.cov.diagonal()]
    [1.0, 1.0, 1.0]
    """
    if isinstance(model, Population):
        return model
    if isinstance(model, pd.DataFrame | np.ndarray):
        return _from_matrix(model, variables)
    if not isinstance(model, str):
        raise InvalidParameterError(
            f"model must be lavaan-style syntax, a covariance matrix (DataFrame) or a template name, "
            f"got {type(model).__name__}"
        )
    parsed = parse_model(model)
    t = parsed.table
    _check_ops(t, "population model")
    reg = t[t["op"] == "~"]
    if reg.empty:
        raise InvalidParameterError("the population model has no regression ('m ~ 0.3*x'); nothing to generate")
    free = reg[reg["ustart"].isna()]
    if len(free):
        r = free.iloc[0]
        raise InvalidParameterError(
            f"the population model needs a value for every regression: '{r['lhs']} ~ {r['rhs']}' (line {r['line']}) "
            f"has none; write e.g. '{r['lhs']} ~ 0.3*{r['rhs']}' (a standardized coefficient)"
        )
    names: list[str] = []
    for _, r in t[t["op"].isin(["~", "~~", "~1"])].iterrows():
        for v in (r["rhs"], r["lhs"]):
            if v and v not in names:
                names.append(v)
    parents: dict[str, list[str]] = {}
    coef: dict[tuple[str, str], float] = {}
    values: dict[str, float] = {}
    for _, r in reg.iterrows():
        parents.setdefault(r["lhs"], []).append(r["rhs"])
        coef[(r["lhs"], r["rhs"])] = float(r["ustart"])
        if r["label"]:
            values[r["label"]] = float(r["ustart"])
    order = _topological(names, parents)
    var_given: dict[str, float] = {}
    corr_given: dict[frozenset[str], float] = {}
    for _, r in t[t["op"] == "~~"].iterrows():
        value = _value_of(r)
        if math.isnan(value):
            raise InvalidParameterError(
                f"the population model needs a value for '{r['lhs']} ~~ {r['rhs']}' (line {r['line']}), "
                f"e.g. '{r['lhs']} ~~ 0.2*{r['rhs']}'"
            )
        if r["lhs"] == r["rhs"]:
            if value <= 0:
                raise InvalidParameterError(
                    f"the variance '{r['lhs']} ~~ {value:g}*{r['lhs']}' (line {r['line']}) must be positive"
                )
            var_given[r["lhs"]] = value
        else:
            if not -1 < value < 1:
                raise InvalidParameterError(
                    f"'{r['lhs']} ~~ {value:g}*{r['rhs']}' (line {r['line']}) is a correlation in the population "
                    "model and must be between -1 and 1"
                )
            pair = frozenset((r["lhs"], r["rhs"]))
            for a, b in ((r["lhs"], r["rhs"]), (r["rhs"], r["lhs"])):
                if a in _ancestors(b, parents):
                    raise InvalidParameterError(
                        f"'{r['lhs']} ~~ {r['rhs']}' (line {r['line']}) correlates the residual of {b!r} with its "
                        f"predictor {a!r}; equation-wise OLS would be biased (not supported)"
                    )
            corr_given[pair] = value
            if r["label"]:
                values[r["label"]] = value
    k = len(order)
    index = {v: i for i, v in enumerate(order)}
    cov = np.zeros((k, k))
    resvar: dict[str, float] = {}
    for v in order:
        i = index[v]
        ps = parents.get(v, [])
        if ps:
            pi = [index[p] for p in ps]
            b = np.array([coef[(v, p)] for p in ps])
            explained = float(b @ cov[np.ix_(pi, pi)] @ b)
            if v in var_given:
                psi = var_given[v]
            else:
                psi = 1.0 - explained
                if psi <= 1e-12:
                    terms = " + ".join(f"{coef[(v, p)]:g}*{p}" for p in ps)
                    raise InvalidParameterError(
                        f"the equation '{v} ~ {terms}' implies R^2 = {explained:.3f} >= 1 with standardized "
                        "variables; lower its coefficients (or the correlations among its predictors)"
                    )
            resvar[v] = psi
            cross = b @ cov[np.ix_(pi, range(i))]  # covariances with earlier variables through the paths
        else:
            psi = var_given.get(v, 1.0)
            resvar[v] = psi
            cross = np.zeros(i)
        for j, w in enumerate(order[:i]):
            rho = corr_given.get(frozenset((v, w)), 0.0)
            if rho and parents.get(v) and not parents.get(w) or rho and parents.get(w) and not parents.get(v):
                raise InvalidParameterError(
                    f"'{v} ~~ {w}' correlates an exogenous variable with the residual of an endogenous one; "
                    "only exogenous pairs or residual pairs may be correlated"
                )
            cross[j] = cross[j] + rho * math.sqrt(psi * resvar[w])
        cov[i, :i] = cross
        cov[:i, i] = cross
        cov[i, i] = (float(b @ cov[np.ix_(pi, pi)] @ b) if ps else 0.0) + psi
    _check_pd(cov, order)
    for _, r in t[t["op"] == ":="].iterrows():
        expr = parsed.expressions[r["lhs"]]
        values[r["lhs"]] = float(expr.evaluate(values))
    return Population(tuple(order), cov, parsed, values, "syntax")


def _check_pd(cov: np.ndarray, names: list[str] | tuple[str, ...]) -> None:
    w, vecs = np.linalg.eigh((cov + cov.T) / 2)
    if not np.all(np.isfinite(w)) or w.min() <= 1e-10 * max(1.0, float(np.abs(w).max())):
        v = vecs[:, int(np.argmin(w))]
        involved = [names[i] for i in np.argsort(-np.abs(v))[:3] if abs(v[i]) > 0.1]
        raise InvalidParameterError(
            f"the population covariance matrix is not positive definite (smallest eigenvalue {w.min():.3g}); "
            f"the values of {', '.join(involved)} are inconsistent: lower the correlations among them"
        )


def _from_matrix(model: pd.DataFrame | np.ndarray, variables: list[str] | None) -> Population:
    if isinstance(model, pd.DataFrame):
        if list(model.index) != list(model.columns):
            raise InvalidParameterError("a covariance matrix needs the same variable names as index and columns")
        names = [str(c) for c in model.columns]
        cov = model.to_numpy(dtype=float)
    else:
        cov = np.asarray(model, dtype=float)
        if variables is None:
            raise InvalidParameterError("a covariance matrix given as an array needs variables=[names]")
        names = [str(v) for v in variables]
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] != len(names):
        raise InvalidParameterError(f"the covariance matrix must be square with one row per variable, got {cov.shape}")
    if len(set(names)) != len(names):
        raise InvalidParameterError("the covariance matrix has duplicated variable names")
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, atol=1e-10):
        raise InvalidParameterError("the covariance matrix must be finite and symmetric")
    _check_pd(cov, names)
    return Population(tuple(names), cov, None, {}, "matrix")


def _coef_name(lhs: str, rhs: str, label: str) -> str:
    return label or f"{lhs}~{rhs}"


def analysis_model(pop: Population, model: str | None = None) -> AnalysisModel:
    """Compile the analysis model (default: the population structure, values freed).

    Population values of the coefficients are the population regression coefficients of each
    equation (``Sigma_PP^-1 Sigma_Py``), so they equal the written values when the analysis model is
    the population model.
    """
    if model is None:
        if pop.parsed is None:
            raise InvalidParameterError(
                "a population given as a covariance matrix needs analysis_model= (the model each replicate fits)"
            )
        parsed = pop.parsed
    else:
        if not isinstance(model, str):
            raise InvalidParameterError(f"analysis_model must be lavaan-style syntax, got {type(model).__name__}")
        parsed = parse_model(model)
    t = parsed.table
    _check_ops(t, "analysis model")
    reg = t[t["op"] == "~"]
    if reg.empty:
        raise InvalidParameterError("the analysis model has no regression ('y ~ x'); nothing to test")
    index = {v: i for i, v in enumerate(pop.variables)}
    for _, r in t[t["op"].isin(["~", "~~"])].iterrows():
        for v in (r["lhs"], r["rhs"]):
            if v not in index:
                raise InvalidParameterError(
                    f"the analysis model uses {v!r} (line {r['line']}), which the population does not generate"
                    f"{suggest(v, index)}; population variables: {', '.join(pop.variables)}"
                )
    labels = t[(t["op"] != ":=") & (t["label"] != "")]
    dup = labels[labels["label"].duplicated(keep=False)]
    if len(dup):
        raise InvalidParameterError(
            f"label {dup.iloc[0]['label']!r} is shared by several parameters (an equality constraint), which "
            "equation-wise OLS cannot impose"
        )
    parents: dict[str, list[str]] = {}
    label_of: dict[tuple[str, str], str] = {}
    fixed_zero: set[tuple[str, str]] = set()
    for _, r in reg.iterrows():
        if model is not None and not math.isnan(r["ustart"]):
            # an analysis model's fixed value is a constraint OLS cannot impose except 0 (leave the path out)
            if float(r["ustart"]) == 0.0:
                fixed_zero.add((r["lhs"], r["rhs"]))
                continue
            raise InvalidParameterError(
                f"the analysis model fixes '{r['lhs']} ~ {r['rhs']}' to {r['ustart']:g} (line {r['line']}); "
                "write paths without values (they are estimated) or leave the path out"
            )
        parents.setdefault(r["lhs"], []).append(r["rhs"])
        label_of[(r["lhs"], r["rhs"])] = r["label"]
    names_all = list(dict.fromkeys([*reg["rhs"], *reg["lhs"]]))
    order = _topological(names_all, parents)
    equations: list[Equation] = []
    truth: dict[str, float] = {}
    coef_rows: list[tuple[str, str, str, str]] = []
    cov = pop.cov
    for v in order:
        ps = parents.get(v)
        if not ps:
            continue
        names = tuple(_coef_name(v, p, label_of[(v, p)]) for p in ps)
        equations.append(Equation(v, tuple(ps), names))
        pi = [index[p] for p in ps]
        beta = np.linalg.solve(cov[np.ix_(pi, pi)], cov[pi, index[v]])
        for p, name, b in zip(ps, names, beta, strict=True):
            truth[name] = float(b) if abs(b) > 1e-12 else 0.0  # a zero path stays exactly 0
            coef_rows.append((name, v, p, label_of[(v, p)]))
    endo = {eq.y for eq in equations}
    rescov: list[tuple[str, str]] = []
    for _, r in t[(t["op"] == "~~") & (t["lhs"] != t["rhs"])].iterrows():
        if r["lhs"] in endo and r["rhs"] in endo:
            rescov.append((r["lhs"], r["rhs"]))
    label_values = {lab: truth[name] for name, _, _, lab in coef_rows if lab}
    effects: dict[str, Expression] = {}
    paths: dict[str, str] = {}
    defined = t[t["op"] == ":="]
    source_exprs = parsed.expressions
    if defined.empty and model is not None and pop.parsed is not None and len(pop.parsed.defined):
        source_exprs = pop.parsed.expressions  # the population's := over the same labels
    for name, expr in source_exprs.items():
        missing = [n for n in expr.names if n not in label_values and n not in source_exprs]
        if missing:
            raise InvalidParameterError(
                f"the defined effect {name!r} uses {', '.join(map(repr, missing))}, which the analysis model does not "
                "estimate; label the paths in the analysis model"
            )
        effects[name] = expr
        paths[name] = expr.text
    auto = False
    if not effects:
        auto = True
        effects, paths = _enumerate(equations, fixed_zero)
    values = {**truth, **label_values}
    for name, expr in effects.items():
        values[name] = truth[name] = float(expr.evaluate(values))
    return AnalysisModel(tuple(equations), tuple(rescov), effects, paths, truth, tuple(coef_rows), auto)


def _enumerate(
    equations: list[Equation], fixed_zero: set[tuple[str, str]]
) -> tuple[dict[str, Expression], dict[str, str]]:
    """Every specific indirect path (length >= 2) as ``ind1, ind2, ...``: products of coefficients."""
    children: dict[str, list[tuple[str, str]]] = {}
    starts: list[str] = []
    for eq in equations:
        for p, name in zip(eq.predictors, eq.names, strict=True):
            children.setdefault(p, []).append((eq.y, name))
            if p not in starts:
                starts.append(p)
    found: list[tuple[list[str], list[str]]] = []
    for src in starts:
        todo: list[tuple[str, list[str], list[str]]] = [(src, [src], [])]
        while todo:
            v, chain, coefs = todo.pop(0)
            if len(coefs) >= 2:
                found.append((chain, coefs))
                if len(found) > MAX_EFFECTS:
                    raise InvalidParameterError(
                        f"the model has more than {MAX_EFFECTS} indirect paths; define the effects of interest "
                        "with ':=' (e.g. 'ind := a*b')"
                    )
            for child, name in children.get(v, []):
                todo.append((child, [*chain, child], [*coefs, name]))
    effects: dict[str, Expression] = {}
    paths: dict[str, str] = {}
    for k, (chain, coefs) in enumerate(found, start=1):
        name = f"ind{k}"
        effects[name] = _product(coefs)
        paths[name] = " -> ".join(chain)
    return effects, paths


def _product(names: list[str]) -> Expression:
    """An expression multiplying the named coefficients (names may contain '~')."""
    rest = tuple(("*", ("name", (1, 1), n)) for n in names[1:])
    tree: tuple[Any, ...] = ("chain", (1, 1), ("name", (1, 1), names[0]), rest)
    return Expression("*".join(names), tree, tuple(dict.fromkeys(names)), "*".join(names))


def expression(text: str) -> Expression:
    """Parse an effect expression (re-exported for tests)."""
    return parse_expression(text)
