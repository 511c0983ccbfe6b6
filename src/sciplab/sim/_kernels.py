"""Compiled kernels of the adult phase: the tie-slot sweep, pair formation and the symptom networks.

Imported lazily by :mod:`sciplab.sim.network`, :mod:`sciplab.sim.state` and
:mod:`sciplab.sim.distress` (``numba`` costs about a second to import, so ``import sciplab`` and the
CLI never pay for it). Each kernel does in one pass what the NumPy version did in several (no
tie-sized temporaries), and the row-local ones run over rows in parallel (``prange``): every row is
computed exactly as in a serial loop, so results do not depend on the number of threads.

Compiled code is cached on disk when numba's cache folder is writable and its files of this module
are whole; otherwise the kernels compile in memory (a broken cache never fails a simulation). The
same policy as the resampling kernels of :mod:`sciplab.stats`.
"""

from __future__ import annotations

from pathlib import Path

import numba as nb
import numpy as np

from sciplab._core.numba_cache import cache_files_usable


def _probe() -> None:  # pragma: no cover - never called; locates the cache folder
    pass


def _cache_usable() -> bool:
    """Whether the kernels may be cached on disk (broken cache files of this module are removed)."""
    try:
        folder = Path(nb.njit(cache=True)(_probe)._cache._cache_path)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no cache folder: compile in memory
        return False
    return cache_files_usable(folder, __file__)


_CACHE = _cache_usable()


@nb.njit(parallel=True, nogil=True, cache=_CACHE, fastmath=True)
def tie_pass(
    strength, gain, partner, n_ties, k, keep, budget, conflict_ptr, conflict_slots, factor, prune, min_strength,
    resp, lonely, total, lonely_friends,
):  # fmt: skip
    """Strengthen/decay, conflicts, pruning and both support sums, row by row (float32 like the slots).

    Row ``i``: ``w <- min(1, w keep_i + gain budget_i)`` on its ``k`` slots; each conflict of the row
    (``conflict_slots[conflict_ptr[i]:conflict_ptr[i + 1]]``) multiplies its slot by ``factor``;
    with ``prune`` slots with ``0 < w < min_strength`` are emptied (strength and gain 0, partner =
    owner); then ``total_i = sum_j w_ij resp_j`` and ``lonely_friends_i = sum_j w_ij lonely_j``.
    """
    n = keep.size
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for i in nb.prange(n):
        base = i * k
        kp = keep[i]
        bd = budget[i]
        tot = zero
        lf = zero
        dropped = 0
        c0 = conflict_ptr[i]
        c1 = conflict_ptr[i + 1]
        # pruning of a slot hit by a conflict waits for the conflict (below), as in the rule order
        check = prune and c1 == c0
        for s in range(base, base + k):
            w = strength[s]
            if w == zero:
                continue
            w = min(w * kp + gain[s] * bd, one)
            if check and w < min_strength:
                strength[s] = zero
                gain[s] = zero
                partner[s] = i
                dropped += 1
                continue
            strength[s] = w
            p = partner[s]
            tot += w * resp[p]
            lf += w * lonely[p]
        # the row's conflicts (rare): each costs a share of its slot; then pruning, as in the serial rule
        for c in range(c0, c1):
            s = conflict_slots[c]
            w = strength[s]
            if w == zero:
                continue
            p = partner[s]
            cut = w - w * factor
            strength[s] = w * factor
            tot -= cut * resp[p]
            lf -= cut * lonely[p]
        if prune and c1 > c0:
            for s in range(base, base + k):
                w = strength[s]
                if w > zero and w < min_strength:
                    p = partner[s]
                    tot -= w * resp[p]
                    lf -= w * lonely[p]
                    strength[s] = zero
                    gain[s] = zero
                    partner[s] = i
                    dropped += 1
        total[i] = tot
        lonely_friends[i] = lf
        n_ties[i] -= dropped


@nb.njit(nogil=True, cache=_CACHE)
def add_pairs(partner, strength, gain, n_ties, k, i, j, w0, gain_ij, gain_ji, formed):
    """Create mutual ties ``i[t] <-> j[t]`` in request order (serial: each pair sees the ones before).

    A pair forms when neither direction exists and both ends have a free slot (an empty slot points
    at its owner); it takes the first free slot of each end. ``formed[t]`` records the outcome.
    """
    for t in range(i.size):
        a = i[t]
        b = j[t]
        if a == b or n_ties[a] >= k or n_ties[b] >= k:
            continue
        free_a = -1
        exists = False
        for s in range(a * k, a * k + k):
            p = partner[s]
            if p == b:
                exists = True
                break
            if p == a and free_a < 0:
                free_a = s
        if exists or free_a < 0:
            continue
        free_b = -1
        for s in range(b * k, b * k + k):
            p = partner[s]
            if p == a:
                exists = True
                break
            if p == b and free_b < 0:
                free_b = s
        if exists or free_b < 0:
            continue
        partner[free_a] = b
        strength[free_a] = w0
        gain[free_a] = gain_ij[t]
        partner[free_b] = a
        strength[free_b] = w0
        gain[free_b] = gain_ji[t]
        n_ties[a] += 1
        n_ties[b] += 1
        formed[t] = True


@nb.njit(parallel=True, nogil=True, cache=_CACHE)
def symptom_step(active, connectivity, field, uniform, neighbours, minus_a, b, prob, new_active):
    """One synchronous Cramer et al. (2016) update of ``n`` 9-node networks.

    ``neighbours[code, j]`` is the number of active neighbours of node ``j`` in pattern ``code``
    (bit ``j`` = node ``j`` active); ``p_j = 1 / (1 + exp(-a_j (c * neighbours + E - b_j)))``;
    node ``j`` becomes active when ``uniform[i, j] < p_j``. Writes ``prob`` and ``new_active``.
    """
    n = active.shape[0]
    one = np.float32(1.0)
    for i in nb.prange(n):
        code = 0
        for q in range(9):
            if active[i, q]:
                code |= 1 << q
        c = np.float32(connectivity[i])
        e = np.float32(field[i])
        for q in range(9):
            drive = (neighbours[code, q] * c + e - b[q]) * minus_a[q]
            p = one / (one + np.exp(drive))
            prob[i, q] = p
            new_active[i, q] = uniform[i, q] < p
