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
    ``w`` (P,): n_b / N; ``S`` (R|1, P, k, k) biased covariance; ``xbar`` (R|1, P, k).
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
    dsigma: np.ndarray | None  # (R, q, p, p)
    dmu: np.ndarray | None  # (R, q, p)
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
        return Moments(sigma, mu, None, None, C, B)
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
            np.add.at(dmu, (slice(None), ls), vals)
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
    R, q = phi.shape
    f = np.zeros(R)
    g = np.zeros((R, q)) if order else None
    H = np.zeros((R, q, q)) if order > 1 else None
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
        fb = logdet + np.einsum("rpij,rpji->rp", V, T)
        fb = np.where(bad, np.inf, fb)
        f += fb @ b.w
        if not order:
            continue
        dsig = m.dsigma[:, :, b.idx[:, :, None], b.idx[:, None, :]]  # (R, q, P, k, k)
        Rr = sig.shape[0]
        W = (V - V @ T @ V) * b.w[None, :, None, None]
        # W and V are symmetric: tr(W dSigma) = sum of elementwise products
        g += (dsig.reshape(Rr, q, -1) @ W.reshape(Rr, -1, 1))[..., 0]
        if meanstructure:
            dmu = m.dmu[:, :, b.idx]  # (R, q, P, k)
            Vd = (V @ dev[..., None])[..., 0] * b.w[None, :, None]
            g -= 2.0 * (dmu.reshape(Rr, q, -1) @ Vd.reshape(Rr, -1, 1))[..., 0]
        if order > 1:
            Y = V[:, None] @ dsig  # (R, q, P, k, k)
            Yw = (Y * b.w[None, None, :, None, None]).reshape(Rr, q, -1)
            YT = np.swapaxes(Y, 3, 4).reshape(Rr, q, -1)
            H += Yw @ np.swapaxes(YT, 1, 2)
            if meanstructure:
                Vdmu = (V[:, None] @ dmu[..., None])[..., 0] * b.w[None, None, :, None]
                H += 2.0 * dmu.reshape(Rr, q, -1) @ np.swapaxes(Vdmu.reshape(Rr, q, -1), 1, 2)
    return f, g, H


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
    """Exact Hessian of ``f`` per replicate: central differences of the analytic gradient (R, q, q).

    The 2q shifted points of every replicate are evaluated in batches whose Jacobians stay below
    about 2e7 floats (FIML with many missing-data patterns has large blocks).
    """
    R, q = phi.shape
    h = 1e-5 * np.maximum(1.0, np.abs(phi))  # (R, q)
    eye = np.eye(q)
    pts = np.concatenate([phi[:, None, :] + h[:, :, None] * eye, phi[:, None, :] - h[:, :, None] * eye], axis=1)
    pts = pts.reshape(R * 2 * q, q)
    rows = np.repeat(np.arange(R), 2 * q)
    per_point = q * sum(b.idx.shape[0] * b.idx.shape[1] ** 2 for b in blocks) * (1 if blocks[0].S.shape[0] == 1 else 1)
    step = max(1, int(2e7 // max(per_point, 1)))
    grads = []
    for i in range(0, len(pts), step):
        sel = rows[i : i + step]
        _, g, _ = evaluate(
            take_designs(designs, sel), _take(blocks, sel), pts[i : i + step], meanstructure=meanstructure, order=1
        )
        assert g is not None
        grads.append(g)
    g = np.concatenate(grads).reshape(R, 2 * q, q)
    Hn = (g[:, :q] - g[:, q:]) / (2 * h[:, :, None])
    return (Hn + np.swapaxes(Hn, 1, 2)) / 2


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
        out.append(Block(b.group, b.idx, b.w, S, xbar))
    return out
