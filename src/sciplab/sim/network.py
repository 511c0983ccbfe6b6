"""Adult phase (weekly steps): social network, support, loneliness and distress.

Rules, all vectorised over agents and ties (simulation.md 6.4; SAOM-like formation after RSiena,
SISa loneliness after Hill et al. 2010 and Cacioppo et al. 2009; [inference] functional forms):

1. Meetings: ``Poisson(meet_rate * exp(0.3 * initiation_i))`` a week; a share ``p_ff`` through a
   friend (a random tie of a random tie: triadic closure), the rest at random.
2. Formation: ``P = logistic(b0 + b_tri * via_friend - b_hom * |warmth_i - warmth_j|
   + b_ini * mean initiation + b_sse * mean self-efficacy - b_av * mean avoidance - b_L * lonely)``;
   both directions are created with strength ``w0``.
3. Strength: ``w <- w * (1 - delta_i) + theta * q_ij / (1 + ties_i / capacity_half)``, capped at 1,
   with decay ``delta_i = delta0 * exp(d_av * avoidance_i + d_L * lonely_i)`` and interaction
   quality ``q_ij = logistic(q0 + q_dis * min(disclosure_i, disclosure_j) + q_cm * mean conflict
   management + q_w * mean warmth - q_anx * anxiety_i)`` (stored per tie at formation, refreshed
   when competencies change). Conflicts: ``Poisson(rate * exp(c_anx * anx_i - 0.5 * CM_i))`` a week
   on random ties, each costing a share of the strength. Ties under ``w_min`` are dropped every
   ``prune_every`` weeks (capacity: the fixed slot count, Dunbar-style).
4. Support: received ``RS_i = 1 - exp(-sum_j w_ij resp_j / s)`` with responsiveness
   ``resp_j = logistic(0.5 SSE_j + 0.5 EA_j + 0.3 warmth_j)``; perceived
   ``PS_i = logistic(logit(RS_i) - k_anx anx_i - k_av av_i + bias_i)`` (attachment bias).
5. Loneliness (SISa): onset ``logistic(l0 + l_ps (0.5 - PS_i) + l_f sum_j w_ij L_j)``, recovery
   ``logistic(logit(g) + l_ps (PS_i - 0.5))``; the loneliness score is an exponential moving
   average of the lonely state.
6. Distress: :func:`sciplab.sim.distress.symptom_step` with life events ``Poisson(rate)`` of
   exponential severity feeding a decaying stress term.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit, logit

from sciplab.sim.distress import symptom_step
from sciplab.sim.params import SimParams
from sciplab.sim.state import COMPETENCIES, Population, TieSlots

__all__ = ["adult_step", "init_adulthood", "refresh_quality", "run_weeks"]

_SSE, _EA, _DIS, _AST, _INI, _CM = range(len(COMPETENCIES))


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


def _form(pop: Population, i: np.ndarray, j: np.ndarray, via_friend: np.ndarray, p: SimParams, rng) -> None:
    n = p.network
    keep = i != j
    i, j, via_friend = i[keep], j[keep], via_friend[keep]
    if i.size == 0:
        return
    # one request per unordered pair
    a, b = np.minimum(i, j), np.maximum(i, j)
    _, first = np.unique(a * pop.n + b, return_index=True)
    i, j, via_friend = a[first], b[first], via_friend[first]
    comp = pop.competencies
    avo = pop.prototype_avoidance + pop.state_avoidance
    lon = pop.lonely
    z = (
        n.form_intercept
        + n.form_triadic * via_friend
        - n.form_homophily * np.abs(pop.warmth[i] - pop.warmth[j])
        + n.form_initiation * (comp[i, _INI] + comp[j, _INI]) / 2
        + n.form_self_efficacy * (comp[i, _SSE] + comp[j, _SSE]) / 2
        - n.form_avoidance * (avo[i] + avo[j]) / 2
        - n.form_lonely * (lon[i].astype(float) + lon[j])
    )
    ok = rng.random(i.size) < expit(z)
    i, j = i[ok], j[ok]
    if i.size == 0:
        return
    ties = pop.ties
    w0 = np.full(i.size, n.initial_strength, dtype=np.float32)
    # both directions need a free slot; create i->j first, then j->i for the successful ones
    ok1 = ties.add(i, j, w0, _quality_gain(pop, i, j, p))
    ok2 = ties.add(j[ok1], i[ok1], w0[ok1], _quality_gain(pop, j[ok1], i[ok1], p))
    if not ok2.all():  # j was full: undo the half-made ties
        bad_i, bad_j = i[ok1][~ok2], j[ok1][~ok2]
        s2 = ties.strength2d[bad_i]
        hit = (ties.partner2d[bad_i] == bad_j[:, None]) & (s2 > 0)
        r, c = np.nonzero(hit)
        ties.strength[bad_i[r] * ties.k + c] = 0.0
        ties.gain[bad_i[r] * ties.k + c] = 0.0
        ties.partner[bad_i[r] * ties.k + c] = bad_i[r]
        np.add.at(ties.n_ties, bad_i[r], -1)


def _meet(pop: Population, p: SimParams, rng: np.random.Generator, rate: float) -> None:
    n = p.network
    ties = pop.ties
    lam = rate * np.exp(0.3 * pop.competencies[:, _INI])
    counts = rng.poisson(lam)
    i = np.repeat(np.arange(pop.n, dtype=np.int64), counts)
    if i.size == 0:
        return
    j = rng.integers(0, pop.n, i.size)
    via = np.zeros(i.size)
    try_ff = rng.random(i.size) < n.friend_of_friend
    if try_ff.any():
        ii = i[try_ff]
        s1 = ii * ties.k + rng.integers(0, ties.k, ii.size)
        friend = ties.partner[s1].astype(np.int64)
        s2 = friend * ties.k + rng.integers(0, ties.k, ii.size)
        cand = ties.partner[s2].astype(np.int64)
        good = (ties.strength[s1] > 0) & (ties.strength[s2] > 0) & (cand != ii)
        sel = np.flatnonzero(try_ff)[good]
        j[sel] = cand[good]
        via[sel] = 1.0
    _form(pop, i, j, via, p, rng)


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
    # initial network: a burst of random meetings (school, work, neighbourhood)
    target = params.network.initial_ties
    for _ in range(4):
        deficit = np.maximum(target - pop.ties.n_ties, 0)
        if deficit.sum() < 1:
            break
        counts = rng.poisson(deficit * 1.2)
        i = np.repeat(np.arange(n, dtype=np.int64), counts)
        j = rng.integers(0, n, i.size)
        _form(pop, i, j, np.zeros(i.size), params, rng)
    # start loneliness and support at their implied values
    _support(pop, params)


def _support(pop: Population, p: SimParams) -> np.ndarray:
    n = p.network
    comp = pop.competencies
    resp = expit(0.5 * comp[:, _SSE] + 0.5 * comp[:, _EA] + 0.3 * pop.warmth)
    both = pop.ties.csr @ np.column_stack([resp, pop.lonely.astype(float)])
    rs = 1.0 - np.exp(-both[:, 0] / n.support_scale)
    pop.received_support = rs
    anx = pop.prototype_anxiety + pop.state_anxiety
    avo = pop.prototype_avoidance + pop.state_avoidance
    rs_c = np.clip(rs, 1e-4, 1 - 1e-4)
    pop.perceived_support = expit(
        logit(rs_c) - n.support_bias_anxiety * anx - n.support_bias_avoidance * avo + pop.support_bias
    )
    return both[:, 1]


def adult_step(pop: Population, params: SimParams, rng: np.random.Generator, week: int) -> None:
    """Advance every agent one week (network, support, loneliness, distress)."""
    n = params.network
    d = params.distress
    ties = pop.ties
    anx = pop.prototype_anxiety + pop.state_anxiety
    avo = pop.prototype_avoidance + pop.state_avoidance
    comp = pop.competencies
    # 1-2 meetings and formation
    _meet(pop, params, rng, n.meet_rate)
    # 3 strengthening and decay, in place over all tie slots
    keep = (1.0 - n.decay * np.exp(n.decay_avoidance * avo + n.decay_lonely * pop.lonely)).astype(np.float32)
    budget = (1.0 / (1.0 + ties.n_ties / n.capacity_half)).astype(np.float32)
    s2 = ties.strength2d
    s2 *= keep[:, None]
    s2 += ties.gain.reshape(pop.n, ties.k) * budget[:, None]
    np.minimum(s2, 1.0, out=s2)
    conflicts = rng.poisson(n.conflict_rate * np.exp(n.conflict_anxiety * anx - 0.5 * comp[:, _CM]))
    ci = np.repeat(np.arange(pop.n, dtype=np.int64), conflicts)
    if ci.size:
        ties.strength[ci * ties.k + rng.integers(0, ties.k, ci.size)] *= np.float32(1.0 - n.conflict_cost)
    if (week + 1) % n.prune_every == 0:
        before = ties.strength > 0
        ties.prune(n.min_strength)
        ties.gain[before & (ties.strength == 0)] = 0.0
    # 4 support (+ lonely-friend exposure in the same sparse product)
    lonely_friends = _support(pop, params)
    ps = np.clip(pop.perceived_support + pop.therapy_support, 0.0, 1.0)
    # 5 loneliness (SISa)
    onset = expit(
        n.lonely_intercept
        + n.lonely_support * (0.5 - ps)
        + n.lonely_anxiety * anx
        - n.lonely_self_efficacy * comp[:, _SSE]
        + n.lonely_friends * lonely_friends
    )
    recover = expit(logit(n.lonely_recovery) + n.lonely_support * (ps - 0.5))
    u = rng.random(pop.n)
    pop.lonely = np.where(pop.lonely, u >= recover, u < onset)
    pop.loneliness += (pop.lonely - pop.loneliness) / n.lonely_memory_weeks
    # 6 distress
    events = rng.poisson(d.life_event_rate, pop.n)
    hit = events > 0
    pop.stress *= d.stress_decay
    if hit.any():
        pop.stress[hit] += rng.exponential(d.life_event_severity, int(hit.sum()))
    conn = np.maximum(d.connectivity + d.connectivity_anxiety * anx - d.connectivity_awareness * comp[:, _EA], 0.0)
    field = (
        d.field_intercept
        + pop.stress
        - d.field_support * ps
        + d.field_lonely * pop.loneliness
        + d.field_avoidance * avo
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
