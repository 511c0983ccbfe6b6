"""Compiled weekly adult step: counter-based random streams, meetings and one fused pass per agent.

Imported lazily by :mod:`sciplab.sim.network` (numba costs about a second to import). One week is
five kernels (:func:`sciplab.sim.network.adult_step`):

1. :func:`week_prep` (parallel over agents): the rate cache (exponentials that change only with an
   agent's competencies, warmth, attachment or bias, recomputed when one of them changed), the
   packed per-agent state read by the meetings (``agent``, columns ``_kernels.AGENT_*``), each
   agent's responsiveness and lonely state as its partners read them this week (``pstate``, one
   float32 per agent, the responsiveness negated when lonely: one 4-byte read per tie, see
   :func:`_accumulate`) and its meeting count;
2. :func:`meet_draw` (parallel over blocks of agents): every meeting's partner (stranger or
   friend's friend, on the network as it was at the start of the week) and whether the pair wants
   a tie;
3. :func:`form_pairs`: the successful pairs, once each, in ``(min, max)`` order, formed when
   neither direction exists and both ends have a free slot (checks and writes parallel, slots
   taken serially);
4. :func:`tie_rows` (parallel over agents): the agent's tie row (strengthening and decay,
   conflicts, pruning, the two support sums);
5. :func:`agent_week` (parallel over blocks of agents): everything else of the week (perceived
   support, loneliness, life events, stress, the 9-node symptom network vectorised over the block).

Random numbers: every agent has its own SplitMix64 stream each week and kernel, seeded from the
week's key (drawn from the run's generator) and the agent's index (Steele, Lea & Flood 2014): the
draws of an agent do not depend on which thread runs it or in which order, so results are identical
for any number of threads, and a seed still gives identical output.

Tie rows are compact: agent ``i``'s ``n_ties[i]`` ties fill its first slots, the free slots follow
(strength and gain 0, partner ``i``), so the weekly pass reads only occupied slots.

Every coefficient comes from the parameter dataclasses (``NET_COEF``/``DIST_COEF`` name their
fields in the order passed); none is written into a kernel.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sciplab.sim._kernels import (
    AGENT_ANXIETY,
    AGENT_SOLO,
    AGENT_WARMTH,
    _cache_usable,
    _pair_gain,
    prefetch,
    prefetch_row,
)

_CACHE = _cache_usable(__file__)

#: ``NetworkParams`` fields in the order of the kernels' ``net`` coefficient array
NET_COEF = (
    "meet_rate", "meet_initiation", "friend_of_friend", "form_intercept", "form_triadic", "form_homophily",
    "form_initiation", "form_self_efficacy", "form_avoidance", "form_lonely", "initial_strength",
    "responsiveness_self_efficacy", "responsiveness_awareness", "responsiveness_warmth",
    "decay", "decay_avoidance", "decay_disclosure", "decay_lonely", "capacity_half",
    "conflict_rate", "conflict_anxiety", "conflict_management", "conflict_cost", "min_strength",
    "support_scale", "support_bias_anxiety", "support_bias_avoidance", "support_self_efficacy", "support_awareness",
    "lonely_intercept", "lonely_support", "lonely_anxiety", "lonely_self_efficacy", "lonely_disclosure",
    "lonely_friends", "lonely_recovery", "lonely_memory_weeks",
)  # fmt: skip
(_MEET, _MEET_INI, _FOF, _F0, _F_TRI, _F_HOM, _F_INI, _F_SSE, _F_AV, _F_L, _W0, _R_SSE, _R_EA, _R_W,
 _DECAY, _D_AV, _D_DIS, _D_L, _CAP, _C_RATE, _C_ANX, _C_CM, _C_COST, _W_MIN, _S_SCALE, _S_ANX, _S_AV,
 _S_SSE, _S_EA, _L0, _L_PS, _L_ANX, _L_SSE, _L_DIS, _L_F, _L_REC, _L_MEM) = range(len(NET_COEF))  # fmt: skip
#: ``DistressParams`` fields in the order of the kernels' ``dis`` coefficient array
DIST_COEF = (
    "life_event_rate", "life_event_severity", "stress_avoidance", "stress_decay", "connectivity",
    "connectivity_anxiety", "connectivity_avoidance", "connectivity_awareness", "field_intercept", "field_support",
    "field_lonely", "field_anxiety", "field_avoidance", "field_self_efficacy", "symptom_memory_weeks",
)  # fmt: skip
(_EV_RATE, _EV_SEV, _EV_AV, _ST_DECAY, _CONN, _CONN_ANX, _CONN_AV, _CONN_EA, _E0, _E_S, _E_L, _E_ANX, _E_AV,
 _E_SSE, _SYM_MEM) = range(len(DIST_COEF))  # fmt: skip
#: competency columns (``state.COMPETENCIES``)
_SSE, _EA, _DIS, _AST, _INI, _CM = range(6)
#: columns of the per-agent rate cache (:func:`week_prep`): values that change only with the agent's
#: competencies, warmth, attachment or support bias (in therapy), recomputed when one of them changed
RATE_COLUMNS = ("solo", "meet", "meet_p0", "conflict", "conflict_p0", "keep", "keep_lonely", "responsiveness",
                "support_shift", "event_scale", "connectivity")  # fmt: skip
(_R_SOLO, _R_MEET, _R_MEET_P0, _R_CONF, _R_CONF_P0, _R_KEEP0, _R_KEEP1, _R_RESP, _R_SHIFT, _R_EVENT,
 _R_CONN) = range(len(RATE_COLUMNS))  # fmt: skip
#: the inputs of the rate cache (its snapshot columns): the six competencies, warmth, anxiety, avoidance, bias
N_SNAPSHOT = 10

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31, _S32, _S40 = (np.uint64(v) for v in (11, 27, 30, 31, 32, 40))
_POISSON_CHUNK = 20.0  # a Poisson(lam) count is drawn as the sum of Poisson(<= 20) counts (no underflow)
#: agents per block of the parallel loops of the meetings and of the symptom pass (work arrays in cache)
_BLOCK = 512


@nb.njit(inline="always")
def _mix(z):
    """SplitMix64 output function (a bijection of 64-bit words)."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@nb.njit(inline="always")
