"""Adult phase (weekly steps): social network, support, loneliness and distress.

Rules, all vectorised over agents and ties (SAOM-like formation after Snijders, van de Bunt &
Steglich 2010; SISa loneliness after Hill et al. 2010 and Cacioppo et al. 2009; [inference]
functional forms; every coefficient is a field of :class:`~sciplab.sim.params.NetworkParams` or
:class:`~sciplab.sim.params.DistressParams`; time step one week):

1. Meetings: ``Poisson(meet_rate * exp(m_ini * initiation_i))`` a week; a share ``p_ff`` through a
   friend (a random tie of a random tie: triadic closure), the rest at random.
2. Formation: ``P = logistic(b0 + b_tri * via_friend - b_hom * |warmth_i - warmth_j|
   + b_ini * mean initiation + b_sse * mean self-efficacy - b_av * mean avoidance - b_L * lonely)``;
   both directions are created with strength ``w0`` when neither exists and both ends have a free
   slot (:func:`sciplab.sim._kernels.meet_form`); every meeting is a chance, a pair forms at
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
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit, logit

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.distress import symptom_step
from sciplab.sim.params import SimParams
from sciplab.sim.state import COMPETENCIES, Population, TieSlots

__all__ = ["adult_step", "init_adulthood", "refresh_quality", "run_weeks", "set_threads"]

_SSE, _EA, _DIS, _AST, _INI, _CM = range(len(COMPETENCIES))


def _poisson_events(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    """Owner indices (sorted) of independent ``Poisson(rates[i])`` event counts, drawn as one process.

    Same distribution as ``np.repeat(arange(n), rng.poisson(rates))``: the total is
    ``Poisson(sum rates)`` and, given the total, the events are uniform on ``[0, sum rates)``
    (sorted uniforms from normalised cumulative exponentials), each falling to the agent whose
    interval of the cumulative rate holds it. About twice as fast as per-agent Poisson draws.
    """
    cum = np.cumsum(rates)
    total = float(cum[-1]) if cum.size else 0.0
    count = int(rng.poisson(total)) if total > 0 else 0
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    u = np.cumsum(rng.standard_exponential(count + 1))
    u = u[:-1] * (total / u[-1])
    return np.minimum(np.searchsorted(cum, u, side="right"), rates.size - 1).astype(np.int64)


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
    """The compiled kernels (numba is imported on first use), with the thread count applied."""
    import numba

    from sciplab.sim import _kernels as kernels

    numba.set_num_threads(min(_THREADS, numba.config.NUMBA_NUM_THREADS))
    return kernels


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in place on a fresh float array (numpy's vectorised exp; faster than expit)."""
    np.negative(x, out=x)
    with np.errstate(over="ignore"):  # exp overflow -> inf -> 0, the correct limit
        np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


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


def _meet(pop: Population, p: SimParams, rng: np.random.Generator, rate: float) -> None:
    n = p.network
    i = _poisson_events(rng, rate * np.exp(n.meet_initiation * pop.competencies[:, _INI]))
    _meet_form(pop, p, rng, i, n.friend_of_friend)


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


def _responsiveness(pop: Population, p: SimParams) -> np.ndarray:
    n = p.network
    comp = pop.competencies
    z = n.responsiveness_self_efficacy * comp[:, _SSE] + n.responsiveness_awareness * comp[:, _EA]
    z += n.responsiveness_warmth * pop.warmth
    return _sigmoid(z.astype(np.float32))


def _perceive(pop: Population, p: SimParams, total: np.ndarray) -> None:
    """Received support from ``sum_j w_ij resp_j`` and perceived support with the attachment bias."""
    n = p.network
    rs = -np.expm1(-total.astype(np.float64) / n.support_scale)
    pop.received_support = rs
    anx = pop.prototype_anxiety + pop.state_anxiety
    avo = pop.prototype_avoidance + pop.state_avoidance
    rs_c = np.clip(rs, 1e-4, 1 - 1e-4)
    z = np.log(rs_c / (1.0 - rs_c))
    z -= n.support_bias_anxiety * anx
    z -= n.support_bias_avoidance * avo
    if n.support_self_efficacy or n.support_awareness:
        # the competencies also shape how support is perceived and used (Mallinckrodt & Wei 2005)
        z += n.support_self_efficacy * pop.competencies[:, _SSE] + n.support_awareness * pop.competencies[:, _EA]
    z += pop.support_bias
    pop.perceived_support = _sigmoid(z)


def _support(pop: Population, p: SimParams) -> np.ndarray:
    """Received and perceived support; returns each agent's lonely-friend exposure ``sum_j w_ij L_j``."""
    csr = pop.ties.csr
    _perceive(pop, p, csr @ _responsiveness(pop, p))
    return csr @ pop.lonely.astype(np.float32)


