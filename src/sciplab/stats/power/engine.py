"""The batched engine: one chunk of replicates generated, fitted and tested with array operations.

A chunk is ``CHUNK`` replicates at one sample size. Its random numbers come from
``SeedSequence(seed, spawn_key=(n, chunk))`` only, so a chunk gives the same numbers wherever it
runs (this process, a thread, a Dask worker) and whatever other sample sizes are in the study.

Per chunk (no per-replicate Python loop):

1. data ``(R, n, p)`` (:mod:`.generate`), complete-case weights when values are missing;
2. weighted moments of every replicate (``einsum``), then every equation of the analysis model by
   OLS from the moments (batched ``solve``): coefficients, ``sigma^2 = SSE / (n - k - 1)``,
   ``Var(b) = sigma^2 (X'X)^-1`` and, for residual covariances in the model, the cross-equation
   covariances ``s_ij (X_i'X_i)^-1 X_i'X_j (X_j'X_j)^-1`` (Greene 2012, ch. 10);
3. tests. Coefficients: two-sided t test (df = n - k - 1). Defined/indirect effects:

   * ``"mc"`` (default): Monte Carlo CI (Preacher & Selig 2012; Schoemann, Boulton & Short 2017):
     ``draws`` vectors from ``N(theta_hat, V_hat)`` per replicate; the effect is significant when
     fewer than ``(1 - level) / 2`` of its draws lie at or beyond 0 on either side (the percentile
     interval excludes 0). One ``(draws, k)`` block of standard normal numbers serves the chunk,
     each replicate scaling it by its own Cholesky factor.
   * ``"joint"``: every coefficient of a product effect significant (MacKinnon et al. 2002); not
     defined for other expressions (NaN).
   * ``"sobel"``: first-order delta-method z test (Sobel 1982), gradient by central differences.
   * ``"percentile"``: percentile bootstrap with ``bootstrap`` resamples. The resamples come from
     the one resampling engine (:class:`sciplab.stats._bootstrap.Resampler`): one resampling plan of
     the ``n`` rows per chunk, applied to every replicate of the chunk at once as weighted sums of
     their cross-products (a single matrix product), then all ``bootstrap x R`` refits from moments.

References
----------
Greene, W. H. (2012). *Econometric analysis* (7th ed.). Pearson.
MacKinnon, D. P., Lockwood, C. M., Hoffman, J. M., West, S. G., & Sheets, V. (2002). A comparison of
methods to test mediation and other intervening variable effects. *Psychological Methods, 7*,
83-104. https://doi.org/10.1037/1082-989X.7.1.83
Preacher, K. J., & Selig, J. P. (2012). Advantages of Monte Carlo confidence intervals for indirect
effects. *Communication Methods and Measures, 6*, 77-98.
Schoemann, A. M., Boulton, A. J., & Short, S. D. (2017). Determining power and sample size for
simple and complex mediation models. *Social Psychological and Personality Science, 8*, 379-386.
Sobel, M. E. (1982). Asymptotic confidence intervals for indirect effects in structural equation
models. *Sociological Methodology, 13*, 290-312.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sciplab.stats.power.generate import Missing, NonNormal, complete_cases, draw
from sciplab.stats.syntax import Expression

CHUNK = 100
"""Replicates per chunk: part of the algorithm (seeds are per chunk), not a tuning knob."""

TESTS = ("mc", "percentile", "joint", "sobel")


@dataclass(frozen=True)
class Spec:
    """Everything a chunk needs, picklable for Dask workers."""

    cov: np.ndarray
    chol: np.ndarray
    nonnormal: NonNormal | None
    used: tuple[int, ...]  # population columns the analysis uses, in analysis order
    equations: tuple[tuple[int, tuple[int, ...]], ...]  # (y column, predictor columns) in analysis order
    coef_names: tuple[str, ...]
    aliases: tuple[tuple[str, int], ...]  # label -> coefficient index
    rescov: tuple[tuple[int, int], ...]  # pairs of equation indices with a residual covariance
    effects: tuple[tuple[str, Expression], ...]
    effect_params: tuple[tuple[int, ...], ...]  # coefficient indices each effect uses
    products: tuple[bool, ...]  # effect is a pure product of coefficients (joint test defined)
    test: str
    level: float
    draws: int
    bootstrap: int
    seed: int
    missing: Missing | None
    missing_columns: tuple[int, ...]  # population columns that can be missing
    cause: int | None
    cause_sd: float
    g0: float

    @property
    def n_stats(self) -> int:
        """Coefficients plus effects."""
        return len(self.coef_names) + len(self.effects)

    @property
    def min_n(self) -> int:
        """Smallest sample size with a residual degree of freedom in every equation."""
        return max(len(p) for _, p in self.equations) + 2


def chunk_rng(seed: int, n: int, chunk: int) -> np.random.SeedSequence:
    """The seed sequence of one chunk (depends on the seed, the sample size and the chunk index)."""
    return np.random.SeedSequence(seed, spawn_key=(int(n), int(chunk)))


def _moments(data: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Covariance matrices ``(R, p, p)`` (divisor n - 1) and case counts ``(R,)``."""
    if w is None:
        n = np.full(data.shape[0], float(data.shape[1]))
        centred = data - data.mean(axis=1, keepdims=True)
        cov = np.einsum("rni,rnj->rij", centred, centred, optimize=True)
    else:
        n = w.sum(axis=1)
        safe = np.maximum(n, 1.0)
        mean = np.einsum("rn,rni->ri", w, data) / safe[:, None]
        centred = (data - mean[:, None, :]) * w[:, :, None]
        cov = np.einsum("rni,rnj->rij", centred, centred, optimize=True)
    return cov / np.maximum(n - 1.0, 1.0)[:, None, None], n


