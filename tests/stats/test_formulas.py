"""Tests of the path-model kernels in sciplab.stats._formulas against LAPACK (independent routines)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciplab.stats import _formulas as kf


def _spd_batch(rng: np.random.Generator, R: int, k: int) -> np.ndarray:
    A = rng.normal(size=(R, k + 3, k))
    return A.transpose(0, 2, 1) @ A


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 8), R=st.integers(1, 50), seed=st.integers(0, 10_000))
def test_batched_cholesky_and_solve_match_lapack(k, R, seed):
    rng = np.random.default_rng(seed)
    S = _spd_batch(rng, R, k)
    rhs = rng.normal(size=(R, k))
    L, ok = kf.batched_cholesky(S)
    assert ok.all()
    dense = np.zeros((R, k, k))
    for i in range(k):
        for j in range(i + 1):
            dense[:, i, j] = L[i][j]
    np.testing.assert_allclose(dense, np.linalg.cholesky(S), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        kf.cholesky_solve(L, rhs), np.linalg.solve(S, rhs[:, :, None])[:, :, 0], rtol=1e-8, atol=1e-10
    )


def test_batched_cholesky_flags_indefinite_matrices():
    S = np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    _, ok = kf.batched_cholesky(S)
    assert ok.tolist() == [True, False, False]


def _moments(X: np.ndarray) -> np.ndarray:
    Z = np.column_stack([np.ones(len(X)), X])
    return (Z.T @ Z)[None]


@pytest.mark.parametrize("k", [2, 9])  # the element-wise path and the LAPACK path (k > SMALL_SYSTEM)
def test_batched_ols_matches_lstsq_on_both_paths(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(200, k))
    y = X @ rng.normal(size=k) + rng.normal(size=200)
    M = _moments(np.column_stack([X, y]))
    coef, g, sing = kf.batched_ols(M, k + 1, np.arange(k + 1))
    ref = np.linalg.lstsq(np.column_stack([np.ones(200), X]), y, rcond=None)[0]
    np.testing.assert_allclose(coef[0], ref, rtol=1e-10, atol=1e-12)
    assert not sing[0]
    resid = y - np.column_stack([np.ones(200), X]) @ ref
    np.testing.assert_allclose(g[0] @ M[0] @ g[0], resid @ resid, rtol=1e-9)


@pytest.mark.parametrize("k", [3, 9])
def test_batched_ols_singularity_test_is_the_eigenvalue_criterion(k):
    # near-collinear regressors: replicates just below and just above lambda_min = tol
    rng = np.random.default_rng(1)
    base = rng.normal(size=(400, k))
    noise = rng.normal(size=400)
    Ms, lam = [], []
    for eps in (1e-3, 1e-5, 3e-6, 1e-7, 0.0):
        X = base.copy()
        X[:, -1] = X[:, 0] + eps * noise
        M = _moments(np.column_stack([X, rng.normal(size=400)]))
        Ms.append(M[0])
        xtx = M[0][: k + 1, : k + 1]
        d = np.sqrt(np.diag(xtx))
        lam.append(np.linalg.eigvalsh(xtx / np.outer(d, d))[0])
    _, _, sing = kf.batched_ols(np.array(Ms), k + 1, np.arange(k + 1), tol=1e-10)
    np.testing.assert_array_equal(sing, np.array(lam) < 1e-10)
    assert sing.any() and not sing.all()


def test_implied_variances_recursive_equal_the_dense_formula():
    rng = np.random.default_rng(3)
    R, p = 20, 5
    beta = np.tril(rng.normal(size=(R, p, p)), k=-1)
    psi = _spd_batch(rng, R, p)
    A = np.linalg.inv(np.eye(p) - beta)  # the dense formula (I - B)^-1 Psi (I - B)^-T
    dense = A @ psi @ np.swapaxes(A, -1, -2)
    np.testing.assert_allclose(
        kf.implied_variances_recursive(beta, psi), np.diagonal(dense, axis1=1, axis2=2), rtol=1e-10
    )
