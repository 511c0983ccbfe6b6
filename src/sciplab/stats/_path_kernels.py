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

LANES = 64
"""Replicates :func:`estimate` works on side by side (vector lanes; 64: measured fastest of 8-128 for
scip-core and the single mediator, with work arrays of a few tens of KB)."""


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
    q = len(m.variables) + 1
    tix = np.empty((q, q), dtype=np.int64)  # position of moment (i, j) among the packed upper-triangle sums
    iu, ju = np.triu_indices(q)
    tix[iu, ju] = tix[ju, iu] = np.arange(iu.size)
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
        tix,
    )


@nb.njit(nogil=True, cache=_CACHE, error_model="numpy")
def _pd_lanes(S: np.ndarray, k: int, L: np.ndarray, ok: np.ndarray, dv: np.ndarray, W: int) -> None:
    """Cholesky ``S = L L'`` of the leading ``k x k`` block of every lane of ``S`` ``(k, k, W)`` into ``L``.

    ``ok[ln]`` becomes False when a pivot of lane ``ln`` is not > 0; such pivots are replaced by 1 (as
    ``batched_cholesky``), so ``L`` stays usable. Each lane's operations are those of a scalar Cholesky
    in the same order (the same bits); ``dv`` is ``(W,)`` scratch.
    """
    for j in range(k):
        for ln in range(W):
            dv[ln] = S[j, j, ln]
        for t in range(j):
            for ln in range(W):
                dv[ln] -= L[j, t, ln] * L[j, t, ln]
        for ln in range(W):
            v = dv[ln]
            good = v > 0
            ok[ln] = ok[ln] and good
            L[j, j, ln] = math.sqrt(v if good else 1.0)
        for i in range(j + 1, k):
            for ln in range(W):
                dv[ln] = S[i, j, ln]
            for t in range(j):
                for ln in range(W):
                    dv[ln] -= L[i, t, ln] * L[j, t, ln]
            for ln in range(W):
                L[i, j, ln] = dv[ln] / L[j, j, ln]


