"""Adult network phase: emergent degree, support and loneliness (sciplab.sim.network)."""

import numpy as np

from sciplab.sim.childhood import run_childhood
from sciplab.sim.network import init_adulthood, run_weeks
from sciplab.sim.params import SimParams


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
