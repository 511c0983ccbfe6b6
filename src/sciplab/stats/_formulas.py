"""Pure numerical kernels of SCIP Lab's analyses: arrays in, arrays out, no pandas, no I/O.

Each section names the analysis it serves and the equations it implements; the public functions
in ``sciplab.stats`` select columns, handle missing data, resample and pack results.
"""

from __future__ import annotations

import functools

import numpy as np

# --- SSM -------------------------------------------------------------------------------------
# Structural Summary Method kernels (Gurtman 1992; Gurtman & Balakrishnan 1998; Wright et al.
# 2009; Zimmermann & Wright 2017). Used by ``sciplab.stats.circumplex``.
#
#   e   = mean(s)
#   x   = (2/m) sum s_i cos(theta_i),   y = (2/m) sum s_i sin(theta_i)
#   a   = sqrt(x^2 + y^2),              d = atan2(y, x) mod 2 pi
#   fit = 1 - sum (s_i - e - a cos(theta_i - d))^2 / sum (s_i - mean s)^2
#
# a cos(theta - d) = x cos(theta) + y sin(theta), so the fitted curve (and fit) is computed
# without d. Degenerate profiles (as R circumplex >= 1.2.0, Girard, Zimmermann & Wright):
#   flat:            sd(s) <= 8 eps m max|s|   -> d = NaN, fit = NaN
#   zero amplitude:  a <= 8 eps m max|s|       -> d = NaN, fit = 0


