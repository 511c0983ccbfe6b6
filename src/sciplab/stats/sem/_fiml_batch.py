"""Batched FIML refits: many incomplete data sets (bootstrap resamples, simulated replicates) at once.

Every replicate's rows are reduced to sufficient statistics per missing-data pattern (count, mean
and covariance of the observed values) for the union of the patterns of all replicates, stored as
likelihood blocks with a replicate axis (:class:`._ml.Block` with ``w`` of shape (R, P); a pattern
absent from a replicate has weight 0). All replicates are then solved together by quasi-Newton
steps with one fixed information matrix (the observed information at the starting point, where
the replicates' minima lie close), with step halving, using the pattern-aggregated gradient of
:func:`._ml.evaluate`; no Python loop runs over replicates.

On request each replicate's sampling covariance matrix of the free parameters (``vcov=True``:
the inverse of its expected or observed information, ``information=``, times ``2 / N_r``) is
computed at its estimates in memory-bounded batches of replicates: what Wald tests, delta-method
SEs and Monte Carlo CIs of defined effects need (the power engine's FIML path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design

MAX_FLOATS = 2e7
"""Rows times squared variables processed at once when reducing replicates to pattern statistics."""


@dataclass
class BatchFit:
    """Estimates of R replicates.

    ``phi`` (R, q), discrepancy ``f`` (R,), ``converged`` (R,), ``iterations`` (R,), and, when
    asked for, SEs ``se`` (R, q) and covariance matrices ``vcov`` (R, q, q) of the free parameters
    (from the information chosen by ``information``; NaN for a replicate whose ``f`` is not finite).
    """

    phi: np.ndarray
    f: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    se: np.ndarray | None = None
    vcov: np.ndarray | None = None


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


def _quasi_newton(
    phi: np.ndarray,
    info_r: np.ndarray,
    data: Any,
    take: Callable[[np.ndarray], Any],
    evaluate: Callable[[Any, np.ndarray, int], tuple[np.ndarray, np.ndarray | None]],
    polish: Callable[[Any, np.ndarray, np.ndarray], None],
    *,
    max_iter: int,
    tol: float,
    polish_after: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one batched solver of :func:`refit` and :func:`refit_own_patterns`; updates ``phi`` in place.

    Quasi-Newton steps ``-info_r^-1 g`` for every replicate still running, step halving until the
    function does not increase, BFGS updates of each replicate's curvature ``info_r`` (secant
    condition on the step just taken); after ``polish_after`` steps ``polish(sub, rows, phi[rows])``
    refreshes ``info_r[rows]`` at the current estimates. ``data`` is all replicates' data, ``take(rows)``
    its subset and ``evaluate(sub, phi_rows, order)`` the function (and gradient for ``order=1``).
    Returns ``f``, ``g`` and the iterations per replicate.
    """
    R = phi.shape[0]
    f, g = evaluate(data, phi, 1)
    assert g is not None
    iters = np.zeros(R, dtype=int)
    done = np.abs(g).max(axis=1) < tol
    for it in range(max_iter):
        ia = np.flatnonzero(~done & np.isfinite(f))
        if not len(ia):
            break
        sub = take(ia)
        if it >= polish_after:
            polish(sub, ia, phi[ia])
        Ha = info_r[ia]
        try:
            step = -np.linalg.solve(Ha, g[ia][..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.einsum("rij,rj->ri", np.linalg.pinv(Ha), g[ia])
        alpha = np.ones(len(ia))
        accepted = np.zeros(len(ia), dtype=bool)
        for _half in range(20):
            trial = phi[ia] + alpha[:, None] * step
            ft, _ = evaluate(sub, trial, 0)
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
            fu, gu = evaluate(take(upd), phi[upd], 1)
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
    return f, g, iters


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
    vcov: bool = False,
    information: str = "expected",
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
        Also return SEs from each replicate's information (pattern by pattern).
    polish_after
        Steps after which still-running replicates use the information at their current estimates.
    vcov
        Also return each replicate's covariance matrix of the free parameters ``(R, q, q)``:
        the (pseudo-)inverse of its information at its estimates times ``2 / N_r``.
    information
        ``"expected"`` (default; pattern-wise Fisher information) or ``"observed"`` (the exact
        Hessian of :func:`._ml.hessian`, what ``sem(..., missing="fiml")`` uses for its SEs).

    Returns
    -------
    BatchFit
        ``phi`` (R, q), ``f`` (R,), ``converged``, ``iterations``, and ``se`` (R, q) and ``vcov``
        (R, q, q) when asked for.
    """
    if information not in ("expected", "observed"):
        raise ValueError(f"information must be 'expected' or 'observed', got {information!r}")
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

    def evaluate(sub: list[_ml.Block], x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray | None]:
        fx, gx, _ = _ml.evaluate(designs, sub, x, meanstructure=meanstructure, order=order)
        return fx, gx

    def polish(sub: list[_ml.Block], ia: np.ndarray, x: np.ndarray) -> None:
        # the few slow replicates: information at their current estimates, Newton where the
        # observed information (the Hessian) is positive definite, else the expected information
        _, _, Hc = _ml.evaluate(designs, sub, x, meanstructure=meanstructure)
        assert Hc is not None
        Ho = _ml.hessian(designs, sub, x, meanstructure)
        pd_ok = np.all(np.linalg.eigvalsh(Ho) > 0, axis=1)
        Hc[pd_ok] = Ho[pd_ok]
        info_r[ia] = Hc + 1e-10 * np.eye(q)

    f, g, iters = _quasi_newton(
        phi, info_r, blocks, lambda rows: _ml._take(blocks, rows), evaluate, polish,
        max_iter=max_iter, tol=tol, polish_after=polish_after,
    )  # fmt: skip
    converged = np.isfinite(f) & (np.abs(g).max(axis=1) < max(tol * 100, 1e-5))
    out = BatchFit(phi, f, converged, iters)
    if se or vcov:
        V = covariances(designs, blocks, phi, _rows_with_data(Xr), meanstructure=meanstructure, information=information)
        if se:
            out.se = np.sqrt(np.abs(np.diagonal(V, axis1=1, axis2=2)))
        if vcov:
            out.vcov = V
    return out


def covariances(
    designs: list[Design],
    blocks: list[_ml.Block],
    phi: np.ndarray,
    n_r: np.ndarray,
    *,
    meanstructure: bool,
    information: str = "expected",
) -> np.ndarray:
    """Covariance matrices ``pinv(H_r) * 2 / n_r`` of R replicates at ``phi`` (R, q): (R, q, q).

    ``H_r`` is the expected (:func:`._ml.evaluate`) or observed (:func:`._ml.hessian`)
    information in f units; replicates are processed in batches whose working arrays stay below
    about :data:`MAX_FLOATS` floats. Rows whose ``phi`` is not finite get NaN.
    """
    R, q = phi.shape
    p = designs[0].p
    D = p * p + p
    per_rep = sum(b.idx.shape[0] * b.idx.shape[1] ** 4 for b in blocks) + len(designs) * D * D
    if information == "observed":  # the curvature term evaluates 2q moment Jacobians per replicate
        per_rep += len(designs) * 2 * q * q * (p * p + p)
    per = max(1, int(MAX_FLOATS // max(1, per_rep)))
    out = np.full((R, q, q), np.nan)
    good = np.flatnonzero(np.all(np.isfinite(phi), axis=1))
    for a in range(0, len(good), per):
        rows = good[a : a + per]
        sub = _ml._take(blocks, rows)
        if information == "observed":
            H = _ml.hessian(designs, sub, phi[rows], meanstructure)
        else:
            _, _, He = _ml.evaluate(designs, sub, phi[rows], meanstructure=meanstructure)
            assert He is not None
            H = He
        out[rows] = np.linalg.pinv(H) * (2.0 / n_r[rows])[:, None, None]
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


# --------------------------------------------------------------------------------------------
# Replicates with their own missing-data patterns (simulated data sets: power studies)
#
# The union layout above stores every pattern of every replicate for every replicate (weight 0
# where absent): right for bootstrap resamples, which share the patterns of one sample, but
# quadratic in R when each simulated data set has its own patterns (per-cell missingness on many
# variables makes nearly every row its own pattern). Here each replicate keeps only its own
# patterns: per pattern size k, ``idx`` (R, P_k, k) with a replicate axis (slots padded with
# weight 0), and the information is aggregated at the level of the implied moments by one batched
# matrix product per size (``sum_b w_b V_b (x) X_b`` over the zero-padded ``p x p`` inverses).


@dataclass
class Slots:
    """Per group and pattern size k: each replicate's own patterns, padded to ``P`` slots.

    ``idx`` (R, P, k) observed-variable positions, ``w`` (R, P) ``n_b / N_r`` (0 for padding),
    ``S`` (R, P, k, k) biased covariance and ``xbar`` (R, P, k) of the pattern's rows.
    """

    group: int
    idx: np.ndarray
    w: np.ndarray
    S: np.ndarray
    xbar: np.ndarray

    def take(self, rows: np.ndarray) -> Slots:
        return Slots(self.group, self.idx[rows], self.w[rows], self.S[rows], self.xbar[rows])


def own_pattern_slots(Xr: list[np.ndarray]) -> list[Slots]:
    """Pattern statistics of R replicate data sets per group (``Xr[g]`` (R, N_g, p), NaN = missing).

    Rows missing every variable are ignored; weights are ``n_rb / N_r`` with ``N_r`` the
    replicate's rows with data (as :func:`pattern_blocks`).
    """
    R, _, p = Xr[0].shape
    if p > 62:
        raise ValueError(f"at most 62 observed variables are supported for missing-data patterns, got {p}")
    bits = 1 << np.arange(p, dtype=np.int64)
    n_r = _rows_with_data(Xr)
    out: list[Slots] = []
    for g, x in enumerate(Xr):
        N = x.shape[1]
        obs = ~np.isnan(x)
        code = obs.astype(np.int64) @ bits  # (R, N)
        rr = np.repeat(np.arange(R), N)
        cf = code.ravel()
        keep = cf != 0
        order = np.lexsort((cf[keep], rr[keep]))  # rows sorted by replicate, then pattern
        rows = np.flatnonzero(keep)[order]
        r_s, c_s = rr[rows], cf[rows]
        starts = np.flatnonzero(np.r_[True, (r_s[1:] != r_s[:-1]) | (c_s[1:] != c_s[:-1])])
        pr, pc = r_s[starts], c_s[starts]  # (M,) replicate and pattern of each pair
        cnt = np.diff(np.r_[starts, len(rows)]).astype(float)
        pats = (pc[:, None] & bits[None, :]) > 0  # (M, p)
        sizes = pats.sum(axis=1)
        xs = np.where(obs, x, 0.0).reshape(-1, p)[rows]  # (rows, p) sorted
        pair_of_row = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
        for k in np.unique(sizes):
            which = np.flatnonzero(sizes == k)  # pairs of this size, sorted by replicate
            idx = np.nonzero(pats[which])[1].reshape(len(which), k)
            sel = np.isin(pair_of_row, which)
            local = np.searchsorted(which, pair_of_row[sel])
            xo = np.take_along_axis(xs[sel], idx[local], axis=1)  # (rows_k, k) observed values
            s1 = np.zeros((len(which), k))
            np.add.at(s1, local, xo)
            s2 = np.zeros((len(which), k, k))
            st = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
            s2[local[st]] = np.add.reduceat(xo[:, :, None] * xo[:, None, :], st, axis=0)
            n = cnt[which]
            xbar = s1 / n[:, None]
            S = s2 / n[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
            rep = pr[which]
            first = np.searchsorted(rep, np.arange(R))
            slot = np.arange(len(which)) - first[rep]
            P = int(slot.max()) + 1
            Ix = np.broadcast_to(np.arange(k), (R, P, k)).copy()
            W = np.zeros((R, P))
            SS = np.broadcast_to(np.eye(k), (R, P, k, k)).copy()
            XB = np.zeros((R, P, k))
            Ix[rep, slot] = idx
            W[rep, slot] = n / n_r[rep]
            SS[rep, slot] = S
            XB[rep, slot] = xbar
            out.append(Slots(g, Ix, W, SS, XB))
    return out


def _slot_moments(m: _ml.Moments, b: Slots) -> tuple[np.ndarray, np.ndarray]:
    R = b.idx.shape[0]
    ar = np.arange(R)[:, None, None, None]
    sig = m.sigma[ar, b.idx[:, :, :, None], b.idx[:, :, None, :]]  # (R, P, k, k)
    mu = m.mu[np.arange(R)[:, None, None], b.idx]  # (R, P, k)
    return sig, mu


def _scatter_flat(vals: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    """Sum ``vals`` (R, ...) into ``size`` bins at ``pos`` (R, ...) per replicate: (R, size)."""
    R = vals.shape[0]
    flat = (np.arange(R).reshape((R,) + (1,) * (pos.ndim - 1)) * size + pos).ravel()
    return np.bincount(flat, weights=vals.ravel(), minlength=R * size).reshape(R, size)


def evaluate_slots(
    designs: list[Design], slots: list[Slots], phi: np.ndarray, *, meanstructure: bool, order: int = 1
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Discrepancy ``f`` (R,) and (``order=1``) gradient (R, q) of replicates with their own patterns.

    Also returns the aggregated ``W`` (G, R, p, p) and ``V d`` (G, R, p) (for the curvature of the
    observed information). ``f`` is ``inf`` where a used implied submatrix is not positive definite.
    """
    R, q = phi.shape
    p = designs[0].p
    G = len(designs)
    P2 = p * p
    f = np.zeros(R)
    GS = np.zeros((G, R, P2))
    gm = np.zeros((G, R, p))
    mom = [_ml.moments(d, phi, jac=order > 0) for d in designs]
    for b in slots:
        sig, mu = _slot_moments(mom[b.group], b)
        sign, logdet = np.linalg.slogdet(sig)
        bad = sign <= 0
        if bad.any():
            sig = np.where(bad[..., None, None], np.eye(sig.shape[-1]), sig)
            logdet = np.where(bad, 0.0, logdet)
        V = np.linalg.inv(sig)
        T = b.S
        if meanstructure:
            dev = b.xbar - mu
            T = T + dev[..., :, None] * dev[..., None, :]
        fb = logdet + np.einsum("rpij,rpji->rp", V, T)
        f += np.where(bad, 0.0, fb * b.w).sum(axis=1)
        f[(bad & (b.w > 0)).any(axis=1)] = np.inf
        if not order:
            continue
        U = V @ T @ V
        fi = b.idx[:, :, :, None] * p + b.idx[:, :, None, :]
        GS[b.group] += _scatter_flat((V - U) * b.w[..., None, None], fi, P2)
        if meanstructure:
            Vd = (V @ dev[..., None])[..., 0]
            gm[b.group] += _scatter_flat(Vd * b.w[..., None], b.idx, p)
    GSm = GS.reshape(G, R, p, p)
    if not order:
        return f, None, GSm, gm
    g = np.zeros((R, q))
    for gi, m in enumerate(mom):
        g += np.einsum("rkx,rx->rk", m.dsigma.reshape(R, q, P2), GS[gi])
        if meanstructure:
            g -= 2.0 * np.einsum("rki,ri->rk", m.dmu, gm[gi])
    return f, g, GSm, gm


def information_slots(
    designs: list[Design], slots: list[Slots], phi: np.ndarray, *, meanstructure: bool, observed: bool
) -> np.ndarray:
    """Expected or observed information (f units) of replicates with their own patterns: (R, q, q).

    Per group the pattern terms are summed at the level of the moments: ``HM[(i,j),(l,m)] = sum_b
    w_b V_mi X_jl`` with ``X = V`` (expected) or ``2 V T V - V`` (observed), one batched product
    of the zero-padded ``p x p`` matrices per pattern size; ``2 sum_b w_b V_b`` for the means and,
    observed only, ``2 (V d)_i V_jl`` between them, as :func:`._ml._evaluate`; then ``J HM J'``
    plus (observed) the curvature of the model (:func:`._ml._curvature`). The caller bounds R.
    """
    R, q = phi.shape
    p = designs[0].p
    P2 = p * p
    D = P2 + p if meanstructure else P2
    mom = [_ml.moments(d, phi) for d in designs]
    H = np.zeros((R, q, q))
    for gi, m in enumerate(mom):
        HM = np.zeros((R, D, D))
        Q = np.zeros((R, P2, P2))
        for b in (s for s in slots if s.group == gi):
            sig, mu = _slot_moments(m, b)
            bad = np.linalg.slogdet(sig)[0] <= 0
            sig = np.where(bad[..., None, None], np.eye(sig.shape[-1]), sig)
            V = np.linalg.inv(sig)
            w = np.where(bad, 0.0, b.w)
            Rn, P, k = b.idx.shape
            ar, pr = np.arange(Rn)[:, None, None, None], np.arange(P)[None, :, None, None]
            ii, jj = b.idx[:, :, :, None], b.idx[:, :, None, :]
            Vw = np.zeros((Rn, P, p, p))
            Vw[ar, pr, ii, jj] = V * w[..., None, None]
            if observed:
                T = b.S
                if meanstructure:
                    dev = b.xbar - mu
                    T = T + dev[..., :, None] * dev[..., None, :]
                X = 2.0 * V @ T @ V - V
            else:
                X = V
            Xp = np.zeros((Rn, P, p, p))
            Xp[ar, pr, ii, jj] = X
            Q += np.swapaxes(Vw.reshape(Rn, P, P2), 1, 2) @ Xp.reshape(Rn, P, P2)  # [(m,i),(j,l)]
            if meanstructure:
                HM[:, P2:, P2:] += 2.0 * Vw.sum(axis=1)
                if observed:
                    Vp = np.zeros((Rn, P, p, p))
                    Vp[ar, pr, ii, jj] = V
                    Vd = np.zeros((Rn, P, p))
                    Vd[np.arange(Rn)[:, None, None], np.arange(P)[None, :, None], b.idx] = (V @ dev[..., None])[
                        ..., 0
                    ] * w[..., None]
                    cross = 2.0 * np.einsum("rpi,rpjl->rijl", Vd, Vp, optimize=True).reshape(Rn, P2, p)
                    HM[:, :P2, P2:] += cross
                    HM[:, P2:, :P2] += np.swapaxes(cross, 1, 2)
        # Q[(m,i),(j,l)] = sum w V_mi X_jl  ->  HM[(i,j),(l,m)]
        HM[:, :P2, :P2] = Q.reshape(R, p, p, p, p).transpose(0, 2, 3, 4, 1).reshape(R, P2, P2)
        Js = m.dsigma.reshape(R, q, P2)
        J = np.concatenate([Js, m.dmu], axis=2) if meanstructure else Js
        H += J @ HM @ np.swapaxes(J, 1, 2)
    if observed:
        _, _, GS, gm = evaluate_slots(designs, slots, phi, meanstructure=meanstructure, order=1)
        H = H + _ml._curvature(designs, phi, GS, gm, meanstructure)
    return (H + np.swapaxes(H, 1, 2)) / 2


def _info_batched(
    designs: list[Design], slots: list[Slots], phi: np.ndarray, *, meanstructure: bool, observed: bool
) -> np.ndarray:
    """:func:`information_slots` in batches of replicates whose working arrays stay near MAX_FLOATS."""
    R, q = phi.shape
    p = designs[0].p
    D = p * p + p
    per_rep = len(designs) * (2 * D * D + 2 * q * q * D) + sum(3 * s.idx.shape[1] * p * p for s in slots)
    per = max(1, int(MAX_FLOATS // max(1, per_rep)))
    out = np.empty((R, q, q))
    for a in range(0, R, per):
        rows = np.arange(a, min(R, a + per))
        out[rows] = information_slots(
            designs, [s.take(rows) for s in slots], phi[rows], meanstructure=meanstructure, observed=observed
        )
    return out


def refit_own_patterns(
    designs: list[Design],
    Xr: list[np.ndarray],
    phi0: np.ndarray,
    *,
    meanstructure: bool,
    max_iter: int = 200,
    tol: float = 1e-6,
    polish_after: int = 25,
    vcov: bool = False,
    information: str = "expected",
) -> BatchFit:
    """FIML estimates of R data sets that each have their own missing-data patterns (simulations).

    The same solver as :func:`refit` (quasi-Newton steps from each replicate's expected
    information at ``phi0``, BFGS updates, step halving; replicates still running after
    ``polish_after`` steps take Newton steps with their observed information where it is
    positive definite), on :class:`Slots`: the cost grows with each replicate's own patterns, not
    with the union of all replicates' patterns. ``vcov=True`` adds each replicate's covariance
    matrix of the free parameters (``pinv(H) * 2 / N_r``, ``information`` ``"expected"`` or
    ``"observed"``) and the SEs.
    """
    if information not in ("expected", "observed"):
        raise ValueError(f"information must be 'expected' or 'observed', got {information!r}")
    slots = own_pattern_slots(Xr)
    R = Xr[0].shape[0]
    q = len(phi0)
    phi = np.repeat(np.asarray(phi0, dtype=float)[None], R, axis=0)
    info_r = _info_batched(designs, slots, phi, meanstructure=meanstructure, observed=False) + 1e-10 * np.eye(q)

    def evaluate(sub: list[Slots], x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray | None]:
        fx, gx, _, _ = evaluate_slots(designs, sub, x, meanstructure=meanstructure, order=order)
        return fx, gx

    def polish(sub: list[Slots], ia: np.ndarray, x: np.ndarray) -> None:
        # Newton steps where the observed information is positive definite; elsewhere BFGS goes on
        Ho = _info_batched(designs, sub, x, meanstructure=meanstructure, observed=True)
        pd_ok = np.all(np.linalg.eigvalsh(Ho) > 0, axis=1)
        info_r[ia[pd_ok]] = Ho[pd_ok] + 1e-10 * np.eye(q)

    f, g, iters = _quasi_newton(
        phi, info_r, slots, lambda rows: [s.take(rows) for s in slots], evaluate, polish,
        max_iter=max_iter, tol=tol, polish_after=polish_after,
    )  # fmt: skip
    converged = np.isfinite(f) & (np.abs(g).max(axis=1) < max(tol * 100, 1e-5))
    out = BatchFit(phi, f, converged, iters)
    if vcov:
        n_r = _rows_with_data(Xr)
        V = np.full((R, q, q), np.nan)
        fin = np.flatnonzero(np.isfinite(f) & np.all(np.isfinite(phi), axis=1))
        if len(fin):
            H = _info_batched(
                designs, [s.take(fin) for s in slots], phi[fin], meanstructure=meanstructure,
                observed=information == "observed",
            )  # fmt: skip
            V[fin] = np.linalg.pinv(H) * (2.0 / n_r[fin])[:, None, None]
        out.vcov = V
        out.se = np.sqrt(np.abs(np.diagonal(V, axis1=1, axis2=2)))
    return out
