"""Childhood phase: emergent attachment statistics within Monte Carlo bands (sciplab.sim.childhood)."""

import numpy as np

from sciplab.sim.childhood import run_childhood
from sciplab.sim.params import SimParams


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


def test_caregiver_sensitivity_raises_security_and_lowers_insecurity():
    """A more sensitive caregiving population yields less anxious and avoidant adults (De Wolff & van IJzendoorn)."""
    low = run_childhood(
        SimParams(n_agents=3000).updated({"childhood.sensitivity_mean": -1.0}), np.random.default_rng(3)
    )
    high = run_childhood(
        SimParams(n_agents=3000).updated({"childhood.sensitivity_mean": 1.5}), np.random.default_rng(3)
    )
    assert high.anxiety.mean() < low.anxiety.mean() - 0.1
    assert high.avoidance.mean() < low.avoidance.mean() - 0.1
    assert (high.infant_class == "B").mean() > (low.infant_class == "B").mean() + 0.05
