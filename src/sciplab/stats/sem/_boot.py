"""Case bootstrap of a SEM with every replicate refitted in batches (no per-replicate Python loop).

Replicate moments come from the one resampling engine (:class:`sciplab.stats._bootstrap.Resampler`:
counts of each row times the table of first and second cross-products, within groups); all
replicates are then refitted at once by the batched Fisher scoring of :mod:`._ml`, warm-started at
the full-sample estimates. Standard errors are the replicates' standard deviations (as lavaan's
``se = "bootstrap"``); intervals are percentile, bias-corrected (BC) or BCa (Efron 1987; the
acceleration from leave-one-out refits, also batched).

The Bollen-Stine bootstrap of the test statistic refits the model to resamples of data
transformed to fit the model exactly, ``z_i = Sigma_hat^{1/2} S^{-1/2} (x_i - xbar) + mu_hat``, and
reports the share of replicate statistics at least as large as the observed one (Bollen & Stine
1992).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sciplab._core.random import SeedLike
from sciplab.stats import _bootstrap as bs
from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design, Spec

CHUNK = 500
"""Replicates refitted per batch (bounds the memory of the Jacobians: about q p^2 floats each)."""


def _moment_table(X: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Rows stacked by group, their group index, and each group's column block of ``[x, x_i x_j]``."""
    p = X[0].shape[1]
    iu = np.triu_indices(p)
    width = p + len(iu[0])
    G = len(X)
    table = np.zeros((sum(len(x) for x in X), G * width))
    strata = np.concatenate([np.full(len(x), g) for g, x in enumerate(X)])
    start = 0
    spans = []
    for g, x in enumerate(X):
        table[start : start + len(x), g * width : g * width + p] = x
        table[start : start + len(x), g * width + p : (g + 1) * width] = x[:, iu[0]] * x[:, iu[1]]
        spans.append((g * width, (g + 1) * width))
        start += len(x)
    return table, strata, spans


