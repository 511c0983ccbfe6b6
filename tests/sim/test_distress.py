"""Symptom network (Cramer et al. 2016) and hysteresis (sciplab.sim.distress)."""

import numpy as np

from sciplab.sim.distress import hysteresis, symptom_step


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
