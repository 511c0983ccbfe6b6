"""The optimised adult-phase kernels against straightforward reference versions."""

import numba as nb
import numpy as np
import pytest
from scipy.special import expit

from sciplab.sim import _kernels, _kernels_week
from sciplab.sim.childhood import run_childhood
from sciplab.sim.distress import CRAMER_A, CRAMER_B, CRAMER_W, symptom_step
from sciplab.sim.network import adult_step, init_adulthood
from sciplab.sim.params import SimParams
from sciplab.sim.state import TieSlots


def _pop(n=400, weeks=9, seed=0):
    p = SimParams(n_agents=n, childhood_months=24)
    rng = np.random.default_rng(seed)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    for w in range(weeks):
        adult_step(pop, p, rng, w)
    return pop


def test_tie_slot_invariants_after_weeks():
    pop = _pop()
    t = pop.ties
    occ = t.strength2d > 0
    np.testing.assert_array_equal(t.n_ties, occ.sum(axis=1))
    owner = np.repeat(np.arange(t.n), t.k).reshape(t.n, t.k)
    np.testing.assert_array_equal(occ, np.arange(t.k)[None, :] < t.n_ties[:, None])  # compact rows
    assert (t.partner2d[~occ] == owner[~occ]).all()  # empty slots point at their owner
    assert (t.partner2d[occ] != owner[occ]).all()  # no self-ties
    assert (t.gain2d[~occ] == 0).all()
    for row in range(t.n):  # no duplicate partners within a row
        partners = t.partner2d[row][occ[row]]
        assert partners.size == np.unique(partners).size
    assert float(t.strength.max()) <= 1.0


def test_add_pairs_mutual_and_capacity():
    t = TieSlots(4, 2)
    g = np.full(4, 0.1, dtype=np.float32)
    formed = t.add_pairs(np.array([0, 0, 0, 1]), np.array([1, 2, 3, 2]), 0.3, g, g)
    # agent 0 has two slots: its third request fails; the 0-1 pair also exists both ways
    assert formed.tolist() == [True, True, False, True]
    assert t.n_ties.tolist() == [2, 2, 2, 0]
    assert float(t.csr[1, 0]) == float(t.csr[0, 1]) == np.float32(0.3)
    again = t.add_pairs(np.array([0]), np.array([1]), 0.3, g[:1], g[:1])
    assert not again.any()  # existing tie is not duplicated


def _compact_slots(rng, n, k, fill=0.7, low=0.0):
    """Tie slots with random compact rows (distinct partners, no self-ties), strengths in ``[low, 1)``."""
    t = TieSlots(n, k)
    for row in range(n):
        others = np.delete(np.arange(n), row)
        m = int(rng.binomial(k, fill))
        t.partner2d[row, :m] = rng.choice(others, m, replace=False)
        t.strength2d[row, :m] = rng.uniform(low, 1.0, m)
        t.gain2d[row, :m] = rng.uniform(0.005, 0.05, m)
        t.n_ties[row] = m
    return t


def test_prune_drops_weak_ties_and_closes_the_gaps():
    rng = np.random.default_rng(3)
    t = _compact_slots(rng, 50, 8)
    t.strength[:] = np.where(t.strength > 0, t.strength * 0.2, 0).astype(np.float32)
    before = [(t.partner2d[r, : t.n_ties[r]].copy(), t.strength2d[r, : t.n_ties[r]].copy()) for r in range(50)]
    dead = (t.strength > 0) & (t.strength < 0.08)
    assert t.prune(0.08) == int(dead.sum()) > 0
    for r, (partners, strengths) in enumerate(before):
        alive = strengths >= np.float32(0.08)
        m = int(alive.sum())
        assert t.n_ties[r] == m
        np.testing.assert_array_equal(t.partner2d[r, :m], partners[alive])  # survivors in order, at the front
        np.testing.assert_array_equal(t.strength2d[r, :m], strengths[alive])
        assert (t.strength2d[r, m:] == 0).all() and (t.gain2d[r, m:] == 0).all() and (t.partner2d[r, m:] == r).all()


def test_symptom_step_matches_cramer_formula():
    rng = np.random.default_rng(1)
    x = rng.random((300, 9)) < 0.4
    c = rng.random(300) * 2
    e = rng.normal(size=300)
    _, prob = symptom_step(x, c, e, np.random.default_rng(0))
    ref = expit(CRAMER_A * ((x @ CRAMER_W) * c[:, None] + e[:, None] - CRAMER_B))
    np.testing.assert_allclose(prob, ref, rtol=2e-5, atol=1e-6)


