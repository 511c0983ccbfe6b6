"""``power`` and ``sample_size``: Monte Carlo power of path/mediation models, locally or on Dask.

See the package docstring (:mod:`sciplab.stats.power`) for the method and its sources.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab._core.random import SeedLike
from sciplab._core.results import package_version
from sciplab._core.validation import check_finite, check_level, check_replicates
from sciplab.stats.power.engine import CHUNK, TESTS, Spec
from sciplab.stats.power.generate import missing_plan, non_normal, parse_missing
from sciplab.stats.power.model import (
    AnalysisModel,
    Population,
    analysis_model,
    population,
)
from sciplab.stats.power.results import TEST_NAMES, PowerResult, SampleSizeResult
from sciplab.stats.power.runner import check_workers, execute, plan

MAX_N = 1_000_000
"""Largest sample size of one replicate."""
MAX_REPS = 1_000_000
MAX_DRAWS = 1_000_000
MAX_WORK = 2e11
"""Largest total work (replicates x N x variables, summed over sample sizes) accepted in one call."""


def _seed(seed: SeedLike) -> int:
    from sciplab.stats._bootstrap import resampling_seed

    return resampling_seed(seed)


def check_ns(n: object, *, minimum: int = 3) -> list[int]:
    """One sample size or a list of them: whole numbers from ``minimum`` to :data:`MAX_N`."""
    values = list(n) if isinstance(n, list | tuple | range | np.ndarray | pd.Series) else [n]
    if not values:
        raise InvalidParameterError("n must be a sample size or a non-empty list of sample sizes")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer | float | np.floating):
            raise InvalidParameterError(f"n must be whole numbers (sample sizes), got {v!r}")
        if isinstance(v, float | np.floating) and (not math.isfinite(v) or not float(v).is_integer()):
            raise InvalidParameterError(f"n must be whole numbers (sample sizes), got {v!r}")
        out.append(int(v))
    for v in out:
        if not minimum <= v <= MAX_N:
            raise InvalidParameterError(
                f"n = {v} is outside {minimum}..{MAX_N:,}: each equation needs more cases than coefficients "
                f"(the smallest usable N for this model is {minimum})"
            )
    return sorted(dict.fromkeys(out))


def _check_test(test: object) -> str:
    if not isinstance(test, str) or test.lower() not in TESTS:
        raise InvalidParameterError(
            f"unknown test {test!r}{suggest(str(test), TESTS)}; choose one of {', '.join(TESTS)}"
        )
    return test.lower()


def _is_product(expr: Any, names: set[str]) -> bool:
    tree = expr.tree
    if tree[0] == "name":
        return tree[2] in names
    if tree[0] != "chain":
        return False
    parts = [tree[2], *(operand for _, operand in tree[3])]
    return all(op == "*" for op, _ in tree[3]) and all(p[0] == "name" and p[2] in names for p in parts)


def build_spec(
    pop: Population,
    am: AnalysisModel,
    *,
    test: str,
    level: float,
    draws: int,
    bootstrap: int,
    seed: int,
    missing: Any,
    skew: Any,
    kurtosis: Any,
) -> Spec:
    """Assemble the picklable :class:`Spec` of a study."""
    index = {v: i for i, v in enumerate(pop.variables)}
    used_names = list(dict.fromkeys(v for eq in am.equations for v in (*eq.predictors, eq.y)))
    used = tuple(index[v] for v in used_names)
    local = {v: i for i, v in enumerate(used_names)}
    equations = tuple((local[eq.y], tuple(local[p] for p in eq.predictors)) for eq in am.equations)
    coef_names = tuple(am.coefficient_names)
    cindex = {name: i for i, name in enumerate(coef_names)}
    aliases = tuple((label, cindex[name]) for name, _, _, label in am.coef_rows if label)
    alias_map = {**cindex, **dict(aliases)}
    eq_index = {eq.y: e for e, eq in enumerate(am.equations)}
    rescov = tuple((eq_index[a], eq_index[b]) for a, b in am.rescov)
    effects = tuple(am.effects.items())
    effect_params: list[tuple[int, ...]] = []
    resolved: dict[str, tuple[int, ...]] = {}
    for name, expr in effects:
        params: set[int] = set()
        for ref in expr.names:
            if ref in alias_map:
                params.add(alias_map[ref])
            elif ref in resolved:
                params.update(resolved[ref])
        resolved[name] = tuple(sorted(params))
        effect_params.append(resolved[name])
    products = tuple(_is_product(expr, set(alias_map)) for _, expr in effects)
    miss = parse_missing(missing)
    missing_columns, cause, cause_sd, g0 = missing_plan(miss, index, used_names, pop.cov)
    nn = non_normal(pop.cov, pop.variables, skew, kurtosis)
    return Spec(
        cov=pop.cov,
        chol=np.linalg.cholesky(pop.cov),
        nonnormal=nn,
        used=used,
        equations=equations,
        coef_names=coef_names,
        aliases=aliases,
        rescov=rescov,
        effects=effects,
        effect_params=tuple(effect_params),
        products=products,
        test=test,
        level=level,
        draws=draws,
        bootstrap=bootstrap,
        seed=seed,
        missing=miss,
        missing_columns=missing_columns,
        cause=cause,
        cause_sd=cause_sd,
        g0=g0,
    )


def _design(pop: Population, am: AnalysisModel, spec: Spec, ns: list[int], reps: int, test: str, seed: int) -> str:
    """The design in words a methods section can cite."""
    eqs = "; ".join(f"{eq.y} on {', '.join(eq.predictors)}" for eq in am.equations)
    dist = "multivariate normal data"
    if spec.nonnormal is not None:
        parts = [
            f"{v} (skew {s:g}, excess kurtosis {k:g})"
            for v, s, k in zip(pop.variables, spec.nonnormal.skew, spec.nonnormal.kurtosis, strict=True)
            if s or k
        ]
        dist = (
            "non-normal data generated by the Vale and Maurelli (1983) method with Fleishman (1978) polynomials: "
            + ("; ".join(parts))
        )
    miss = ""
    if spec.missing is not None and spec.missing.rate > 0:
        miss = f" with {spec.missing.describe()}"
    n_text = ", ".join(str(n) for n in ns)
    test_text = TEST_NAMES[test]
    if test == "mc":
        test_text += f" with {spec.draws:,} draws"
    if test == "percentile":
        test_text += f" with {spec.bootstrap:,} resamples"
    return (
        f"Power was estimated by Monte Carlo simulation with SCIP Lab {package_version()}: {reps:,} samples of "
        f"N = {n_text} were drawn from the population model ({dist}{miss}); in each sample the path model "
        f"({eqs}) was estimated equation by equation with ordinary least squares, coefficients were tested "
        f"with two-sided t tests and indirect effects with the {test_text}, at alpha = {1 - spec.level:.3g} "
        f"(two-sided); power is the proportion of samples with a significant estimate, reported with its "
        f"Monte Carlo standard error (random seed {seed})."
    )


def _prepare(
    model: Any,
    *,
    n: Any,
    reps: int,
    test: str,
    level: float,
    seed: SeedLike,
    missing: Any,
    skew: Any,
    kurtosis: Any,
    analysis_model: str | None,
    draws: int,
    bootstrap: int,
    effects: Sequence[str] | None = None,
) -> tuple[Population, AnalysisModel, Spec, list[int], int]:
    test, level, reps, draws, bootstrap = _check_settings(test, level, reps, draws, bootstrap)
    pop = population(model)
    am = _analysis(pop, analysis_model)
    seed_int = _seed(seed)
    spec = build_spec(
        pop, am, test=test, level=level, draws=draws, bootstrap=bootstrap, seed=seed_int,
        missing=missing, skew=skew, kurtosis=kurtosis,
    )  # fmt: skip
    ns = check_ns(n, minimum=spec.min_n)
    work = sum(ns) * reps * len(pop.variables)
    if work > MAX_WORK:
        raise InvalidParameterError(
            f"the study asks for {work:.3g} generated values (reps x N x variables); at most {MAX_WORK:.0e}: "
            "use fewer replicates or smaller N"
        )
    if effects is not None:
        for name in effects:
            if name not in am.truth:
                raise InvalidParameterError(
                    f"no effect or parameter named {name!r}{suggest(str(name), am.truth)}; "
                    f"defined effects: {', '.join(am.effects) or 'none'}"
                )
    return pop, am, spec, ns, seed_int


def _analysis(pop: Population, model: str | None) -> AnalysisModel:
    return analysis_model(pop, model)


def _table(am: AnalysisModel, spec: Spec, chunks: list[dict[str, Any]], ns: list[int], reps: int) -> pd.DataFrame:
    rows = []
    names = [*spec.coef_names, *(name for name, _ in spec.effects)]
    info = {name: ("coefficient", lhs, "~", rhs, f"{rhs} -> {lhs}") for name, lhs, rhs, _ in am.coef_rows}
    for name, _ in spec.effects:
        info[name] = ("effect", name, ":=", am.effects[name].text, am.effect_paths.get(name, am.effects[name].text))
    for n in ns:
        mine = [c for c in chunks if c["n"] == n]
        ok = sum(c["ok"] for c in mine)
        rej = np.sum([c["rejections"] for c in mine], axis=0)
        est = np.sum([c["est_sum"] for c in mine], axis=0)
        undefined = np.any([c["undefined"] for c in mine], axis=0)
        for j, name in enumerate(names):
            kind, lhs, op, rhs, path = info[name]
            truth = float(am.truth[name])
            p = float(rej[j] / ok) if ok and not undefined[j] else math.nan
            mcse = math.sqrt(p * (1 - p) / ok) if ok and not math.isnan(p) else math.nan
            mean = float(est[j] / ok) if ok else math.nan
            rows.append(
                {
                    "n": n, "name": name, "kind": kind, "lhs": lhs, "op": op, "rhs": rhs, "path": path,
                    "population": truth, "power": p, "mcse": mcse,
                    "ci_lower": max(0.0, p - 1.959963984540054 * mcse) if not math.isnan(p) else math.nan,
                    "ci_upper": min(1.0, p + 1.959963984540054 * mcse) if not math.isnan(p) else math.nan,
                    "rejections": int(rej[j]) if not math.isnan(p) else 0, "replicates": ok, "failed": reps - ok,
                    "mean_est": mean, "bias": mean - truth,
                    "error": "type I error" if abs(truth) < 1e-12 else "power",
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def power(
    model: str | pd.DataFrame | Population,
    *,
    n: int | Sequence[int],
    reps: int = 1000,
    test: str = "mc",
    level: float = 0.95,
    seed: SeedLike = None,
    missing: Any = None,
    skew: float | Mapping[str, float] | None = None,
    kurtosis: float | Mapping[str, float] | None = None,
    analysis_model: str | None = None,
    draws: int = 5000,
    bootstrap: int = 1000,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PowerResult:
    """Monte Carlo power of every coefficient and defined/indirect effect of a path model.

    Parameters
    ----------
    model
        Population model: lavaan-style syntax with a value for every regression (``m ~ 0.3*a*x``;
        standardized unless variances are written, :mod:`sciplab.stats.power.model`), or a
        covariance/correlation matrix (DataFrame) together with ``analysis_model``.
    n
        Sample size, or a list of them (a power curve).
    reps
        Replicates (simulated studies) per sample size.
    test
        Test of defined/indirect effects: ``"mc"`` (Monte Carlo CI, default), ``"percentile"``
        (percentile bootstrap), ``"joint"`` (joint significance), ``"sobel"``. Coefficients always
        get two-sided t tests.
    level
        Confidence level (alpha = 1 - level, two-sided).
    seed
        Seed (recorded); chunk seeds are derived from it, the sample size and the chunk index.
    missing
        ``None``, a rate (MCAR in every analysed variable), ``"mcar:0.2"``, ``"mar:0.2:cause"`` or a
        mapping ``{"rate", "mechanism", "variables", "cause", "method"}``; analysed listwise
        (``method="fiml"`` needs the SEM engine).
    skew, kurtosis
        Skewness and excess kurtosis of every variable (a number) or per variable (a mapping):
        Vale-Maurelli generation.
    analysis_model
        Model fitted in each replicate (syntax without values); default the population structure.
    draws
        Monte Carlo draws per replicate (``test="mc"``).
    bootstrap
        Resamples per replicate (``test="percentile"``).
    workers
        Run on a local Dask cluster with this many worker processes.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``).
    timeout
        Seconds to wait for the scheduler to answer before failing with a clear error.
    threads
        Threads of a local run (default: every CPU available).
    progress
        ``progress(done, total)`` called as chunks finish.

    Returns
    -------
    PowerResult
        ``.table`` with power and Monte Carlo SE per statistic and N; ``.details`` the settings.

    Notes
    -----
    Every result is the same for the same seed wherever it runs (threads, Dask workers): chunks of
    100 replicates (250 for latent/FIML studies) have their own seeds and their counts are summed in
    a fixed order. With a list of sample sizes, the result at one N does not depend on the other Ns.

    Latent-variable models (``=~``) and FIML (``missing="mcar:0.2:fiml"``) are analysed by the SEM
    engine (:mod:`sciplab.stats.power.latent`) with the same tests, non-normal generation, threads
    and Dask; parameters get Wald z tests instead of t tests.

    Examples
    --------
    >>> res = power("m ~ 0.39*a*x; y ~ 0.39*b*m + 0*x; ind := a*b", n=[100], reps=200, seed=1, threads=1)
    >>> row = res.table[res.table["name"] == "ind"].iloc[0]
    >>> bool(0.6 < row["power"] <= 1.0)
    True
    """
    from sciplab.stats.power.latent import needs_sem

    if needs_sem(model, analysis_model, missing):
        return _power_sem(
            model, n=n, reps=reps, test=test, level=level, seed=seed, missing=missing, skew=skew,
            kurtosis=kurtosis, analysis_model=analysis_model, draws=draws, bootstrap=bootstrap, workers=workers,
            scheduler=scheduler, timeout=timeout, threads=threads, progress=progress,
        )  # fmt: skip
    pop, am, spec, ns, seed_int = _prepare(
        model, n=n, reps=reps, test=test, level=level, seed=seed, missing=missing, skew=skew,
        kurtosis=kurtosis, analysis_model=analysis_model, draws=draws, bootstrap=bootstrap,
    )  # fmt: skip
    workers, scheduler, timeout = _check_run(workers, scheduler, timeout)
    tasks = plan(ns, reps)
    chunks, where = execute(
        spec, tasks, workers=workers, scheduler=scheduler, timeout=timeout, threads=threads, progress=progress
    )
    table = _table(am, spec, chunks, ns, reps)
    details = _details(pop, am, spec, ns, reps, test, level, seed_int, where, analysis_model)
    details["failed_total"] = int(sum(c["reps"] - c["ok"] for c in chunks))
    return PowerResult(table=table, details=details)


def _check_settings(
    test: object, level: object, reps: object, draws: object, bootstrap: object
) -> tuple[str, float, int, int, int]:
    """The checked ``test, level, reps, draws, bootstrap`` of a study."""
    test = _check_test(test)
    level = check_level(level)
    reps = check_replicates(reps, name="reps", allow_zero=False)
    if reps > MAX_REPS:
        raise InvalidParameterError(f"reps must be at most {MAX_REPS:,}, got {reps:,}")
    draws = check_replicates(draws, name="draws", allow_zero=False)
    if draws > MAX_DRAWS:
        raise InvalidParameterError(f"draws must be at most {MAX_DRAWS:,}, got {draws:,}")
    bootstrap = check_replicates(bootstrap, name="bootstrap", allow_zero=False)
    if test == "percentile" and bootstrap > 100_000:
        raise InvalidParameterError(f"bootstrap must be at most 100,000 resamples per replicate, got {bootstrap:,}")
    return test, level, reps, draws, bootstrap


def _check_run(workers: object, scheduler: object, timeout: object) -> tuple[int | None, str | None, float]:
    """The checked ``workers, scheduler, timeout`` of where a study runs."""
    checked = check_workers(workers)
    if scheduler is not None and not isinstance(scheduler, str):
        raise InvalidParameterError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r}")
    return checked, scheduler, check_finite(timeout, name="timeout", low=0.1, high=3600)


def _power_sem(
    model: Any,
    *,
    n: Any,
    reps: int,
    test: str,
    level: float,
    seed: SeedLike,
    missing: Any,
    skew: Any,
    kurtosis: Any,
    analysis_model: str | None,
    draws: int,
    bootstrap: int,
    workers: Any,
    scheduler: Any,
    timeout: Any,
    threads: int | None,
    progress: Callable[[int, int], None] | None,
) -> PowerResult:
    """Latent-variable or FIML study: replicates analysed by the SEM engine (locally or on Dask)."""
    from sciplab.stats.power.latent import power_sem

    test, level, reps, draws, bootstrap = _check_settings(test, level, reps, draws, bootstrap)
    workers, scheduler, timeout = _check_run(workers, scheduler, timeout)
    ns = check_ns(n, minimum=3)
    return power_sem(
        model, ns=ns, reps=reps, test=test, level=level, seed=_seed(seed), missing=missing,
        analysis_model=analysis_model, draws=draws, bootstrap=bootstrap, skew=skew, kurtosis=kurtosis,
        workers=workers, scheduler=scheduler, timeout=timeout, threads=threads, progress=progress,
    )  # fmt: skip


def _details(
    pop: Population,
    am: AnalysisModel,
    spec: Spec,
    ns: list[int],
    reps: int,
    test: str,
    level: float,
    seed: int,
    where: str,
    analysis_text: str | None,
) -> dict[str, Any]:
    return {
        "n": ns,
        "reps": reps,
        "test": test,
        "level": level,
        "seed": seed,
        "draws": spec.draws if test == "mc" else None,
        "bootstrap": spec.bootstrap if test == "percentile" else None,
        "missing": spec.missing.describe() if spec.missing is not None else None,
        "skew": list(spec.nonnormal.skew) if spec.nonnormal is not None else None,
        "kurtosis": list(spec.nonnormal.kurtosis) if spec.nonnormal is not None else None,
        "variables": list(pop.variables),
        "population_model": pop.parsed.source if pop.parsed is not None else "covariance matrix",
        "analysis_model": analysis_text or "population structure, values estimated",
        "implied_correlation": pop.correlation().round(6).values.tolist(),
        "effects": {name: am.effect_paths[name] for name in am.effects},
        "estimator": "equation-wise OLS, listwise deletion",
        "chunk": CHUNK,
        "run": where,
        "design": _design(pop, am, spec, ns, reps, test, seed),
        "version": package_version(),
    }


def _logistic(ns: np.ndarray, k: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binomial GLM ``logit p = b0 + b1 log n`` by IRLS; coefficients and their covariance."""
    X = np.column_stack([np.ones(len(ns)), np.log(ns)])
    beta = np.zeros(2)
    y = (k + 0.5) / (m + 1.0)  # start from the empirical logits (kept away from 0 and 1)
    beta = np.linalg.lstsq(X, np.log(y / (1 - y)), rcond=None)[0]
    for _ in range(100):
        eta = X @ beta
        p = 1 / (1 + np.exp(-eta))
        wts = np.maximum(m * p * (1 - p), 1e-9)
        z = eta + (k - m * p) / wts
        new = np.linalg.solve(X.T @ (wts[:, None] * X), X.T @ (wts * z))
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    p = 1 / (1 + np.exp(-(X @ beta)))
    wts = np.maximum(m * p * (1 - p), 1e-9)
    return beta, np.linalg.inv(X.T @ (wts[:, None] * X))


