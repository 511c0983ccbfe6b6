"""Follow-up: changed competencies and attachment feed back into ties, support and distress.

After therapy the clients' ties are re-evaluated with their new competencies (interaction quality
of every tie they own is recomputed, :func:`sciplab.sim.network.refresh_quality`); lower attachment
insecurity already enters the decay, formation, support-bias and symptom-connectivity rules, which
read the current state every week. This closes the SCIP change loop (Mallinckrodt 2000, path k,
[inference]): corrective experience -> competencies and security -> support -> distress.
"""

from __future__ import annotations

import numpy as np

from sciplab.sim.network import refresh_quality
from sciplab.sim.params import SimParams
from sciplab.sim.state import Population

__all__ = ["refresh_after_therapy"]


def refresh_after_therapy(pop: Population, clients: np.ndarray, params: SimParams) -> None:
    """Recompute the interaction quality of the clients' ties and end therapist support."""
    pop.therapy_support[:] = 0.0
    refresh_quality(pop, clients, params)