def ssm_parameters(scores: np.ndarray, angles_rad: np.ndarray) -> dict[str, np.ndarray]:
    """SSM parameters of profiles along the last axis of ``scores``.

    Parameters
    ----------
    scores
        ``(..., m)`` scale scores (means, correlations or one person's scores).
    angles_rad
        ``(m,)`` scale angles in radians.

    Returns
    -------
    dict
        Arrays of shape ``scores.shape[:-1]``: ``e, x, y, a, d`` (radians in [0, 2 pi)), ``fit``,
        ``flat`` and ``zero_amplitude`` (bool). NaN scores propagate to NaN parameters.
    """
    s = np.asarray(scores, dtype=float)
    theta = np.asarray(angles_rad, dtype=float)
    m = theta.shape[0]
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    e = s.mean(axis=-1)
    x = (2.0 / m) * (s @ cos_t)
    y = (2.0 / m) * (s @ sin_t)
    a = np.hypot(x, y)
    d = np.mod(np.arctan2(y, x), 2.0 * np.pi)
    centred = s - e[..., None]
    ss_tot = np.einsum("...i,...i->...", centred, centred)
    resid = centred - x[..., None] * cos_t - y[..., None] * sin_t
    ss_res = np.einsum("...i,...i->...", resid, resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = 1.0 - ss_res / ss_tot
    tol = 8.0 * np.finfo(float).eps * m * np.abs(s).max(axis=-1)
    sd = np.sqrt(ss_tot / max(m - 1, 1))
    finite = np.isfinite(e)
    flat = finite & (sd <= tol)
    zero_amp = finite & ~flat & (a <= tol)
    d = np.where(flat | zero_amp, np.nan, d)
    fit = np.where(flat, np.nan, np.where(zero_amp, 0.0, fit))
    return {"e": e, "x": x, "y": y, "a": a, "d": d, "fit": fit, "flat": flat, "zero_amplitude": zero_amp}


def weighted_means(w: np.ndarray, values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Column means of ``values`` (``(n, k)``) under row weights ``w`` (``(B, n)``) -> ``(B, k)``.

    With ``valid`` (``(n, k)`` bool; ``values`` must be 0 where invalid) each column uses only its
    valid rows (pairwise-available means). Integer resampling counts as weights reproduce the
    means of the resampled data.
    """
    w = np.asarray(w, dtype=float)
    if valid is None:
        return (w @ values) / w.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w @ values) / (w @ valid.astype(float))


def weighted_correlations(
    w: np.ndarray,
    measures: np.ndarray,
    scales: np.ndarray,
    valid_measures: np.ndarray | None = None,
    valid_scales: np.ndarray | None = None,
) -> np.ndarray:
    """Pearson correlations of each measure with each scale under row weights, all at once.

    Parameters
    ----------
    w
        ``(B, n)`` non-negative row weights (bootstrap counts; a row of ones gives the sample r).
    measures, scales
        ``(n, M)`` and ``(n, m)`` data, ideally centred (improves accuracy); 0 where invalid.
    valid_measures, valid_scales
        Optional ``(n, M)``/``(n, m)`` bool masks for pairwise deletion: r(j, k) uses the rows
        where both are valid. ``None``: complete data.

    Returns
    -------
    numpy.ndarray
        ``(B, M, m)``; NaN where a variance is zero.

    Notes
    -----
    With W = sum w, r = (W Sxy - Sx Sy) / sqrt((W Sxx - Sx^2)(W Syy - Sy^2)), every sum weighted.
    All weighted sums are one matrix product of ``w`` with a table of per-row products, so B
    replicates cost one BLAS call (no loop over replicates).
    """
    w = np.asarray(w, dtype=float)
    Y, X = np.asarray(measures, dtype=float), np.asarray(scales, dtype=float)
    n, M = Y.shape
    m = X.shape[1]
    B = w.shape[0]
    cross = (Y[:, :, None] * X[:, None, :]).reshape(n, M * m)
    if valid_measures is None and valid_scales is None:
        table = np.concatenate([np.ones((n, 1)), Y, X, Y * Y, X * X, cross], axis=1)
        sums = w @ table
        W = sums[:, :1, None]
        sy = sums[:, 1 : 1 + M, None]
        sx = sums[:, 1 + M : 1 + M + m][:, None, :]
        syy = sums[:, 1 + M + m : 1 + 2 * M + m, None]
        sxx = sums[:, 1 + 2 * M + m : 1 + 2 * M + 2 * m][:, None, :]
        sxy = sums[:, 1 + 2 * M + 2 * m :].reshape(B, M, m)
    else:
        vy = np.ones((n, M), bool) if valid_measures is None else np.asarray(valid_measures, bool)
        vx = np.ones((n, m), bool) if valid_scales is None else np.asarray(valid_scales, bool)
        pair = (vy[:, :, None] & vx[:, None, :]).reshape(n, M * m).astype(float)
        yb = np.repeat(Y, m, axis=1) * pair
        xb = np.tile(X, (1, M)) * pair
        table = np.concatenate([pair, yb, xb, yb * yb, xb * xb, cross * pair], axis=1)
        sums = (w @ table).reshape(B, 6, M, m)
        W, sy, sx, syy, sxx, sxy = (sums[:, i] for i in range(6))
    cov = W * sxy - sy * sx
    var_y = W * syy - sy * sy
    var_x = W * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(var_y * var_x)
    # a zero (or round-off-sized) variance makes r undefined, not +-inf or noise
    bad = (var_y <= 1e-14 * np.abs(W * syy)) | (var_x <= 1e-14 * np.abs(W * sxx))
    bad = bad | ~np.isfinite(r)
    return np.where(bad, np.nan, np.clip(r, -1.0, 1.0))


# --- path models -----------------------------------------------------------------------------
# Equation-wise least squares for recursive observed-variable path models, batched over
# bootstrap replicates (used by ``sciplab.stats.paths``). Everything is computed from weighted
# moment matrices of Z = [1, z_1, ..., z_p] (z = standardised model variables):
#
#   M_b = sum_i w_bi Z_i Z_i'            (w_b = resampling counts of replicate b; one matmul)
#   c   = (X'X)^-1 X'y  = M[S,S]^-1 (M[S,y] - M[S,F] f)      (S free regressors, F fixed at f)
#   e'e = g' M g,   g = residual weight vector (1 at y, -c at S, -f at F)   (Greene 2012, ch. 3)
#   Sigma(theta) = (I - B)^-1 Psi (I - B)^-T                  (model-implied covariance; Bollen 1989)
#
# A jackknife replicate (leave row i out) is M_full - Z_i Z_i' (_bootstrap.jackknife_sums), so BCa
# needs no refitting loops.


def pair_products(Z: np.ndarray) -> np.ndarray:
    """Upper-triangle products ``Z_i Z_j'`` per row: ``(n, q (q + 1) / 2)`` for ``Z`` ``(n, q)``."""
    Z = np.asarray(Z, dtype=float)
    iu, ju = _triu(Z.shape[1])
    return Z[:, iu] * Z[:, ju]


@functools.cache
def _triu(q: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(q)``, made once per size (read-only: the callers only index with them)."""
    iu, ju = np.triu_indices(q)
    iu.flags.writeable = ju.flags.writeable = False
    return iu, ju


def unpack_moments(packed: np.ndarray, q: int) -> np.ndarray:
    """``(R, q (q + 1) / 2)`` upper-triangle sums -> symmetric ``(R, q, q)`` moment matrices."""
    packed = np.atleast_2d(packed)
    iu, ju = _triu(q)
    out = np.empty((packed.shape[0], q, q))
    out[:, iu, ju] = packed
    out[:, ju, iu] = packed
    return out


def weighted_moments(weights: np.ndarray, products: np.ndarray, q: int) -> np.ndarray:
    """Moment matrices ``sum_i w_bi Z_i Z_i'`` for each row ``w_b`` of ``weights`` ``(R, n)``."""
    return unpack_moments(np.asarray(weights, dtype=float) @ products, q)


SMALL_SYSTEM = 8
"""Systems up to this size are factored with element-wise (vectorised over the batch) Cholesky
code; larger ones with LAPACK's batched routines. For a few regressors per equation the former is
several times faster: LAPACK pays a per-matrix overhead that dwarfs a 3 x 3 factorisation."""


def batched_cholesky(S: np.ndarray) -> tuple[list[list[np.ndarray]], np.ndarray]:
    """Cholesky factors ``S = L L'`` of a batch ``(R, k, k)``, computed element-wise over the batch.

    Returns the lower triangle as ``L[i][j]`` arrays of shape ``(R,)`` (``j <= i``) and a mask of
    the matrices that are positive definite (every pivot > 0). Rows that are not get unit pivots
    (their factors are meaningless and must be discarded by the caller).
    """
    k = S.shape[1]
    L: list[list[np.ndarray]] = [[] for _ in range(k)]
    ok = np.ones(S.shape[0], dtype=bool)
    for j in range(k):
        d = S[:, j, j].copy()
        for m in range(j):
            d -= L[j][m] * L[j][m]
        good = d > 0
        ok &= good
        pivot = np.sqrt(np.where(good, d, 1.0))
        L[j].append(pivot)
        for i in range(j + 1, k):
            v = S[:, i, j].copy()
            for m in range(j):
                v -= L[i][m] * L[j][m]
            L[i].append(v / pivot)
    return L, ok


def cholesky_solve(L: list[list[np.ndarray]], rhs: np.ndarray) -> np.ndarray:
    """Solve ``L L' x = rhs`` for factors from :func:`batched_cholesky`; ``rhs`` is ``(R, k)``."""
    k = rhs.shape[1]
    y: list[np.ndarray] = []
    for i in range(k):
        v = rhs[:, i].copy()
        for m in range(i):
            v -= L[i][m] * y[m]
        y.append(v / L[i][i])
    x: list[np.ndarray] = [np.empty(0)] * k
    for i in reversed(range(k)):
        v = y[i]
        for m in range(i + 1, k):
            v = v - L[m][i] * x[m]
        x[i] = v / L[i][i]
    return np.column_stack(x)


SINGULAR_TOL = 1e-10
"""Smallest eigenvalue of the unit-diagonal scaled ``X'X`` below which a replicate is singular."""


def batched_ols(
    M: np.ndarray,
    y: int,
    free: np.ndarray,
    fixed: np.ndarray | None = None,
    fixed_values: np.ndarray | None = None,
    tol: float = SINGULAR_TOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of column ``y`` on columns ``free`` (+ offsets) from moment matrices.

    Parameters
    ----------
    M
        ``(R, q, q)`` moment matrices (column 0 the constant, so ``M[:, 0, 0]`` is the weight sum).
    y, free
        Outcome column and regressor columns (include 0 for an intercept).
    fixed, fixed_values
        Regressor columns with fixed coefficients (an offset ``y - X_F f``).
    tol
        A replicate is singular when the smallest eigenvalue of the unit-diagonal scaled ``X'X``
        is below ``tol`` (or a regressor has no weighted sum of squares).

    Returns
    -------
    coef : ``(R, k)``; singular replicates hold NaN.
    g : ``(R, q)`` residual weight vectors (residual = Z g), NaN for singular replicates.
    singular : ``(R,)`` bool.

    Notes
    -----
    The normal equations are scaled to unit diagonal and solved by Cholesky. The singularity
    test is exact: ``lambda_min(S) >= tol`` iff ``S - tol I`` is positive definite. It is skipped
    where the Gershgorin bound ``min_i (s_ii - sum_j!=i |s_ij|) <= lambda_min`` already clears
    ``tol`` by a wide margin.
    """
    M = np.asarray(M, dtype=float)
    R, q, _ = M.shape
    free = np.asarray(free, dtype=int)
    k = free.size
    fixed = np.zeros(0, dtype=int) if fixed is None else np.asarray(fixed, dtype=int)
    f = np.zeros(0) if fixed_values is None else np.asarray(fixed_values, dtype=float)
    xtx = M[:, free[:, None], free[None, :]]
    xty = M[:, free, y]
    if fixed.size:
        xty = xty - M[:, free[:, None], fixed[None, :]] @ f
    d = np.sqrt(np.clip(np.diagonal(xtx, axis1=1, axis2=2), 0.0, None))
    bad_diag = ~(d > 0).all(axis=1)
    d_safe = np.where(d > 0, d, 1.0)
    scaled = xtx / (d_safe[:, :, None] * d_safe[:, None, :])
    singular = bad_diag | ~np.isfinite(scaled).all(axis=(1, 2))
    if singular.any():
        scaled[singular] = np.eye(k)
    diag = np.diagonal(scaled, axis1=1, axis2=2)
    bound = (2 * diag - np.abs(scaled).sum(axis=2)).min(axis=1)
    check = np.flatnonzero(~(bound > tol + 1e-8))
    rhs = xty / d_safe
    if k <= SMALL_SYSTEM:
        if check.size:
            _, pd_ok = batched_cholesky(scaled[check] - tol * np.eye(k))
            singular[check] |= ~pd_ok
            scaled[singular] = np.eye(k)
        L, _ = batched_cholesky(scaled)
        coef = cholesky_solve(L, rhs) / d_safe
    else:
        if check.size:
            singular[check] |= np.linalg.eigvalsh(scaled[check])[:, 0] < tol
            scaled[singular] = np.eye(k)
        coef = np.linalg.solve(scaled, rhs[:, :, None])[:, :, 0] / d_safe
    coef[singular] = np.nan
    g = np.zeros((R, q))
    g[:, y] = 1.0
    g[:, free] -= coef
    if fixed.size:
        g[:, fixed] -= f
    g[singular] = np.nan
    return coef, g, singular


def implied_variances_recursive(beta: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Diagonal of ``(I - B)^-1 Psi (I - B)^-T`` when ``B`` is strictly lower triangular: ``(R, p)``.

    Variables in causal order make ``B`` strictly lower triangular (a recursive model), so
    ``A = (I - B)^-1`` follows by forward substitution, ``A_i = e_i + sum_{j<i} B_ij A_j`` (Bollen
    1989, ch. 4), and only the variances ``A_i Psi A_i'`` are formed.
    """
    R, p, _ = beta.shape
    A = np.zeros((R, p, p))
    for i in range(p):
        A[:, i, i] = 1.0
        for j in range(i):
            A[:, i, : j + 1] += beta[:, i, j, None] * A[:, j, : j + 1]
    return np.einsum("rij,rij->ri", A @ psi, A)