def test_adult_phase_deterministic_for_a_seed():
    a, b = _pop(seed=5), _pop(seed=5)
    np.testing.assert_array_equal(a.ties.strength, b.ties.strength)
    np.testing.assert_array_equal(a.symptom_intensity, b.symptom_intensity)


def test_threads_give_identical_results():
    from sciplab.sim import network

    base = _pop(n=500, weeks=9, seed=7)
    old = network.set_threads(2)
    try:
        other = _pop(n=500, weeks=9, seed=7)
    finally:
        network.set_threads(old)
    np.testing.assert_array_equal(base.ties.strength, other.ties.strength)
    np.testing.assert_array_equal(base.ties.partner, other.ties.partner)
    np.testing.assert_array_equal(base.perceived_support, other.perceived_support)
    np.testing.assert_array_equal(base.lonely, other.lonely)


def test_set_threads_validates():
    import pytest

    from sciplab._core.errors import InvalidParameterError
    from sciplab.sim.network import set_threads

    with pytest.raises(InvalidParameterError, match="threads"):
        set_threads(0)


@nb.njit
def _conflict_offsets(s, rate, k):
    """The conflict count and slots the weekly row kernel draws from stream state ``s``."""
    n_conf, s = _kernels_week._poisson(s, rate)
    out = np.empty(n_conf, dtype=np.int64)
    for c in range(n_conf):
        s += _kernels_week._GAMMA
        out[c] = _kernels_week._below(_kernels_week._mix(s), k)
    return out


