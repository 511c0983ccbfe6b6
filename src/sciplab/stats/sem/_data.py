"""Data -> sufficient statistics per group and missing-data pattern; checks of the sample.

Complete data (``missing="listwise"``): one block per group with the biased covariance (divisor
N, as lavaan's ``likelihood = "normal"``). FIML (``missing="fiml"``): the rows of each group are
grouped by their pattern of observed variables and patterns with the same number of observed
variables are stacked into one block, so the likelihood is evaluated pattern-wise in batches
(Arbuckle 1996; the cost grows with the number of distinct patterns, not rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, suggest
from sciplab.stats.sem._ml import Block


@dataclass
class Sample:
    """The data of a fit: rows per group, statistics per group, blocks for the likelihood."""

    groups: list[Any]
    X: list[np.ndarray]  # rows (with NaN under FIML) per group
    n: list[int]
    mean: list[np.ndarray]  # complete data: sample means; FIML: EM estimates (H1)
    cov: list[np.ndarray]
    blocks: list[Block]
    n_dropped: int
    patterns: list[int]  # number of missing-data patterns per group

    @property
    def ntotal(self) -> int:
        return int(sum(self.n))


def prepare(
    data: pd.DataFrame, observed: list[str], *, group: str | None, missing: str
) -> tuple[list[Any], list[np.ndarray], int]:
    """Rows per group (listwise: complete rows; FIML: rows with at least one value)."""
    cols = list(observed)
    if group is not None:
        if group not in [str(c) for c in data.columns]:
            raise DataError(
                f"group column {group!r} is not in the data{suggest(group, [str(c) for c in data.columns])}"
            )
        if group in cols:
            raise DataError(f"group column {group!r} is also a variable of the model; use another column")
    X = data[cols].to_numpy(dtype=float)
    keep = ~np.isnan(X).any(axis=1) if missing == "listwise" else ~np.isnan(X).all(axis=1)
    if group is not None:
        gcol = data[group]
        keep &= gcol.notna().to_numpy()
        labels = list(dict.fromkeys(gcol[keep].tolist()))
        gvals = gcol.to_numpy()
        rows = [X[keep & (gvals == lab)] for lab in labels]
    else:
        labels = [1]
        rows = [X[keep]]
    if np.isinf(X[keep]).any():
        bad = [c for c, col in zip(cols, X[keep].T, strict=True) if np.isinf(col).any()]
        raise DataError(f"columns {', '.join(bad)} contain infinite values; replace them with numbers or NaN")
    return labels, rows, int((~keep).sum())


def check_group(X: np.ndarray, names: list[str], label: Any, *, missing: str, ngroups: int) -> None:
    """Refuse groups with too few rows and non-positive-definite covariance matrices (naming variables)."""
    n, p = X.shape
    where = f" in group {label!r}" if ngroups > 1 else ""
    need = p + 1 if missing == "listwise" else 2
    if n < need:
        raise DataError(
            f"only {n} usable row{'s' if n != 1 else ''}{where}; at least {need} are needed for {p} observed "
            f"variables ({'complete rows' if missing == 'listwise' else 'rows with data'})"
            + ("; merge small groups or drop the group" if ngroups > 1 else "")
        )
    Xc = X if missing == "listwise" else X[~np.isnan(X).any(axis=1)]
    sd = np.nanstd(X, axis=0)
    const = [nm for nm, s in zip(names, sd, strict=True) if not s > 0]
    if const:
        raise DataError(
            f"no variance{where} in {', '.join(const)}: a constant cannot be modelled; drop it from the model"
        )
    if missing != "listwise" or len(Xc) <= p:
        return
    R = np.corrcoef(Xc.T)
    w, v = np.linalg.eigh(R)
    if w[0] < 1e-10:
        vec = v[:, 0]
        involved = [names[i] for i in np.argsort(-np.abs(vec)) if abs(vec[i]) > 0.1]
        raise DataError(
            f"the sample covariance matrix{where} is not positive definite: {', '.join(involved)} are "
            "linearly dependent (one is a sum or copy of the others); drop one of them"
        )


def complete_blocks(X: list[np.ndarray], ntotal: int) -> tuple[list[Block], list[np.ndarray], list[np.ndarray]]:
    blocks, means, covs = [], [], []
    for g, x in enumerate(X):
        mean = x.mean(axis=0)
        cov = np.cov(x.T, bias=True).reshape(x.shape[1], x.shape[1])
        means.append(mean)
        covs.append(cov)
        p = x.shape[1]
        blocks.append(Block(g, np.arange(p)[None], np.array([len(x) / ntotal]), cov[None, None], mean[None, None]))
    return blocks, means, covs


def pattern_blocks(X: list[np.ndarray], ntotal: int) -> tuple[list[Block], list[int]]:
    """FIML blocks: rows grouped by missingness pattern, patterns stacked by their size."""
    blocks: list[Block] = []
    counts = []
    for g, x in enumerate(X):
        obs = ~np.isnan(x)
        pats, inverse = np.unique(obs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        counts.append(len(pats))
        sizes = pats.sum(axis=1)
        for k in np.unique(sizes):
            which = np.flatnonzero(sizes == k)
            idx = np.array([np.flatnonzero(pats[i]) for i in which])
            w, S, xb = [], [], []
            for i, cols in zip(which, idx, strict=True):
                rows = x[inverse == i][:, cols]
                m = rows.mean(axis=0)
                dev = rows - m
                w.append(len(rows) / ntotal)
                S.append(dev.T @ dev / len(rows))
                xb.append(m)
            blocks.append(Block(g, idx, np.array(w), np.array(S)[None], np.array(xb)[None]))
    return blocks, counts


def em_moments(x: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, int]:
    """Saturated (H1) ML means and covariance from incomplete rows by EM (Little & Rubin 2002, 11.2).

    Vectorised over missing-data patterns: the rows enter only through each pattern's count, mean
    and covariance of its observed values, and every E-step handles all patterns with the same
    number of observed variables in one batched solve.
    """
    n, p = x.shape
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0))
    (blocks,), _ = _em_blocks(x)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        s1 = np.zeros(p)
        s2 = np.zeros((p, p))
        for cnt, o, mi, perm, xbar, S in blocks:
            Soo = sigma[o[:, :, None], o[:, None, :]]
            Smo = sigma[mi[:, :, None], o[:, None, :]]
            Bm = np.linalg.solve(Soo, np.swapaxes(Smo, 1, 2)).swapaxes(1, 2)  # (P, pm, k)
            dev = xbar - mu[o]  # (P, k)
            Q = S + dev[:, :, None] * dev[:, None, :]
            BQ = Bm @ Q
            cond = sigma[mi[:, :, None], mi[:, None, :]] - Bm @ np.swapaxes(Smo, 1, 2)
            k, pm = o.shape[1], mi.shape[1]
            F = np.empty((len(cnt), p, p))
            F[:, :k, :k] = Q
            F[:, k:, :k] = BQ
            F[:, :k, k:] = np.swapaxes(BQ, 1, 2)
            F[:, k:, k:] = BQ @ np.swapaxes(Bm, 1, 2) + cond
            e = np.concatenate([dev, (Bm @ dev[:, :, None])[:, :, 0]], axis=1) if pm else dev
            F *= cnt[:, None, None]
            e = e * cnt[:, None]
            full = np.empty_like(F)
            full[np.arange(len(cnt))[:, None, None], perm[:, :, None], perm[:, None, :]] = F
            s2 += full.sum(axis=0)
            ef = np.empty_like(e)
            ef[np.arange(len(cnt))[:, None], perm] = e
            s1 += ef.sum(axis=0)
        shift = s1 / n
        new_mu = mu + shift
        new_sigma = s2 / n - np.outer(shift, shift)
        new_sigma = (new_sigma + new_sigma.T) / 2
        delta = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max())
        mu, sigma = new_mu, new_sigma
        if delta < tol:
            break
    return mu, sigma, iterations


def _em_blocks(x: np.ndarray) -> tuple[tuple[list[tuple[np.ndarray, ...]]], int]:
    """Per pattern size: counts, observed and missing positions, their permutation, means, covariances."""
    p = x.shape[1]
    obs = ~np.isnan(x)
    pats, inverse = np.unique(obs, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    sizes = pats.sum(axis=1)
    out = []
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(pats))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    for k in np.unique(sizes):
        which = np.flatnonzero(sizes == k)
        o = np.array([np.flatnonzero(pats[i]) for i in which]).reshape(len(which), k)
        mi = np.array([np.flatnonzero(~pats[i]) for i in which]).reshape(len(which), p - k)
        xbar = np.empty((len(which), k))
        S = np.empty((len(which), k, k))
        for j, i in enumerate(which):  # one pass over the rows, pattern by pattern (not per iteration)
            rows = x[order[starts[i] : starts[i] + counts[i]]][:, o[j]]
            xbar[j] = rows.mean(axis=0)
            dv = rows - xbar[j]
            S[j] = dv.T @ dv / len(rows)
        out.append((counts[which].astype(float), o, mi, np.concatenate([o, mi], axis=1), xbar, S))
    return (out,), len(pats)