def sample_size(
    model: str | pd.DataFrame | Population,
    *,
    target: float = 0.80,
    effect: str = "ind1",
    reps: int = 1000,
    test: str = "mc",
    level: float = 0.95,
    seed: SeedLike = None,
    n_min: int | None = None,
    n_max: int = 100_000,
    missing: Any = None,
    skew: float | Mapping[str, float] | None = None,
    kurtosis: float | Mapping[str, float] | None = None,
    analysis_model: str | None = None,
    draws: int = 5000,
    bootstrap: int = 1000,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSizeResult:
    """Smallest N whose power for ``effect`` reaches ``target``: search, fitted curve, confirmation.

    1. Doubling search with ``reps // 4`` replicates (at least 200, at most ``reps``) until the
       power reaches the target (or ``n_max``). It starts at ``n_min`` (default: the smallest usable
       N; for latent/FIML studies 50); when that N is already enough it halves down instead.
    2. Eight sample sizes around the crossing with ``reps`` replicates each; a binomial logistic
       curve ``logit(power) = b0 + b1 log N`` is fitted to every run so far (the "set N, find power"
       curve of Schoemann et al. 2017's technical appendix) and solved for the target.
    3. A confirmation run of ``reps`` replicates at the rounded-up N. The result gives N, an
       approximate 95% interval of N from the curve's coefficient covariance (delta method on
       ``log N``), and the confirmed power with its Monte Carlo SE.

    Parameters are those of :func:`power`, plus ``target`` (in (0, 1)), ``effect`` (a defined
    effect or coefficient name) and ``n_min``/``n_max`` (search range).

    Latent-variable models (``=~``) and FIML studies search the same way, every run through the SEM
    engine (complete-data replicates refitted in batches; FIML replicates one by one, see
    :mod:`sciplab.stats.power.latent`); effects are named as in :func:`power`'s table (``a``,
    ``ind``, ``f2~f1``). ``details["power_ci"]`` is the confirmed power's Monte Carlo 95% interval.

    Examples
    --------
    >>> res = sample_size("m ~ 0.59*a*x; y ~ 0.59*b*m; ind := a*b", effect="ind", reps=200, seed=3, threads=1)
    >>> bool(15 < res.n < 60)
    True
    """
    target = check_level(target, name="target")
    if not isinstance(effect, str):
        raise InvalidParameterError(f"effect must be the name of a defined effect or parameter, got {effect!r}")
    from sciplab.stats.power.latent import needs_sem

    run_args = {
        "workers": workers,
        "scheduler": scheduler,
        "timeout": timeout,
        "threads": threads,
        "progress": progress,
    }
    if needs_sem(model, analysis_model, missing):
        return _sample_size_sem(
            model, target=target, effect=effect, reps=reps, test=test, level=level, seed=seed, n_min=n_min,
            n_max=n_max, missing=missing, skew=skew, kurtosis=kurtosis, analysis_model=analysis_model, draws=draws,
            bootstrap=bootstrap, run_args=run_args,
        )  # fmt: skip
    pop, am, spec, _, seed_int = _prepare(
        model, n=[max(n_min or 3, 3)] if n_min else [1_000], reps=reps, test=test, level=level, seed=seed,
        missing=missing, skew=skew, kurtosis=kurtosis, analysis_model=analysis_model, draws=draws,
        bootstrap=bootstrap, effects=[effect],
    )  # fmt: skip
    workers, scheduler, timeout = _check_run(workers, scheduler, timeout)
    run_args.update(workers=workers, scheduler=scheduler, timeout=timeout)
    lo_bound = max(spec.min_n, int(n_min) if n_min else spec.min_n, 4)
    truth = am.truth[effect]
    names = [*spec.coef_names, *(name for name, _ in spec.effects)]
    j = names.index(effect)

    def counts(ns: list[int], r: int) -> dict[int, tuple[int, int]]:
        chunks, _ = execute(spec, plan(ns, r), **run_args)
        return {v: _effect_counts(chunks, v, j) for v in ns}

    def confirm(n_req: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        chunks, where = execute(spec, plan([n_req], reps), **run_args)
        details = _details(pop, am, spec, [n_req], reps, spec.test, spec.level, seed_int, where, analysis_model)
        return _table(am, spec, chunks, [n_req], reps), details

    return _search(
        counts, confirm, effect=effect, truth=truth, path=am.effect_paths.get(effect, effect), target=target,
        reps=reps, lo_bound=lo_bound, start=lo_bound, n_max=n_max,
    )  # fmt: skip


def _effect_counts(chunks: list[dict[str, Any]], n: int, j: int) -> tuple[int, int]:
    """Rejections and converged replicates of statistic ``j`` at sample size ``n``."""
    mine = [c for c in chunks if c["n"] == n]
    return int(sum(c["rejections"][j] for c in mine)), int(sum(c["ok"] for c in mine))


LATENT_SEARCH_START = 50
"""First N of a latent/FIML search (unless ``n_min``): ML fits of very small samples mostly fail."""


def _sample_size_sem(
    model: Any,
    *,
    target: float,
    effect: str,
    reps: int,
    test: str,
    level: float,
    seed: SeedLike,
    n_min: int | None,
    n_max: int,
    missing: Any,
    skew: Any,
    kurtosis: Any,
    analysis_model: str | None,
    draws: int,
    bootstrap: int,
    run_args: dict[str, Any],
) -> SampleSizeResult:
    """:func:`sample_size` of a latent-variable or FIML study (replicates analysed by the SEM engine)."""
    from sciplab.stats.power.latent import execute_latent, latent_details, latent_table, prepare_sem

    test, level, reps, draws, bootstrap = _check_settings(test, level, reps, draws, bootstrap)
    workers, scheduler, timeout = _check_run(run_args["workers"], run_args["scheduler"], run_args["timeout"])
    run_args = {**run_args, "workers": workers, "scheduler": scheduler, "timeout": timeout}
    seed_int = _seed(seed)
    study, described = prepare_sem(
        model, test=test, level=level, seed=seed_int, missing=missing, analysis_model=analysis_model, draws=draws,
        bootstrap=bootstrap, skew=skew, kurtosis=kurtosis,
    )  # fmt: skip
    names = study.names
    if effect not in names:
        raise InvalidParameterError(
            f"no effect or parameter named {effect!r}{suggest(effect, names)}; defined effects: "
            f"{', '.join(study.fitter.defined) or 'none'}; parameters: {', '.join(names[: len(study.fitter.rows)])}"
        )
    j = names.index(effect)
    if test == "joint" and j >= len(study.fitter.rows) and study.joint[j - len(study.fitter.rows)] is None:
        raise InvalidParameterError(
            f"the joint significance test is defined for products of labelled parameters; {effect!r} is not one"
        )
    if n_min is not None:
        n_min = check_ns(n_min, minimum=study.min_n)[0]
    lo_bound = n_min if n_min is not None else study.min_n
    start = n_min if n_min is not None else max(study.min_n, LATENT_SEARCH_START)

    def counts(ns: list[int], r: int) -> dict[int, tuple[int, int]]:
        chunks, _ = execute_latent(study, ns, r, **run_args)
        return {v: _effect_counts(chunks, v, j) for v in ns}

    def confirm(n_req: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        chunks, where = execute_latent(study, [n_req], reps, **run_args)
        return latent_table(study, chunks, [n_req], reps), latent_details(
            study, described, [n_req], reps, where, chunks
        )

    paths = {name: f"{lhs} {op} {rhs}" for name, lhs, op, rhs, _ in study.fitter.rows}
    if effect in study.fitter.defined:
        from sciplab.stats.power.latent import effect_chain

        nrow = len(study.fitter.rows)
        path = effect_chain(study.fitter, study.joint[j - nrow]) or study.fitter.parsed.expressions[effect].text
    else:
        path = paths[effect]
    return _search(
        counts, confirm, effect=effect, truth=study.fitter.truth[effect], path=path, target=target, reps=reps,
        lo_bound=lo_bound, start=start, n_max=n_max,
    )  # fmt: skip


def _runs_refined(runs: Mapping[int, tuple[int, int, str]]) -> list[int]:
    """Sample sizes of the refinement stage."""
    return [v for v, (_, _, stage) in runs.items() if stage == "refine"]


def _crossing(
    runs: Mapping[int, tuple[int, int, str]], lo: float, hi: float, logit_t: float
) -> tuple[float, float, np.ndarray, float, float] | None:
    """``log N`` where the logistic curve fitted to the runs with ``lo <= N <= hi`` reaches the target.

    Returns ``(log N, its SE by the delta method, coefficients, lo, hi)``, or ``None`` when fewer than
    three sample sizes lie in the range or the curve does not rise with N.
    """
    ns = np.array(sorted(v for v in runs if lo <= v <= hi), dtype=float)
    if len(ns) < 3:
        return None
    k = np.array([runs[int(v)][0] for v in ns], dtype=float)
    m = np.array([runs[int(v)][1] for v in ns], dtype=float)
    beta, cov = _logistic(ns, k, m)
    if not beta[1] > 0:
        return None
    log_n = (logit_t - beta[0]) / beta[1]
    grad = np.array([-1 / beta[1], -(logit_t - beta[0]) / beta[1] ** 2])
    return log_n, math.sqrt(max(float(grad @ cov @ grad), 0.0)), beta, lo, hi


def _search(
    counts: Callable[[list[int], int], dict[int, tuple[int, int]]],
    confirm: Callable[[int], tuple[pd.DataFrame, dict[str, Any]]],
    *,
    effect: str,
    truth: float,
    path: str,
    target: float,
    reps: int,
    lo_bound: int,
    start: int,
    n_max: int,
) -> SampleSizeResult:
    """The search of :func:`sample_size`, for any study that counts rejections at a list of N.

    ``counts(ns, reps)`` gives ``{n: (rejections, converged replicates)}`` of the effect;
    ``confirm(n)`` runs the full study at ``n`` and gives its table and details.
    """
    n_max = check_ns(n_max, minimum=lo_bound)[0]
    start = min(max(start, lo_bound), n_max)
    if abs(truth) < 1e-12:
        raise InvalidParameterError(
            f"the population value of {effect!r} is 0: its rejection rate is a Type I error, no N reaches a power"
        )
    runs: dict[int, tuple[int, int, str]] = {}  # n -> (rejections, replicates, stage)
    search_reps = min(reps, max(200, reps // 4))

    def run(ns: list[int], r: int, stage: str) -> None:
        todo = [v for v in ns if v not in runs or runs[v][1] < r]
        if todo:
            for v, (k, m) in counts(todo, r).items():
                runs[v] = (k, m, stage)

    def pw(v: int) -> float:
        k, m, _ = runs[v]
        return k / m if m else 0.0

    n_try = start
    run([n_try], search_reps, "search")
    if pw(n_try) >= target:
        # the first N is enough: halve down to the last N below the target (or the smallest usable N)
        while n_try > lo_bound:
            lower_try = max(lo_bound, n_try // 2)
            run([lower_try], search_reps, "search")
            if pw(lower_try) < target:
                break
            n_try = lower_try
    else:
        while pw(n_try) < target and n_try < n_max:
            n_try = min(n_max, n_try * 2)
            run([n_try], search_reps, "search")
    if pw(n_try) < target:
        raise InvalidParameterError(
            f"the power for {effect!r} is {pw(n_try):.3f} at n_max = {n_max:,}, below the target {target}; raise "
            "n_max or check the effect sizes"
        )
    upper = n_try
    lower = max(lo_bound, upper // 2)
    grid = sorted({int(round(v)) for v in np.geomspace(max(lo_bound, lower * 0.8), max(upper * 1.2, lo_bound + 1), 8)})
    run(grid, reps, "curve")
    logit_t = math.log(target / (1 - target))
    # the curve is fitted where it matters: the grid around the crossing (search runs far below it
    # would pull a two-parameter curve away from the target region) ...
    fit = _crossing(runs, min(grid), max(grid), logit_t)
    if fit is not None:
        # ... then refined on five sample sizes within 15% of the first crossing, so that the shape of
        # the two-parameter curve over the wide grid cannot bias N
        first = math.exp(fit[0])
        near = sorted({int(round(first * f)) for f in (0.85, 0.92, 1.0, 1.08, 1.15)} - {0})
        near = [v for v in near if lo_bound <= v <= n_max]
        run(near, reps, "refine")
        refined = _crossing(runs, math.floor(first * 0.84), math.ceil(first * 1.16), logit_t)
        if refined is not None:
            fit = refined
    note = ""
    if fit is None:
        n_star = float(upper)
        n_ci: tuple[int | None, int | None] = (None, None)
        note = "the fitted curve does not rise with N; N is the search's first N reaching the target"
        beta = np.array([math.nan, math.nan])
    else:
        log_n, se, beta, lo_fit, hi_fit = fit
        n_star = math.exp(log_n)
        n_ci = (
            int(math.floor(math.exp(log_n - 1.959963984540054 * se))),
            int(math.ceil(math.exp(log_n + 1.959963984540054 * se))),
        )
    lo_show, hi_show = min(grid + list(_runs_refined(runs))), max(grid + list(_runs_refined(runs)))
    ns_arr = np.array(sorted(v for v in runs if lo_show <= v <= hi_show), dtype=float)
    k_arr = np.array([runs[int(v)][0] for v in ns_arr], dtype=float)
    m_arr = np.array([runs[int(v)][1] for v in ns_arr], dtype=float)
    n_req = int(min(max(math.ceil(n_star), lo_bound), n_max))
    conf_table, details = confirm(n_req)
    row = conf_table[conf_table["name"] == effect].iloc[0]
    if row["power"] < target - 2 * row["mcse"]:
        note = (note + "; " if note else "") + (
            f"the confirmation run's power at N = {n_req} is more than 2 MC SE below the target"
        )
    p_arr = k_arr / np.maximum(m_arr, 1)
    table = pd.DataFrame(
        {
            "n": ns_arr.astype(int),
            "power": p_arr,
            "mcse": np.sqrt(p_arr * (1 - p_arr) / np.maximum(m_arr, 1)),
            "replicates": m_arr.astype(int),
            "fitted": 1 / (1 + np.exp(-(beta[0] + beta[1] * np.log(ns_arr)))),
            "stage": [runs[int(v)][2] for v in ns_arr],
        }
    )
    details.update(
        {
            "n": n_req,
            "n_fitted": n_star,
            "n_ci": list(n_ci),
            "target": target,
            "effect": effect,
            "path": path,
            "population": truth,
            "power": float(row["power"]),
            "mcse": float(row["mcse"]),
            "power_ci": [float(row["ci_lower"]), float(row["ci_upper"])],
            "curve_coefficients": [float(beta[0]), float(beta[1])],
            "note": note,
        }
    )
    return SampleSizeResult(table=table, details=details, confirmation=conf_table)
