"""Tie slots shared with a CSR matrix (sciplab.sim.state)."""

import numpy as np

from sciplab.sim.state import TieSlots


def test_tie_slots_add_prune_and_csr_share_memory():
    t = TieSlots(4, 3)
    ok = t.add(np.array([0, 0, 0, 0]), np.array([1, 2, 3, 1]), np.full(4, 0.5, np.float32), np.zeros(4, np.float32))
    assert ok.tolist() == [True, True, True, False]  # capacity 3
    t.strength[0] = 0.01
    assert t.prune(0.05) == 1
    assert t.degree().tolist() == [2, 0, 0, 0]
    assert float((t.csr @ np.ones(4))[0]) == 1.0