def _seed(key, i):
    """Start of agent ``i``'s stream for a week's kernel (``key`` from the run's generator)."""
    return _mix(key + np.uint64(i) * _GAMMA)


@nb.njit(inline="always")
def _u01(x):
    """A uniform double in ``[0, 1)`` from the top 53 bits."""
    return np.float64(x >> _S11) * (1.0 / 9007199254740992.0)


@nb.njit(inline="always")
def _below(x, m):
    """A uniform integer in ``[0, m)`` (``m < 2**32``) from the top 32 bits (Lemire's multiply-shift)."""
    return np.int64(((x >> _S32) * np.uint64(m)) >> _S32)


_POW2 = np.ldexp(np.float32(1.0), np.arange(-126, 128)).astype(np.float32)  # 2**n, n = -126 .. 127
_EXP_POLY = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                           1.6666665459e-1, 5.0000001201e-1))  # fmt: skip


@nb.njit(inline="always", fastmath=True)
def _exp32(x):
    """``exp(x)`` in float32 (Cephes ``expf``: relative error under 2e-7), ``x`` clamped to ``[-87, 88]``.

    No library call (about 2 ns instead of 7), for the symptom probabilities and the float32 tie factors.
    """
    x = min(max(np.float32(x), np.float32(-87.0)), np.float32(88.0))
    m = np.floor(x * np.float32(1.4426950408889634) + np.float32(0.5))
    r = x - m * np.float32(0.693359375) - m * np.float32(-2.12194440e-4)
    c0, c1, c2, c3, c4, c5 = _EXP_POLY
    y = (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) * r * r + r + np.float32(1.0)
    return y * _POW2[np.int64(m) + 126]


@nb.njit(inline="always")
def _poisson(s, lam):
    """``Poisson(lam)`` by inversion, ``lam`` in chunks of at most 20; returns (count, stream state)."""
    count = 0
    while lam > 0.0:
        part = min(lam, _POISSON_CHUNK)
        lam -= part
        s += _GAMMA
        u = _u01(_mix(s))
        p = np.float64(_exp32(-part))
        cdf = p
        k = 0
        while u > cdf and k < 1000:
            k += 1
            p *= part / k
            cdf += p
        count += k
    return count, s


@nb.njit(inline="always")
def _poisson_p0(s, lam, p0):
    """:func:`_poisson` with ``p0 = float64(_exp32(-lam))`` given (cached); the same draws and counts."""
    if lam > _POISSON_CHUNK:
        return _poisson(s, lam)
    k = 0
    if lam > 0.0:
        s += _GAMMA
        u = _u01(_mix(s))
        p = p0
        cdf = p
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
    return k, s


@nb.njit(nogil=True, cache=_CACHE, fastmath=True)
def _keep(avo, dis, lone, net):
    """Weekly keep factor ``1 - delta0 exp(d_av av - d_dis DIS + d_L L)`` (float32, fast math as the tie pass)."""
    return np.float32(1.0 - net[_DECAY] * _exp32(net[_D_AV] * avo - net[_D_DIS] * dis + net[_D_L] * lone))