def _tie_pass(
    pop: Population,
    p: SimParams,
    keep: np.ndarray,
    budget: np.ndarray,
    conflict_slots: np.ndarray,
    prune: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Strengthen/decay, conflicts, pruning and the two support sums in one compiled sweep over the slots.

    Row ``i``: ``w <- min(1, w keep_i + gain_ij budget_i)``, then its conflicts (``conflict_slots``,
    sorted) each cost a share of the slot's strength, then in pruning weeks ties under ``w_min`` are
    dropped, then ``sum_j w_ij resp_j`` and ``sum_j w_ij L_j`` (:func:`sciplab.sim._kernels.tie_pass`).
    Every operation is row-local: identical for any number of threads. Returns both sums (float32).
    """
    n = p.network
    ties = pop.ties
    kernels = _kernels()
    total = np.empty(ties.n, dtype=np.float32)
    lonely_friends = np.empty(ties.n, dtype=np.float32)
    ptr = np.zeros(ties.n + 1, dtype=np.int64)  # the conflicts of row i: conflict_slots[ptr[i]:ptr[i + 1]]
    np.cumsum(np.bincount(conflict_slots // ties.k, minlength=ties.n), out=ptr[1:])
    partner_state = np.empty((ties.n, 2), dtype=np.float32)  # (responsiveness, lonely): one read per partner
    partner_state[:, 0] = _responsiveness(pop, p)
    partner_state[:, 1] = pop.lonely
    kernels.tie_pass(
        ties.strength, ties.gain, ties.partner, ties.n_ties, ties.k, keep, budget, ptr, conflict_slots,
        np.float32(1.0 - n.conflict_cost), prune, np.float32(n.min_strength), partner_state, total, lonely_friends,
    )  # fmt: skip
    return total, lonely_friends


def adult_step(pop: Population, params: SimParams, rng: np.random.Generator, week: int) -> None:
    """Advance every agent one week (network, support, loneliness, distress).

    The tie slots are swept once by a compiled kernel (:func:`_tie_pass`); no tie-sized temporary
    is allocated.
    """
    n = params.network
    d = params.distress
    ties = pop.ties
    anx = pop.prototype_anxiety + pop.state_anxiety
    avo = pop.prototype_avoidance + pop.state_avoidance
    comp = pop.competencies
    # 1-2 meetings and formation
    _meet(pop, params, rng, n.meet_rate)
    # 3 strengthening, decay, conflicts, pruning and 4 support (+ lonely-friend exposure): one sweep
    log_decay = n.decay_avoidance * avo + n.decay_lonely * pop.lonely
    if n.decay_disclosure:
        log_decay = log_decay - n.decay_disclosure * comp[:, _DIS]
    keep = (1.0 - n.decay * np.exp(log_decay)).astype(np.float32)
    budget = (1.0 / (1.0 + ties.n_ties / n.capacity_half)).astype(np.float32)
    ci = _poisson_events(rng, n.conflict_rate * np.exp(n.conflict_anxiety * anx - n.conflict_management * comp[:, _CM]))
    conflict_slots = ci * ties.k + rng.integers(0, ties.k, ci.size)  # sorted: ci is sorted, offsets < k
    total, lonely_friends = _tie_pass(pop, params, keep, budget, conflict_slots, (week + 1) % n.prune_every == 0)
    _perceive(pop, params, total)
    ps = np.clip(pop.perceived_support + pop.therapy_support, 0.0, 1.0)
    # 5 loneliness (SISa)
    onset = _sigmoid(
        n.lonely_intercept
        + n.lonely_support * (0.5 - ps)
        + n.lonely_anxiety * anx
        - n.lonely_self_efficacy * comp[:, _SSE]
        - n.lonely_disclosure * comp[:, _DIS]
        + n.lonely_friends * lonely_friends
    )
    recover = _sigmoid(logit(n.lonely_recovery) + n.lonely_support * (ps - 0.5))
    u = rng.random(pop.n)
    pop.lonely = np.where(pop.lonely, u >= recover, u < onset)
    pop.loneliness += (pop.lonely - pop.loneliness) / n.lonely_memory_weeks
    # 6 distress
    # at least one life event this week (Poisson(rate) > 0); only its occurrence matters
    hit = rng.random(pop.n) < -np.expm1(-d.life_event_rate)
    pop.stress *= d.stress_decay
    if hit.any():
        sev = rng.exponential(d.life_event_severity, int(hit.sum()))
        if d.stress_avoidance:
            sev *= np.exp(d.stress_avoidance * avo[hit])
        pop.stress[hit] += sev
    conn = np.maximum(
        d.connectivity
        + d.connectivity_anxiety * anx
        + d.connectivity_avoidance * avo
        - d.connectivity_awareness * comp[:, _EA],
        0.0,
    )
    field = (
        d.field_intercept
        + pop.stress
        - d.field_support * ps
        + d.field_lonely * pop.loneliness
        + d.field_anxiety * anx
        + d.field_avoidance * avo
        - d.field_self_efficacy * comp[:, _SSE]
    )
    pop.symptoms, prob = symptom_step(pop.symptoms, conn, field, rng)
    pop.symptom_intensity += (prob - pop.symptom_intensity) / np.float32(d.symptom_memory_weeks)


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
