"""Normal-theory maximum likelihood for the RAM model, batched over replicates (pure numpy kernels).

Sources
-------
* Implied moments of the reticular action model: ``Sigma = F B S B' F'``, ``mu = F B m`` with
  ``B = (I - A)^-1`` (McArdle & McDonald 1984). Derivatives ``dSigma = F B dA B S B' F' + (.)' +
  F B dS B' F'`` and ``dmu = F B dA B m + F B dm`` (Neudecker & Satorra 1991; von Oertzen & Brick
  2014 for the RAM form).
* ML discrepancy per block of rows (a group, or a missing-data pattern of FIML):
  ``f_b = log|Sigma_b| + tr(Sigma_b^-1 (S_b + d_b d_b'))``, ``d_b = xbar_b - mu_b``; the sample
  log-likelihood is ``-N/2 (sum_b w_b f_b + sum_b w_b k_b log 2 pi)`` with ``w_b = n_b / N``
  (Joreskog 1967; Arbuckle 1996 for the casewise/pattern form of FIML).
* Gradient ``df/dtheta = tr(W dSigma) - 2 d' Sigma^-1 dmu``, ``W = Sigma^-1 - Sigma^-1 (S + d d')
  Sigma^-1``; expected (Fisher) Hessian ``tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l) + 2 dmu_k'
  Sigma^-1 dmu_l`` (Lee & Jennrich 1979). Fisher scoring with step halving; the same kernel solves
  one fit or a thousand bootstrap replicates at once (a leading replicate axis, no Python loop over
  replicates).

Variances are not bounded (as lavaan): negative estimates (Heywood cases) are reported, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sciplab.stats.sem._spec import Design


@dataclass
class Block:
    """Sufficient statistics of rows sharing a group and a pattern of observed variables.

    ``idx`` (P, k): observed-variable positions of each of P patterns with k observed values;
    ``w`` (P,) or, when replicates differ in their pattern counts, (R, P): n_b / N; ``S``
    (R|1, P, k, k) biased covariance; ``xbar`` (R|1, P, k).
    """

    group: int
    idx: np.ndarray
    w: np.ndarray
    S: np.ndarray
    xbar: np.ndarray


@dataclass
class Moments:
    sigma: np.ndarray  # (R, p, p)
    mu: np.ndarray  # (R, p)
    dsigma: np.ndarray  # (R, q, p, p); empty (q = 0) when not asked for
    dmu: np.ndarray  # (R, q, p)
    C: np.ndarray  # (R, n, n) implied covariance of all variables
    B: np.ndarray


def moments(d: Design, phi: np.ndarray, *, jac: bool = True) -> Moments:
    """Implied moments of one group for every row of ``phi`` (R, q), with their Jacobian."""
    R = phi.shape[0]
    n, p = d.n, d.p
    A = d.A0 + np.einsum("rq,qij->rij", phi, d.DA)
    S = d.S0 + np.einsum("rq,qij->rij", phi, d.DS)
    m = d.m0 + phi @ d.Dm  # S0, m0 may carry a replicate axis (fixed.x moments of bootstrap samples)
    eye = np.broadcast_to(np.eye(n), (R, n, n))
    B = np.linalg.solve(eye - A, eye)
    FB = B[:, :p, :]
    BS = B @ S
    C = BS @ np.swapaxes(B, 1, 2)
    sigma = C[:, :p, :p]
    Bm = np.einsum("rij,rj->ri", B, m)
    mu = Bm[:, :p]
    if not jac:
        return Moments(sigma, mu, np.zeros((R, 0, p, p)), np.zeros((R, 0, p)), C, B)
    CF = C[:, :, :p]  # B S B' F'
    dsigma, dmu = _jacobian(d, FB, CF, Bm)
    return Moments(sigma, mu, dsigma, dmu, C, B)


def _nonzeros(d: Design) -> tuple[np.ndarray, ...]:
    """Sparse form of the design (cached on it): each parameter touches a few matrix entries.

    Returns ``(l, u, w, c)`` for the covariance Jacobian -- entry k adds ``c_k (U_k W_k' + W_k U_k')``
    to ``dSigma[l_k]`` with ``U_k = FB[:, u_k]`` and ``W_k`` column ``w_k`` of ``[FB, CF']`` -- and
    ``(lm, um, jm, vm)`` for the mean Jacobian.
    """
    cache = getattr(d, "_nz", None)
    if cache is not None:
        return cache
    n = d.n
    la, ia, ja = np.nonzero(d.DA)
    ls, is_, js = np.nonzero(np.triu(d.DS))
    l_ = np.concatenate([la, ls])
    u_ = np.concatenate([ia, is_])
    w_ = np.concatenate([n + ja, js])  # columns >= n pick rows of C F' (A entries), else of F B (S entries)
    c_ = np.concatenate([d.DA[la, ia, ja], d.DS[ls, is_, js] * np.where(is_ == js, 0.5, 1.0)])
    order = np.argsort(l_, kind="stable")
    lm, im = np.nonzero(d.Dm)
    out = (l_[order], u_[order], w_[order], c_[order], la, ia, ja, d.DA[la, ia, ja], lm, im, d.Dm[lm, im])
    d._nz = out  # type: ignore[attr-defined]
    return out


def _jacobian(d: Design, FB: np.ndarray, CF: np.ndarray, Bm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``dSigma`` (R, q, p, p) and ``dmu`` (R, q, p) from the sparse design (outer products only)."""
    R, p = FB.shape[0], d.p
    q = d.DA.shape[0]
    l_, u_, w_, c_, la, ia, ja, va, lm, im, vm = _nonzeros(d)
    dsigma = np.zeros((R, q, p, p))
    if len(l_):
        cols = np.concatenate([FB, np.swapaxes(CF, 1, 2)], axis=2)  # (R, p, 2n): F B and (C F')'
        U = np.swapaxes(FB[:, :, u_] * c_, 1, 2)  # (R, K, p)
        W = np.swapaxes(cols[:, :, w_], 1, 2)
        T = U[:, :, :, None] * W[:, :, None, :]
        T += np.swapaxes(T, 2, 3)
        starts = np.flatnonzero(np.r_[True, l_[1:] != l_[:-1]])
        if len(starts) == len(l_):  # one entry per parameter (no equality constraints): no summing
            dsigma[:, l_] = T
        else:
            dsigma[:, l_[starts]] = np.add.reduceat(T, starts, axis=1)
    dmu = np.zeros((R, q, p))
    for ls, vals in ((la, FB[:, :, ia] * (Bm[:, ja] * va)[:, None, :]), (lm, FB[:, :, im] * vm)):
        if not len(ls):
            continue
        vals = np.swapaxes(vals, 1, 2)
        if len(np.unique(ls)) == len(ls):
            dmu[:, ls] += vals
        else:
            np.add.at(dmu, (slice(None), ls), vals)  # type: ignore[arg-type]
    return dsigma, dmu


def _sub(mat: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``mat[..., idx_b, idx_b]`` for every pattern b: (R, p, p) -> (R, P, k, k)."""
    return mat[:, idx[:, :, None], idx[:, None, :]]


def evaluate(
    designs: list[Design],
    blocks: list[Block],
    phi: np.ndarray,
    *,
    meanstructure: bool,
    order: int = 2,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Discrepancy ``f`` (R,), gradient (R, q) and Fisher information (R, q, q) at ``phi``.

    ``order=0`` computes ``f`` only; ``f`` is ``inf`` where an implied matrix is not positive
    definite.
    """
    f, g, H, _, _ = _evaluate(designs, blocks, phi, meanstructure, order, observed=False)
    return f, g, H


def _scatter(vals: np.ndarray, pos: np.ndarray, size: int) -> np.ndarray:
    """Sum ``vals`` (R, m) into ``size`` bins at positions ``pos`` (m,) for every replicate: (R, size)."""
    R = vals.shape[0]
    flat = (np.arange(R)[:, None] * size + pos[None, :]).ravel()
    return np.bincount(flat, weights=vals.ravel(), minlength=R * size).reshape(R, size)


def _evaluate(
    designs: list[Design],
    blocks: list[Block],
    phi: np.ndarray,
    meanstructure: bool,
    order: int,
    *,
    observed: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
    """The likelihood pattern by pattern, aggregated at the level of the implied moments.

    Each block contributes its ``W = w (V - V T V)`` and ``w V d`` to full ``p x p`` and ``p``
    arrays, and (``order=2``) its second derivatives with respect to ``vec Sigma`` and ``mu`` to a
    ``(p^2 + p)`` square matrix: ``V_da X_bc`` for the pair of entries ``(a, b), (c, d)`` with
    ``X = V`` (expected information: ``E T = Sigma``) or ``X = 2 V T V - V`` (observed), ``2 V``
    for the means and, observed only, ``2 (V d)_a V_bc`` between them. The model enters once per
    group through the Jacobian of the implied moments, so the cost grows with the number of
    missing-data patterns only through small ``k x k`` operations (no per-pattern Jacobians).
    Returns ``f, g, H`` and the aggregated ``W`` (G, R, p, p) and ``V d`` (G, R, p).
    """
    R, q = phi.shape
    p = designs[0].p
    G = len(designs)
    P2 = p * p
    D = P2 + p
    f = np.zeros(R)
    GS = np.zeros((G, R, P2))
    gm = np.zeros((G, R, p))
    HM = np.zeros((G, R, D * D)) if order > 1 else None
    mom = [moments(d, phi, jac=order > 0) for d in designs]
    for b in blocks:
        m = mom[b.group]
        sig = _sub(m.sigma, b.idx)  # (R, P, k, k)
        sign, logdet = np.linalg.slogdet(sig)
        bad = sign <= 0
        if bad.any():
            sig = np.where(bad[..., None, None], np.eye(sig.shape[-1]), sig)
            logdet = np.where(bad, 0.0, logdet)
        V = np.linalg.inv(sig)
        T = np.broadcast_to(b.S, sig.shape)
        if meanstructure:
            dev = b.xbar - m.mu[:, b.idx]  # (R, P, k)
            T = T + dev[..., :, None] * dev[..., None, :]
        w = b.w if b.w.ndim == 2 else np.broadcast_to(b.w[None, :], (R, len(b.w)))
        fb = logdet + np.einsum("rpij,rpji->rp", V, T)
        f += np.where(bad, np.inf, fb * w).sum(axis=1) if bad.any() else (fb * w).sum(axis=1)
        if not order:
            continue
        P, k = b.idx.shape
        U = V @ T @ V
        fi = b.idx[:, :, None] * p + b.idx[:, None, :]  # (P, k, k) positions in vec Sigma
        GS[b.group] += _scatter(((V - U) * w[..., None, None]).reshape(R, -1), fi.ravel(), P2)
        if meanstructure:
            Vd = (V @ dev[..., None])[..., 0]
            gm[b.group] += _scatter((Vd * w[..., None]).reshape(R, -1), b.idx.ravel(), p)
        if order > 1:
            assert HM is not None
            X = 2.0 * U - V if observed else V
            vals = np.einsum("rpmi,rpjl->rpijlm", V * w[..., None, None], X, optimize=True)
            pos = fi[:, :, :, None, None] * D + fi[:, None, None, :, :]  # row (a,b)=(i,j), col (c,d)=(l,m)
            parts = [vals.reshape(R, -1)]
            where = [pos.ravel()]
            if meanstructure:
                mi = P2 + b.idx
                parts.append((2.0 * V * w[..., None, None]).reshape(R, -1))
                where.append((mi[:, :, None] * D + mi[:, None, :]).ravel())
                if observed:
                    cross = 2.0 * np.einsum("rpi,rpjl->rpijl", Vd * w[..., None], V, optimize=True)
                    c_pos = fi[:, :, :, None] * D + mi[:, None, None, :]
                    parts += [cross.reshape(R, -1), cross.reshape(R, -1)]
                    where += [c_pos.ravel(), ((c_pos % D) * D + c_pos // D).ravel()]
            HM[b.group] += _scatter(np.concatenate(parts, axis=1), np.concatenate(where), D * D)
    GSm = GS.reshape(G, R, p, p)
    if not order:
        return f, None, None, GSm, gm
    g = np.zeros((R, q))
    H = np.zeros((R, q, q)) if order > 1 else None
    for gi, m in enumerate(mom):
        Js = m.dsigma.reshape(R, q, P2)
        g += np.einsum("rkx,rx->rk", Js, GS[gi])
        if meanstructure:
            g -= 2.0 * np.einsum("rki,ri->rk", m.dmu, gm[gi])
        if H is not None and HM is not None:
            J = np.concatenate([Js, m.dmu], axis=2) if meanstructure else Js
            Hg = HM[gi].reshape(R, D, D)
            if not meanstructure:
                Hg = Hg[:, :P2, :P2]
            H += J @ Hg @ np.swapaxes(J, 1, 2)
    return f, g, H, GSm, gm


@dataclass
class Solution:
    phi: np.ndarray  # (R, q)
    f: np.ndarray  # (R,)
    grad: np.ndarray  # (R, q)
    info: np.ndarray  # (R, q, q) Fisher information in f units
    iterations: np.ndarray  # (R,)
    converged: np.ndarray  # (R,) bool


def fisher_scoring(
    designs: list[Design],
    blocks: list[Block],
    phi0: np.ndarray,
    *,
    meanstructure: bool,
    max_iter: int = 500,
    tol: float = 1e-9,
    newton: float = 1e-2,
    shift: np.ndarray | None = None,
    newton_after: int | None = None,
) -> Solution:
    """Minimise ``f`` for every replicate at once: Fisher scoring steps with step halving.

    Once the largest gradient entry of a replicate is below ``newton`` the step uses the exact
    Hessian (central differences of the analytic gradient, all points in one batched call):
    Fisher scoring converges linearly when the model misfits, Newton quadratically near the
    minimum. Converged when the largest absolute gradient entry is below ``tol`` (or the
    discrepancy stops changing at machine precision after a full step).

    ``shift`` (q, q), when given, is added to every replicate's Fisher information: with the
    difference between the observed and expected information at the full-sample estimate, the
    steps of bootstrap replicates (whose minima lie near it) are nearly Newton steps.
    ``newton_after``: replicates still running after that many iterations take exact Newton
    steps (the few slow ones of a batch).
    """
    phi = np.array(phi0, dtype=float, copy=True)
    R, q = phi.shape
    iters = np.zeros(R, dtype=int)
    done = np.zeros(R, dtype=bool)
    f, g, H = evaluate(designs, blocks, phi, meanstructure=meanstructure)
    assert g is not None and H is not None
    for it in range(max_iter):
        active = ~done & np.isfinite(f)
        if not active.any():
            break
        ia = np.flatnonzero(active)
        Ha = H[ia] + 1e-10 * np.eye(q)
        if shift is not None:
            shifted = Ha + shift
            pd_ok = np.all(np.linalg.eigvalsh(shifted) > 0, axis=1)
            Ha[pd_ok] = shifted[pd_ok]
        near = np.abs(g[ia]).max(axis=1) < newton
        if newton_after is not None and it >= newton_after:
            near[:] = True
        if near.any():
            sel = ia[near]
            Hn = np.concatenate(
                [
                    hessian(
                        take_designs(designs, sel[i : i + 64]),
                        _take(blocks, sel[i : i + 64]),
                        phi[sel[i : i + 64]],
                        meanstructure,
                    )
                    for i in range(0, len(sel), 64)
                ]
            )
            # keep Fisher steps where the Hessian is not positive definite (far from a minimum)
            pd_ok = np.all(np.linalg.eigvalsh(Hn) > 0, axis=1)
            Ha[np.flatnonzero(near)[pd_ok]] = Hn[pd_ok]
        try:
            step = -np.linalg.solve(Ha, g[ia][..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.einsum("rij,rj->ri", np.linalg.pinv(Ha), g[ia])
        alpha = np.ones(len(ia))
        f_old = f[ia]
        new_phi = phi[ia] + step
        accepted = np.zeros(len(ia), dtype=bool)
        f_new = np.full(len(ia), np.inf)
        for _half in range(30):
            trial = phi[ia] + alpha[:, None] * step
            ft, _, _ = evaluate(
                take_designs(designs, ia), _take(blocks, ia), trial, meanstructure=meanstructure, order=0
            )
            ok = ~accepted & np.isfinite(ft) & (ft <= f_old + 1e-12 * np.abs(f_old))
            new_phi[ok] = trial[ok]
            f_new[ok] = ft[ok]
            accepted |= ok
            if accepted.all():
                break
            alpha = np.where(accepted, alpha, alpha / 2)
        phi[ia[accepted]] = new_phi[accepted]
        iters[ia] += 1
        stalled = ia[~accepted]
        done[stalled] = True  # no descent possible: at the minimum to machine precision (or stuck)
        upd = ia[accepted]
        if len(upd):
            fu, gu, Hu = evaluate(take_designs(designs, upd), _take(blocks, upd), phi[upd], meanstructure=meanstructure)
            assert gu is not None and Hu is not None
            small = np.abs(f[upd] - fu) <= 1e-15 * np.maximum(1.0, np.abs(fu))
            f[upd], g[upd], H[upd] = fu, gu, Hu
            done[upd] = (np.abs(gu).max(axis=1) < tol) | small
    converged = np.abs(g).max(axis=1) < max(tol * 1e3, 1e-6)
    return Solution(phi, f, g, H, iters, converged & np.isfinite(f))


def hessian(designs: list[Design], blocks: list[Block], phi: np.ndarray, meanstructure: bool) -> np.ndarray:
    """Exact (observed) Hessian of ``f`` per replicate, analytic in the data: (R, q, q).

    With ``A = dSigma_k``, ``B = dSigma_l``, ``a = dmu_k``, ``b = dmu_l``, ``U = V T V`` and
    ``d = xbar - mu`` the second derivative of ``f_b = log|Sigma| + tr(V T)`` is
    ``-tr(V A V B) + 2 tr(V A U B) + 2 d'V A V b + 2 d'V B V a + 2 a'V b`` plus the curvature of the
    model, ``tr(W Sigma_kl) - 2 d'V mu_kl`` (Magnus & Neudecker 1999, ch. 9, for the matrix
    derivatives). The first part is aggregated over patterns at the level of the moments
    (:func:`_evaluate`); the curvature needs only the pattern-summed ``W`` and ``V d`` and the
    second derivatives of the implied moments, taken by central differences of the analytic
    Jacobian (no data involved: 2q evaluations of the moments, not of the likelihood).
    """
    _, _, H, GS, gm = _evaluate(designs, blocks, phi, meanstructure, 2, observed=True)
    assert H is not None
    H = H + _curvature(designs, phi, GS, gm, meanstructure)
    return (H + np.swapaxes(H, 1, 2)) / 2


def _curvature(
    designs: list[Design], phi: np.ndarray, GS: np.ndarray, gm: np.ndarray, meanstructure: bool
) -> np.ndarray:
    """``sum_g tr(GS_g Sigma_kl) - 2 gm_g' mu_kl`` per replicate: differences of the Jacobian (R, q, q)."""
    R, q = phi.shape
    h = 1e-6 * np.maximum(1.0, np.abs(phi))  # (R, q)
    eye = np.eye(q)
    pts = np.concatenate([phi[:, None, :] + h[:, :, None] * eye, phi[:, None, :] - h[:, :, None] * eye], axis=1)
    pts = pts.reshape(R * 2 * q, q)
    rows = np.repeat(np.arange(R), 2 * q)
    out = np.zeros((R, q, q))
    for g, d in enumerate(take_designs(designs, rows)):
        m = moments(d, pts)
        val = np.einsum("rkij,rij->rk", m.dsigma, GS[g][rows], optimize=True)
        if meanstructure:
            val -= 2.0 * np.einsum("rki,ri->rk", m.dmu, gm[g][rows])
        val = val.reshape(R, 2, q, q)  # (replicate, +/-, step direction l, parameter k)
        out += np.swapaxes((val[:, 0] - val[:, 1]) / (2 * h[:, :, None]), 1, 2)
    return out


def take_designs(designs: list[Design], rows: np.ndarray) -> list[Design]:
    """Designs restricted to replicates ``rows`` where fixed values differ by replicate (fixed.x)."""
    out = []
    for d in designs:
        S0 = d.S0 if d.S0.ndim == 2 else d.S0[rows]
        m0 = d.m0 if d.m0.ndim == 1 else d.m0[rows]
        out.append(Design(d.p, d.n, d.A0, S0, m0, d.DA, d.DS, d.Dm))
    return out


def _take(blocks: list[Block], rows: np.ndarray) -> list[Block]:
    """Blocks restricted to replicates ``rows`` (statistics shared by all replicates stay shared)."""
    out = []
    for b in blocks:
        S = b.S if b.S.shape[0] == 1 else b.S[rows]
        xbar = b.xbar if b.xbar.shape[0] == 1 else b.xbar[rows]
        w = b.w if b.w.ndim == 1 else b.w[rows]
        out.append(Block(b.group, b.idx, w, S, xbar))
    return out