@nb.njit(nogil=True, cache=_CACHE, fastmath=True)
def _conflict_rate(anx, cm, net):
    """Weekly conflict rate ``rate exp(c_anx anx - c_cm CM)`` and its ``exp(-rate)`` (fast math as the tie pass).

    Both were computed in the fast-math tie pass before they were cached; computed here with the
    same flags, they are the same numbers (a last-bit difference in ``exp(-rate)`` would change a
    conflict count now and then).
    """
    rate = net[_C_RATE] * _exp32(net[_C_ANX] * anx - net[_C_CM] * cm)
    return rate, np.float64(_exp32(-min(rate, _POISSON_CHUNK)))


@nb.njit(inline="always")
def _rates(i, comp, warmth, anx, avo, bias, net, dis, rates):
    """Agent ``i``'s cached rates (columns ``RATE_COLUMNS``), computed exactly as the weekly rules write them."""
    rates[i, _R_SOLO] = net[_F_INI] / 2 * comp[i, _INI] + net[_F_SSE] / 2 * comp[i, _SSE] - net[_F_AV] / 2 * avo
    meet = net[_MEET] * _exp32(net[_MEET_INI] * comp[i, _INI])
    rates[i, _R_MEET] = meet
    rates[i, _R_MEET_P0] = np.float64(_exp32(-min(meet, _POISSON_CHUNK)))
    rates[i, _R_CONF], rates[i, _R_CONF_P0] = _conflict_rate(anx, comp[i, _CM], net)
    rates[i, _R_KEEP0] = _keep(avo, comp[i, _DIS], 0.0, net)
    rates[i, _R_KEEP1] = _keep(avo, comp[i, _DIS], 1.0, net)
    z = net[_R_SSE] * comp[i, _SSE] + net[_R_EA] * comp[i, _EA] + net[_R_W] * warmth[i]
    rates[i, _R_RESP] = np.float32(1.0) / (np.float32(1.0) + _exp32(-z))
    rates[i, _R_SHIFT] = np.exp(
        net[_S_ANX] * anx + net[_S_AV] * avo - net[_S_SSE] * comp[i, _SSE] - net[_S_EA] * comp[i, _EA] - bias
    )
    rates[i, _R_EVENT] = np.exp(dis[_EV_AV] * avo)
    rates[i, _R_CONN] = np.float32(
        max(dis[_CONN] + dis[_CONN_ANX] * anx + dis[_CONN_AV] * avo - dis[_CONN_EA] * comp[i, _EA], 0.0)
    )


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def week_prep(key, comp, warmth, anx_p, anx_s, avo_p, avo_s, bias, lonely, net, dis, snap, rates, agent, pstate,
              counts):  # fmt: skip
    """Per agent: the rate cache, the packed meeting state, the partner state, the meeting count.

    The rates (``rates``, columns ``RATE_COLUMNS``: the exponentials of the weekly rules that depend
    only on competencies, warmth, attachment and support bias) are recomputed for an agent whose
    inputs differ from its snapshot ``snap[i]`` (competencies, warmth, anxiety, avoidance, bias;
    NaN = never computed): outside therapy they do not change, so a week computes no exponential
    for them. ``agent[i, AGENT_SOLO]`` is the agent's half of the formation logit (pair terms are
    means); ``pstate[i]`` its responsiveness, negated when it is lonely (:func:`_accumulate`; the
    responsiveness is a logistic of a clamped argument, so it is never 0 and the sign always
    carries the state); meetings ``Poisson(meet_rate exp(meet_initiation initiation_i))``.
    """
    for i in nb.prange(warmth.size):
        anx = anx_p[i] + anx_s[i]
        avo = avo_p[i] + avo_s[i]
        same = snap[i, 6] == warmth[i] and snap[i, 7] == anx and snap[i, 8] == avo and snap[i, 9] == bias[i]
        for c in range(6):
            same = same and snap[i, c] == comp[i, c]
        if not same:
            _rates(i, comp, warmth, anx, avo, bias[i], net, dis, rates)
            for c in range(6):
                snap[i, c] = comp[i, c]
            snap[i, 6] = warmth[i]
            snap[i, 7] = anx
            snap[i, 8] = avo
            snap[i, 9] = bias[i]
        lone = 1.0 if lonely[i] else 0.0
        agent[i, AGENT_SOLO] = rates[i, _R_SOLO] - net[_F_L] * lone
        agent[i, AGENT_WARMTH] = warmth[i]
        agent[i, 2] = comp[i, _DIS]
        agent[i, 3] = comp[i, _CM]
        agent[i, AGENT_ANXIETY] = anx
        resp = np.float32(rates[i, _R_RESP])
        pstate[i] = -resp if lonely[i] else resp
        counts[i] = _poisson_p0(_seed(key, i), rates[i, _R_MEET], rates[i, _R_MEET_P0])[0]


