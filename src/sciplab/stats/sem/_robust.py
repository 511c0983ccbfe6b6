"""Robust ML (MLR): Huber-White sandwich SEs and the Yuan-Bentler scaled test statistic.

Sources
-------
* Casewise scores of the normal log-likelihood, ``s_i = -1/2 tr((V - V e_i e_i' V) dSigma) +
  e_i' V dmu`` with ``e_i = x_i - mu``, ``V = Sigma^-1``; sandwich ``Var(phi) = A^-1 B A^-1 / N``
  with ``A`` the observed information and ``B = sum_i s_i s_i' / N`` (Huber 1967; White 1982;
  Yuan & Bentler 2000).
* Scaling factor ``c = (tr(A1^-1 B1) - tr(A0^-1 B0)) / df`` with the saturated (H1) and model (H0)
  unit information matrices: the Yuan-Bentler T2* statistic as in Mplus' MLR and lavaan's
  ``"yuan.bentler.mplus"`` (Yuan & Bentler 2000; Asparouhov & Muthen 2005). For the saturated
  normal model ``tr(A1^-1 B1) = sum_g mean_i (d_i^2 + p) / 2``, ``d_i`` the Mahalanobis distance of
  row i from its group's sample mean (derived from the scores of ``mu`` and ``vech Sigma``).
"""

from __future__ import annotations

import numpy as np

from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design, Spec


def scores(designs: list[Design], phi: np.ndarray, X: list[np.ndarray]) -> np.ndarray:
    """Casewise scores ``d l_i / d phi`` for all rows of all groups (rows stacked by group)."""
    out = []
    for d, x in zip(designs, X, strict=True):
        m = _ml.moments(d, phi[None])
        sigma, mu, dsig, dmu = m.sigma[0], m.mu[0], m.dsigma[0], m.dmu[0]
        V = np.linalg.inv(sigma)
        Z = (x - mu) @ V  # (N, p): V e_i
        trV = np.einsum("ij,lji->l", V, dsig)  # tr(V dSigma_l)
        quad = np.einsum("ip,lpq,iq->il", Z, dsig, Z)  # e_i' V dSigma_l V e_i
        out.append(-0.5 * (trV[None, :] - quad) + Z @ dmu.T)
    return np.concatenate(out)


def _observed_info(designs: list[Design], phi: np.ndarray, X: list[np.ndarray], ntotal: int) -> np.ndarray:
    """Unit observed information ``H_f / 2`` (exact Hessian of the ML discrepancy by differences)."""
    blocks, _, _ = _complete(X, ntotal)
    H = _ml.hessian(designs, blocks, phi[None], True)[0]
    return H / 2.0


def _complete(X: list[np.ndarray], ntotal: int) -> tuple[list[_ml.Block], list[np.ndarray], list[np.ndarray]]:
    from sciplab.stats.sem._data import complete_blocks

    return complete_blocks(X, ntotal)


def sandwich(spec: Spec, phi: np.ndarray, X: list[np.ndarray], H_obs: np.ndarray, ntotal: int) -> np.ndarray:
    """Huber-White covariance of ``phi``: ``A^-1 B A^-1 / N``, ``A = H_obs / 2``."""
    s = scores(spec.designs, phi, X)
    B = s.T @ s / ntotal
    Ainv = np.linalg.inv(H_obs / 2.0)
    return Ainv @ B @ Ainv / ntotal


def _h1_trace(X: list[np.ndarray]) -> float:
    total = 0.0
    for x in X:
        e = x - x.mean(axis=0)
        S = e.T @ e / len(x)
        d = np.einsum("ip,pq,iq->i", e, np.linalg.inv(S), e)
        total += float(np.mean(0.5 * d**2 + 0.5 * x.shape[1]))
    return total


def _model_trace(designs: list[Design], phi: np.ndarray, X: list[np.ndarray]) -> float:
    ntotal = sum(len(x) for x in X)
    s = scores(designs, phi, X)
    B = s.T @ s / ntotal
    A = _observed_info(designs, phi, X, ntotal)
    return float(np.trace(np.linalg.solve(A, B)))


def scaling_factor(spec: Spec, phi: np.ndarray, X: list[np.ndarray], df: int) -> float:
    """Yuan-Bentler (Mplus-type) scaling factor of the model's chi-square."""
    if df <= 0:
        return float("nan")
    return (_h1_trace(X) - _model_trace(spec.designs, phi, X)) / df


def baseline_scaling_factor(spec: Spec, designs: list[Design], phi: np.ndarray, X: list[np.ndarray], df: int) -> float:
    """The same scaling factor for the independence (baseline) model."""
    if df <= 0:
        return float("nan")
    return (_h1_trace(X) - _model_trace(designs, phi, X)) / df