def _solve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched ``solve`` that marks singular systems (NaN) instead of failing the whole batch."""
    try:
        return np.linalg.solve(a, b), np.ones(a.shape[:-2], dtype=bool)
    except np.linalg.LinAlgError:
        flat_a = a.reshape(-1, *a.shape[-2:])
        flat_b = b.reshape(-1, *b.shape[-2:])
        good = np.array([np.linalg.matrix_rank(m) == m.shape[0] for m in flat_a])
        out = np.full(flat_b.shape, np.nan)
        if good.any():
            out[good] = np.linalg.solve(flat_a[good], flat_b[good])
        return out.reshape(b.shape), good.reshape(a.shape[:-2])


def fit(spec: Spec, cov: np.ndarray, n: np.ndarray, *, acov: bool = True) -> dict[str, np.ndarray]:
    """OLS of every equation from covariance matrices ``(..., p, p)`` of the analysis variables.

    Returns ``est`` ``(..., K)``, and with ``acov`` the covariance matrix ``(..., K, K)`` of the
    estimates, the residual degrees of freedom ``df`` ``(..., E)`` and ``ok`` (no singular system,
    at least one residual degree of freedom).
    """
    batch = cov.shape[:-2]
    K = len(spec.coef_names)
    est = np.empty((*batch, K))
    ok = np.ones(batch, dtype=bool)
    out: dict[str, Any] = {}
    inv_blocks = []
    res_var = []
    dfs = []
    start = 0
    slices = []
    for y, preds in spec.equations:
        k = len(preds)
        pi = list(preds)
        cpp = cov[..., pi, :][..., :, pi]
        cpy = cov[..., pi, y]
        if acov:
            inv, good = _solve(cpp, np.broadcast_to(np.eye(k), cpp.shape).copy())
            beta = np.einsum("...ij,...j->...i", inv, cpy)
        else:
            sol, good = _solve(cpp, cpy[..., None])
            beta = sol[..., 0]
        est[..., start : start + k] = beta
        ok &= good & np.all(np.isfinite(beta), axis=-1)
        if acov:
            df = n - k - 1.0
            ok &= df > 0
            sse = (cov[..., y, y] - np.einsum("...i,...i->...", beta, cpy)) * (n - 1.0)
            s2 = sse / np.maximum(df, 1.0)
            inv_blocks.append(inv)
            res_var.append(s2)
            dfs.append(df)
        slices.append((start, start + k))
        start += k
    out["est"] = est
    out["ok"] = ok
    if not acov:
        return out
    V = np.zeros((*batch, K, K))
    for e, (a, b) in enumerate(slices):
        V[..., a:b, a:b] = inv_blocks[e] * (res_var[e] / np.maximum(n - 1.0, 1.0))[..., None, None]
    for e1, e2 in spec.rescov:
        (y1, p1), (y2, p2) = spec.equations[e1], spec.equations[e2]
        (a1, b1), (a2, b2) = slices[e1], slices[e2]
        beta1, beta2 = est[..., a1:b1], est[..., a2:b2]
        c12 = cov[..., list(p1), :][..., :, list(p2)]
        s12 = (
            cov[..., y1, y2]
            - np.einsum("...i,...i->...", beta1, cov[..., list(p1), y2])
            - np.einsum("...i,...i->...", beta2, cov[..., list(p2), y1])
            + np.einsum("...i,...ij,...j->...", beta1, c12, beta2)
        )
        block = np.einsum("...ij,...jk,...kl->...il", inv_blocks[e1], c12, inv_blocks[e2])
        block = block * (s12 / np.maximum(n - 1.0, 1.0))[..., None, None]
        V[..., a1:b1, a2:b2] = block
        V[..., a2:b2, a1:b1] = np.swapaxes(block, -1, -2)
    out["acov"] = V
    out["df"] = np.stack(dfs, axis=-1)
    return out


def _values(spec: Spec, columns: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
    """Coefficient arrays under their names and labels."""
    values = {name: columns[i] for i, name in enumerate(spec.coef_names) if i in columns}
    values.update({label: columns[i] for label, i in spec.aliases if i in columns})
    return values


def effect_values(spec: Spec, est: np.ndarray, columns: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Every defined effect from coefficient arrays: ``(..., n_effects)``.

    ``est`` holds the coefficients on its last axis; ``columns`` (index -> array) replaces it when
    only some coefficients are given (broadcasting shapes).
    """
    if columns is None:
        columns = {i: est[..., i] for i in range(est.shape[-1])}
    values = _values(spec, columns)
    shape = np.broadcast_shapes(*(np.shape(v) for v in columns.values()))
    out = np.empty((*shape, len(spec.effects)))
    for j, (name, expr) in enumerate(spec.effects):
        v = np.asarray(expr.evaluate(values), dtype=float)
        values[name] = v
        out[..., j] = v
    return out


