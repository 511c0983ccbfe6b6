"""Adult phase (weekly steps): social network, support, loneliness and distress.

Rules, computed per agent by compiled kernels (:mod:`sciplab.sim._kernels_week`; SAOM-like
formation after Snijders, van de Bunt & Steglich 2010; SISa loneliness after Hill et al. 2010 and
Cacioppo et al. 2009; [inference] functional forms; every coefficient is a field of
:class:`~sciplab.sim.params.NetworkParams` or :class:`~sciplab.sim.params.DistressParams`; time step
one week):

1. Meetings: ``Poisson(meet_rate * exp(m_ini * initiation_i))`` a week; a share ``p_ff`` through a
   friend (a random tie of a random tie: triadic closure), the rest at random.
2. Formation: ``P = logistic(b0 + b_tri * via_friend - b_hom * |warmth_i - warmth_j|
   + b_ini * mean initiation + b_sse * mean self-efficacy - b_av * mean avoidance - b_L * lonely)``;
   both directions are created with strength ``w0`` when neither exists and both ends have a free
   slot (:func:`sciplab.sim._kernels_week.form_pairs`); every meeting is a chance, a pair forms at
   most one tie a week.
3. Strength: ``w <- w * (1 - delta_i) + theta * q_ij / (1 + ties_i / capacity_half)``, capped at 1,
   with decay ``delta_i = delta0 * exp(d_av * avoidance_i - d_dis * disclosure_i + d_L * lonely_i)`` and interaction
   quality ``q_ij = logistic(q0 + q_dis * min(disclosure_i, disclosure_j) + q_cm * mean conflict
   management + q_w * mean warmth - q_anx * anxiety_i)`` (stored per tie at formation, refreshed
   when competencies change). Conflicts: ``Poisson(rate * exp(c_anx * anx_i - c_cm * CM_i))`` a week
   on random ties, each costing a share of the strength. Ties under ``w_min`` are dropped every
   ``prune_every`` weeks (capacity: the fixed slot count, Dunbar-style).
4. Support: received ``RS_i = 1 - exp(-sum_j w_ij resp_j / s)`` with responsiveness
   ``resp_j = logistic(r_sse SSE_j + r_ea EA_j + r_w warmth_j)``; perceived
   ``PS_i = logistic(logit(RS_i) - k_anx anx_i - k_av av_i + s_sse SSE_i + s_ea EA_i + bias_i)``
   (attachment bias; own competencies shape how support is perceived and used).
5. Loneliness (SISa): onset ``logistic(l0 + l_ps (0.5 - PS_i) + l_anx anx_i - l_sse SSE_i - l_dis DIS_i
   + l_f sum_j w_ij L_j)``, recovery
   ``logistic(logit(g) + l_ps (PS_i - 0.5))``; the loneliness score is an exponential moving
   average of the lonely state.
6. Distress: :func:`sciplab.sim.distress.symptom_step` with life events ``Poisson(rate)`` of
   exponential severity times ``exp(s_av * avoidance_i)`` feeding a decaying stress term; field
   ``E0 + stress - l_S PS + l_L loneliness + f_anx anxiety + f_av avoidance - f_SSE SSE``, connectivity
   ``c0 + c_anx anx + c_av avo - c_EA EA`` (floored at 0).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.params import SimParams
from sciplab.sim.state import COMPETENCIES, Population, TieSlots

__all__ = ["adult_step", "init_adulthood", "refresh_quality", "run_weeks", "set_threads"]

_SSE, _EA, _DIS, _AST, _INI, _CM = range(len(COMPETENCIES))


_THREADS = max(1, int(os.environ.get("SCIPLAB_SIM_THREADS", "1") or 1))


def set_threads(threads: int) -> int:
    """Threads for the compiled row-parallel kernels of the adult step (default 1, or ``SCIPLAB_SIM_THREADS``).

    Every row is computed exactly as with one thread, so results are identical whatever the number
    of threads (sweeps run one process per worker with one thread each). Returns the previous
    setting.

    Examples
    --------
    >>> old = set_threads(1)
    >>> set_threads(old)
    1
    """
    global _THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
        raise InvalidParameterError(f"threads must be a whole number from 1 to 256, got {threads!r}")
    old, _THREADS = _THREADS, threads
    return old


def _kernels() -> Any:
    """The compiled kernels (numba is imported on first use), with the thread count applied.

    Idle kernel threads sleep instead of spinning (``OMP_WAIT_POLICY=passive`` unless the
    environment sets it; read when numba's OpenMP layer starts, at the first parallel kernel of the
    process): a week is about ten short parallel loops, and on a machine whose cores are busy with
    other work a spinning thread takes the core its partner thread is waiting for (measured at load
    2-3 on 2 cores, 100,000 agents: 2 threads 0.8 M agent-steps/s spinning, 2.2 M sleeping; 1
    thread 1.6-2.2 M).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import numba

    from sciplab.sim import _kernels as kernels

    numba.set_num_threads(min(_THREADS, numba.config.NUMBA_NUM_THREADS))
    return kernels


