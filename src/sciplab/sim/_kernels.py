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
    partner_state, total, lonely_friends,
):  # fmt: skip
    """Strengthen/decay, conflicts, pruning and both support sums, row by row (float32 like the slots).

    Row ``i``: ``w <- min(1, w keep_i + gain budget_i)`` on its ``k`` slots; each conflict of the row
    (``conflict_slots[conflict_ptr[i]:conflict_ptr[i + 1]]``) multiplies its slot by ``factor``;
    with ``prune`` slots with ``0 < w < min_strength`` are emptied (strength and gain 0, partner =
    owner); then ``total_i = sum_j w_ij resp_j`` and ``lonely_friends_i = sum_j w_ij lonely_j``
    with ``partner_state[j] = (resp_j, lonely_j)`` packed so one partner costs one memory access.

    A row without conflicts in a week without pruning (almost every row) takes a branch-free loop:
    an empty slot has strength and gain 0 and points at its owner, so it stays 0 and adds 0 to the
    sums; the compiler vectorises that loop.
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
        c0 = conflict_ptr[i]
        c1 = conflict_ptr[i + 1]
        if not prune and c1 == c0:
            for s in range(base, base + k):
                w = min(strength[s] * kp + gain[s] * bd, one)
                strength[s] = w
                p = partner[s]
                tot += w * partner_state[p, 0]
                lf += w * partner_state[p, 1]
            total[i] = tot
            lonely_friends[i] = lf
            continue
        dropped = 0
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
            tot += w * partner_state[p, 0]
            lf += w * partner_state[p, 1]
        # the row's conflicts (rare): each costs a share of its slot; then pruning, as in the serial rule
        for c in range(c0, c1):
            s = conflict_slots[c]
            w = strength[s]
            if w == zero:
                continue
            p = partner[s]
            cut = w - w * factor
            strength[s] = w * factor
            tot -= cut * partner_state[p, 0]
            lf -= cut * partner_state[p, 1]
        if prune and c1 > c0:
            for s in range(base, base + k):
                w = strength[s]
                if w > zero and w < min_strength:
                    p = partner[s]
                    tot -= w * partner_state[p, 0]
                    lf -= w * partner_state[p, 1]
                    strength[s] = zero
                    gain[s] = zero
                    partner[s] = i
                    dropped += 1
        total[i] = tot
        lonely_friends[i] = lf
        n_ties[i] -= dropped


#: columns of the packed per-agent state read by :func:`meet_form`
AGENT_SOLO, AGENT_WARMTH, AGENT_DISCLOSURE, AGENT_CONFLICT, AGENT_ANXIETY = range(5)
#: order of the coefficients passed to :func:`meet_form`
COEF_NAMES = ("form_intercept", "form_triadic", "form_homophily", "quality_intercept", "quality_disclosure",
              "quality_conflict_mgmt", "quality_warmth", "quality_anxiety", "growth")  # fmt: skip


@nb.njit(nogil=True, cache=_CACHE)
def _pair_gain(agent, a, b, coef):
    """Tie gain ``growth * q_ab`` of the direction ``a -> b`` (interaction quality as ``a`` experiences it)."""
    z = (
        coef[3]
        + coef[4] * min(agent[a, AGENT_DISCLOSURE], agent[b, AGENT_DISCLOSURE])
        + coef[5] * (agent[a, AGENT_CONFLICT] + agent[b, AGENT_CONFLICT]) / 2
        + coef[6] * (agent[a, AGENT_WARMTH] + agent[b, AGENT_WARMTH]) / 2
        - coef[7] * agent[a, AGENT_ANXIETY]
    )
    return np.float32(coef[8] / (1.0 + np.exp(-z)))


@nb.njit(nogil=True, cache=_CACHE)
def meet_form(partner, strength, gain, n_ties, k, i, j, u_friend, off1, off2, u_form, p_friend, agent, coef, w0):
    """Meetings and tie formation of one week in one pass; returns the number of pairs formed.

    Meeting ``t`` of agent ``i[t]`` is, when ``u_friend[t] < p_friend``, with a friend's friend
    (``partner`` of slot ``off1[t]`` of ``i``, then of slot ``off2[t]`` of that friend; an empty
    slot or a loop back falls back to the random stranger ``j[t]``). It succeeds when
    ``u_form[t] < logistic(b0 + b_tri via - b_hom |warmth_i - warmth_j| + solo_i + solo_j)``
    (``agent``: the packed per-agent state, columns ``AGENT_*``; ``coef`` in ``COEF_NAMES`` order).
    The network is read as it was at the start of the week. A pair met successfully more than once
    forms one tie; pairs are then formed in order of ``(min, max)`` agent index, each when neither
    direction exists and both ends have a free slot (first free slot of each), with strength ``w0``
    and the two directions' gains (:func:`_pair_gain`).
    """
    n = n_ties.size
    size = i.size
    # three passes of independent random reads (friend, friend's friend, both ends' state), so the
    # processor overlaps the cache misses instead of waiting for each in turn
    other = j.copy()
    via = np.zeros(size)
    friend = np.full(size, -1, dtype=np.int64)
    for t in range(size):
        if u_friend[t] < p_friend:
            friend[t] = partner[i[t] * k + off1[t]]
    for t in range(size):
        f = friend[t]
        if f >= 0 and f != i[t]:
            c = partner[f * k + off2[t]]
            if c != f and c != i[t]:
                other[t] = c
                via[t] = 1.0
    keys = np.empty(size, dtype=np.int64)
    m = 0
    for t in range(size):
        a = i[t]
        b = other[t]
        if a == b:
            continue
        z = (
            coef[0]
            + coef[1] * via[t]
            - coef[2] * abs(agent[a, AGENT_WARMTH] - agent[b, AGENT_WARMTH])
            + agent[a, AGENT_SOLO]
            + agent[b, AGENT_SOLO]
        )
        if u_form[t] < 1.0 / (1.0 + np.exp(-z)):
            keys[m] = min(a, b) * n + max(a, b)
            m += 1
    keys = np.sort(keys[:m])
    formed = 0
    prev = -1
    for key in keys:
        if key == prev:
            continue
        prev = key
        a = key // n
        b = key % n
        if _add_pair(partner, strength, gain, n_ties, k, a, b, w0, _pair_gain(agent, a, b, coef),
                     _pair_gain(agent, b, a, coef)):  # fmt: skip
            formed += 1
    return formed


@nb.njit(nogil=True, cache=_CACHE)
def _add_pair(partner, strength, gain, n_ties, k, a, b, w0, g_ab, g_ba):
    """Mutual tie ``a <-> b`` in the first free slot of each when neither direction exists."""
    if a == b or n_ties[a] >= k or n_ties[b] >= k:
        return False
    free_a = -1
    for s in range(a * k, a * k + k):
        p = partner[s]
        if p == b:
            return False
        if p == a and free_a < 0:
            free_a = s
    if free_a < 0:
        return False
    free_b = -1
    for s in range(b * k, b * k + k):
        p = partner[s]
        if p == a:
            return False
        if p == b and free_b < 0:
            free_b = s
    if free_b < 0:
        return False
    partner[free_a] = b
    strength[free_a] = w0
    gain[free_a] = g_ab
    partner[free_b] = a
    strength[free_b] = w0
    gain[free_b] = g_ba
    n_ties[a] += 1
    n_ties[b] += 1
    return True


@nb.njit(nogil=True, cache=_CACHE)
def add_pairs(partner, strength, gain, n_ties, k, i, j, w0, gain_ij, gain_ji, formed):
    """Create mutual ties ``i[t] <-> j[t]`` in request order (serial: each pair sees the ones before).

    A pair forms when neither direction exists and both ends have a free slot (an empty slot points
    at its owner); it takes the first free slot of each end. ``formed[t]`` records the outcome.
    """
    for t in range(i.size):
        formed[t] = _add_pair(partner, strength, gain, n_ties, k, i[t], j[t], w0, gain_ij[t], gain_ji[t])


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