def _reject_share(draws: np.ndarray, level: float) -> np.ndarray:
    """The percentile interval of ``draws`` (last axis) excludes 0; NaN draws are ignored."""
    valid = np.isfinite(draws)
    count = valid.sum(axis=-1)
    at_or_below = ((draws <= 0) & valid).sum(axis=-1)
    at_or_above = ((draws >= 0) & valid).sum(axis=-1)
    tail = (1.0 - level) / 2 * count
    return ((at_or_below < tail) | (at_or_above < tail)) & (count > 0)


BATCH_BYTES = 64 * 2**20
"""Largest data block (replicates x N x variables, float64) generated at once inside a chunk."""


def batch_size(spec: Spec, n: int, reps: int) -> int:
    """Replicates per block of a chunk: bounded memory for large N or many Monte Carlo draws.

    A function of the model, N and the settings only (never of where the chunk runs), so the random
    streams are consumed in the same order everywhere.
    """
    p = spec.cov.shape[0]
    per_rep = max(n * p * 8 * 3, spec.draws * max(1, len(spec.coef_names)) * 4 if spec.test == "mc" else 0)
    if spec.test == "percentile":
        per_rep = max(per_rep, n * (1 + p + p * (p + 1) // 2) * 8 * 2)
    return int(max(1, min(reps, BATCH_BYTES // max(per_rep, 1))))


def run_chunk(spec: Spec, n: int, chunk: int, reps: int) -> dict[str, Any]:
    """Generate, fit and test ``reps`` replicates at sample size ``n``: counts and sums."""
    ss = chunk_rng(spec.seed, n, chunk)
    data_ss, missing_ss, test_ss = ss.spawn(3)
    rngs = (np.random.default_rng(data_ss), np.random.default_rng(missing_ss), np.random.default_rng(test_ss))
    K, E = len(spec.coef_names), len(spec.effects)
    out: dict[str, Any] = {
        "n": n, "chunk": chunk, "reps": reps, "ok": 0, "rejections": np.zeros(K + E),
        "undefined": np.zeros(K + E, dtype=bool), "est_sum": np.zeros(K + E), "n_eff_sum": 0.0,
    }  # fmt: skip
    size = batch_size(spec, n, reps)
    for start in range(0, reps, size):
        _batch(spec, n, min(size, reps - start), rngs, out)
    return out


def _batch(spec: Spec, n: int, reps: int, rngs: tuple[np.random.Generator, ...], out: dict[str, Any]) -> None:
    from scipy import special

    data_rng, missing_rng, test_rng = rngs
    data = draw(data_rng, reps, n, spec.cov, spec.chol, spec.nonnormal)
    w = None
    if spec.missing is not None and spec.missing.rate > 0:
        w = complete_cases(missing_rng, data, spec.missing_columns, spec.missing, spec.cause, spec.cause_sd, spec.g0)
    sub = data[:, :, list(spec.used)]
    del data
    cov, n_eff = _moments(sub, w)
    res = fit(spec, cov, n_eff)
    est, V, ok = res["est"], res["acov"], res["ok"]
    se = np.sqrt(np.clip(np.diagonal(V, axis1=-2, axis2=-1), 0, None))
    alpha = 1.0 - spec.level
    eq_of = np.concatenate([np.full(len(p), e) for e, (_, p) in enumerate(spec.equations)])
    df = res["df"][:, eq_of]
    crit = special.stdtrit(np.maximum(df, 1.0), 1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef_sig = np.abs(est / se) > crit
    E = len(spec.effects)
    eff_est = effect_values(spec, est) if E else np.empty((reps, 0))
    eff_sig = np.zeros((reps, E), dtype=float)
    if E:
        if spec.test == "mc":
            eff_sig = _mc(spec, est, V, ok, test_rng).astype(float)
        elif spec.test == "sobel":
            eff_sig = _sobel(spec, est, V, eff_est).astype(float)
        elif spec.test == "joint":
            for j, params in enumerate(spec.effect_params):
                if spec.products[j]:
                    eff_sig[:, j] = coef_sig[:, list(params)].all(axis=1)
                else:
                    eff_sig[:, j] = np.nan
        else:
            eff_sig = _percentile(spec, sub, w, test_rng).astype(float)
    stats_est = np.concatenate([est, eff_est], axis=1)
    sig = np.concatenate([coef_sig.astype(float), eff_sig], axis=1)
    okf = ok & np.all(np.isfinite(stats_est), axis=1)
    out["ok"] += int(okf.sum())
    out["rejections"] += np.where(okf[:, None], np.nan_to_num(sig), 0.0).sum(axis=0)
    if okf.any():
        out["undefined"] |= np.isnan(sig[okf]).any(axis=0)
    out["est_sum"] += np.where(okf[:, None], stats_est, 0.0).sum(axis=0)
    out["n_eff_sum"] += float(n_eff[okf].sum())


def _mc(spec: Spec, est: np.ndarray, V: np.ndarray, ok: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    used = sorted({i for params in spec.effect_params for i in params})
    sub_v = V[:, used][:, :, used]
    k = len(used)
    jitter = 1e-12 * np.maximum(np.trace(sub_v, axis1=1, axis2=2), 1e-300)[:, None, None] * np.eye(k)
    safe = np.where(ok[:, None, None], sub_v + jitter, np.eye(k))
    try:
        L = np.linalg.cholesky(safe)
    except np.linalg.LinAlgError:
        w_, vecs = np.linalg.eigh(safe)
        L = vecs * np.sqrt(np.clip(w_, 0, None))[:, None, :]
    z = rng.standard_normal((spec.draws, k), dtype=np.float32)
    R = est.shape[0]
    # (R, k, draws): each coefficient's draws contiguous per replicate; single precision halves the
    # memory traffic and only the signs of the effect draws are counted
    draws_sub = (L.reshape(R * k, k).astype(np.float32) @ z.T).reshape(R, k, spec.draws)
    draws_sub += est[:, used, None].astype(np.float32)
    columns = {i: draws_sub[:, j, :] for j, i in enumerate(used)}
    columns.update({i: est[:, i, None] for i in range(est.shape[1]) if i not in columns})
    values = _values(spec, columns)
    index = {name: i for i, name in enumerate(spec.coef_names)}
    index.update(dict(spec.aliases))
    referenced = {ref for _, expr in spec.effects for ref in expr.names}
    negative: dict[int, np.ndarray] = {}
    tail = (1.0 - spec.level) / 2 * spec.draws
    out = np.zeros((R, len(spec.effects)), dtype=bool)
    for j, (name, expr) in enumerate(spec.effects):
        if spec.products[j] and name not in referenced:
            # a product is negative when an odd number of its factors is (a draw is never exactly 0):
            # byte-wide XORs instead of float products
            factors = [index[ref] for ref in _factor_names(expr)]
            for i in factors:
                if i not in negative:
                    negative[i] = columns[i] < 0
            sign = negative[factors[0]].copy()
            for i in factors[1:]:
                np.logical_xor(sign, negative[i], out=sign)
            below = np.count_nonzero(sign, axis=-1)
        else:
            v = np.asarray(expr.evaluate(values))
            values[name] = v
            below = np.count_nonzero(v <= 0, axis=-1)
        above = spec.draws - below
        out[:, j] = (below < tail) | (above < tail)
    return out & ok[:, None]


def _factor_names(expr: Expression) -> list[str]:
    """The names multiplied in a pure product expression, with repetitions."""
    tree = expr.tree
    if tree[0] == "name":
        return [tree[2]]
    return [tree[2][2], *(operand[2] for _, operand in tree[3])]


def _sobel(spec: Spec, est: np.ndarray, V: np.ndarray, eff_est: np.ndarray) -> np.ndarray:
    from statistics import NormalDist

    R, K = est.shape
    E = len(spec.effects)
    grad = np.zeros((R, E, K))
    for i in sorted({i for params in spec.effect_params for i in params}):
        h = 1e-6 * np.maximum(np.abs(est[:, i]), 1.0)
        up, down = est.copy(), est.copy()
        up[:, i] += h
        down[:, i] -= h
        grad[:, :, i] = (effect_values(spec, up) - effect_values(spec, down)) / (2 * h)[:, None]
    var = np.einsum("rek,rkl,rel->re", grad, V, grad)
    z = NormalDist().inv_cdf(1 - (1 - spec.level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(eff_est / np.sqrt(var)) > z


def _percentile(spec: Spec, sub: np.ndarray, w: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    from sciplab.stats._bootstrap import Resampler

    R, n, p = sub.shape
    iu = np.triu_indices(p)
    weight = np.ones((R, n)) if w is None else w
    x = sub * weight[:, :, None]
    cross = x[:, :, iu[0]] * sub[:, :, iu[1]]  # w * x_i * x_j
    table = np.concatenate([weight[:, :, None], x, cross], axis=2)  # (R, n, q)
    q = table.shape[2]
    flat = np.ascontiguousarray(np.moveaxis(table, 0, 1).reshape(n, R * q))
    resampler = Resampler(n, spec.bootstrap, int(rng.integers(0, 2**63 - 1)))
    E = len(spec.effects)
    below = np.zeros((R, E))
    above = np.zeros((R, E))
    count = np.zeros((R, E))
    for _, _, sums in resampler.weighted_sums(flat, chunk_size=max(1, 20_000_000 // max(1, R * q * 8))):
        s = sums.reshape(-1, R, q)
        cnt = s[..., 0]
        mean = s[..., 1 : 1 + p] / np.maximum(cnt, 1.0)[..., None]
        m2 = np.empty((*s.shape[:2], p, p))
        m2[..., iu[0], iu[1]] = s[..., 1 + p :]
        m2[..., iu[1], iu[0]] = s[..., 1 + p :]
        cov = (m2 - cnt[..., None, None] * mean[..., :, None] * mean[..., None, :]) / np.maximum(cnt - 1.0, 1.0)[
            ..., None, None
        ]
        res = fit(spec, cov, cnt, acov=False)
        eff = effect_values(spec, res["est"])  # (b, R, E)
        valid = np.isfinite(eff) & res["ok"][..., None]
        below += ((eff <= 0) & valid).sum(axis=0)
        above += ((eff >= 0) & valid).sum(axis=0)
        count += valid.sum(axis=0)
    tail = (1.0 - spec.level) / 2 * count
    return ((below < tail) | (above < tail)) & (count > 0)