@nb.njit(cache=_CACHE, error_model="numpy", inline="always")
def _identity_where(S: np.ndarray, k: int, flags: np.ndarray, W: int) -> None:
    """The leading ``k x k`` block of ``S`` ``(k, k, W)`` becomes the identity in the lanes where ``flags`` is set."""
    for i in range(k):
        for j in range(k):
            for ln in range(W):
                S[i, j, ln] = (1.0 if i == j else 0.0) if flags[ln] else S[i, j, ln]


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
    tix: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    tol: float,
    W: int,
    out: np.ndarray,
) -> None:
    """Raw and standardized estimates, R^2 and failure flags of replicates with packed ``sums``.

    ``sums`` is ``(R, q (q + 1) / 2)`` (upper-triangle moment sums of ``[1, z]``); row ``r`` of ``out``
    ``(R, 2 P + E + 1)`` receives replicate ``r``'s ``est`` (``P``), ``std`` (``P``), ``r2`` (``E``) and
    its failure flag (1.0 = failed; a failed row's numbers are NaN).

    Replicates are estimated ``W`` at a time (:data:`LANES`): every quantity is held per lane (the
    last axis of the work arrays) and every step is a loop over the lanes, which the compiler turns
    into vector instructions, so the sqrt/division chains of ``W`` replicates run side by side. A lane's
    arithmetic is that of one replicate, in the same order (no reassociation: the same bits as one
    replicate at a time); branches on a replicate's state are per-lane selects. The last block's
    unused lanes repeat its first replicate and are not written. ``W`` is a run-time argument on
    purpose: with a constant trip count the compiler unrolls the lane loops and no longer vectorises
    them (measured: 3x slower).
    """
    p, nx = sizes[0], sizes[1]
    q = p + 1
    E = eq_int.shape[0]
    P = params.shape[0]
    T = sums.shape[1]
    R = sums.shape[0]
    Ms = np.empty((T, W))
    N = np.empty(W)
    mu = np.empty((p, W))
    cov = np.empty((p, p, W))
    beta = np.empty((p, p, W))
    G = np.empty((E, q, W))
    GM = np.empty((E, q, W))
    res = np.empty((E, E, W))
    psi = np.empty((p, p, W))
    A = np.empty((p, p, W))
    var_imp = np.empty((p, W))
    sd_imp = np.empty((p, W))
    erow = np.empty((P, W))
    srow = np.empty((P, W))
    r2l = np.empty((E, W))
    kmax = free_var.shape[1] + 1
    cols = np.empty(kmax, dtype=np.int64)
    S = np.empty((kmax, kmax, W))
    St = np.empty((kmax, kmax, W))
    L = np.empty((kmax, kmax, W))
    dsafe = np.empty((kmax, W))
    rhs = np.empty((kmax, W))
    y = np.empty((kmax, W))
    coef = np.empty((kmax, W))
    sing = np.empty(W, dtype=np.bool_)
    bad = np.empty(W, dtype=np.bool_)
    ok = np.empty(W, dtype=np.bool_)
    need = np.empty(W, dtype=np.bool_)
    bound = np.empty(W)
    tmp = np.empty(W)
    acc = np.empty(W)
    need_res = np.zeros((E, E), dtype=np.bool_)
    for e in range(E):
        need_res[e, e] = True
    for i in range(P):
        if params[i, 0] == 3:
            need_res[params[i, 3], params[i, 4]] = True
    for r0 in range(0, R, W):
        used = min(W, R - r0)
        for t in range(T):
            for ln in range(W):
                Ms[t, ln] = sums[r0 + (ln if ln < used else 0), t]
        for ln in range(W):
            N[ln] = Ms[0, ln]
        for a in range(p):
            ta = tix[0, a + 1]
            for ln in range(W):
                mu[a, ln] = Ms[ta, ln] / N[ln]
        for a in range(p):
            for b in range(p):
                tab = tix[a + 1, b + 1]
                for ln in range(W):
                    cov[a, b, ln] = Ms[tab, ln] / N[ln] - mu[a, ln] * mu[b, ln]
        beta[:] = 0.0
        G[:] = 0.0
        bad[:] = False
        erow[:] = np.nan
        srow[:] = np.nan
        for e in range(E):
            yi, nf, nfix, int_row = eq_int[e, 0], eq_int[e, 1], eq_int[e, 2], eq_int[e, 3]
            k = nf + 1
            cols[0] = 0
            for j in range(nf):
                cols[j + 1] = free_var[e, j] + 1
            sing[:] = False
            for i in range(k):
                tiy = tix[cols[i], yi + 1]
                for ln in range(W):
                    rhs[i, ln] = Ms[tiy, ln]
                if nfix:
                    for ln in range(W):
                        acc[ln] = 0.0
                    for f in range(nfix):
                        fv = fix_var[e, f]
                        c = fix_val[e, f] * sd[fv] / sd[yi]
                        tif = tix[cols[i], fv + 1]
                        for ln in range(W):
                            acc[ln] += Ms[tif, ln] * c
                    for ln in range(W):
                        rhs[i, ln] = rhs[i, ln] - acc[ln]
                tii = tix[cols[i], cols[i]]
                for ln in range(W):
                    dd = Ms[tii, ln]
                    dd = math.sqrt(dd if dd > 0.0 else 0.0) if dd == dd else dd
                    sing[ln] = sing[ln] or not (dd > 0)
                    dsafe[i, ln] = dd if dd > 0 else 1.0
            for i in range(k):
                for j in range(i, k):
                    tij = tix[cols[i], cols[j]]
                    for ln in range(W):
                        v = Ms[tij, ln] / (dsafe[i, ln] * dsafe[j, ln])
                        sing[ln] = sing[ln] or not (abs(v) < math.inf)
                        S[i, j, ln] = v
                        S[j, i, ln] = v
            _identity_where(S, k, sing, W)
            for ln in range(W):
                bound[ln] = math.inf
            for i in range(k):
                for ln in range(W):
                    tmp[ln] = 2 * S[i, i, ln]
                for j in range(k):
                    for ln in range(W):
                        tmp[ln] -= abs(S[i, j, ln])
                for ln in range(W):
                    bound[ln] = min(bound[ln], tmp[ln])
            anyneed = False
            for ln in range(W):
                need[ln] = not (bound[ln] > tol + 1e-8) and not sing[ln]
                anyneed = anyneed or need[ln]
            if anyneed:
                for i in range(k):
                    for j in range(k):
                        for ln in range(W):
                            St[i, j, ln] = S[i, j, ln] - (tol if i == j else 0.0)
                ok[:] = True
                _pd_lanes(St, k, L, ok, tmp, W)
                for ln in range(W):
                    sing[ln] = sing[ln] or (need[ln] and not ok[ln])
                _identity_where(S, k, sing, W)
            ok[:] = True
            _pd_lanes(S, k, L, ok, tmp, W)
            for i in range(k):
                for ln in range(W):
                    tmp[ln] = rhs[i, ln] / dsafe[i, ln]
                for t in range(i):
                    for ln in range(W):
                        tmp[ln] -= L[i, t, ln] * y[t, ln]
                for ln in range(W):
                    y[i, ln] = tmp[ln] / L[i, i, ln]
            for i in range(k - 1, -1, -1):
                for ln in range(W):
                    tmp[ln] = y[i, ln]
                for t in range(i + 1, k):
                    for ln in range(W):
                        tmp[ln] = tmp[ln] - L[t, i, ln] * coef[t, ln]
                for ln in range(W):
                    coef[i, ln] = tmp[ln] / L[i, i, ln]
            for i in range(k):
                for ln in range(W):
                    coef[i, ln] = coef[i, ln] / dsafe[i, ln]
            for i in range(k):
                for ln in range(W):
                    coef[i, ln] = np.nan if sing[ln] else coef[i, ln]
            for ln in range(W):
                G[e, yi + 1, ln] = 1.0
            for j in range(k):
                cj = cols[j]
                for ln in range(W):
                    G[e, cj, ln] -= coef[j, ln]
            for f in range(nfix):
                fv = fix_var[e, f]
                c = fix_val[e, f] * sd[fv] / sd[yi]
                for ln in range(W):
                    G[e, fv + 1, ln] -= c
            for c in range(q):
                for ln in range(W):
                    G[e, c, ln] = np.nan if sing[ln] else G[e, c, ln]
            for ln in range(W):
                bad[ln] = bad[ln] or sing[ln]
            for j in range(nf):
                v = free_var[e, j]
                fr = free_row[e, j]
                sdy, sdv = sd[yi], sd[v]
                for ln in range(W):
                    beta[yi, v, ln] = coef[j + 1, ln]
                    erow[fr, ln] = coef[j + 1, ln] * sdy / sdv
            for f in range(nfix):
                v = fix_var[e, f]
                bv = fix_val[e, f] * sd[v] / sd[yi]
                fr = fix_row[e, f]
                for ln in range(W):
                    beta[yi, v, ln] = bv
                    erow[fr, ln] = fix_val[e, f]
            for ln in range(W):
                tmp[ln] = mean[yi] + sd[yi] * coef[0, ln]
            for j in range(nf):
                fr = free_row[e, j]
                mv = mean[free_var[e, j]]
                for ln in range(W):
                    tmp[ln] = tmp[ln] - erow[fr, ln] * mv
            for f in range(nfix):
                fr = fix_row[e, f]
                mv = mean[fix_var[e, f]]
                for ln in range(W):
                    tmp[ln] = tmp[ln] - erow[fr, ln] * mv
            if int_row >= 0:
                for ln in range(W):
                    erow[int_row, ln] = tmp[ln]
        for e in range(E):
            for c in range(q):
                for ln in range(W):
                    acc[ln] = 0.0
                for t in range(q):
                    ttc = tix[t, c]
                    for ln in range(W):
                        acc[ln] += G[e, t, ln] * Ms[ttc, ln]
                for ln in range(W):
                    GM[e, c, ln] = acc[ln]
        for e in range(E):
            for f in range(E):
                if need_res[e, f]:
                    for ln in range(W):
                        acc[ln] = 0.0
                    for t in range(q):
                        for ln in range(W):
                            acc[ln] += GM[e, t, ln] * G[f, t, ln]
                    for ln in range(W):
                        res[e, f, ln] = acc[ln] / N[ln]
        for e in range(E):
            yi = eq_int[e, 0]
            for ln in range(W):
                r2l[e, ln] = 1.0 - res[e, e, ln] / cov[yi, yi, ln]
        psi[:] = 0.0
        for a in range(nx):
            for b in range(nx):
                for ln in range(W):
                    psi[a, b, ln] = cov[a, b, ln]
        for e in range(E):
            yi = eq_int[e, 0]
            for ln in range(W):
                psi[yi, yi, ln] = res[e, e, ln]
        for i in range(P):
            if params[i, 0] == 3:
                a, b = params[i, 1], params[i, 2]
                ea, eb = params[i, 3], params[i, 4]
                for ln in range(W):
                    psi[a, b, ln] = res[ea, eb, ln]
                    psi[b, a, ln] = res[ea, eb, ln]
        for a in range(p):
            for b in range(p):
                for ln in range(W):
                    beta[a, b, ln] = 0.0 if bad[ln] else beta[a, b, ln]
                    psi[a, b, ln] = (1.0 if a == b else 0.0) if bad[ln] else psi[a, b, ln]
        A[:] = 0.0
        for i in range(p):
            for ln in range(W):
                A[i, i, ln] = 1.0
            for j in range(i):
                for c in range(j + 1):
                    for ln in range(W):
                        A[i, c, ln] += beta[i, j, ln] * A[j, c, ln]
        for i in range(p):
            for ln in range(W):
                acc[ln] = 0.0
            for c in range(i + 1):
                for ln in range(W):
                    tmp[ln] = 0.0
                for t in range(i + 1):
                    for ln in range(W):
                        tmp[ln] += A[i, t, ln] * psi[t, c, ln]
                for ln in range(W):
                    acc[ln] += tmp[ln] * A[i, c, ln]
            for ln in range(W):
                v = acc[ln]
                var_imp[i, ln] = v
                sd_imp[i, ln] = math.sqrt(v if v > 0.0 else 0.0) if v == v else v
        for i in range(P):
            kind, a, b, ea, eb = params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4]
            if kind == 0:
                for ln in range(W):
                    srow[i, ln] = beta[a, b, ln] * sd_imp[b, ln] / sd_imp[a, ln]
            elif kind == 1:
                for ln in range(W):
                    srow[i, ln] = erow[i, ln] / (sd_imp[a, ln] * sd[a])
            elif kind == 2:
                k_a = eq_int[ea, 1] + 1
                sab = sd[a] * sd[b]
                for ln in range(W):
                    erow[i, ln] = res[ea, ea, ln] * N[ln] / (N[ln] - k_a) * sab
                    srow[i, ln] = res[ea, ea, ln] / var_imp[a, ln]
            elif kind == 3:
                sab = sd[a] * sd[b]
                for ln in range(W):
                    erow[i, ln] = res[ea, eb, ln] * sab
                    srow[i, ln] = res[ea, eb, ln] / math.sqrt(res[ea, ea, ln] * res[eb, eb, ln])
            elif kind == 4 or kind == 5:
                for ln in range(W):
                    erow[i, ln] = cov[a, b, ln] * N[ln] / (N[ln] - 1) * sd[a] * sd[b]
                    srow[i, ln] = cov[a, b, ln] / math.sqrt(cov[a, a, ln] * cov[b, b, ln])
            else:
                ms = mean[a] / sd[a]
                for ln in range(W):
                    erow[i, ln] = mean[a] + sd[a] * mu[a, ln]
                    srow[i, ln] = (ms + mu[a, ln]) / math.sqrt(cov[a, a, ln])
        for ln in range(used):
            r = r0 + ln
            if bad[ln]:
                for c in range(2 * P + E):
                    out[r, c] = np.nan
                out[r, 2 * P + E] = 1.0
            else:
                for i in range(P):
                    out[r, i] = erow[i, ln]
                    out[r, P + i] = srow[i, ln]
                for e in range(E):
                    out[r, 2 * P + e] = r2l[e, ln]
                out[r, 2 * P + E] = 0.0


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
