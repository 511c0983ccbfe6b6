"""Robust ML (MLR): Huber-White sandwich SEs and the Yuan-Bentler scaled test statistic.

Complete data and FIML (incomplete rows) share one code path: every row's score uses the
variables observed in that row.

Sources
-------
* Casewise scores of the normal log-likelihood of the observed part ``o`` of row i,
  ``s_i = -1/2 tr((V_o - z_i z_i') dSigma_oo) + z_i' dmu_o`` with ``z_i = V_o (x_io - mu_o)``,
  ``V_o = Sigma_oo^-1``; sandwich ``Var(phi) = A^-1 B A^-1 / N`` with ``A`` the observed
  information per case and ``B = sum_i s_i s_i' / N`` (Huber 1967; White 1982; Yuan & Bentler
  2000; for incomplete data Arminger & Sobel 1990, Yuan & Bentler 2000 section 4).
* Scaling factor ``c = (tr(A1^-1 B1) - tr(A0^-1 B0)) / df`` with the unit information matrices of
  the saturated (H1) and the model (H0): the Yuan-Bentler T2* statistic as in Mplus' MLR and
  lavaan's ``"yuan.bentler.mplus"`` (Yuan & Bentler 2000; Asparouhov & Muthen 2005). For complete
  data ``tr(A1^-1 B1) = sum_g mean_i (d_i^2 + p) / 2``, ``d_i`` the Mahalanobis distance of row i
  from its group's sample mean (from the scores of ``mu`` and ``vech Sigma``); with incomplete rows
  the saturated model is fitted by EM and its ``A1`` and ``B1`` are computed like the model's, by
  the same functions, with ``vech Sigma`` and ``mu`` of every group as the parameters.
"""

from __future__ import annotations

import numpy as np

from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design, Spec


def scores(designs: list[Design], phi: np.ndarray, X: list[np.ndarray]) -> np.ndarray:
    """Casewise scores ``d l_i / d phi`` (N, q) for all rows of all groups (rows stacked by group).

    Rows may have missing values (NaN): each row's likelihood is that of its observed variables.
    """
    out = []
    for d, x in zip(designs, X, strict=True):
        m = _ml.moments(d, phi[None])
        sigma, mu, dsig, dmu = m.sigma[0], m.mu[0], m.dsigma[0], m.dmu[0]
        p = len(mu)
        obs = ~np.isnan(x)
        pats, inverse = np.unique(obs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        Vfull = np.zeros((len(pats), p, p))
        sizes = pats.sum(axis=1)
        for k in np.unique(sizes):
            which = np.flatnonzero(sizes == k)
            idx = np.array([np.flatnonzero(pats[i]) for i in which]).reshape(len(which), k)
            Vk = np.linalg.inv(sigma[idx[:, :, None], idx[:, None, :]])
            Vfull[which[:, None, None], idx[:, :, None], idx[:, None, :]] = Vk
        e = np.where(obs, x - mu, 0.0)
        Z = np.einsum("ipq,iq->ip", Vfull[inverse], e)  # V_o e_i, zero where missing
        trV = Vfull.reshape(len(pats), p * p) @ dsig.reshape(len(dsig), p * p).T  # (patterns, q)
        quad = np.einsum("ip,lpq,iq->il", Z, dsig, Z, optimize=True)
        out.append(-0.5 * (trV[inverse] - quad) + Z @ dmu.T)
    return np.concatenate(out)


def _unit_info(designs: list[Design], blocks: list[_ml.Block], phi: np.ndarray, meanstructure: bool) -> np.ndarray:
    """Observed information per case, ``H_f / 2`` (analytic Hessian of the ML discrepancy)."""
    return _ml.hessian(designs, blocks, phi[None], meanstructure)[0] / 2.0


def sandwich(spec: Spec, phi: np.ndarray, X: list[np.ndarray], H_obs: np.ndarray, ntotal: int) -> np.ndarray:
    """Huber-White covariance of ``phi``: ``A^-1 B A^-1 / N``, ``A = H_obs / 2``."""
    s = scores(spec.designs, phi, X)
    B = s.T @ s / ntotal
    Ainv = np.linalg.inv(H_obs / 2.0)
    return Ainv @ B @ Ainv / ntotal


def _trace(designs: list[Design], blocks: list[_ml.Block], phi: np.ndarray, X: list[np.ndarray]) -> float:
    ntotal = sum(len(x) for x in X)
    s = scores(designs, phi, X)
    B = s.T @ s / ntotal
    A = _unit_info(designs, blocks, phi, True)
    return float(np.trace(np.linalg.solve(A, B)))


def saturated(means: list[np.ndarray], covs: list[np.ndarray]) -> tuple[list[Design], np.ndarray]:
    """The unrestricted (H1) model as designs: ``vech Sigma_g`` and ``mu_g`` of every group free."""
    p = len(means[0])
    G = len(means)
    iu = np.triu_indices(p)
    per = len(iu[0]) + p
    q = per * G
    designs, phi = [], np.zeros(q)
    for g in range(G):
        DS, Dm = np.zeros((q, p, p)), np.zeros((q, p))
        base = g * per
        ks = base + np.arange(len(iu[0]))
        DS[ks, iu[0], iu[1]] = 1.0
        DS[ks, iu[1], iu[0]] = 1.0
        phi[ks] = covs[g][iu]
        km = base + len(iu[0]) + np.arange(p)
        Dm[km, np.arange(p)] = 1.0
        phi[km] = means[g]
        designs.append(Design(p, p, np.zeros((p, p)), np.zeros((p, p)), np.zeros(p), np.zeros((q, p, p)), DS, Dm))
    return designs, phi


def _h1_trace(X: list[np.ndarray], blocks: list[_ml.Block], means: list[np.ndarray], covs: list[np.ndarray]) -> float:
    if not any(np.isnan(x).any() for x in X):  # closed form for complete data
        total = 0.0
        for x in X:
            e = x - x.mean(axis=0)
            S = e.T @ e / len(x)
            d = np.einsum("ip,pq,iq->i", e, np.linalg.inv(S), e)
            total += float(np.mean(0.5 * d**2 + 0.5 * x.shape[1]))
        return total
    designs, phi = saturated(means, covs)
    return _trace(designs, blocks, phi, X)


def scaling_factor(
    designs: list[Design],
    phi: np.ndarray,
    X: list[np.ndarray],
    df: int,
    blocks: list[_ml.Block],
    means: list[np.ndarray],
    covs: list[np.ndarray],
) -> float:
    """Yuan-Bentler (Mplus-type) scaling factor of a model's chi-square (the model or the baseline).

    ``blocks`` are the likelihood blocks of the fit (one per group, or per missing-data pattern
    under FIML); ``means, covs`` the saturated estimates (sample moments, or EM under FIML).
    """
    if df <= 0:
        return float("nan")
    return (_h1_trace(X, blocks, means, covs) - _trace(designs, blocks, phi, X)) / df