def _stats_from_sums(
    sums: np.ndarray, spans: list[tuple[int, int]], ns: list[int], p: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Means and biased covariances per group from weighted sums ``(R, columns)``."""
    iu = np.triu_indices(p)
    out = []
    for (a, b), n in zip(spans, ns, strict=True):
        block = sums[:, a:b] / n
        mean = block[:, :p]
        second = np.zeros((len(sums), p, p))
        second[:, iu[0], iu[1]] = block[:, p:]
        second[:, iu[1], iu[0]] = block[:, p:]
        cov = second - mean[:, :, None] * mean[:, None, :]
        out.append((mean, cov))
    return out


def _replicate_designs(spec: Spec, stats: list[tuple[np.ndarray, np.ndarray]]) -> list[Design]:
    """Designs whose fixed.x moments are each replicate's sample moments."""
    if not spec.fixed_x:
        return spec.designs
    xs = [spec.observed.index(v) for v in spec.fixed_x]
    out = []
    for d, (mean, cov) in zip(spec.designs, stats, strict=True):
        R = len(mean)
        S0 = np.repeat(d.S0[None], R, axis=0)
        m0 = np.repeat(d.m0[None], R, axis=0)
        ix = np.ix_(xs, xs)
        S0[:, ix[0], ix[1]] = cov[:, ix[0], ix[1]]
        m0[:, xs] = mean[:, xs]
        out.append(Design(d.p, d.n, d.A0, S0, m0, d.DA, d.DS, d.Dm))
    return out


def refit(
    spec: Spec,
    phi: np.ndarray,
    stats: list[tuple[np.ndarray, np.ndarray]],
    ns: list[int],
    shift: np.ndarray | None = None,
) -> _ml.Solution:
    """Fit every replicate's moments (one batch), warm-started at ``phi``; ``ns`` rows per group."""
    p = len(spec.observed)
    ntotal = sum(ns)
    blocks = [
        _ml.Block(g, np.arange(p)[None], np.array([len_g / ntotal]), cov[:, None], mean[:, None])
        for g, ((mean, cov), len_g) in enumerate(zip(stats, ns, strict=True))
    ]
    R = len(stats[0][0])
    designs = _replicate_designs(spec, stats)
    return _ml.fisher_scoring(
        designs, blocks, np.repeat(phi[None], R, axis=0), meanstructure=spec.meanstructure, tol=1e-6, newton=0.0,
        max_iter=200, shift=shift, newton_after=15,
    )  # fmt: skip


def newton_shift(spec: Spec, phi: np.ndarray, X: list[np.ndarray]) -> np.ndarray:
    """Observed minus expected information at ``phi`` (f units): turns Fisher steps into near-Newton steps."""
    from sciplab.stats.sem._data import complete_blocks

    blocks, _, _ = complete_blocks(X, sum(len(x) for x in X))
    _, _, H = _ml.evaluate(spec.designs, blocks, phi[None], meanstructure=spec.meanstructure)
    assert H is not None
    return _ml.hessian(spec.designs, blocks, phi[None], spec.meanstructure)[0] - H[0]


def _run(
    spec: Spec,
    phi: np.ndarray,
    X: list[np.ndarray],
    B: int,
    seed: int,
    progress: Any = None,
    offset: int = 0,
    total: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replicate estimates ``(B, q)``, convergence flags and discrepancies of B case resamples of ``X``."""
    ns = [len(x) for x in X]
    ntotal = sum(ns)
    p = X[0].shape[1]
    table, strata, spans = _moment_table(X)
    sampler = bs.Resampler(ntotal, B, seed, strata=strata if len(X) > 1 else None)
    phis, ok, fs = [], [], []
    shift = newton_shift(spec, phi, X)
    for _start, stop, sums in sampler.weighted_sums(table, chunk_size=CHUNK):
        stats = _stats_from_sums(sums, spans, ns, p)
        sol = refit(spec, phi, stats, ns, shift)
        sat = sum(n / ntotal * (np.linalg.slogdet(cov)[1] + p) for (_, cov), n in zip(stats, ns, strict=True))
        phis.append(sol.phi)
        ok.append(sol.converged)
        fs.append(sol.f - sat)
        if progress is not None:
            progress(offset + stop, total or B)
    return np.concatenate(phis), np.concatenate(ok), np.concatenate(fs)


def bootstrap_vcov(
    spec: Spec,
    phi: np.ndarray,
    X: list[np.ndarray],
    B: int,
    seed: SeedLike,
    extra: dict[str, Any],
    *,
    bollen_stine: bool = True,
    progress: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Bootstrap covariance of ``phi``; replicates and the Bollen-Stine p-value go into ``extra``.

    ``progress(done, total)`` is called after every batch (total 2B with Bollen-Stine).
    """
    seed_int = bs.resampling_seed(seed)
    total = 2 * B if bollen_stine else B
    reps, ok, _ = _run(spec, phi, X, B, seed_int, progress, 0, total)
    good = reps[ok]
    extra.update(seed=seed_int, failed=int((~ok).sum()), boot_phi=good, boot_theta=spec.theta(good), X=X)
    if not bollen_stine:
        return (
            np.cov(good.T, ddof=1).reshape(spec.q, spec.q) if len(good) > 1 else np.full((spec.q, spec.q), np.nan)
        ), extra
    # Bollen-Stine: resample data transformed to fit the model exactly
    ns = [len(x) for x in X]
    ntotal = sum(ns)
    Z = []
    for d, x in zip(spec.designs, X, strict=True):
        m = _ml.moments(d, phi[None], jac=False)
        sigma, mu = m.sigma[0], m.mu[0] if spec.meanstructure else x.mean(axis=0)
        e = x - x.mean(axis=0)
        S = e.T @ e / len(x)
        Z.append(e @ _sqrtm(S, inverse=True) @ _sqrtm(sigma) + mu)
    chisq = ntotal * _discrepancy(spec, phi, X)
    _, ok_bs, f_bs = _run(spec, phi, Z, B, (seed_int + 1) % (2**63 - 1), progress, B, total)
    t_bs = ntotal * f_bs[ok_bs]
    extra["bollen_stine_pvalue"] = float(np.mean(t_bs >= chisq)) if len(t_bs) else float("nan")
    extra["bollen_stine_failed"] = int((~ok_bs).sum())
    if len(good) < 2:
        return np.full((spec.q, spec.q), np.nan), extra
    return np.cov(good.T, ddof=1).reshape(spec.q, spec.q), extra


def _discrepancy(spec: Spec, phi: np.ndarray, X: list[np.ndarray]) -> float:
    ns = [len(x) for x in X]
    ntotal = sum(ns)
    p = X[0].shape[1]
    stats = []
    for x in X:
        e = x - x.mean(axis=0)
        stats.append((x.mean(axis=0)[None], (e.T @ e / len(x))[None]))
    blocks = [
        _ml.Block(g, np.arange(p)[None], np.array([n / ntotal]), cov[:, None], mean[:, None])
        for g, ((mean, cov), n) in enumerate(zip(stats, ns, strict=True))
    ]
    f, _, _ = _ml.evaluate(spec.designs, blocks, phi[None], meanstructure=spec.meanstructure, order=0)
    sat = sum(n / ntotal * (np.linalg.slogdet(cov[0])[1] + p) for (_, cov), n in zip(stats, ns, strict=True))
    return float(f[0] - sat)


def _sqrtm(S: np.ndarray, *, inverse: bool = False) -> np.ndarray:
    w, v = np.linalg.eigh(S)
    w = np.clip(w, 1e-300, None)
    return (v * (w ** (-0.5 if inverse else 0.5))) @ v.T


def _jackknife(spec: Spec, phi: np.ndarray, X: list[np.ndarray]) -> np.ndarray:
    """Leave-one-out estimates ``(n, q)`` (all refits in batches) for the BCa acceleration."""
    ns = [len(x) for x in X]
    ntotal = sum(ns)
    p = X[0].shape[1]
    table, _, spans = _moment_table(X)
    total = table.sum(axis=0)
    out = []
    for start in range(0, ntotal, CHUNK):
        rows = table[start : start + CHUNK]
        sums = total[None] - rows
        groups = np.searchsorted(np.cumsum(ns), np.arange(start, start + len(rows)), side="right")
        # divide each group's block by its size without the left-out row (n - 1 in its own group)
        scaled = np.concatenate(
            [
                sums[:, a:b] / np.where(groups == g, n - 1, n)[:, None]
                for g, ((a, b), n) in enumerate(zip(spans, ns, strict=True))
            ],
            axis=1,
        )
        stats = _stats_from_sums(scaled, spans, [1] * len(ns), p)
        out.append(refit(spec, phi, stats, ns).phi)
    return np.concatenate(out)


def intervals(
    cols: dict[str, Any],
    spec: Spec,
    extra: dict[str, Any],
    defined_values: Any,
    *,
    level: float,
    ci: str,
    free: np.ndarray,
    phi: np.ndarray,
) -> None:
    """Bootstrap SEs and intervals (percentile, BC, BCa) into the table columns ``cols``."""
    boot_theta = extra["boot_theta"]
    boot_def = defined_values(extra["boot_phi"])
    reps = np.concatenate([boot_theta[:, np.maximum(free, 1) - 1], boot_def], axis=1)
    est = np.asarray(cols["est"], dtype=float)
    fixed = np.concatenate([free == 0, np.zeros(boot_def.shape[1], dtype=bool)])
    reps[:, fixed] = est[fixed]
    if ci == "percentile":
        lo_hi = bs.percentile_ci(reps, level)
    elif ci == "bc":
        lo_hi = bs.bc_ci(reps, est, level)
    else:
        jack_phi = _jackknife(spec, phi, extra["X"])
        jt = spec.theta(jack_phi)
        jack = np.concatenate([jt[:, np.maximum(free, 1) - 1], defined_values(jack_phi)], axis=1)
        acc = bs.jackknife_acceleration(jack)
        lo_hi = bs.bca_ci(reps, est, np.nan_to_num(acc), level)
    se = reps.std(axis=0, ddof=1)
    se[fixed] = 0.0
    cols["se"] = se
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["z"] = np.where(se > 0, est / se, np.nan)
    from scipy import stats

    cols["pvalue"] = 2 * stats.norm.sf(np.abs(cols["z"]))
    lo_hi[:, fixed] = est[fixed]
    cols["ci_lower"], cols["ci_upper"] = lo_hi[0], lo_hi[1]


def bootstrap_vcov_fiml(
    spec: Spec,
    phi: np.ndarray,
    X: list[np.ndarray],
    B: int,
    seed: SeedLike,
    extra: dict[str, Any],
    info: np.ndarray,
    progress: Any = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Case bootstrap under FIML: resamples of the incomplete rows, refitted in batches.

    Each chunk of replicates is materialised as ``(R, N, p)`` rows and solved at once by
    :func:`._fiml_batch.refit` (Fisher scoring with each replicate's mix of patterns, shifted by the full-sample
    observed minus expected information ``info - I_exp``: near-Newton steps).
    ``progress(done, total)`` is called after every chunk when given.
    """
    from sciplab.stats.sem import _fiml_batch

    seed_int = bs.resampling_seed(seed)
    ns = [len(x) for x in X]
    ntotal = sum(ns)
    Xall = np.concatenate(X)
    strata = np.concatenate([np.full(n, g) for g, n in enumerate(ns)])
    p = Xall.shape[1]
    sampler = bs.Resampler(ntotal, B, seed_int, strata=strata if len(X) > 1 else None)
    chunk = max(1, min(CHUNK, int(_fiml_batch.MAX_FLOATS // max(1, ntotal * p * p))))
    phis, ok = [], []
    # observed minus expected information of the full sample (f units): near-Newton steps
    from sciplab.stats.sem._data import pattern_blocks as full_blocks

    blocks, _ = full_blocks(X, ntotal)
    _, _, H_exp = _ml.evaluate(spec.designs, blocks, phi[None], meanstructure=spec.meanstructure)
    assert H_exp is not None
    shift = info - H_exp[0]
    for _start, stop, idx in sampler.chunks(chunk):
        xr = Xall[idx]
        Xr = [xr[:, strata == g] for g in range(len(X))]
        fit = _fiml_batch.refit(spec.designs, Xr, phi, meanstructure=spec.meanstructure, info=shift)
        phis.append(fit.phi)
        ok.append(fit.converged)
        if progress is not None:
            progress(stop, B)
    reps, good_mask = np.concatenate(phis), np.concatenate(ok)
    good = reps[good_mask]
    extra.update(seed=seed_int, failed=int((~good_mask).sum()), boot_phi=good, boot_theta=spec.theta(good), X=X)
    if len(good) < 2:
        return np.full((spec.q, spec.q), np.nan), extra
    return np.cov(good.T, ddof=1).reshape(spec.q, spec.q), extra
