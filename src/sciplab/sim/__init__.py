"""Agent-based simulation of the SCIP model, measured with the instrument library.

Caregiving -> attachment -> competencies -> network, support and distress -> therapy -> follow-up.

Public entry points: :func:`simulate`, :func:`calibrate`, :func:`sweep`, :class:`SimParams`.
The model is documented in ``docs/simulation-model.md``.
"""

from sciplab.sim.calibrate import CalibrationResult, calibrate, statistics
from sciplab.sim.distress import hysteresis
from sciplab.sim.model import SimResult, simulate
from sciplab.sim.params import SimParams, parameter_table
from sciplab.sim.policies import PolicyObservation, get_policy
from sciplab.sim.sweep import SweepResult, read_grid, sweep

__all__ = [
    "CalibrationResult",
    "PolicyObservation",
    "SimParams",
    "SimResult",
    "SweepResult",
    "calibrate",
    "get_policy",
    "hysteresis",
    "parameter_table",
    "read_grid",
    "simulate",
    "statistics",
    "sweep",
]
