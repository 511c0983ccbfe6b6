"""Compiled estimation of path-model replicates: every replicate's estimates from its moment sums.

The compiled twin of :meth:`sciplab.stats._path_model._Engine.compute` (without the OLS covariance
of the point estimate): for each replicate, the moment matrix from its packed sums, each equation's
normal equations scaled to unit diagonal and solved by a small Cholesky factorisation, the
residual moments, R^2, the model-implied variances and every parameter's raw and standardized
value. Same formulas, same order of operations where it matters, same singularity rule
(:func:`sciplab.stats._formulas.batched_ols`: a replicate is singular when a regressor has no
weighted sum of squares, the scaled matrix is not finite, or its smallest eigenvalue is below
``tol``, tested as ``S - tol I`` positive definite where the Gershgorin bound does not clear it; for
systems of more than :data:`~sciplab.stats._formulas.SMALL_SYSTEM` regressors the numpy engine
uses an eigenvalue routine for the same test). Results agree with the numpy engine to rounding
(tested to 1e-12).

Imported only by processes that already loaded the resampling kernels (numba is not imported for
small runs; :mod:`sciplab.stats._bootstrap`). Releases the GIL.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

from sciplab._core.numba_cache import kernel_cache_usable


def _probe() -> None:  # pragma: no cover - never called; locates the cache folder
    pass


def _cache_usable() -> bool:
    """Whether the kernel may be cached on disk (see :func:`sciplab._core.numba_cache.cache_files_usable`)."""
    return kernel_cache_usable(nb.njit, _probe, __file__)


_CACHE = _cache_usable()

# parameter kinds (codes of _Param.kind)
KINDS = {"reg": 0, "int": 1, "resvar": 2, "rescov": 3, "var": 4, "cov": 5, "mean": 6}


def plan(model: Any, mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, ...]:
    """The model as arrays for :func:`estimate`, with the data's means and SDs.

    The model's part is built once per compiled ``_Model`` (kept on it; the kernel only reads it).
    """
    arrays = model.__dict__.get("_kernel_plan")
    if arrays is None:
        arrays = model.__dict__["_kernel_plan"] = _model_arrays(model)
    return (*arrays, np.ascontiguousarray(mean, dtype=float), np.ascontiguousarray(sd, dtype=float))


def _model_arrays(model: Any) -> tuple[np.ndarray, ...]:
    m = model
    E = len(m.equations)
    width = max(1, max(len(eq.free) for eq in m.equations))
    fwidth = max(1, max(len(eq.fixed) for eq in m.equations))
    eq_int = np.zeros((E, 4), dtype=np.int64)  # y index, free count, fixed count, intercept row (-1)
    free_var = np.zeros((E, width), dtype=np.int64)
    free_row = np.zeros((E, width), dtype=np.int64)
    fix_var = np.zeros((E, fwidth), dtype=np.int64)
    fix_row = np.zeros((E, fwidth), dtype=np.int64)
    fix_val = np.zeros((E, fwidth))
    eq_pos = {eq.y: e for e, eq in enumerate(m.equations)}
    for e, eq in enumerate(m.equations):
        yi = m.index[eq.y]
        eq_int[e] = (yi, len(eq.free), len(eq.fixed), -1 if eq.int_row is None else eq.int_row)
        for j, v in enumerate(eq.free):
            free_var[e, j] = m.index[v]
            free_row[e, j] = eq.free_rows[j]
        for j, (v, f) in enumerate(zip(eq.fixed, eq.fixed_values, strict=True)):
            fix_var[e, j] = m.index[v]
            fix_row[e, j] = eq.fixed_rows[j]
            fix_val[e, j] = f
    params = np.zeros((len(m.params), 5), dtype=np.int64)  # kind, a, b, equation of a, of b
    for i, prm in enumerate(m.params):
        a = m.index[prm.lhs]
        b = m.index[prm.rhs] if prm.rhs in m.index else a
        params[i] = (KINDS[prm.kind], a, b, eq_pos.get(prm.lhs, -1), eq_pos.get(prm.rhs, -1))
    iu, ju = np.triu_indices(len(m.variables) + 1)
    sizes = np.array([len(m.variables), len(m.exo)], dtype=np.int64)
    return (
        sizes,
        eq_int,
        free_var,
        free_row,
        fix_var,
        fix_row,
        fix_val,
        params,
        iu.astype(np.int64),
        ju.astype(np.int64),
    )


@nb.njit(cache=_CACHE, error_model="numpy", inline="always")
def _pd(S: np.ndarray, k: int, L: np.ndarray) -> bool:
    """Cholesky ``S = L L'`` of the leading ``k x k`` block into ``L``; False when a pivot is not > 0.

    Pivots that are not positive are replaced by 1 (as ``batched_cholesky``), so ``L`` stays usable.
    """
    ok = True
    for j in range(k):
        d = S[j, j]
        for t in range(j):
            d -= L[j, t] * L[j, t]
        if not d > 0:
            ok = False
            d = 1.0
        pivot = math.sqrt(d)
        L[j, j] = pivot
        for i in range(j + 1, k):
            v = S[i, j]
            for t in range(j):
                v -= L[i, t] * L[j, t]
            L[i, j] = v / pivot
    return ok


@nb.njit(nogil=True, cache=_CACHE, error_model="numpy")
def estimate(
    sums: np.ndarray,
    sizes: np.ndarray,
    eq_int: np.ndarray,
    free_var: np.ndarray,
    free_row: np.ndarray,
    fix_var: np.ndarray,
    fix_row: np.ndarray,
    fix_val: np.ndarray,
    params: np.ndarray,
    iu: np.ndarray,
    ju: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    tol: float,
    est: np.ndarray,
    std: np.ndarray,
    r2: np.ndarray,
    failed: np.ndarray,
) -> None:
    """Raw and standardized estimates, R^2 and failure flags of replicates with packed ``sums``.

    ``sums`` is ``(R, q (q + 1) / 2)`` (upper-triangle moment sums of ``[1, z]``); the outputs are
    ``est``/``std`` ``(R, P)``, ``r2`` ``(R, E)`` and ``failed`` ``(R,)`` (failed rows NaN).
    """
    p, nx = sizes[0], sizes[1]
    q = p + 1
    E = eq_int.shape[0]
    P = params.shape[0]
    M = np.empty((q, q))
    mu = np.empty(p)
    cov = np.empty((p, p))
    beta = np.empty((p, p))
    G = np.empty((E, q))
    GM = np.empty((E, q))
    res = np.empty((E, E))
    psi = np.empty((p, p))
    A = np.empty((p, p))
    var_imp = np.empty(p)
    sd_imp = np.empty(p)
    kmax = free_var.shape[1] + 1
    cols = np.empty(kmax, dtype=np.int64)
    S = np.empty((kmax, kmax))
    St = np.empty((kmax, kmax))
    L = np.empty((kmax, kmax))
    d = np.empty(kmax)
    rhs = np.empty(kmax)
    y = np.empty(kmax)
    coef = np.empty(kmax)
    need_res = np.zeros((E, E), dtype=np.bool_)  # the residual moments read below
    for e in range(E):
        need_res[e, e] = True
    for i in range(P):
        if params[i, 0] == 3:
            need_res[params[i, 3], params[i, 4]] = True
    for r in range(sums.shape[0]):
        for t in range(iu.shape[0]):
            M[iu[t], ju[t]] = sums[r, t]
            M[ju[t], iu[t]] = sums[r, t]
        N = M[0, 0]
        for a in range(p):
            mu[a] = M[0, a + 1] / N
        for a in range(p):
            for b in range(p):
                cov[a, b] = M[a + 1, b + 1] / N - mu[a] * mu[b]
        beta[:] = 0.0
        G[:] = 0.0
        bad = False
        e_row = est[r]
        e_row[:] = np.nan
        std[r, :] = np.nan
        for e in range(E):
            yi, nf, nfix, int_row = eq_int[e, 0], eq_int[e, 1], eq_int[e, 2], eq_int[e, 3]
            k = nf + 1
            cols[0] = 0
            for j in range(nf):
                cols[j + 1] = free_var[e, j] + 1
            # normal equations in z space, offsets of fixed coefficients (z scale) moved to the right
            sing = False
            for i in range(k):
                s = M[cols[i], yi + 1]
                off = 0.0
                for f in range(nfix):
                    fv = fix_var[e, f]
                    off += M[cols[i], fv + 1] * (fix_val[e, f] * sd[fv] / sd[yi])
                rhs[i] = s - off if nfix else s
                dd = M[cols[i], cols[i]]
                dd = math.sqrt(dd if dd > 0.0 else 0.0) if dd == dd else dd
                if not dd > 0:
                    sing = True
                d[i] = dd
            for i in range(k):  # M is symmetric and di dj = dj di: each pair once, the same bits
                di = d[i] if d[i] > 0 else 1.0
                for j in range(i, k):
                    dj = d[j] if d[j] > 0 else 1.0
                    v = M[cols[i], cols[j]] / (di * dj)
                    if not math.isfinite(v):
                        sing = True
                    S[i, j] = v
                    S[j, i] = v
            if sing:
                for i in range(k):
                    for j in range(k):
                        S[i, j] = 1.0 if i == j else 0.0
            bound = math.inf
            for i in range(k):
                t = 2 * S[i, i]
                for j in range(k):
                    t -= abs(S[i, j])
                bound = min(bound, t)
            if not (bound > tol + 1e-8) and not sing:
                for i in range(k):
                    for j in range(k):
                        St[i, j] = S[i, j] - (tol if i == j else 0.0)
                if not _pd(St, k, L):
                    sing = True
            if sing:
                for i in range(k):
                    for j in range(k):
                        S[i, j] = 1.0 if i == j else 0.0
            _pd(S, k, L)
            for i in range(k):
                di = d[i] if d[i] > 0 else 1.0
                v = rhs[i] / di
                for t in range(i):
                    v -= L[i, t] * y[t]
                y[i] = v / L[i, i]
            for i in range(k - 1, -1, -1):
                v = y[i]
                for t in range(i + 1, k):
                    v = v - L[t, i] * coef[t]
                coef[i] = v / L[i, i]
            for i in range(k):
                coef[i] = coef[i] / (d[i] if d[i] > 0 else 1.0)
            if sing:
                bad = True
                for i in range(k):
                    coef[i] = np.nan
                for c in range(q):
                    G[e, c] = np.nan
            else:
                G[e, yi + 1] = 1.0
                for j in range(k):
                    G[e, cols[j]] -= coef[j]
                for f in range(nfix):
                    fv = fix_var[e, f]
                    G[e, fv + 1] -= fix_val[e, f] * sd[fv] / sd[yi]
            for j in range(nf):
                v = free_var[e, j]
                beta[yi, v] = coef[j + 1]
                e_row[free_row[e, j]] = coef[j + 1] * sd[yi] / sd[v]
            for f in range(nfix):
                v = fix_var[e, f]
                beta[yi, v] = fix_val[e, f] * sd[v] / sd[yi]
                e_row[fix_row[e, f]] = fix_val[e, f]
            intercept = mean[yi] + sd[yi] * coef[0]
            for j in range(nf):
                intercept = intercept - e_row[free_row[e, j]] * mean[free_var[e, j]]
            for f in range(nfix):
                intercept = intercept - e_row[fix_row[e, f]] * mean[fix_var[e, f]]
            if int_row >= 0:
                e_row[int_row] = intercept
        # residual moments G M G' / N
        for e in range(E):
            for c in range(q):
                v = 0.0
                for t in range(q):
                    v += G[e, t] * M[t, c]
                GM[e, c] = v
        for e in range(E):
            for f in range(E):
                if need_res[e, f]:  # the variances and the residual covariances of the model
                    v = 0.0
                    for t in range(q):
                        v += GM[e, t] * G[f, t]
                    res[e, f] = v / N
        for e in range(E):
            yi = eq_int[e, 0]
            r2[r, e] = 1.0 - res[e, e] / cov[yi, yi]
        psi[:] = 0.0
        for a in range(nx):
            for b in range(nx):
                psi[a, b] = cov[a, b]
        for e in range(E):
            yi = eq_int[e, 0]
            psi[yi, yi] = res[e, e]
        for i in range(P):
            if params[i, 0] == 3:  # rescov
                a, b = params[i, 1], params[i, 2]
                psi[a, b] = res[params[i, 3], params[i, 4]]
                psi[b, a] = psi[a, b]
        if bad:
            beta[:] = 0.0
            psi[:] = 0.0
            for a in range(p):
                psi[a, a] = 1.0
        # implied variances: A = (I - B)^-1 by forward substitution, var_i = A_i Psi A_i'
        A[:] = 0.0
        for i in range(p):
            A[i, i] = 1.0
            for j in range(i):
                bij = beta[i, j]
                for c in range(j + 1):
                    A[i, c] += bij * A[j, c]
        for i in range(p):  # A is lower triangular: the terms beyond i are exact zeros, left out
            v = 0.0
            for c in range(i + 1):
                w = 0.0
                for t in range(i + 1):
                    w += A[i, t] * psi[t, c]
                v += w * A[i, c]
            var_imp[i] = v
            sd_imp[i] = math.sqrt(v if v > 0.0 else 0.0) if v == v else v
        s_row = std[r]
        for i in range(P):
            kind, a, b, ea, eb = params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4]
            if kind == 0:
                s_row[i] = beta[a, b] * sd_imp[b] / sd_imp[a]
            elif kind == 1:
                s_row[i] = e_row[i] / (sd_imp[a] * sd[a])
            elif kind == 2:
                k_a = eq_int[ea, 1] + 1
                e_row[i] = res[ea, ea] * N / (N - k_a) * (sd[a] * sd[b])
                s_row[i] = res[ea, ea] / var_imp[a]
            elif kind == 3:
                e_row[i] = res[ea, eb] * (sd[a] * sd[b])
                s_row[i] = res[ea, eb] / math.sqrt(res[ea, ea] * res[eb, eb])
            elif kind == 4 or kind == 5:
                e_row[i] = cov[a, b] * N / (N - 1) * sd[a] * sd[b]
                s_row[i] = cov[a, b] / math.sqrt(cov[a, a] * cov[b, b])
            else:
                e_row[i] = mean[a] + sd[a] * mu[a]
                s_row[i] = (mean[a] / sd[a] + mu[a]) / math.sqrt(cov[a, a])
        failed[r] = bad
        if bad:
            e_row[:] = np.nan
            s_row[:] = np.nan
            r2[r, :] = np.nan


_COMPILED: list[bool] = []


def ready() -> bool:
    """Whether :func:`estimate` runs without compiling: compiled in this process or cached on disk.

    Compiling it takes seconds of CPU (numba's front end), more than many runs spend estimating;
    the caller (``_path_model._use_compiled``) compiles it only when it is ready or the process has done
    enough estimation to pay for it.
    """
    if _COMPILED:
        return True
    if estimate.signatures:  # (numba builds this list on each access: about 100 Python calls)
        _COMPILED.append(True)  # compiled in this process: it stays so
        return True
    try:
        return Path(estimate._cache._cache_file._index_path).is_file()
    except Exception:  # noqa: BLE001 - no disk cache (compiled in memory), or another numba layout
        return False
