"""Compiled kernels of the adult phase: pair formation (initial network) and the symptom networks.

Imported lazily by :mod:`sciplab.sim.network`, :mod:`sciplab.sim.state` and
:mod:`sciplab.sim.distress` (``numba`` costs about a second to import, so ``import sciplab`` and the
CLI never pay for it). Each kernel does in one pass what the NumPy version did in several (no
tie-sized temporaries), and the row-local ones run over rows in parallel (``prange``): every row is
computed exactly as in a serial loop, so results do not depend on the number of threads. The weekly
step's kernels are in :mod:`sciplab.sim._kernels_week`.

Compiled code is cached on disk when numba's cache folder is writable and its files of this module
are whole; otherwise the kernels compile in memory (a broken cache never fails a simulation). The
same policy as the resampling kernels of :mod:`sciplab.stats`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from sciplab._core.numba_cache import kernel_cache_usable


def _probe() -> None:  # pragma: no cover - never called; locates the cache folder
    pass


def _cache_usable(module_file: str = __file__) -> bool:
    """Whether the kernels of ``module_file`` may be cached on disk (its broken cache files are removed).

    ``module_file``: this module or another kernel module of the package (same cache folder).
    """
    return kernel_cache_usable(nb.njit, _probe, module_file)


_CACHE = _cache_usable()


@intrinsic
def prefetch(typingctx, arr, idx):  # pragma: no cover - compiled into the kernels
    """Ask the processor to bring ``arr[idx]``'s cache line in (``llvm.prefetch``; no effect on any value).

    A hint, not a load: the instruction retires at once, so a loop can request the rows it will
    read some iterations ahead without waiting for them. ``idx`` must lie inside the array.
    """
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")  # fmt: skip
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@nb.njit(inline="always")
def prefetch_row(arr, lo, k):  # pragma: no cover - compiled into the kernels
    """:func:`prefetch` the row ``arr[lo : lo + k]`` of 4-byte values: one request per 64-byte cache line."""
    for s in range(0, k, 16):
        prefetch(arr, lo + s)


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
    """Mutual tie ``a <-> b`` after the last tie of each (compact rows) when neither direction exists."""
    na = n_ties[a]
    nb_ = n_ties[b]
    if a == b or na >= k or nb_ >= k:
        return False
    for s in range(a * k, a * k + na):
        if partner[s] == b:
            return False
    for s in range(b * k, b * k + nb_):
        if partner[s] == a:
            return False
    free_a = a * k + na
    free_b = b * k + nb_
    partner[free_a] = b
    strength[free_a] = w0
    gain[free_a] = g_ab
    partner[free_b] = a
    strength[free_b] = w0
    gain[free_b] = g_ba
    n_ties[a] = na + 1
    n_ties[b] = nb_ + 1
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