def _quality_gain(pop: Population, i: np.ndarray, j: np.ndarray, p: SimParams) -> np.ndarray:
    n = p.network
    comp = pop.competencies
    q = expit(
        n.quality_intercept
        + n.quality_disclosure * np.minimum(comp[i, _DIS], comp[j, _DIS])
        + n.quality_conflict_mgmt * (comp[i, _CM] + comp[j, _CM]) / 2
        + n.quality_warmth * (pop.warmth[i] + pop.warmth[j]) / 2
        - n.quality_anxiety * (pop.prototype_anxiety[i] + pop.state_anxiety[i])
    )
    return (n.growth * q).astype(np.float32)


def refresh_quality(pop: Population, rows: np.ndarray, params: SimParams) -> None:
    """Recompute interaction quality of every tie owned by ``rows`` (after competencies changed)."""
    ties = pop.ties
    assert ties is not None  # noqa: S101 - internal invariant
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return
    idx = (rows[:, None] * ties.k + np.arange(ties.k)[None, :]).ravel()
    occupied = ties.strength[idx] > 0
    idx = idx[occupied]
    ties.gain[idx] = _quality_gain(pop, idx // ties.k, ties.partner[idx].astype(np.int64), params)


def _agent_state(pop: Population, p: SimParams) -> np.ndarray:
    """Per-agent state read by the meeting kernel, packed ``(n, 5)`` (columns ``_kernels.AGENT_*``).

    ``solo`` is the per-agent part of the formation logit (the pair terms are means, so each end
    adds half); the others enter the interaction quality of a new tie (:func:`_quality_gain`).
    """
    n = p.network
    comp = pop.competencies
    out = np.empty((pop.n, 5))
    solo = out[:, 0]
    np.multiply(n.form_initiation / 2, comp[:, _INI], out=solo)
    solo += (n.form_self_efficacy / 2) * comp[:, _SSE]
    solo -= (n.form_avoidance / 2) * (pop.prototype_avoidance + pop.state_avoidance)
    solo -= n.form_lonely * pop.lonely
    out[:, 1] = pop.warmth
    out[:, 2] = comp[:, _DIS]
    out[:, 3] = comp[:, _CM]
    np.add(pop.prototype_anxiety, pop.state_anxiety, out=out[:, 4])
    return out


def _coefficients(p: SimParams) -> np.ndarray:
    from sciplab.sim._kernels import COEF_NAMES

    return np.array([getattr(p.network, name) for name in COEF_NAMES], dtype=np.float64)


def _meet_form(pop: Population, p: SimParams, rng: np.random.Generator, i: np.ndarray, p_friend: float) -> int:
    """Meetings of agents ``i`` (sorted owners) with strangers or friends' friends and tie formation.

    The random numbers are drawn here from ``rng`` in a fixed order (stranger, friend-of-friend
    choice, the two slot offsets, formation), one of each per meeting; the compiled kernel
    (:func:`sciplab.sim._kernels.meet_form`) does the rest. Returns the number of pairs formed.
    """
    if i.size == 0:
        return 0
    ties = pop.ties
    m = i.size
    j = rng.integers(0, pop.n, m)
    u_friend = rng.random(m) if p_friend > 0 else np.ones(m)
    off = rng.integers(0, ties.k, (2, m)) if p_friend > 0 else np.zeros((2, m), dtype=np.int64)
    u_form = rng.random(m)
    return int(
        _kernels().meet_form(
            ties.partner, ties.strength, ties.gain, ties.n_ties, ties.k, np.ascontiguousarray(i, dtype=np.int64), j,
            u_friend, off[0], off[1], u_form, float(p_friend), _agent_state(pop, p), _coefficients(p),
            np.float32(p.network.initial_strength),
        )
    )  # fmt: skip


def _init_block_requests(n: int, k: int) -> int:
    """Meeting requests formed at once while building the initial network.

    ``_kernels.meet_form`` reads the ``k`` partner slots of both ends of every formed pair (``8 k``
    bytes per request); a block of ``n / 16`` requests keeps that under an eighth of the partner
    array (``4 n k`` bytes), the same order as the temporaries of a weekly step.
    """
    return max(n // 16, 4096)


def init_adulthood(pop: Population, params: SimParams, rng: np.random.Generator) -> None:
    """Create the adult-phase arrays and an initial network of about ``initial_ties`` ties each.

    Examples
    --------
    >>> from sciplab.sim.childhood import run_childhood
    >>> p = SimParams(n_agents=300, childhood_months=24)
    >>> pop = run_childhood(p, np.random.default_rng(0))
    >>> init_adulthood(pop, p, np.random.default_rng(1))
    >>> bool(pop.ties.degree().mean() > 5)
    True
    """
    n = pop.n
    pop.ties = TieSlots(n, min(params.network.max_ties, max(n - 1, 1)))
    pop.lonely = np.zeros(n, dtype=bool)
    pop.loneliness = np.zeros(n)
    pop.received_support = np.zeros(n)
    pop.perceived_support = np.full(n, 0.5)
    pop.support_bias = params.network.support_bias_sd * rng.standard_normal(n)
    pop.symptoms = np.zeros((n, 9), dtype=bool)
    pop.symptom_intensity = np.zeros((n, 9), dtype=np.float32)
    pop.stress = np.zeros(n)
    pop.therapy_support = np.zeros(n)
    # initial network: a burst of random meetings (school, work, neighbourhood), formed in blocks of
    # agents holding at most ``_init_block_requests`` requests, so the temporaries (request arrays,
    # the partner rows read by the meeting kernel) stay a fraction of the tie arrays themselves
    target = params.network.initial_ties
    block = _init_block_requests(n, pop.ties.k)
    for _ in range(params.network.init_rounds):
        deficit = np.maximum(target - pop.ties.n_ties, 0)
        if deficit.sum() < 1:
            break
        counts = rng.poisson(deficit * params.network.init_oversample)
        cum = np.cumsum(counts)
        start = 0
        while start < n:
            done = int(cum[start - 1]) if start else 0
            stop = max(int(np.searchsorted(cum, done + block, side="right")), start + 1)
            i = np.repeat(np.arange(start, stop, dtype=np.int64), counts[start:stop])
            _meet_form(pop, params, rng, i, 0.0)
            start = stop
    # start loneliness and support at their implied values
    _support(pop, params)


def _week_kernels() -> Any:
    """The compiled weekly-step kernels (numba imported on first use), with the thread count applied."""
    _kernels()
    from sciplab.sim import _kernels_week

    return _kernels_week


class _Week:
    """What :func:`_prepare` hands the weekly kernels: the kernels, coefficient arrays and per-agent work arrays."""

    def __init__(self, kw: Any, coef: tuple[np.ndarray, ...], rates: np.ndarray, pstate: np.ndarray,
                 counts: np.ndarray) -> None:  # fmt: skip
        self.kw, self.rates, self.pstate, self.counts = kw, rates, pstate, counts
        self.net, self.dis, self.pair_coef, self.both = coef


_COEF_CACHE: dict[int, tuple[SimParams, tuple[np.ndarray, ...]]] = {}


def _coefficient_arrays(kw: Any, p: SimParams) -> tuple[np.ndarray, ...]:
    """``(net, dis, pair coefficients, net and dis joined)`` of a parameter set, built once per set.

    ``SimParams`` is frozen, so the arrays of the set last used are kept (the weekly step would
    otherwise rebuild them from some sixty attributes every week); the cache holds one set per
    thread of the caller at most.
    """
    key = threading.get_ident()
    hit = _COEF_CACHE.get(key)
    if hit is not None and hit[0] is p:
        return hit[1]
    net = np.array([getattr(p.network, name) for name in kw.NET_COEF], dtype=np.float64)
    dis = np.array([getattr(p.distress, name) for name in kw.DIST_COEF], dtype=np.float64)
    arrays = (net, dis, _coefficients(p), np.concatenate([net, dis]))  # read by the kernels, never written
    _COEF_CACHE[key] = (p, arrays)
    return arrays


def _prepare(pop: Population, p: SimParams, key: np.uint64) -> _Week:
    """Run :func:`~sciplab.sim._kernels_week.week_prep` (rate cache, meeting state, meeting counts)."""
    kw = _week_kernels()
    ties = pop.ties
    coef = _coefficient_arrays(kw, p)
    net, dis = coef[0], coef[1]
    snap, rates = ties.rate_cache(len(kw.RATE_COLUMNS), kw.N_SNAPSHOT, coef[3])
    agent = ties.work("agent", (pop.n, 5), np.float64)
    pstate = ties.work("pstate", pop.n, np.float32)
    counts = ties.work("counts", pop.n, np.int64)
    kw.week_prep(key, pop.competencies, pop.warmth, pop.prototype_anxiety, pop.state_anxiety, pop.prototype_avoidance,
                 pop.state_avoidance, pop.support_bias, pop.lonely, net, dis, snap, rates, agent, pstate,
                 counts)  # fmt: skip
    return _Week(kw, coef, rates, pstate, counts)


def _support(pop: Population, p: SimParams) -> None:
    """Received and perceived support from the current ties (start of adulthood)."""
    wk = _prepare(pop, p, np.uint64(0))
    t = pop.ties
    wk.kw.support_only(t.strength, t.partner, t.n_ties, t.k, wk.pstate, pop.prototype_anxiety, pop.state_anxiety,
                       pop.prototype_avoidance, pop.state_avoidance, pop.competencies, pop.support_bias, wk.net,
                       pop.received_support, pop.perceived_support)  # fmt: skip


def _distinct_sorted(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys`` in ascending order.

    NumPy's sort: about 0.16 ms for 20,000 pairs, where ``np.unique`` took 1.7 ms and a compiled sort 1 ms.
    """
    keys = np.sort(keys)
    if keys.size < 2:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def adult_step(pop: Population, params: SimParams, rng: np.random.Generator, week: int) -> None:
    """Advance every agent one week (network, support, loneliness, distress) with five compiled kernels.

    :mod:`sciplab.sim._kernels_week`: the per-agent state and meeting counts, the meetings (parallel
    over agents), the pair formation (checks parallel, slots taken serially in pair order), the tie
    rows and one pass per agent over the rest of its week (parallel). Four 64-bit keys drawn from
    ``rng`` seed the agents' counter-based random streams, so a seed gives identical output with any number of
    threads. The work arrays are kept between weeks (:meth:`TieSlots.work`); the tie rows are read
    once a week (plus the rows the meetings touch).
    """
    ties = pop.ties
    keys = rng.integers(0, 2**63, 4, dtype=np.int64).view(np.uint64)
    wk = _prepare(pop, params, keys[0])
    kw, net, dis, pstate, counts = wk.kw, wk.net, wk.dis, wk.pstate, wk.counts
    # 1-2 meetings (strangers or friends' friends) and formation
    offsets = ties.work("offsets", pop.n + 1, np.int64)
    offsets[0] = 0
    np.cumsum(counts, out=offsets[1:])
    m = int(offsets[-1])
    wanted = ties.work("wanted", m, np.int64)
    kw.meet_draw(keys[1], offsets, ties.partner, ties.k, ties.work("agent", (pop.n, 5), np.float64), net,
                 ties.work("owner", m, np.int64), ties.work("friend", m, np.int64), wanted,
                 ties.work("slot", m, np.int64), ties.work("uform", m, np.float64))  # fmt: skip
    kw.form_pairs(_distinct_sorted(wanted[wanted >= 0]), ties.partner, ties.strength, ties.gain, ties.n_ties, ties.k,
                  ties.work("agent", (pop.n, 5), np.float64), wk.pair_coef,
                  np.float32(params.network.initial_strength))  # fmt: skip
    # 3-4 tie rows (strengthening/decay, conflicts, pruning, support sums); 4-6 support, loneliness, distress
    from sciplab.sim.distress import _B32, _MINUS_A32, _NEIGHBOURS

    prune = (week + 1) % params.network.prune_every == 0
    total, friends = ties.work("total", pop.n, np.float32), ties.work("friends", pop.n, np.float32)
    kw.tie_rows(keys[2], prune, ties.strength, ties.gain, ties.partner, ties.n_ties, ties.k, pstate, wk.rates,
                pop.lonely, net, total, friends)  # fmt: skip
    kw.agent_week(
        keys[3], total, friends, pop.competencies, pop.prototype_anxiety, pop.state_anxiety, pop.prototype_avoidance,
        pop.state_avoidance, wk.rates, pop.therapy_support, pop.lonely, pop.loneliness, pop.received_support,
        pop.perceived_support, pop.stress, pop.symptoms, pop.symptom_intensity, _NEIGHBOURS, _MINUS_A32, _B32, net, dis,
    )  # fmt: skip


def run_weeks(
    pop: Population,
    params: SimParams,
    rng: np.random.Generator,
    weeks: int,
    *,
    start: int = 0,
    on_week: Callable[[int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run ``weeks`` adult steps; ``on_week(week)`` runs after each (therapy sessions hook in here)."""
    for k in range(weeks):
        adult_step(pop, params, rng, start + k)
        if on_week is not None:
            on_week(k)
        if progress is not None:
            progress(k + 1, weeks)
