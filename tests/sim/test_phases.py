import numpy as np

from sciplab.sim.childhood import run_childhood
from sciplab.sim.distress import hysteresis, symptom_step
from sciplab.sim.network import init_adulthood, run_weeks
from sciplab.sim.params import SimParams
from sciplab.sim.state import TieSlots


def test_tie_slots_add_prune_and_csr_share_memory():
    t = TieSlots(4, 3)
    ok = t.add(np.array([0, 0, 0, 0]), np.array([1, 2, 3, 1]), np.full(4, 0.5, np.float32), np.zeros(4, np.float32))
    assert ok.tolist() == [True, True, True, False]  # capacity 3
    t.strength[0] = 0.01
    assert t.prune(0.05) == 1
    assert t.degree().tolist() == [2, 0, 0, 0]
    assert float((t.csr @ np.ones(4))[0]) == 1.0


def test_childhood_targets_signs():
    pop = run_childhood(SimParams(n_agents=6000), np.random.default_rng(11))
    anx, avo = pop.anxiety, pop.avoidance
    assert abs(anx.mean()) < 0.15 and 0.8 < anx.std() < 1.2
    r = np.corrcoef(anx, avo)[0, 1]
    assert 0.15 < r < 0.4
    assert 0.15 < np.corrcoef(pop.sensitivity, pop.infant_class == "B")[0, 1] < 0.33
    for k in range(6):
        assert np.corrcoef(anx, pop.competencies[:, k])[0, 1] < 0
        assert np.corrcoef(avo, pop.competencies[:, k])[0, 1] < 0


def test_network_reaches_dense_steady_state_and_support_tracks_ties():
    p = SimParams(n_agents=1500)
    rng = np.random.default_rng(2)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    run_weeks(pop, p, rng, 104)
    deg = pop.ties.degree()
    assert 30 < deg.mean() < 64
    assert (pop.ties.n_ties == deg).all()
    assert np.corrcoef(deg, pop.perceived_support)[0, 1] > 0.4
    assert 0.05 < pop.lonely.mean() < 0.4
    # ties point at real partners, never at the owner
    src, dst, _ = pop.ties.edges()
    assert (src != dst).all()


def test_symptom_step_extremes():
    x = np.zeros((3, 9), dtype=bool)
    new, p = symptom_step(x, np.ones(3), np.array([-10.0, 0.0, 10.0]), np.random.default_rng(0))
    assert p[0].max() < 1e-3 and p[2].min() > 0.99


def test_cramer_hysteresis_fixture():
    """Published Cramer et al. (2016) parameters: strong connectivity gives hysteresis, weak does not."""

    def area(c):
        h = hysteresis(c, n_steps=10_000, networks=8, seed=4)
        wide = h.pivot_table(index="stress", columns="direction", values="activity").dropna()
        return float((wide["falling"] - wide["rising"]).mean())

    strong, weak = area(2.0), area(0.5)
    assert strong > 0.4
    assert abs(weak) < 0.15
    assert strong > 3 * abs(weak)