@nb.njit(inline="always")
def _meeting_draws(key, t, n, k):
    """The five draws of meeting ``t`` (its own stream): stranger, route uniform, two slots, formation uniform."""
    s = _seed(key, t) + _GAMMA
    other = _below(_mix(s), n)
    s += _GAMMA
    route = _u01(_mix(s))
    s += _GAMMA
    off1 = _below(_mix(s), k)
    s += _GAMMA
    off2 = _below(_mix(s), k)
    s += _GAMMA
    return other, route, off1, off2, _u01(_mix(s))


#: meetings of an agent whose owner is written without a loop of their own in :func:`meet_draw`
_OWNER_RUN = 4
#: agents ahead whose tie rows :func:`tie_rows` requests
_ROW_AHEAD = 8
#: meetings ahead whose owner's row :func:`meet_draw` requests
_MEET_AHEAD = 8


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def meet_draw(key, offsets, partner, k, agent, net, owner, friend, keys, slot, uform):
    """Meeting ``t`` of agent ``i`` (``offsets[i] <= t < offsets[i + 1]``): ``keys[t] = min * n + max`` or -1.

    With probability ``friend_of_friend`` the meeting goes through a random slot of ``i`` and then a
    random slot of that friend (an empty slot or a loop back falls back to the random stranger); the
    pair wants a tie when a uniform is below ``logistic(b0 + b_tri via - b_hom |warmth_i - warmth_j|
    + solo_i + solo_j)``. Each meeting has its own stream (five draws), keyed by its index, which
    depends only on the meeting counts. Per block of ``_BLOCK`` agents (blocks in parallel; one
    parallel loop a week: on a busy machine each parallel loop waits for a second thread): the
    meetings' owners (each agent writes its index into ``_OWNER_RUN`` places from its first meeting
    on, up to the block's last meeting, and the next agents overwrite the surplus: no loop over a
    Poisson count), then three passes over the block's meetings (the friend, the friend's friend,
    the formation), each without branches on the draws (selects), so the random reads of a pass are
    independent of each other and the processor overlaps their cache misses; a pass requests the
    rows the next pass reads (:func:`prefetch`). The first pass draws all five numbers and keeps
    the friend's slot (``slot``) and the formation uniform (``uform``) for the later passes.
    """
    n = offsets.size - 1
    fof = net[_FOF]
    flat = agent.reshape(agent.size)
    cols = agent.shape[1]
    for blk in nb.prange((n + _BLOCK - 1) // _BLOCK):
        a0 = blk * _BLOCK
        a1 = min(a0 + _BLOCK, n)
        end = offsets[a1]
        for i in range(a0, a1):
            t0 = offsets[i]
            for j in range(_OWNER_RUN):
                if t0 + j < end:  # (false only at the block's last meetings)
                    owner[t0 + j] = i
            for t in range(t0 + _OWNER_RUN, offsets[i + 1]):  # rare: more than _OWNER_RUN meetings
                owner[t] = i
        for t in range(offsets[a0], offsets[a1]):
            if t + _MEET_AHEAD < end:  # the row of a meeting _MEET_AHEAD further
                prefetch_row(partner, owner[t + _MEET_AHEAD] * k, k)
            i = owner[t]
            other, route, off1, off2, u = _meeting_draws(key, t, n, k)
            f = partner[i * k + off1]
            via = route < fof and f != i
            keys[t] = other
            friend[t] = f if via else -1
            slot[t] = (f if via else i) * k + off2
            uform[t] = u
            prefetch(partner, slot[t])
        for t in range(offsets[a0], offsets[a1]):
            f = friend[t]
            i = owner[t]
            c = partner[slot[t]]
            ok = f >= 0 and c != f and c != i
            keys[t] = c if ok else keys[t]
            friend[t] = f if ok else -1
            prefetch(flat, keys[t] * cols)
        for t in range(offsets[a0], offsets[a1]):
            i = owner[t]
            other = keys[t]
            z = (
                net[_F0]
                + (net[_F_TRI] if friend[t] >= 0 else 0.0)
                - net[_F_HOM] * abs(agent[i, AGENT_WARMTH] - agent[other, AGENT_WARMTH])
                + agent[i, AGENT_SOLO]
                + agent[other, AGENT_SOLO]
            )
            want = other != i and uform[t] < 1.0 / (1.0 + np.exp(-z))
            keys[t] = min(i, other) * n + max(i, other) if want else -1


#: wanted pairs per block of :func:`_pair_checks`
_PAIR_BLOCK = 256
#: pairs ahead whose rows :func:`_pair_checks` requests while checking a pair
_PAIR_AHEAD = 12


@nb.njit(inline="always")
def _prefetch_pair(key, n, partner, n_ties, k, flat, cols):
    """Request what the check of pair ``key`` reads: both ends' tie counts, partner rows and packed state."""
    a = key // n
    b = key % n
    prefetch(n_ties, a)
    prefetch(n_ties, b)
    prefetch(flat, a * cols)
    prefetch(flat, b * cols)
    prefetch_row(partner, a * k, k)
    prefetch_row(partner, b * k, k)


@nb.njit(inline="always")
def _in_row(partner, lo, nt, k, b):
    """Whether ``b`` is among the partners of slots ``lo .. lo + nt`` (a row of capacity ``k``).

    Compares all ``k`` slots of the row, the slots past the last tie masked off: a loop of fixed
    length without branches, unsigned indices and int32 compares, which the compiler vectorises
    (64 slots: four 512-bit compares).
    """
    bb = np.int32(b)
    m = np.int32(nt)
    hits = np.int32(0)
    base = np.uint64(lo)
    for j in range(k):
        hits += np.int32(partner[base + np.uint64(j)] == bb) & np.int32(np.int32(j) < m)
    return hits > 0


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def _pair_checks(pairs, partner, n_ties, k, agent, coef, gains):
    """Per wanted pair (parallel over blocks of pairs): -1 in ``gains[t, 0]`` when it cannot form, else both gains.

    The pairs are distinct, so whether a tie exists is decided by the network at the start of the
    week; only the free slots depend on the order of formation. Tie counts only grow while pairs
    form, so a pair with an end already full cannot form either (its rows are not read). While
    checking a pair the kernel requests the rows of the pair ``_PAIR_AHEAD`` places further
    (:func:`_prefetch_pair`), so the random rows arrive while earlier pairs are checked.
    """
    n = n_ties.size
    flat = agent.reshape(agent.size)
    cols = agent.shape[1]
    for blk in nb.prange((pairs.size + _PAIR_BLOCK - 1) // _PAIR_BLOCK):
        t0 = blk * _PAIR_BLOCK
        t1 = min(t0 + _PAIR_BLOCK, pairs.size)
        for t in range(t0, min(t0 + _PAIR_AHEAD, t1)):
            _prefetch_pair(pairs[t], n, partner, n_ties, k, flat, cols)
        for t in range(t0, t1):
            if t + _PAIR_AHEAD < t1:
                _prefetch_pair(pairs[t + _PAIR_AHEAD], n, partner, n_ties, k, flat, cols)
            a = pairs[t] // n
            b = pairs[t] % n
            if n_ties[a] >= k or n_ties[b] >= k:
                gains[t, 0] = -1.0
                continue
            if _in_row(partner, a * k, n_ties[a], k, b) or _in_row(partner, b * k, n_ties[b], k, a):
                gains[t, 0] = -1.0
            else:
                gains[t, 0] = _pair_gain(agent, a, b, coef)
                gains[t, 1] = _pair_gain(agent, b, a, coef)


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def _write_pairs(pairs, slots, gains, partner, strength, gain, n, w0):
    """Write the formed pairs into their slots (parallel: every slot is taken by one pair at most)."""
    for t in nb.prange(pairs.size):
        sa = slots[t, 0]
        if sa < 0:
            continue
        sb = slots[t, 1]
        a = pairs[t] // n
        b = pairs[t] % n
        partner[sa] = b
        strength[sa] = w0
        gain[sa] = gains[t, 0]
        partner[sb] = a
        strength[sb] = w0
        gain[sb] = gains[t, 1]


@nb.njit(nogil=True, cache=_CACHE, error_model="numpy")
def form_pairs(pairs, partner, strength, gain, n_ties, k, agent, coef, w0):
    """Form the wanted pairs ``pairs`` (distinct keys ``min * n + max``, ascending) in order; returns the number formed.

    A pair forms when neither direction exists and both ends have a free slot; each end appends the
    tie after its last one (compact rows) with strength ``w0`` and its direction's gain
    (:func:`sciplab.sim._kernels._pair_gain`; ``coef`` in ``_kernels.COEF_NAMES`` order). The
    existence checks and gains are computed in parallel first (:func:`_pair_checks`), the slots are
    then taken in pair order by a serial pass over the tie counts alone (a small array, so the pass
    does not wait for the tie rows), and the ties are written in parallel (:func:`_write_pairs`).
    The caller sorts the meetings' keys (:func:`sciplab.sim.network.adult_step`: NumPy's sort,
    several times faster than a compiled one on these sizes).
    """
    n = n_ties.size
    m = pairs.size
    gains = np.empty((m, 2), dtype=np.float32)
    _pair_checks(pairs, partner, n_ties, k, agent, coef, gains)
    slots = np.full((m, 2), -1, dtype=np.int64)
    formed = 0
    for t in range(m):
        if gains[t, 0] < 0:
            continue
        a = pairs[t] // n
        b = pairs[t] % n
        na = n_ties[a]
        nb_ = n_ties[b]
        if na >= k or nb_ >= k:
            continue
        slots[t, 0] = a * k + na
        slots[t, 1] = b * k + nb_
        n_ties[a] = na + 1
        n_ties[b] = nb_ + 1
        formed += 1
    _write_pairs(pairs, slots, gains, partner, strength, gain, n, w0)
    return formed


@nb.njit(inline="always")
def _accumulate(tot, lf, w, v):
    """``tot + w resp_j`` and ``lf + w lonely_j`` from partner ``j``'s packed state ``v`` (resp_j, negated if lonely).

    ``|v|`` is ``resp_j`` exactly, and ``lf + w`` / ``lf + 0`` are what ``lf + w * lonely_j`` gives
    for ``lonely_j`` 1 / 0 (multiplying by 1 or 0 is exact), so the sums are those of a
    ``(resp, lonely)`` pair per agent, in the same order, from one 4-byte read per tie instead of
    8 (the reads of the partners' state are most of the tie pass's time).
    """
    zero = np.float32(0.0)
    return tot + w * abs(v), lf + (w if v < zero else zero)


@nb.njit(inline="always")
def _grow_and_sum(strength, gain, partner, lo, nt, k, keep, budget, pstate):
    """``w <- min(1, w keep + gain budget)`` on slots ``lo .. lo + nt`` and both support sums.

    One loop over all ``k`` slots of the row, the slots past the last tie masked off (they keep
    their value and add 0): a loop of fixed length without branches and with unsigned indices,
    which the compiler vectorises (partial sums per vector lane, fast math).
    """
    one = np.float32(1.0)
    zero = np.float32(0.0)
    tot = zero
    lf = zero
    m = np.int32(nt)
    base = np.uint64(lo)
    for j in range(k):
        s = base + np.uint64(j)
        w0 = strength[s]
        w = min(w0 * keep + gain[s] * budget, one)
        strength[s] = w if np.int32(j) < m else w0
    for j in range(k):
        s = base + np.uint64(j)
        w = strength[s] if np.int32(j) < m else zero
        tot, lf = _accumulate(tot, lf, w, pstate[np.uint32(partner[s])])
    return tot, lf


@nb.njit(inline="always")
def _sums(strength, partner, lo, hi, pstate):
    tot = np.float32(0.0)
    lf = np.float32(0.0)
    for s in range(lo, hi):
        w = strength[s]
        tot, lf = _accumulate(tot, lf, w, pstate[np.uint32(partner[s])])
    return tot, lf


@nb.njit(inline="always")
def _prune_and_sum(strength, gain, partner, i, lo, hi, keep, budget, w_min, pstate):
    """Grow (unless ``keep`` is 0), drop slots ``lo:hi`` under ``w_min``, close the gaps, sum; returns (tot, lf, kept).

    The kept ties stay in order at the front of the row; a slot is moved only after the first drop.
    """
    kept = lo
    one = np.float32(1.0)
    tot = np.float32(0.0)
    lf = np.float32(0.0)
    for s in range(lo, hi):
        w = strength[s]
        if keep > 0:
            w = min(w * keep + gain[s] * budget, one)
        if w >= w_min:
            p = partner[s]
            strength[kept] = w
            if kept != s:
                gain[kept] = gain[s]
                partner[kept] = p
            kept += 1
            tot, lf = _accumulate(tot, lf, w, pstate[np.uint32(p)])
    for s in range(kept, hi):
        strength[s] = 0.0
        gain[s] = 0.0
        partner[s] = i
    return tot, lf, kept - lo


@nb.njit(inline="always")
def _row(i, s, nt, strength, gain, partner, k, keep, budget, conflict_rate, conflict_p0, prune, net, pstate, n_ties):
    """Agent ``i``'s tie row this week: grow/decay, conflicts, pruning (compacting), sums, in that order.

    The vectorised grow-and-sum loop runs on every row; a conflict then takes its share off the slot
    and off the sums, and in pruning weeks a row with ties under ``w_min`` (counted by a vectorised
    loop) is compacted and summed again. Returns ``(sum_j w_ij resp_j, sum_j w_ij lonely_j, stream state)``.
    """
    lo = i * k
    n_conf, s = _poisson_p0(s, conflict_rate, conflict_p0)
    tot, lf = _grow_and_sum(strength, gain, partner, lo, nt, k, keep, budget, pstate)
    if n_conf:  # each conflict hits a random one of the k slots (nothing when the slot is free)
        factor = np.float32(1.0 - net[_C_COST])
        for _ in range(n_conf):
            s += _GAMMA
            off = _below(_mix(s), k)
            if off < nt:
                w = strength[lo + off]
                cut = w - w * factor
                strength[lo + off] = w * factor
                v = pstate[np.uint32(partner[lo + off])]
                tot -= cut * abs(v)
                lf -= cut if v < np.float32(0.0) else np.float32(0.0)
    if prune:
        w_min = np.float32(net[_W_MIN])
        weak = np.int32(0)
        m = np.int32(nt)
        for j in range(k):  # all slots, those past the last tie masked off (a vectorised loop)
            weak += np.int32(strength[np.uint64(lo + j)] < w_min) & np.int32(np.int32(j) < m)
        if weak:
            tot, lf, kept = _prune_and_sum(strength, gain, partner, i, lo, lo + nt, np.float32(0.0), budget, w_min,
                                           pstate)  # fmt: skip
            n_ties[i] = kept
    return tot, lf, s


@nb.njit(inline="always")
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


_ODDS_MIN = 1e-4 / (1.0 - 1e-4)  # received support clipped to [1e-4, 1 - 1e-4] on the logit scale
_TOTAL_MAX = 30.0  # 1 - exp(-30) is 1 to 13 digits


@nb.njit(inline="always")
def _perceived(total, anx, avo, sse, ea, bias, net):
    """Received ``RS = 1 - exp(-total / s)`` and perceived ``logistic(logit(RS) - k_anx anx - ... + bias)``.

    ``RS / (1 - RS) = exp(total / s) - 1``, so the logit needs no logarithm:
    ``PS = odds / (odds + exp(k_anx anx + k_av av - s_sse SSE - s_ea EA - bias))``.
    """
    shift = np.exp(net[_S_ANX] * anx + net[_S_AV] * avo - net[_S_SSE] * sse - net[_S_EA] * ea - bias)
    return _perceived_shift(total, shift, net)


@nb.njit(inline="always")
def _perceived_shift(total, shift, net):
    """:func:`_perceived` with the agent's ``shift`` (the exponential of its bias terms, cached) given."""
    odds = np.expm1(min(total / net[_S_SCALE], _TOTAL_MAX))
    rs = odds / (1.0 + odds)
    odds = min(max(odds, _ODDS_MIN), 1.0 / _ODDS_MIN)
    return rs, odds / (odds + shift)


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def support_only(strength, partner, n_ties, k, pstate, anx_p, anx_s, avo_p, avo_s, comp, bias, net, received,
                 perceived):  # fmt: skip
    """Received and perceived support from the current ties (start of adulthood)."""
    for i in nb.prange(n_ties.size):
        tot = _sums(strength, partner, i * k, i * k + n_ties[i], pstate)[0]
        received[i], perceived[i] = _perceived(np.float64(tot), anx_p[i] + anx_s[i], avo_p[i] + avo_s[i],
                                               comp[i, _SSE], comp[i, _EA], bias[i], net)  # fmt: skip


@nb.njit(parallel=True, nogil=True, cache=_CACHE, fastmath=True, error_model="numpy")
def tie_rows(key, prune, strength, gain, partner, n_ties, k, pstate, rates, lonely, net, total, friends):
    """Every agent's tie row (parallel over agents): strengthening/decay, conflicts, pruning, the support sums.

    ``w <- min(1, w keep_i + gain budget_i)`` with ``keep_i = 1 - delta0 exp(d_av av - d_dis DIS + d_L L)`` and
    ``budget_i = 1 / (1 + ties_i / capacity_half)``; conflicts ``Poisson(rate exp(c_anx anx - c_cm CM))`` on
    random slots; writes ``total[i] = sum_j w_ij resp_j`` and ``friends[i] = sum_j w_ij lonely_j``. The keep
    factors and conflict rates come from the rate cache (:func:`week_prep`).
    """
    n = n_ties.size
    for i in nb.prange(n):
        if i + _ROW_AHEAD < n:  # the rows of the agent _ROW_AHEAD further
            ahead = (i + _ROW_AHEAD) * k
            prefetch_row(strength, ahead, k)
            prefetch_row(gain, ahead, k)
            prefetch_row(partner, ahead, k)
        nt = n_ties[i]
        keep = np.float32(rates[i, _R_KEEP1] if lonely[i] else rates[i, _R_KEEP0])
        budget = np.float32(1.0 / (1.0 + nt / net[_CAP]))
        total[i], friends[i], _ = _row(i, _seed(key, i), nt, strength, gain, partner, k, keep, budget,
                                       rates[i, _R_CONF], rates[i, _R_CONF_P0], prune, net, pstate, n_ties)  # fmt: skip


@nb.njit(inline="always")
def _symptom_block(lo, m, codes, conns, fields, streams, symptoms, intensity, neighbours, minus_a, b, rate_sym, scale):
    """The 9-node symptom update of agents ``lo .. lo + m``, node by node in simple loops over the block.

    Each loop does one thing over contiguous arrays (drives, probabilities, uniforms, the update), so
    the compiler vectorises it; every agent's numbers are those of a loop over its nodes. Node ``q``
    of agent ``i``: one draw ``mix(s + (q + 1) gamma)`` (24-bit float32 uniform) from the agent's
    stream state after its loneliness and life-event draws.
    """
    drive = np.empty(m, np.float32)
    probs = np.empty(m, np.float32)
    unif = np.empty(m, np.float32)
    for q in range(9):
        bq = b[q]
        aq = minus_a[q]
        gq = np.uint64(q + 1) * _GAMMA
        for j in range(m):
            drive[j] = (neighbours[np.uint64(codes[j]), q] * conns[j] + fields[j] - bq) * aq
        for j in range(m):
            probs[j] = np.float32(1.0) / (np.float32(1.0) + _exp32(drive[j]))
        for j in range(m):
            unif[j] = np.float32(_mix(streams[j] + gq) >> _S40) * scale
        for j in range(m):
            i = np.uint64(lo + j)
            p = probs[j]
            symptoms[i, q] = unif[j] < p
            intensity[i, q] += (p - intensity[i, q]) * rate_sym


@nb.njit(parallel=True, nogil=True, cache=_CACHE, error_model="numpy")
def agent_week(
    key, total, friends, comp, anx_p, anx_s, avo_p, avo_s, rates, therapy, lonely, loneliness, received, perceived,
    stress, symptoms, intensity, neighbours, minus_a, b, net, dis,
):  # fmt: skip
    """The rest of agent ``i``'s week after its tie row (:func:`tie_rows`), in the order of the rules.

    Support, loneliness (SISa), life events and stress, symptoms (module docstring of
    :mod:`sciplab.sim.network`); the support shift, event scale and connectivity from the rate cache
    (:func:`week_prep`). Writes only agent ``i``'s own state: agents are independent (blocks of
    ``_BLOCK`` agents in parallel; the symptom networks of a block in :func:`_symptom_block`).
    """
    recovery_logit = np.log(net[_L_REC] / (1.0 - net[_L_REC]))
    event_p = -np.expm1(-dis[_EV_RATE])
    rate_sym = np.float32(1.0 / dis[_SYM_MEM])
    rate_lonely = 1.0 / net[_L_MEM]
    scale = np.float32(1.0 / 16777216.0)
    n = total.size
    for blk in nb.prange((n + _BLOCK - 1) // _BLOCK):
        lo = blk * _BLOCK
        m = min(lo + _BLOCK, n) - lo
        codes = np.empty(m, np.int64)
        conns = np.empty(m, np.float32)
        fields = np.empty(m, np.float32)
        streams = np.empty(m, np.uint64)
        support = np.empty(m)
        for j in range(m):  # 4 support first, in a loop of its own (short chains: agents overlap)
            i = lo + j
            rs, ps = _perceived_shift(np.float64(total[i]), rates[i, _R_SHIFT], net)
            received[i] = rs
            perceived[i] = ps
            support[j] = min(max(ps + therapy[i], 0.0), 1.0)
        for j in range(m):
            i = lo + j
            s = _seed(key, i)
            anx = anx_p[i] + anx_s[i]
            avo = avo_p[i] + avo_s[i]
            sse = comp[i, _SSE]
            ps = support[j]
            # 5 loneliness (SISa) and its moving average
            s += _GAMMA
            u = _u01(_mix(s))
            was = lonely[i]  # one logistic, chosen by the state (selects, not a branch the processor mispredicts)
            z_onset = (net[_L0] + net[_L_PS] * (0.5 - ps) + net[_L_ANX] * anx - net[_L_SSE] * sse
                       - net[_L_DIS] * comp[i, _DIS] + net[_L_F] * friends[i])  # fmt: skip
            p = _sigmoid(recovery_logit + net[_L_PS] * (ps - 0.5) if was else z_onset)
            now = (u >= p) if was else (u < p)
            lonely[i] = now
            lsc = loneliness[i] + ((1.0 if now else 0.0) - loneliness[i]) * rate_lonely
            loneliness[i] = lsc
            # 6 life events (only whether at least one happened) feeding the decaying stress
            st = stress[i] * dis[_ST_DECAY]
            s += _GAMMA
            if _u01(_mix(s)) < event_p:
                s += _GAMMA
                st += -np.log1p(-_u01(_mix(s))) * dis[_EV_SEV] * rates[i, _R_EVENT]
            stress[i] = st
            conns[j] = np.float32(rates[i, _R_CONN])
            fields[j] = np.float32(
                dis[_E0] + st - dis[_E_S] * ps + dis[_E_L] * lsc + dis[_E_ANX] * anx + dis[_E_AV] * avo
                - dis[_E_SSE] * sse
            )  # fmt: skip
            code = 0
            for q in range(9):
                code |= np.int64(symptoms[i, q]) << q
            codes[j] = code
            streams[j] = s
        _symptom_block(lo, m, codes, conns, fields, streams, symptoms, intensity, neighbours, minus_a, b, rate_sym,
                       scale)  # fmt: skip
