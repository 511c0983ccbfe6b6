"""Power of latent-variable models and of FIML analyses: replicates analysed by the SEM engine.

Population
----------
A latent population model is lavaan syntax with a value for every loading and regression
(``f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3; f2 =~ ...; f2 ~ 0.3*f1``). It is generated standardized, as in
pwrSEM (Wang & Rhemtulla 2021): a loading ``f =~ l*x`` is the regression ``x ~ l*f``, so with the
conventions of :mod:`sciplab.stats.power.model` every latent and observed variable has unit
variance (residual variances are solved: item residual variance ``1 - sum of l^2 var(f)`` and a
latent outcome's disturbance variance ``1 - R^2``), a loading is a standardized loading, and
``x1 ~~ 0.2*x2`` is a residual correlation. Only the items (the non-latent variables) are generated.

Analysis
--------
Each replicate fits the analysis model (default: the population syntax with every value freed;
the engine's default identification: first loading of each factor fixed at 1) by normal-theory ML.
The *population value* of every parameter is the ML fit of the analysis model to the population
covariance matrix (so marker-scaled loadings and misspecified analysis models are handled exactly).

* Complete data (or ``missing`` analysed listwise): every replicate's sample covariance matrix is
  refitted in batches by the engine's batched Fisher scoring (the same solver as its bootstrap,
  :func:`sciplab.stats.sem._boot.refit`), warm-started at the population values; SEs from the
  expected information. No per-replicate Python loop.
* ``missing`` with ``method="fiml"``: each replicate is fitted by :func:`sciplab.stats.sem.sem`
  with ``missing="fiml"`` (a per-replicate loop: the engine has no batched FIML; SEs from the
  observed information).

Parameters (loadings, regressions, covariances) get two-sided Wald z tests. Defined effects
(``:=``) get the delta-method z test (``test="sobel"``) or the Monte Carlo CI (``test="mc"``, draws
from ``N(estimate, vcov)`` of the parameters; complete data only: with FIML the delta-method test
is used and ``details["effect_test"]`` says so). Replicates that do not converge are dropped and
counted (``failed``); converged replicates with a negative variance estimate (Heywood cases) are
kept and counted in ``details["improper"]``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab._core.results import package_version
from sciplab.stats.power.generate import (
    Missing,
    NonNormal,
    draw,
    missing_cells,
    missing_plan,
    non_normal,
    parse_missing,
)
from sciplab.stats.power.model import Population, population
from sciplab.stats.power.results import TEST_NAMES, PowerResult
from sciplab.stats.syntax import ParsedModel, parse_model

__all__ = ["LatentPopulation", "LatentStudy", "latent_population", "needs_sem", "power_sem", "run_latent_chunk"]

LATENT_TESTS = ("mc", "sobel", "joint", "percentile")
CHUNK = 250
"""Replicates generated and refitted per batch."""
_Z = 1.959963984540054


class LatentPopulation:
    """A population with latent variables: full covariance (latent and observed) and the items."""

    def __init__(self, full: Population, observed: tuple[str, ...], latent: tuple[str, ...], parsed: ParsedModel):
        self.full = full
        self.observed = observed
        self.latent = latent
        self.parsed = parsed
        idx = [full.variables.index(v) for v in observed]
        self.cov = full.cov[np.ix_(idx, idx)]

    @property
    def variables(self) -> tuple[str, ...]:
        """The generated (observed) variables."""
        return self.observed


def _num(v: float) -> str:
    return repr(float(v))


def _lab(label: str) -> str:
    return f"{label}*" if label else ""


def needs_sem(model: Any, analysis_model: Any, missing: Any) -> bool:
    """Whether a study needs the SEM engine: latent variables or FIML."""
    texts = [m for m in (model, analysis_model) if isinstance(m, str)]
    if any("=~" in t for t in texts):
        return True
    miss = parse_missing(missing)
    return miss is not None and miss.method == "fiml"


def latent_population(model: str) -> LatentPopulation:
    """Standardized population of a model with ``=~`` (and/or paths) with fixed values.

    Examples
    --------
    >>> pop = latent_population("f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3; f2 =~ 0.6*y1 + 0.6*y2 + 0.6*y3; f2 ~ 0.3*f1")
    >>> pop.observed
    ('x1', 'x2', 'x3', 'y1', 'y2', 'y3')
    >>> round(float(pop.cov[0, 3]), 4)  # 0.7 * 0.3 * 0.6
    0.126
    """
    parsed = parse_model(model)
    t = parsed.table
    latent = tuple(dict.fromkeys(t.loc[t["op"] == "=~", "lhs"]))
    lines: list[str] = []
    for _, r in t.iterrows():
        op, lhs, rhs, label, value = r["op"], r["lhs"], r["rhs"], r["label"], r["ustart"]
        given = not math.isnan(value)
        if op == "=~":
            if not given:
                raise InvalidParameterError(
                    f"the population model needs a value for every loading: '{lhs} =~ {rhs}' (line {r['line']}) has "
                    f"none; write e.g. '{lhs} =~ 0.7*{rhs}' (a standardized loading)"
                )
            lines.append(f"{rhs} ~ {_num(value)}*{_lab(label)}{lhs}")
        elif op == "~":
            lines.append(f"{lhs} ~ {_num(value) + '*' if given else ''}{_lab(label)}{rhs}")
        elif op == "~~":
            lines.append(f"{lhs} ~~ {_num(value) + '*' if given else ''}{_lab(label)}{rhs}")
        elif op == ":=":
            lines.append(f"{lhs} := {parsed.expressions[lhs].text}")
        elif op == "~1":
            continue  # means are 0
        else:
            raise InvalidParameterError(f"operator {op!r} is not supported in the population model")
    full = population("\n".join(lines))
    observed = tuple(v for v in full.variables if v not in latent)
    if not observed:
        raise InvalidParameterError("the population model has no observed variables to generate")
    return LatentPopulation(full, observed, latent, parsed)


def default_analysis(parsed: ParsedModel) -> str:
    """The population syntax with every value freed (variances left to the engine)."""
    t = parsed.table
    lines = []
    for _, r in t.iterrows():
        op, lhs, rhs, label = r["op"], r["lhs"], r["rhs"], r["label"]
        if op in ("=~", "~"):
            lines.append(f"{lhs} {op} {_lab(label)}{rhs}")
        elif op == "~~" and lhs != rhs:
            lines.append(f"{lhs} ~~ {_lab(label)}{rhs}")
        elif op == ":=":
            lines.append(f"{lhs} := {parsed.expressions[lhs].text}")
    return "\n".join(lines)


class _Fitter:
    """The compiled analysis model, its population values and the tested rows."""

    def __init__(self, pop_obs: tuple[str, ...], pop_cov: np.ndarray, text: str, *, fiml: bool) -> None:
        from sciplab.stats.sem import _ml, _post
        from sciplab.stats.sem._spec import build, variables

        self.text = text
        self.parsed = parsed = parse_model(text)
        observed, latent = variables(parsed)
        index = {v: i for i, v in enumerate(pop_obs)}
        for v in observed:
            if v not in index:
                raise InvalidParameterError(
                    f"the analysis model uses {v!r}, which the population does not generate{suggest(v, index)}; "
                    f"population variables: {', '.join(pop_obs)}"
                )
        self.columns = [index[v] for v in observed]
        self.observed = observed
        S = pop_cov[np.ix_(self.columns, self.columns)]
        m = np.zeros(len(observed))
        self.meanstructure = fiml or bool((parsed.table["op"] == "~1").any())
        spec = build(
            parsed, groups=[1], kind="sem", meanstructure=self.meanstructure, group_equal=(), fixed_x=not fiml,
            sample=[(m, S)],
        )  # fmt: skip
        phi0 = _post.starts(spec, [m], [S])
        _post.check_identified(spec, phi0)
        block = _ml.Block(0, np.arange(len(observed))[None], np.array([1.0]), S[None, None], m[None, None])
        sol = _ml.fisher_scoring(spec.designs, [block], phi0[None], meanstructure=self.meanstructure)
        if not sol.converged[0]:
            raise InvalidParameterError(
                "the analysis model cannot be fitted to the population covariance matrix (ML did not converge); "
                "check that it is identified and matches the population"
            )
        self.spec = spec
        self.phi = sol.phi[0]
        tab = spec.table
        free = tab["free"].to_numpy()
        rows = []
        for i, r in enumerate(spec.records):
            if free[i] <= 0 or not r.get("user", 1):
                continue
            if r["op"] in ("=~", "~") or (r["op"] == "~~" and r["lhs"] != r["rhs"]):
                label = "" if str(r["label"]).startswith(".") else str(r["label"])
                name = label or f"{r['lhs']}{r['op']}{r['rhs']}"
                rows.append((name, r["lhs"], r["op"], r["rhs"], int(free[i]) - 1))
        self.rows = rows
        self.var_index = [int(free[i]) - 1 for i, r in enumerate(spec.records) if free[i] > 0 and r["op"] == "~~"
                          and r["lhs"] == r["rhs"]]  # fmt: skip
        self.labels: dict[str, tuple[int, float]] = {}
        for i, r in enumerate(spec.records):
            lab = str(r["label"])
            if lab and lab not in self.labels:
                self.labels[lab] = (int(free[i]) - 1, float(r["value"])) if free[i] > 0 else (-1, float(r["value"]))
        self.defined = list(parsed.table.loc[parsed.table["op"] == ":=", "lhs"])
        theta = spec.theta(self.phi[None])[0]
        self.truth = {name: _clean(theta[k]) for name, _, _, _, k in rows}
        for name, val in zip(self.defined, self.defined_values(self.phi[None])[0], strict=True):
            self.truth[name] = _clean(val)

    def defined_values(self, points: np.ndarray) -> np.ndarray:
        """Defined effects at ``points`` (R, q) -> (R, n_defined)."""
        th = self.spec.theta(points)
        return self.effects_from_theta(th)

    @property
    def label_columns(self) -> list[int]:
        """Free-parameter (theta) indices of the labels, in a fixed order."""
        return sorted({k for k, _ in self.labels.values() if k >= 0})

    def effects_from_theta(self, th: np.ndarray) -> np.ndarray:
        """Defined effects from parameter vectors ``(..., n_theta)``."""
        return self.effects_from_columns({k: th[..., k] for k in self.label_columns}, th.shape[:-1])

    def effects_from_columns(self, cols: dict[int, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """Defined effects from the labelled parameters only (``theta index -> array``)."""
        vals = {lab: (cols[k] if k >= 0 else np.full(shape, v)) for lab, (k, v) in self.labels.items()}
        out = []
        for nm in self.defined:
            vals[nm] = np.broadcast_to(self.parsed.expressions[nm].evaluate(vals), shape)
            out.append(vals[nm])
        return np.stack(out, axis=-1) if out else np.zeros((*shape, 0))


def _clean(v: float) -> float:
    return float(v) if abs(v) > 1e-8 else 0.0


def _delta_se(fitter: _Fitter, phi: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Delta-method SEs of the defined effects for every replicate (central differences, batched)."""
    R, q = phi.shape
    nd = len(fitter.defined)
    J = np.zeros((R, nd, q))
    for k in range(q):
        h = 1e-6 * np.maximum(1.0, np.abs(phi[:, k]))
        up, dn = phi.copy(), phi.copy()
        up[:, k] += h
        dn[:, k] -= h
        J[:, :, k] = (fitter.defined_values(up) - fitter.defined_values(dn)) / (2 * h[:, None])
    return np.sqrt(np.abs(np.einsum("rdi,rij,rdj->rd", J, V, J)))


