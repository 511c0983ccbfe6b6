"""Batched FIML refits: many incomplete data sets (bootstrap resamples, simulated replicates) at once.

Every replicate's rows are reduced to sufficient statistics per missing-data pattern (count, mean
and covariance of the observed values) for the union of the patterns of all replicates, stored as
likelihood blocks with a replicate axis (:class:`._ml.Block` with ``w`` of shape (R, P); a pattern
absent from a replicate has weight 0). All replicates are then solved together by quasi-Newton
steps with one fixed information matrix (the observed information at the starting point, where
the replicates' minima lie close), with step halving, using the pattern-aggregated gradient of
:func:`._ml.evaluate`; no Python loop runs over replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design

MAX_FLOATS = 2e7
"""Rows times squared variables processed at once when reducing replicates to pattern statistics."""


@dataclass
class BatchFit:
    """Estimates of R replicates.

    ``phi`` (R, q), discrepancy ``f`` (R,), ``converged`` (R,), ``iterations`` (R,), and, when
    asked for, SEs from the expected information ``se`` (R, q).
    """

    phi: np.ndarray
    f: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    se: np.ndarray | None = None


def pattern_blocks(Xr: list[np.ndarray]) -> list[_ml.Block]:
    """Likelihood blocks of R replicate data sets per group, ``Xr[g]`` of shape (R, N_g, p) with NaN.

    Rows missing every variable must be removed beforehand (or are ignored: their pattern has no
    observed variable). Weights are ``n_rb / N_r`` with ``N_r`` the replicate's rows with data.
    """
    R, _, p = Xr[0].shape
    bits = 1 << np.arange(p, dtype=np.int64)
    per_group = []
    for x in Xr:
        obs = ~np.isnan(x)
        code = obs.astype(np.int64) @ bits  # (R, N)
        codes = np.unique(code)
        codes = codes[codes != 0]
        per_group.append((x, obs, code, codes))
    n_r = sum(((code != 0).sum(axis=1)) for _, _, code, _ in per_group).astype(float)  # (R,)
    blocks: list[_ml.Block] = []
    for g, (x, obs, code, codes) in enumerate(per_group):
        P = len(codes)
        pid = np.searchsorted(codes, code)  # (R, N); rows without data get a dummy id, masked below
        valid = code != 0
        key = np.where(valid, np.arange(R)[:, None] * P + np.minimum(pid, P - 1), -1).ravel()
        cnt = np.bincount(key[key >= 0], minlength=R * P).reshape(R, P).astype(float)
        xs = np.where(obs, x, 0.0).reshape(-1, p)
        s1 = np.zeros((R * P, p))
        s2 = np.zeros((R * P, p, p))
        keep = np.flatnonzero(key >= 0)
        step = max(1, int(MAX_FLOATS // (p * p)))
        for a in range(0, len(keep), step):
            rows = keep[a : a + step]
            k_ = key[rows]
            xr = xs[rows]
            np.add.at(s1, k_, xr)
            order = np.argsort(k_, kind="stable")
            ks, xo = k_[order], xr[order]
            starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
            s2[ks[starts]] += np.add.reduceat(xo[:, :, None] * xo[:, None, :], starts, axis=0)
        s1 = s1.reshape(R, P, p)
        s2 = s2.reshape(R, P, p, p)
        pats = (codes[:, None] & bits[None, :]) > 0  # (P, p)
        sizes = pats.sum(axis=1)
        for k in np.unique(sizes):
            which = np.flatnonzero(sizes == k)
            idx = np.array([np.flatnonzero(pats[i]) for i in which]).reshape(len(which), k)
            n = cnt[:, which]  # (R, Pk)
            safe = np.maximum(n, 1.0)
            xbar = np.take_along_axis(s1[:, which], np.broadcast_to(idx[None], (R,) + idx.shape), axis=2)
            xbar = xbar / safe[..., None]
            sub = s2[:, which][:, np.arange(len(which))[:, None, None], idx[:, :, None], idx[:, None, :]]
            S = sub / safe[..., None, None] - xbar[..., :, None] * xbar[..., None, :]
            S = np.where(n[..., None, None] > 0, S, 0.0)
            blocks.append(_ml.Block(g, idx, n / n_r[:, None], S, xbar))
    return blocks


def refit(
    designs: list[Design],
    Xr: list[np.ndarray],
    phi0: np.ndarray,
    *,
    meanstructure: bool,
    info: np.ndarray | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
    se: bool = False,
    polish_after: int = 25,
) -> BatchFit:
    """FIML estimates of R incomplete data sets at once, warm-started at ``phi0``.

    Parameters
    ----------
    designs
        The model's designs (``Spec.designs``; FIML models have no fixed.x moments, so the designs
        are shared by all replicates).
    Xr
        Per group, the replicates' rows ``(R, N_g, p)`` in the order of ``Spec.observed``, NaN where
        missing (bootstrap: ``X[indices]``; power: simulated data sets with missingness).
    meanstructure
        Whether the model has a mean structure (always true under FIML).
    phi0
        Starting values ``(q,)``: the full-sample estimates (bootstrap) or the population values
        (power).
    info
        Optional ``(q, q)`` matrix added to every replicate's information (f units, as
        :func:`._ml.hessian`) where the sum stays positive definite: the observed minus the
        expected information of the full sample at ``phi0`` turns the steps of bootstrap
        replicates into near-Newton steps (power: leave ``None``).
    max_iter, tol
        Iterations and the convergence criterion (largest absolute gradient entry of ``f``).
    se
        Also return SEs from each replicate's expected information (pattern by pattern).
    polish_after
        Steps after which still-running replicates use the information at their current estimates.

    Returns
    -------
    BatchFit
        ``phi`` (R, q), ``f`` (R,), ``converged``, ``iterations`` and ``se`` (R, q) when asked for.
    """
    blocks = pattern_blocks(Xr)
    R = Xr[0].shape[0]
    q = len(phi0)
    phi = np.repeat(np.asarray(phi0, dtype=float)[None], R, axis=0)
    Fb = pattern_information(designs, blocks, np.asarray(phi0, dtype=float), meanstructure)
    info_r = sum(
        np.einsum("rp,pkl->rkl", b.w if b.w.ndim == 2 else b.w[None], F) for b, F in zip(blocks, Fb, strict=True)
    )
    info_r = info_r + 1e-10 * np.eye(q)
    if info is not None:  # observed minus expected at the start values: near-Newton steps where PD
        shifted = info_r + info[None]
        pd_ok = np.all(np.linalg.eigvalsh(shifted) > 0, axis=1)
        info_r[pd_ok] = shifted[pd_ok]
    f, g, _ = _ml.evaluate(designs, blocks, phi, meanstructure=meanstructure, order=1)
    assert g is not None
    iters = np.zeros(R, dtype=int)
    done = np.abs(g).max(axis=1) < tol
    for it in range(max_iter):
        ia = np.flatnonzero(~done & np.isfinite(f))
        if not len(ia):
            break
        sub = _ml._take(blocks, ia)
        if it >= polish_after:  # the few slow replicates: information at their current estimates
            _, _, Hc = _ml.evaluate(designs, sub, phi[ia], meanstructure=meanstructure)
            assert Hc is not None
            Ho = _ml.hessian(designs, sub, phi[ia], meanstructure)
            pd_ok = np.all(np.linalg.eigvalsh(Ho) > 0, axis=1)
            Hc[pd_ok] = Ho[pd_ok]  # Newton where the Hessian is positive definite
            Ha = Hc + 1e-10 * np.eye(q)
            info_r[ia] = Ha
        else:
            Ha = info_r[ia]
        try:
            step = -np.linalg.solve(Ha, g[ia][..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.einsum("rij,rj->ri", np.linalg.pinv(Ha), g[ia])
        alpha = np.ones(len(ia))
        accepted = np.zeros(len(ia), dtype=bool)
        for _half in range(20):
            trial = phi[ia] + alpha[:, None] * step
            ft, _, _ = _ml.evaluate(designs, sub, trial, meanstructure=meanstructure, order=0)
            ok = ~accepted & np.isfinite(ft) & (ft <= f[ia] + 1e-12 * np.abs(f[ia]))
            phi[ia[ok]] = trial[ok]
            accepted |= ok
            if accepted.all():
                break
            alpha = np.where(accepted, alpha, alpha / 2)
        iters[ia] += 1
        done[ia[~accepted]] = True  # no descent left: at the minimum to machine precision (or stuck)
        upd = ia[accepted]
        if len(upd):
            fu, gu, _ = _ml.evaluate(designs, _ml._take(blocks, upd), phi[upd], meanstructure=meanstructure, order=1)
            assert gu is not None
            small = np.abs(f[upd] - fu) <= 1e-15 * np.maximum(1.0, np.abs(fu))
            # BFGS update of each replicate's curvature (secant condition on the step just taken)
            sv = (alpha[:, None] * step)[accepted]
            yv = gu - g[upd]
            Bs = np.einsum("rij,rj->ri", info_r[upd], sv)
            sBs = np.einsum("ri,ri->r", sv, Bs)
            ys = np.einsum("ri,ri->r", yv, sv)
            good = (ys > 1e-12 * np.maximum(sBs, 1e-300)) & (sBs > 0)
            if good.any():
                u = upd[good]
                info_r[u] += yv[good, :, None] * yv[good, None, :] / ys[good, None, None] - (
                    Bs[good, :, None] * Bs[good, None, :] / sBs[good, None, None]
                )
            f[upd], g[upd] = fu, gu
            done[upd] = (np.abs(gu).max(axis=1) < tol) | small
    converged = np.isfinite(f) & (np.abs(g).max(axis=1) < max(tol * 100, 1e-5))
    out = BatchFit(phi, f, converged, iters)
    if se:
        n_r = _rows_with_data(Xr)
        ses = np.full((R, q), np.nan)
        per = max(1, int(MAX_FLOATS // max(1, sum(b.idx.shape[0] * b.idx.shape[1] ** 4 for b in blocks))))
        for a in range(0, R, per):
            rows = np.arange(a, min(R, a + per))
            _, _, H = _ml.evaluate(designs, _ml._take(blocks, rows), phi[rows], meanstructure=meanstructure)
            assert H is not None
            diag = np.diagonal(np.linalg.pinv(H), axis1=1, axis2=2)
            ses[rows] = np.sqrt(np.abs(diag) * 2.0 / n_r[rows, None])
        out.se = ses
    return out


def _rows_with_data(Xr: list[np.ndarray]) -> np.ndarray:
    return sum((~np.isnan(x)).any(axis=2).sum(axis=1) for x in Xr).astype(float)


def pattern_information(
    designs: list[Design], blocks: list[_ml.Block], phi: np.ndarray, meanstructure: bool
) -> list[np.ndarray]:
    """Expected information of one case of each pattern at ``phi`` (f units): per block (P, q, q).

    ``F_b[k, l] = tr(V dSigma_k V dSigma_l) + 2 dmu_k' V dmu_l`` on the pattern's variables.
    """
    mom = [_ml.moments(d, phi[None]) for d in designs]
    out = []
    for b in blocks:
        m = mom[b.group]
        V = np.linalg.inv(m.sigma[0][b.idx[:, :, None], b.idx[:, None, :]])  # (P, k, k)
        dsig = m.dsigma[0][:, b.idx[:, :, None], b.idx[:, None, :]]  # (q, P, k, k)
        Y = V[None] @ dsig
        P = len(b.idx)
        Yf = np.swapaxes(Y, 0, 1).reshape(P, len(dsig), -1)
        Yt = np.swapaxes(np.swapaxes(Y, 2, 3), 0, 1).reshape(P, len(dsig), -1)
        F = Yf @ np.swapaxes(Yt, 1, 2)
        if meanstructure:
            dmu = np.swapaxes(m.dmu[0][:, b.idx], 0, 1)  # (P, q, k)
            F = F + 2.0 * dmu @ V @ np.swapaxes(dmu, 1, 2)
        out.append(F)
    return out
