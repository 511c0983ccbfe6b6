"""The optimised adult-phase kernels against straightforward reference versions."""

import numpy as np
import pytest
from scipy.special import expit

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


def test_prune_matches_reference():
    rng = np.random.default_rng(3)
    t = TieSlots(50, 8)
    s = rng.random(400).astype(np.float32) * 0.2
    s[rng.random(400) < 0.3] = 0
    t.strength[:] = s
    t.partner[:] = np.where(s > 0, (np.arange(400) // 8 + 1) % 50, np.arange(400) // 8)
    t.gain[:] = np.where(s > 0, 0.01, 0).astype(np.float32)
    t.n_ties[:] = (t.strength2d > 0).sum(axis=1)
    dead = (s > 0) & (s < 0.08)
    assert t.prune(0.08) == int(dead.sum())
    np.testing.assert_array_equal(t.strength, np.where(dead, 0, s))
    assert (t.gain[dead] == 0).all() and (t.partner[dead] == np.flatnonzero(dead) // 8).all()
    np.testing.assert_array_equal(t.n_ties, (t.strength2d > 0).sum(axis=1))


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


@pytest.mark.parametrize("prune", [True, False])
def test_tie_pass_kernel_matches_the_rule_order_in_numpy(prune):
    """Strengthen, then conflicts, then pruning, then the two sums: the compiled sweep vs NumPy.

    Without pruning, rows without conflicts take the branch-free loop, the others the general one.
    """
    from sciplab.sim import _kernels

    rng = np.random.default_rng(11)
    n, k = 300, 8
    t = TieSlots(n, k)
    s = (rng.random(n * k) * (rng.random(n * k) < 0.7)).astype(np.float32)
    t.strength[:] = s
    t.partner[:] = np.where(s > 0, rng.integers(0, n, n * k), np.arange(n * k) // k)
    t.gain[:] = np.where(s > 0, rng.random(n * k) * 0.05, 0).astype(np.float32)
    t.n_ties[:] = (t.strength2d > 0).sum(axis=1)
    keep = rng.uniform(0.9, 1.0, n).astype(np.float32)
    budget = rng.uniform(0.3, 1.0, n).astype(np.float32)
    conflicts = np.sort(rng.integers(0, n * k, 200))
    resp = rng.random(n).astype(np.float32)
    lonely = (rng.random(n) < 0.3).astype(np.float32)
    # reference, step by step
    w = np.minimum(t.strength2d * keep[:, None] + t.gain2d * budget[:, None], 1).ravel()
    for c in conflicts:
        w[c] *= np.float32(0.7)
    dead = (w > 0) & (w < 0.08) & prune
    w[dead] = 0
    partner = np.where(dead, np.arange(n * k) // k, t.partner)
    ref_total = (w * resp[partner]).reshape(n, k).sum(axis=1)
    ref_lonely = (w * lonely[partner]).reshape(n, k).sum(axis=1)
    ptr = np.searchsorted(conflicts, np.arange(n + 1) * k)
    total = np.empty(n, np.float32)
    lf = np.empty(n, np.float32)
    state = np.ascontiguousarray(np.stack([resp, lonely], axis=1))
    _kernels.tie_pass(t.strength, t.gain, t.partner, t.n_ties, k, keep, budget, ptr, conflicts, np.float32(0.7), prune,
                      np.float32(0.08), state, total, lf)  # fmt: skip
    np.testing.assert_allclose(t.strength, w, rtol=1e-6)
    np.testing.assert_array_equal(t.partner, partner)
    np.testing.assert_allclose(total, ref_total, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lf, ref_lonely, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(t.n_ties, (t.strength2d > 0).sum(axis=1))


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