@pytest.mark.parametrize("prune", [True, False])
def test_tie_row_kernel_matches_the_rule_order_in_numpy(prune):
    """Strengthen, then conflicts, then pruning (closing the gaps), then the two sums: the row kernel vs NumPy.

    Rows without conflicts take the fused vectorised loops, the others the general path.
    """
    rng = np.random.default_rng(11)
    n, k = 300, 8
    t = _compact_slots(rng, n, k, low=0.05)
    net = np.array([getattr(SimParams().network, name) for name in _kernels_week.NET_COEF])
    net[_kernels_week.NET_COEF.index("conflict_cost")] = 0.3
    resp, lone = rng.random(n).astype(np.float32) + np.float32(0.01), rng.random(n) < 0.3
    pstate = np.where(lone, -resp, resp)  # the packed partner state: responsiveness, negated when lonely
    ref = (t.strength2d.copy(), t.gain2d.copy(), t.partner2d.copy(), t.n_ties.copy())
    n_conflict_rows = 0
    for i in range(n):
        keep, budget = np.float32(rng.uniform(0.9, 1.0)), np.float32(rng.uniform(0.3, 1.0))
        s0, rate = np.uint64(rng.integers(2**63)), float(rng.uniform(0, 1.5))
        # reference, step by step
        m = ref[3][i]
        w = np.minimum(ref[0][i, :m] * keep + ref[1][i, :m] * budget, np.float32(1))
        offs = _conflict_offsets(s0, rate, k)
        n_conflict_rows += offs.size > 0
        for off in offs:
            if off < m:
                w[off] *= np.float32(0.7)
        alive = w >= np.float32(net[_kernels_week.NET_COEF.index("min_strength")]) if prune else np.ones(m, bool)
        partners = ref[2][i, :m][alive]
        p0 = np.float64(_kernels_week._exp32(-rate))
        tot, lf, _ = _kernels_week._row(i, s0, t.n_ties[i], t.strength, t.gain, t.partner, k, keep, budget, rate,
                                        p0, prune, net, pstate, t.n_ties)  # fmt: skip
        kept = int(alive.sum())
        assert t.n_ties[i] == kept
        np.testing.assert_allclose(t.strength2d[i, :kept], w[alive], rtol=1e-6)
        np.testing.assert_array_equal(t.partner2d[i, :kept], partners)
        np.testing.assert_array_equal(t.gain2d[i, :kept], ref[1][i, :m][alive])
        assert (t.strength2d[i, kept:] == 0).all() and (t.partner2d[i, kept:] == i).all()
        np.testing.assert_allclose(tot, (w[alive] * resp[partners]).sum(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(lf, (w[alive] * lone[partners]).sum(), rtol=1e-5, atol=1e-6)
    assert 50 < n_conflict_rows < n - 50


@pytest.mark.parametrize("k", [20, 64])
def test_row_loops_ignore_the_slots_past_the_last_tie(k):
    """The fixed-length row loops (all k slots, masked) read only a row's ties, whatever the free slots hold."""
    rng = np.random.default_rng(12)
    n = 80
    t = _compact_slots(rng, n, k, fill=0.6)
    pstate = (rng.random(n) + 0.01).astype(np.float32) * np.where(rng.random(n) < 0.3, -1, 1).astype(np.float32)
    for i in range(n):
        m = t.n_ties[i]
        junk = np.setdiff1d(np.arange(n), np.r_[t.partner2d[i, :m], i])[0]  # not a partner of i
        t.partner2d[i, m:], t.strength2d[i, m:], t.gain2d[i, m:] = junk, 0.5, 0.02
        before = t.strength2d[i].copy()
        keep, budget = np.float32(0.97), np.float32(0.6)
        tot, lf = _kernels_week._grow_and_sum(t.strength, t.gain, t.partner, i * k, m, k, keep, budget, pstate)
        w = np.minimum(before[:m] * keep + t.gain2d[i, :m] * budget, np.float32(1))
        np.testing.assert_allclose(t.strength2d[i, :m], w, rtol=1e-6)
        np.testing.assert_array_equal(t.strength2d[i, m:], before[m:])
        v = pstate[t.partner2d[i, :m]]
        np.testing.assert_allclose(tot, (w * np.abs(v)).sum(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(lf, (w * (v < 0)).sum(), rtol=1e-5, atol=1e-6)
        assert not _kernels_week._in_row(t.partner, i * k, m, k, junk) or m == k
        if m:
            assert _kernels_week._in_row(t.partner, i * k, m, k, t.partner2d[i, m - 1])


@nb.njit
def _stream_draws(key, n, lam):
    """Agent ``i``'s first uniform and a Poisson(lam) count from its stream, for ``i < n``."""
    u = np.empty(n)
    x = np.empty(n, dtype=np.int64)
    for i in range(n):
        u[i] = _kernels_week._u01(_kernels_week._mix(_kernels_week._seed(key, i)))
        x[i] = _kernels_week._poisson(_kernels_week._seed(key, i), lam)[0]
    return u, x


def test_counter_streams_poisson_and_uniform_laws():
    """The per-agent streams: uniforms uniform and independent across agents, Poisson counts with the right law."""
    u = _stream_draws(np.uint64(9), 20_000, 1.0)[0]
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.004
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03
    for lam in (0.1, 3.0, 45.0):  # 45: drawn in chunks of 20
        x = _stream_draws(np.uint64(4), 20_000, lam)[1]
        assert abs(x.mean() - lam) < 4 * np.sqrt(lam / x.size)
        assert abs(x.var() / lam - 1) < 0.06


def test_fast_exp_matches_numpy():
    x = np.linspace(-80, 80, 10_001).astype(np.float32)
    got = np.array([_kernels_week._exp32(v) for v in x])
    np.testing.assert_allclose(got, np.exp(x.astype(np.float64)), rtol=3e-7)


def _meet_form_reference(partner, n_ties, k, i, j, uf, o1, o2, uo, p_friend, agent, coef):
    """The weekly meeting and formation rules in NumPy (vectorised, as the pre-kernel code did them)."""
    n = n_ties.size
    via = np.zeros(i.size)
    f = partner[i * k + o1]
    c = partner[f * k + o2]
    good = (uf < p_friend) & (f != i) & (c != f) & (c != i)
    j = np.where(good, c, j)
    via[good] = 1.0
    z = coef[0] + coef[1] * via - coef[2] * np.abs(agent[i, 1] - agent[j, 1]) + agent[i, 0] + agent[j, 0]
    ok = (i != j) & (uo < expit(z))
    keys = np.unique(np.minimum(i, j)[ok] * n + np.maximum(i, j)[ok])
    return keys // n, keys % n


def test_meet_form_kernel_matches_numpy_rules():
    """Friend-of-friend choice, formation probability, one tie per pair and week, capacity: kernel vs NumPy."""
    from sciplab.sim import _kernels

    rng = np.random.default_rng(4)
    n, k = 200, 6
    t = TieSlots(n, k)
    g = np.full(400, 0.02, dtype=np.float32)
    t.add_pairs(rng.integers(0, n, 400), rng.integers(0, n, 400), 0.3, g, g)
    agent = rng.normal(size=(n, 5))
    coef = np.array([-0.3, 0.8, 0.5, 0.2, 0.3, 0.2, 0.1, 0.4, 0.05])
    m = 900
    i = np.sort(rng.integers(0, n, m))
    j, uf, uo = rng.integers(0, n, m), rng.random(m), rng.random(m)
    o1, o2 = rng.integers(0, k, m), rng.integers(0, k, m)
    a, b = _meet_form_reference(t.partner.astype(np.int64), t.n_ties, k, i, j, uf, o1, o2, uo, 0.6, agent, coef)
    ref = TieSlots(n, k)
    ref.partner[:], ref.strength[:], ref.gain[:], ref.n_ties[:] = t.partner, t.strength, t.gain, t.n_ties

    def gain(x, y):
        z = (coef[3] + coef[4] * np.minimum(agent[x, 2], agent[y, 2]) + coef[5] * (agent[x, 3] + agent[y, 3]) / 2
             + coef[6] * (agent[x, 1] + agent[y, 1]) / 2 - coef[7] * agent[x, 4])  # fmt: skip
        return (coef[8] * expit(z)).astype(np.float32)

    formed_ref = ref.add_pairs(a, b, 0.1, gain(a, b), gain(b, a))
    formed = _kernels.meet_form(t.partner, t.strength, t.gain, t.n_ties, k, i, j, uf, o1, o2, uo, 0.6, agent, coef,
                                np.float32(0.1))  # fmt: skip
    assert formed == int(formed_ref.sum()) > 20
    np.testing.assert_array_equal(t.partner, ref.partner)
    np.testing.assert_array_equal(t.n_ties, ref.n_ties)
    np.testing.assert_array_equal(t.strength, ref.strength)
    np.testing.assert_allclose(t.gain, ref.gain, rtol=1e-6)


def test_kernel_tie_gain_matches_the_numpy_quality_rule():
    """New ties (meet_form) and refreshed ties (refresh_quality) use the same interaction quality."""
    from sciplab.sim import _kernels
    from sciplab.sim.network import _agent_state, _coefficients, _quality_gain

    p = SimParams(n_agents=300, childhood_months=24)
    rng = np.random.default_rng(2)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    i, j = rng.integers(0, 300, 50), rng.integers(0, 300, 50)
    agent, coef = _agent_state(pop, p), _coefficients(p)
    kernel = np.array([_kernels._pair_gain(agent, a, b, coef) for a, b in zip(i, j, strict=True)])
    np.testing.assert_allclose(kernel, _quality_gain(pop, i, j, p), rtol=1e-6)
    assert np.ptp(kernel) > 0


def _net(**changes):
    net = np.array([getattr(SimParams().network, name) for name in _kernels_week.NET_COEF])
    for name, value in changes.items():
        net[_kernels_week.NET_COEF.index(name)] = value
    return net


def test_meet_draw_matches_the_meeting_rules():
    """Friend-of-friend route, fallback to the stranger, formation probability: kernel vs a loop over the draws."""
    rng = np.random.default_rng(5)
    n, k = 200, 6
    t = _compact_slots(rng, n, k, fill=0.6)
    agent = rng.normal(size=(n, 5))
    net = _net(friend_of_friend=0.6)
    counts = rng.poisson(1.5, n)
    offsets = np.r_[0, np.cumsum(counts)]
    m, key = int(offsets[-1]), np.uint64(12345)
    keys, owner, friend = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64)
    slot, uform = np.empty(m, np.int64), np.empty(m)
    _kernels_week.meet_draw(key, offsets, t.partner, k, agent, net, owner, friend, keys, slot, uform)
    f0, f_tri, f_hom = (
        net[_kernels_week.NET_COEF.index(c)] for c in ("form_intercept", "form_triadic", "form_homophily")
    )
    via_count = 0
    for i in range(n):
        for j in range(offsets[i], offsets[i + 1]):
            other, route, off1, off2, u_form = _kernels_week._meeting_draws(key, j, n, k)
            via = False
            if route < 0.6:
                f = t.partner[i * k + off1]
                c = t.partner[f * k + off2]
                if f != i and c != f and c != i:
                    other, via = c, True
            via_count += via
            z = f0 + f_tri * via - f_hom * abs(agent[i, 1] - agent[other, 1]) + agent[i, 0] + agent[other, 0]
            want = other != i and u_form < expit(z)
            assert keys[j] == (min(i, other) * n + max(i, other) if want else -1)
    assert 0.2 * m < via_count < 0.6 * m and 0.1 * m < (keys >= 0).sum() < 0.9 * m


def test_form_pairs_forms_each_wanted_pair_once_in_pair_order():
    """Distinct pairs in (min, max) order, neither direction existing, both ends with a free slot (add_pairs)."""
    rng = np.random.default_rng(6)
    n, k = 150, 5
    t = _compact_slots(rng, n, k, fill=0.5)
    agent = rng.normal(size=(n, 5))
    coef = np.array([-0.3, 0.8, 0.5, 0.2, 0.3, 0.2, 0.1, 0.4, 0.05])
    a, b = rng.integers(0, n, 600), rng.integers(0, n, 600)
    keys = np.where(a != b, np.minimum(a, b) * n + np.maximum(a, b), -1)
    keys = np.r_[keys, keys[:50], -np.ones(20, np.int64)]  # repeats and non-meetings
    ref = TieSlots(n, k)
    ref.partner[:], ref.strength[:], ref.gain[:], ref.n_ties[:] = t.partner, t.strength, t.gain, t.n_ties
    pairs = np.unique(keys[keys >= 0])
    i, j = pairs // n, pairs % n
    g_ij = np.array([_kernels._pair_gain(agent, x, y, coef) for x, y in zip(i, j, strict=True)], dtype=np.float32)
    g_ji = np.array([_kernels._pair_gain(agent, y, x, coef) for x, y in zip(i, j, strict=True)], dtype=np.float32)
    formed_ref = ref.add_pairs(i, j, 0.3, g_ij, g_ji)
    formed = _kernels_week.form_pairs(pairs, t.partner, t.strength, t.gain, t.n_ties, k, agent, coef, np.float32(0.3))
    assert formed == int(formed_ref.sum()) > 20 and not formed_ref.all()
    np.testing.assert_array_equal(t.partner, ref.partner)
    np.testing.assert_array_equal(t.n_ties, ref.n_ties)
    np.testing.assert_array_equal(t.strength, ref.strength)
    np.testing.assert_array_equal(t.gain, ref.gain)


def test_agent_week_follows_the_support_stress_and_symptom_rules():
    """One fused agent pass vs the documented formulas (no conflicts, no pruning, no life events: no draws there)."""
    from sciplab.sim.distress import _B32, _MINUS_A32, _NEIGHBOURS
    from sciplab.sim.network import _prepare

    p = SimParams(n_agents=400, childhood_months=24)
    pop = _pop(n=400, weeks=3, seed=2)
    pop.therapy_support[:50] = 0.2
    t, nw, d = pop.ties, p.network, p.distress
    p = p.updated({"network.conflict_rate": 0.0, "distress.life_event_rate": 0.0})
    wk = _prepare(pop, p, np.uint64(1))
    pstate, net, dis = wk.pstate, wk.net, wk.dis
    assert net[_kernels_week.NET_COEF.index("conflict_rate")] == 0 and (wk.rates[:, _kernels_week._R_CONF] == 0).all()
    anx, avo, comp = pop.anxiety, pop.avoidance, pop.competencies
    w0, lonely0, stress0, x0 = t.strength2d.copy(), pop.lonely.copy(), pop.stress.copy(), pop.symptoms.copy()
    inten0 = pop.symptom_intensity.copy()
    total, friends = np.empty(400, np.float32), np.empty(400, np.float32)
    _kernels_week.tie_rows(np.uint64(76), False, t.strength, t.gain, t.partner, t.n_ties, t.k, pstate, wk.rates,
                           pop.lonely, net, total, friends)  # fmt: skip
    _kernels_week.agent_week(
        np.uint64(77), total, friends, comp, pop.prototype_anxiety, pop.state_anxiety, pop.prototype_avoidance,
        pop.state_avoidance, wk.rates, pop.therapy_support, pop.lonely, pop.loneliness, pop.received_support,
        pop.perceived_support, pop.stress, pop.symptoms, pop.symptom_intensity, _NEIGHBOURS, _MINUS_A32, _B32, net, dis,
    )  # fmt: skip
    keep = 1 - nw.decay * np.exp(
        nw.decay_avoidance * avo - nw.decay_disclosure * comp[:, 2] + nw.decay_lonely * lonely0
    )
    budget = 1 / (1 + t.n_ties / nw.capacity_half)
    w = np.where(w0 > 0, np.minimum(w0 * keep[:, None] + t.gain2d * budget[:, None], 1), 0)
    np.testing.assert_allclose(t.strength2d, w, rtol=2e-6)
    np.testing.assert_array_equal(pstate < 0, lonely0)
    total = (w * np.abs(pstate)[t.partner2d]).sum(axis=1)
    rs = 1 - np.exp(-total / nw.support_scale)
    np.testing.assert_allclose(pop.received_support, rs, rtol=1e-5)
    z = (np.log(np.clip(rs, 1e-4, 1 - 1e-4) / (1 - np.clip(rs, 1e-4, 1 - 1e-4))) - nw.support_bias_anxiety * anx
         - nw.support_bias_avoidance * avo + nw.support_self_efficacy * comp[:, 0] + nw.support_awareness * comp[:, 1]
         + pop.support_bias)  # fmt: skip
    np.testing.assert_allclose(pop.perceived_support, expit(z), rtol=1e-5)
    np.testing.assert_allclose(pop.stress, stress0 * d.stress_decay)
    ps = np.clip(pop.perceived_support + pop.therapy_support, 0, 1)
    conn = np.maximum(d.connectivity + d.connectivity_anxiety * anx + d.connectivity_avoidance * avo
                      - d.connectivity_awareness * comp[:, 1], 0)  # fmt: skip
    field = (d.field_intercept + pop.stress - d.field_support * ps + d.field_lonely * pop.loneliness
             + d.field_anxiety * anx + d.field_avoidance * avo - d.field_self_efficacy * comp[:, 0])  # fmt: skip
    prob = expit(CRAMER_A * ((x0 @ CRAMER_W) * conn[:, None] + field[:, None] - CRAMER_B))
    np.testing.assert_allclose(pop.symptom_intensity, inten0 + (prob - inten0) / d.symptom_memory_weeks, rtol=1e-4,
                               atol=1e-6)  # fmt: skip
    # SISa: onset and recovery with the documented probabilities (lonely friends from the start of the week)
    friends = (w * lonely0[t.partner2d]).sum(axis=1)
    onset = expit(nw.lonely_intercept + nw.lonely_support * (0.5 - ps) + nw.lonely_anxiety * anx
                  - nw.lonely_self_efficacy * comp[:, 0] - nw.lonely_disclosure * comp[:, 2]
                  + nw.lonely_friends * friends)  # fmt: skip
    recover = expit(np.log(nw.lonely_recovery / (1 - nw.lonely_recovery)) + nw.lonely_support * (ps - 0.5))
    expected = np.where(lonely0, recover, onset)  # probability of changing state
    changed = pop.lonely != lonely0
    assert abs(changed.sum() - expected.sum()) < 4 * np.sqrt((expected * (1 - expected)).sum())


def test_rate_cache_follows_changed_agents_and_coefficients():
    """The cached per-agent rates equal freshly computed ones after therapy-like changes and a new parameter set."""
    from sciplab.sim.network import _prepare

    p = SimParams(n_agents=400, childhood_months=24)
    pop = _pop(n=400, weeks=2, seed=3)

    def fresh(params):
        saved = pop.ties._work.pop("rate_inputs")
        rates = _prepare(pop, params, np.uint64(1)).rates.copy()
        pop.ties._work["rate_inputs"] = saved
        return rates

    rows = np.arange(0, 400, 7)
    pop.competencies[rows] += 0.3
    pop.prototype_anxiety[rows[::2]] -= 0.2
    pop.support_bias[rows[1::2]] += 0.1
    before = _prepare(pop, p, np.uint64(1)).rates.copy()
    np.testing.assert_array_equal(before, fresh(p))
    changed = ~(before == _prepare(pop, p.updated({"network.decay": 0.05}), np.uint64(1)).rates).all(axis=1)
    assert changed.all()  # a new coefficient set recomputes every agent
    np.testing.assert_array_equal(_prepare(pop, p, np.uint64(1)).rates, before)
    keep = before[:, _kernels_week._R_KEEP0]
    d = pop.avoidance, pop.competencies[:, 2]
    nw = p.network
    np.testing.assert_allclose(keep, 1 - nw.decay * np.exp(nw.decay_avoidance * d[0] - nw.decay_disclosure * d[1]),
                               rtol=1e-6)  # fmt: skip