def _batch_fit(fitter: _Fitter, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refit every replicate's moments at once: estimates phi (R, q), vcov (R, q, q), converged (R,)."""
    from sciplab.stats.sem import _boot

    R, n, _ = data.shape
    x = data[:, :, fitter.columns]
    mean = x.mean(axis=1)
    e = x - mean[:, None, :]
    cov = np.einsum("rni,rnj->rij", e, e) / n
    sol = _boot.refit(fitter.spec, fitter.phi, [(mean, cov)], [n])
    info = sol.info + 1e-12 * np.eye(fitter.spec.q)
    ok = sol.converged & np.all(np.isfinite(sol.phi), axis=1)
    V = np.full_like(info, np.nan)
    try:
        V[ok] = np.linalg.inv(info[ok]) * 2.0 / n
    except np.linalg.LinAlgError:
        V[ok] = np.linalg.pinv(info[ok]) * 2.0 / n
    return sol.phi, V, ok


def _fiml_fit(fitter: _Fitter, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-replicate ``sem(..., missing="fiml")``: estimates and SEs of the tested rows and effects."""
    from sciplab._core.errors import ConvergenceWarning, SciplabError
    from sciplab.stats.sem import sem

    R = data.shape[0]
    k = len(fitter.rows) + len(fitter.defined)
    est = np.full((R, k), np.nan)
    se = np.full((R, k), np.nan)
    ok = np.zeros(R, dtype=bool)
    improper = np.zeros(R, dtype=bool)
    keys: list[tuple[str, ...]] = [(lhs, op, rhs) for _, lhs, op, rhs, _ in fitter.rows]
    keys += [(nm, ":=") for nm in fitter.defined]
    for r in range(R):
        frame = pd.DataFrame(data[r][:, fitter.columns], columns=fitter.observed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = sem(frame, fitter.parsed, missing="fiml", std=False)
            except SciplabError:
                continue
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            continue
        tab = res.table
        lookup: dict[tuple[str, ...], int] = {
            (a, o, b): i for i, (a, o, b) in enumerate(zip(tab["lhs"], tab["op"], tab["rhs"], strict=True))
        }
        lookup.update({(a, ":="): i for i, (a, o) in enumerate(zip(tab["lhs"], tab["op"], strict=True)) if o == ":="})
        idx = [lookup[key] for key in keys]
        est[r] = tab["est"].to_numpy()[idx]
        se[r] = tab["se"].to_numpy()[idx]
        ok[r] = True
        improper[r] = bool((tab["flag"] == "heywood").any())
    return est, se, ok, improper


def _mc_reject(fitter: _Fitter, phi: np.ndarray, V: np.ndarray, draws: int, level: float, rng: np.random.Generator):
    """Monte Carlo CI excludes 0, per replicate and defined effect.

    Draws come from ``N(theta_hat, K V K')`` of the labelled parameters only (the parameters the
    defined effects use; ``theta = theta0 + K phi`` is linear). The percentile interval of the
    effect's draws excludes 0 when fewer than ``(1 - level) / 2`` of them lie at or beyond 0 on
    either side (counted, no sort; the rule of the observed-variable engine).
    """
    R = phi.shape[0]
    cols = fitter.label_columns
    K = fitter.spec.K[cols]
    mean = fitter.spec.theta(phi)[:, cols]
    Vs = np.einsum("ia,rab,jb->rij", K, V, K)
    k = len(cols)
    out = np.zeros((R, len(fitter.defined)), dtype=bool)
    step = max(1, 4_000_000 // max(1, draws * k))
    tail = (1 - level) / 2 * draws
    for a in range(0, R, step):
        b = min(R, a + step)
        w, vec = np.linalg.eigh(Vs[a:b])
        root = vec * np.sqrt(np.clip(w, 0, None))[:, None, :]
        z = rng.standard_normal((b - a, draws, k))
        pts = mean[a:b, None, :] + np.einsum("rij,rdj->rdi", root, z)
        vals = fitter.effects_from_columns({c: pts[..., j] for j, c in enumerate(cols)}, pts.shape[:-1])
        below = np.count_nonzero(vals <= 0, axis=1)
        above = np.count_nonzero(vals >= 0, axis=1)
        out[a:b] = (below < tail) | (above < tail)
    return out


def product_factors(expr: Any) -> list[str] | None:
    """The names multiplied in a pure product expression (``a*b``, ``a*b*c``), or ``None``."""
    tree = expr.tree
    if tree[0] == "name":
        return [tree[2]]
    if tree[0] != "chain" or tree[2][0] != "name":
        return None
    if not all(op == "*" and operand[0] == "name" for op, operand in tree[3]):
        return None
    return [tree[2][2], *(operand[2] for _, operand in tree[3])]


def _joint_rows(fitter: _Fitter) -> tuple[tuple[int, ...] | None, ...]:
    """Per defined effect: the tested rows (indices into ``fitter.rows``) whose product it is.

    ``None`` when the effect is not a pure product of labelled parameters that are tested (then
    the joint significance test is undefined, as in MacKinnon et al. 2002). Factors fixed to a
    value are constants and need no test.
    """
    row_of = {k: j for j, (*_, k) in enumerate(fitter.rows)}
    out: list[tuple[int, ...] | None] = []
    for name in fitter.defined:
        factors = product_factors(fitter.parsed.expressions[name])
        rows: list[int] | None = []
        for f in factors or []:
            if f not in fitter.labels:
                rows = None
                break
            k, _ = fitter.labels[f]
            if k < 0:
                continue
            if k not in row_of:
                rows = None
                break
            assert rows is not None
            rows.append(row_of[k])
        out.append(tuple(rows) if factors and rows else None)
    return tuple(out)


FITS_PER_BATCH = 4000
"""Bootstrap refits solved in one batch (resamples x replicates); bounds the memory of the solver."""


def percentile_counts(
    fitter: _Fitter, x: np.ndarray, bootstrap: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bootstrap estimates of each defined effect at or below 0, at or above 0, and valid: ``(R, E)`` each.

    ``x`` holds the replicates' analysed columns ``(R, n, p)``. One resampling plan of the ``n`` rows
    (the one resampling engine, ``seed``) is applied to every replicate of the chunk at once: the
    weighted sums of each replicate's first and second cross-products are a single matrix product,
    and all ``resamples x replicates`` moment matrices are refitted together by the batched Fisher
    scoring, warm-started at the population values.
    """
    from sciplab.stats import _bootstrap as bs
    from sciplab.stats.sem import _boot

    R, n, p = x.shape
    E = len(fitter.defined)
    iu = np.triu_indices(p)
    table = np.concatenate([x, x[:, :, iu[0]] * x[:, :, iu[1]]], axis=2)  # (R, n, w)
    w = table.shape[2]
    flat = np.ascontiguousarray(np.moveaxis(table, 0, 1).reshape(n, R * w))
    sampler = bs.Resampler(n, bootstrap, seed)
    below = np.zeros((R, E))
    above = np.zeros((R, E))
    count = np.zeros((R, E))
    for _, _, sums in sampler.weighted_sums(flat, chunk_size=max(1, FITS_PER_BATCH // R)):
        b = sums.shape[0]
        s = sums.reshape(b * R, w) / n
        mean = s[:, :p]
        second = np.empty((b * R, p, p))
        second[:, iu[0], iu[1]] = s[:, p:]
        second[:, iu[1], iu[0]] = s[:, p:]
        cov = second - mean[:, :, None] * mean[:, None, :]
        sol = _boot.refit(fitter.spec, fitter.phi, [(mean, cov)], [n])
        eff = fitter.defined_values(sol.phi).reshape(b, R, E)
        valid = (sol.converged & np.all(np.isfinite(sol.phi), axis=1)).reshape(b, R)[..., None] & np.isfinite(eff)
        below += ((eff <= 0) & valid).sum(axis=0)
        above += ((eff >= 0) & valid).sum(axis=0)
        count += valid.sum(axis=0)
    return below, above, count


def _percentile_reject(
    fitter: _Fitter, x: np.ndarray, bootstrap: int, level: float, rng: np.random.Generator
) -> np.ndarray:
    """Percentile bootstrap CI of every defined effect excludes 0, per replicate: ``(R, E)`` 0/1."""
    below, above, count = percentile_counts(fitter, x, bootstrap, int(rng.integers(0, 2**63 - 1)))
    tail = (1.0 - level) / 2 * count
    return (((below < tail) | (above < tail)) & (count > 0)).astype(float)


@dataclass(frozen=True)
class LatentStudy:
    """Everything a chunk of a latent/FIML study needs (picklable for Dask workers)."""

    fitter: _Fitter
    cov: np.ndarray
    chol: np.ndarray
    nonnormal: NonNormal | None
    missing: Missing | None
    missing_columns: tuple[int, ...]
    cause: int | None
    cause_sd: float
    g0: float
    test: str
    level: float
    draws: int
    bootstrap: int
    seed: int
    joint: tuple[tuple[int, ...] | None, ...]

    @property
    def fiml(self) -> bool:
        """Replicates analysed by FIML (per replicate)."""
        return self.missing is not None and self.missing.method == "fiml"

    @property
    def names(self) -> list[str]:
        """Tested rows, then defined effects."""
        return [r[0] for r in self.fitter.rows] + self.fitter.defined

    @property
    def min_n(self) -> int:
        """Smallest sample size accepted (observed variables + 2)."""
        return len(self.fitter.observed) + 2


def run_latent_chunk(study: LatentStudy, n: int, chunk: int, reps: int) -> dict[str, Any]:
    """Generate, fit and test ``reps`` replicates at sample size ``n``: counts and sums.

    The chunk's random numbers come from ``SeedSequence([seed, n, chunk])`` only (data, missingness
    and test streams spawned from it), so it gives the same counts wherever it runs.
    """
    fitter = study.fitter
    zq = NormalDist().inv_cdf((1 + study.level) / 2)
    nrow = len(fitter.rows)
    data_ss, miss_ss, test_ss = np.random.SeedSequence([study.seed, n, chunk]).spawn(3)
    data = draw(np.random.default_rng(data_ss), reps, n, study.cov, study.chol, study.nonnormal)
    miss = study.missing
    if miss is not None and miss.rate > 0:
        data = _apply_missing(
            np.random.default_rng(miss_ss), data, study.missing_columns, miss, study.cause, study.cause_sd, study.g0
        )
    test_rng = np.random.default_rng(test_ss)
    if study.fiml:
        est, se, ok, imp = _fiml_fit(fitter, data)
        with np.errstate(invalid="ignore"):
            reject = (np.abs(est) > zq * se).astype(float)
    else:
        phi, V, ok = _batch_fit(fitter, data)
        th = fitter.spec.theta(phi)
        Vd = np.nan_to_num(V)
        kk = [k for *_, k in fitter.rows]
        est = np.concatenate([th[:, kk], fitter.defined_values(phi)], axis=1)
        Vt = np.einsum("ia,rab,jb->rij", fitter.spec.K, Vd, fitter.spec.K)
        se_p = np.sqrt(np.abs(np.diagonal(Vt, axis1=1, axis2=2)))[:, kk]
        reject = (np.abs(est[:, :nrow]) > zq * se_p).astype(float)
        if fitter.defined:
            if study.test == "sobel":
                dse = _delta_se(fitter, phi, Vd)
                rej_d = (np.abs(est[:, nrow:]) > zq * dse).astype(float)
            elif study.test == "mc":
                rej_d = _mc_reject(fitter, phi, Vd, study.draws, study.level, test_rng).astype(float)
            elif study.test == "percentile":
                rej_d = _percentile_reject(fitter, data[:, :, fitter.columns], study.bootstrap, study.level, test_rng)
            else:
                rej_d = np.zeros((len(phi), len(fitter.defined)))
            reject = np.concatenate([reject, rej_d], axis=1)
        vidx = fitter.var_index
        imp = ok & (np.any(th[:, vidx] < 0, axis=1) if vidx else False)
    if study.test == "joint" and fitter.defined:
        for j, rows in enumerate(study.joint):
            reject[:, nrow + j] = reject[:, list(rows)].all(axis=1) if rows is not None else np.nan
    okf = ok & np.all(np.isfinite(est), axis=1)
    sig = reject[okf]
    return {
        "n": n, "chunk": chunk, "reps": reps, "ok": int(okf.sum()),
        "rejections": np.nan_to_num(sig).sum(axis=0), "undefined": np.isnan(sig).any(axis=0),
        "est_sum": est[okf].sum(axis=0), "improper": int(np.sum(imp & okf)),
    }  # fmt: skip


@dataclass(frozen=True)
class _Described:
    """What the population and analysis models are, for the table and details."""

    observed: tuple[str, ...]
    latent: tuple[str, ...]
    corr: pd.DataFrame
    source: str
    text: str


def prepare_sem(
    model: str | pd.DataFrame | Population,
    *,
    test: str,
    level: float,
    seed: int,
    missing: Any,
    analysis_model: str | None,
    draws: int,
    bootstrap: int = 1000,
    skew: Any = None,
    kurtosis: Any = None,
) -> tuple[LatentStudy, _Described]:
    """Check a latent/FIML study and compile it: the picklable study and its description."""
    if test not in LATENT_TESTS:
        raise InvalidParameterError(
            f"test={test!r} is not available for latent-variable or FIML studies; choose one of "
            f"{', '.join(LATENT_TESTS)} ('sobel' = delta-method z test)"
        )
    parsed_pop: ParsedModel | None
    if isinstance(model, str):
        lp = latent_population(model)
        pop_obs, pop_cov, parsed_pop = lp.observed, lp.cov, lp.parsed
        latent = lp.latent
        full_corr = lp.full.correlation()
    else:
        pop = population(model)
        pop_obs, pop_cov, parsed_pop, latent = pop.variables, pop.cov, pop.parsed, ()
        full_corr = pop.correlation()
        if analysis_model is None:
            raise InvalidParameterError("a population given as a covariance matrix needs analysis_model=")
    if analysis_model is not None and not isinstance(analysis_model, str):
        raise InvalidParameterError(f"analysis_model must be lavaan-style syntax, got {type(analysis_model).__name__}")
    if analysis_model is not None:
        text = analysis_model
    else:
        assert parsed_pop is not None
        text = default_analysis(parsed_pop)
    miss = parse_missing(missing)
    fiml = miss is not None and miss.method == "fiml"
    if miss is not None and miss.rate > 0 and not fiml:
        raise InvalidParameterError(
            "listwise deletion with latent variables is not batched; use method 'fiml' (e.g. missing='mcar:0.2:fiml')"
        )
    if fiml and test == "percentile":
        raise InvalidParameterError(
            "test='percentile' is not available with FIML (a bootstrap of per-replicate FIML fits); use 'mc', "
            "'sobel' or 'joint'"
        )
    nn = non_normal(pop_cov, pop_obs, skew, kurtosis)
    fitter = _Fitter(pop_obs, pop_cov, text, fiml=fiml)
    index = {v: i for i, v in enumerate(pop_obs)}
    miss_cols, cause, cause_sd, g0 = missing_plan(
        miss, index, fitter.observed, pop_cov, cause_kind="an observed population variable"
    )
    study = LatentStudy(
        fitter=fitter, cov=pop_cov, chol=np.linalg.cholesky(pop_cov), nonnormal=nn, missing=miss,
        missing_columns=tuple(miss_cols), cause=cause, cause_sd=cause_sd, g0=g0, test=test, level=level,
        draws=draws, bootstrap=bootstrap, seed=seed, joint=_joint_rows(fitter),
    )  # fmt: skip
    source = parsed_pop.source if parsed_pop is not None else "covariance matrix"
    return study, _Described(tuple(pop_obs), tuple(latent), full_corr, source, text)


def check_latent_ns(study: LatentStudy, ns: Sequence[int]) -> None:
    """Every sample size leaves the ML fit a chance: more cases than observed variables + 1."""
    for n in ns:
        if n < study.min_n:
            raise InvalidParameterError(
                f"n = {n} is too small for {len(study.fitter.observed)} observed variables (at least {study.min_n})"
            )


def latent_table(study: LatentStudy, chunks: list[dict[str, Any]], ns: Sequence[int], reps: int) -> pd.DataFrame:
    """One row per sample size and tested statistic (the columns of :class:`PowerResult`)."""
    fitter = study.fitter
    nrow = len(fitter.rows)
    rows_out = []
    for n in ns:
        mine = [c for c in chunks if c["n"] == n]
        ok_total = sum(c["ok"] for c in mine)
        rej = np.sum([c["rejections"] for c in mine], axis=0)
        est_sum = np.sum([c["est_sum"] for c in mine], axis=0)
        undefined = np.any([c["undefined"] for c in mine], axis=0)
        for j, name in enumerate(study.names):
            if j < nrow:
                _, lhs, op, rhs, _ = fitter.rows[j]
                kind, path = "coefficient", f"{lhs} {op} {rhs}"
            else:
                lhs, op, rhs = name, ":=", fitter.parsed.expressions[name].text
                kind, path = "effect", rhs
            truth = fitter.truth[name]
            defined = ok_total > 0 and not undefined[j]
            p = float(rej[j] / ok_total) if defined else math.nan
            mcse = math.sqrt(p * (1 - p) / ok_total) if defined else math.nan
            mean = float(est_sum[j] / ok_total) if ok_total else math.nan
            rows_out.append(
                {
                    "n": n, "name": name, "kind": kind, "lhs": lhs, "op": op, "rhs": rhs, "path": path,
                    "population": truth, "power": p, "mcse": mcse,
                    "ci_lower": max(0.0, p - _Z * mcse) if defined else math.nan,
                    "ci_upper": min(1.0, p + _Z * mcse) if defined else math.nan,
                    "rejections": int(rej[j]) if defined else 0, "replicates": ok_total, "failed": reps - ok_total,
                    "mean_est": mean, "bias": mean - truth,
                    "error": "type I error" if abs(truth) < 1e-12 else "power",
                }
            )  # fmt: skip
    return pd.DataFrame(rows_out)


def effect_test_name(study: LatentStudy) -> str:
    """Words for the test of the defined effects."""
    if study.test == "joint":
        return TEST_NAMES["joint"]
    if study.fiml or study.test == "sobel":
        return "delta-method z test"
    if study.test == "percentile":
        return TEST_NAMES["percentile"] + f" with {study.bootstrap:,} resamples"
    return TEST_NAMES["mc"] + f" with {study.draws:,} draws"


def latent_details(
    study: LatentStudy, described: _Described, ns: Sequence[int], reps: int, where: str, chunks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Settings, the design in words and the run's counts."""
    fitter, miss, fiml = study.fitter, study.missing, study.fiml
    effect_test = effect_test_name(study)
    estimator = (
        "ML (SEM engine), FIML per replicate (sem(missing='fiml'), observed-information SEs)"
        if fiml
        else "ML (SEM engine), replicates refitted in batches (batched Fisher scoring), expected-information SEs"
    )
    miss_text = f" with {miss.describe()}" if miss is not None and miss.rate > 0 else ""
    nn = study.nonnormal
    if nn is None:
        dist = "multivariate normal items"
    else:
        parts = [
            f"{v} (skew {s:g}, excess kurtosis {k:g})"
            for v, s, k in zip(described.observed, nn.skew, nn.kurtosis, strict=True)
            if s or k
        ]
        dist = "non-normal items generated by the Vale and Maurelli (1983) method: " + "; ".join(parts)
    design = (
        f"Power was estimated by Monte Carlo simulation with SCIP Lab {package_version()}: {reps:,} samples of "
        f"N = {', '.join(map(str, ns))} were drawn from the standardized population model ({dist}{miss_text}); "
        f"in each sample the model was estimated by maximum likelihood"
        f"{' with full-information ML for the missing values' if fiml else ''}; parameters were tested with "
        f"two-sided Wald z tests and defined effects with the {effect_test}, at alpha = {1 - study.level:.3g}; "
        f"power is the proportion of converged samples with a significant estimate, with its Monte Carlo standard "
        f"error (random seed {study.seed})."
    )
    test = "sobel" if (fiml and study.test == "mc") else study.test
    failed = {n: reps - sum(c["ok"] for c in chunks if c["n"] == n) for n in ns}
    return {
        "n": list(ns), "reps": reps, "test": test, "level": study.level, "seed": study.seed,
        "draws": study.draws if test == "mc" else None,
        "bootstrap": study.bootstrap if test == "percentile" else None,
        "missing": miss.describe() if miss is not None else None,
        "skew": list(nn.skew) if nn is not None else None, "kurtosis": list(nn.kurtosis) if nn is not None else None,
        "variables": list(described.observed), "latent": list(described.latent),
        "population_model": described.source,
        "analysis_model": described.text, "implied_correlation": described.corr.round(6).values.tolist(),
        "implied_variables": list(described.corr.columns),
        "effects": {nm: fitter.parsed.expressions[nm].text for nm in fitter.defined},
        "estimator": estimator, "effect_test": effect_test, "chunk": CHUNK,
        "run": where + (" (per-replicate sem() loop)" if fiml else " (batched SEM refits)"),
        "failed_total": int(sum(failed.values())),
        "improper": {n: int(sum(c["improper"] for c in chunks if c["n"] == n)) for n in ns},
        "parameters": fitter.spec.q, "design": design, "version": package_version(),
    }  # fmt: skip


def execute_latent(
    study: LatentStudy,
    ns: Sequence[int],
    reps: int,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    threads: int | None = None,
    progress: Any = None,
) -> tuple[list[dict[str, Any]], str]:
    """Run every chunk of the study (threads, or Dask) and return them in a fixed order."""
    from sciplab.stats.power.runner import execute, plan

    if study.fiml and threads is None:
        threads = 1  # sem() records warnings per fit, which is not thread-safe; Dask workers are processes
    return execute(
        study, plan(ns, reps, chunk=CHUNK), fn=run_latent_chunk, workers=workers, scheduler=scheduler,
        timeout=timeout, threads=threads, progress=progress,
    )  # fmt: skip


def power_sem(
    model: str | pd.DataFrame | Population,
    *,
    ns: list[int],
    reps: int,
    test: str,
    level: float,
    seed: int,
    missing: Any,
    analysis_model: str | None,
    draws: int,
    bootstrap: int = 1000,
    skew: Any = None,
    kurtosis: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    threads: int | None = None,
    progress: Any = None,
) -> PowerResult:
    """Power of every loading, regression, covariance and defined effect, analysed by the SEM engine."""
    study, described = prepare_sem(
        model, test=test, level=level, seed=seed, missing=missing, analysis_model=analysis_model, draws=draws,
        bootstrap=bootstrap, skew=skew, kurtosis=kurtosis,
    )  # fmt: skip
    check_latent_ns(study, ns)
    chunks, where = execute_latent(
        study, ns, reps, workers=workers, scheduler=scheduler, timeout=timeout, threads=threads, progress=progress
    )
    table = latent_table(study, chunks, ns, reps)
    return PowerResult(table=table, details=latent_details(study, described, ns, reps, where, chunks))


def _apply_missing(
    rng: np.random.Generator,
    data: np.ndarray,
    columns: Sequence[int],
    miss: Any,
    cause: int | None,
    cause_sd: float,
    g0: float,
) -> np.ndarray:
    """Set values missing (NaN) per cell: MCAR with ``rate`` or MAR through a logistic on the cause."""
    mask = missing_cells(rng, data, columns, miss, cause, cause_sd, g0)
    cols = list(columns)
    out = data.copy()
    sub = out[:, :, cols]
    sub[mask] = np.nan
    out[:, :, cols] = sub
    return out
