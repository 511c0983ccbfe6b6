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


def test_building_the_initial_network_peaks_below_the_weekly_steps():
    """init_adulthood forms ties in blocks: its peak memory stays within 1.5x a weekly step's (issue 19)."""
    import tracemalloc

    from sciplab.sim.network import adult_step

    p = SimParams(n_agents=60_000, childhood_months=12)
    rng = np.random.default_rng(1)
    pop = run_childhood(p, rng)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        init_adulthood(pop, p, rng)
        init_peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        for week in range(4):
            adult_step(pop, p, rng, week)
        step_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert init_peak <= 1.5 * step_peak, (init_peak / 2**20, step_peak / 2**20)
    assert pop.ties.degree().mean() > 0.8 * p.network.initial_ties
