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
    """Saturated (H1) ML means and covariance from incomplete rows by EM (Little & Rubin 2002, 11.2)."""
    n, p = x.shape
    obs = ~np.isnan(x)
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0))
    pats, inverse = np.unique(obs, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        T1 = np.zeros(p)
        T2 = np.zeros((p, p))
        for i, pat in enumerate(pats):
            rows = x[inverse == i]
            o, m = np.flatnonzero(pat), np.flatnonzero(~pat)
            if len(m) == 0:
                T1 += rows.sum(axis=0)
                T2 += rows.T @ rows
                continue
            Soo = sigma[np.ix_(o, o)]
            beta = np.linalg.solve(Soo, sigma[np.ix_(o, m)])  # (k, pm)
            fill = mu[m] + (rows[:, o] - mu[o]) @ beta
            full = np.empty((len(rows), p))
            full[:, o] = rows[:, o]
            full[:, m] = fill
            T1 += full.sum(axis=0)
            T2 += full.T @ full
            cond = sigma[np.ix_(m, m)] - sigma[np.ix_(m, o)] @ beta
            T2[np.ix_(m, m)] += len(rows) * cond
        new_mu = T1 / n
        new_sigma = T2 / n - np.outer(new_mu, new_mu)
        delta = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max())
        mu, sigma = new_mu, new_sigma
        if delta < tol:
            break
    return mu, sigma, iterations
