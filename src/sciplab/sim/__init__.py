"""Agent-based simulation of the SCIP model, measured with the instrument library.

Caregiving -> attachment -> competencies -> network, support and distress -> therapy -> follow-up.

Public entry points: :func:`simulate`, :func:`calibrate` (calibration and validation targets),
:func:`sweep`, :func:`compare_policies` (therapist-policy what-if), :func:`recovery` (recovery
study), :class:`SimParams`.
The model is documented in ``docs/simulation-model.md``.
"""

from sciplab.sim.calibrate import CalibrationResult, calibrate, statistics
from sciplab.sim.distress import hysteresis
from sciplab.sim.experiments import PolicyExperiment, compare_policies
from sciplab.sim.model import SimResult, simulate
from sciplab.sim.params import SimParams, parameter_table
from sciplab.sim.policies import PolicyObservation, get_policy
from sciplab.sim.recovery import RecoveryResult, recovery
from sciplab.sim.sweep import SweepResult, read_grid, sweep

__all__ = [
    "CalibrationResult",
    "PolicyExperiment",
    "PolicyObservation",
    "RecoveryResult",
    "SimParams",
    "SimResult",
    "SweepResult",
    "calibrate",
    "compare_policies",
    "get_policy",
    "hysteresis",
    "parameter_table",
    "read_grid",
    "recovery",
    "simulate",
    "statistics",
    "sweep",
]
