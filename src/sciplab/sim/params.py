"""Parameters of the SCIP simulation: frozen, validated dataclasses with defaults and sources.

Every parameter is a dataclass field whose metadata records the allowed range, a short description
and the source of its default (a published figure, a calibration choice, or ``[inference]``).
Validation happens on construction; an out-of-range value raises
:class:`~sciplab._core.errors.InvalidParameterError` naming the parameter (``network.meet_rate``),
the bad value and the allowed range. :func:`parameter_table` lists all of them (it generates the
parameter tables of ``docs/simulation-model.md``).

Sources
-------
Design sketch: ``simulation.md`` section 6 (the project's references document); SCIP paths:
Mallinckrodt (2000), Mallinckrodt & Wei (2005); symptom network: Cramer et al. (2016);
loneliness contagion: Hill et al. (2010), Cacioppo et al. (2009); therapy distance management:
Daly & Mallinckrodt (2009), Mallinckrodt, Choi & Daly (2015). Defaults marked "calibrated" were
chosen so that the default model reproduces the calibration targets (``sciplab.sim.calibrate``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest

__all__ = [
    "POLICIES",
    "ChildhoodParams",
    "DistressParams",
    "MeasurementParams",
    "NetworkParams",
    "SimParams",
    "TherapyParams",
    "parameter_table",
]

POLICIES = ("fixed", "complementary", "scip", "disconfirming")


def _p(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "", source: str = "") -> Any:
    """A dataclass field with range, description and source in its metadata."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi), "doc": doc, "source": source})


class _Validated:
    """Mixin: check every field against its metadata range after construction."""

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if "range" not in f.metadata:
                continue
            value = getattr(self, f.name)
            name = f"{self.section}.{f.name}" if self.section else f.name
            lo, hi = f.metadata["range"]
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise InvalidParameterError(f"{name} must be true or false, got {value!r}")
                continue
            if isinstance(f.default, str):
                choices = f.metadata.get("choices") or ()
                if choices and value not in choices:
                    raise InvalidParameterError(
                        f"{name} must be one of {', '.join(choices)}, got {value!r}{suggest(str(value), choices)}"
                    )
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidParameterError(f"{name} must be a number, got {value!r}")
            if isinstance(f.default, int) and not isinstance(value, int):
                if not float(value).is_integer():
                    raise InvalidParameterError(f"{name} must be a whole number, got {value!r}")
                object.__setattr__(self, f.name, int(value))
                value = int(value)
            if not math.isfinite(float(value)):
                raise InvalidParameterError(f"{name} must be finite, got {value!r}")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                allowed = f"{lo if lo is not None else '-inf'} <= {f.name} <= {hi if hi is not None else 'inf'}"
                raise InvalidParameterError(
                    f"{name} = {value!r} is out of range; allowed: {allowed} ({f.metadata['doc']})"
                )


CAL = "calibrated (sciplab.sim.calibrate)"
INF = "[inference] design choice"


@dataclasses.dataclass(frozen=True)
class ChildhoodParams(_Validated):
    """Caregiving, working-model learning, prototype consolidation and competency development."""

    section: ClassVar[str] = "childhood"

    sensitivity_mean: float = _p(0.3, -5, 5, "logit mean of caregiver sensitivity", "simulation.md 6.2")
    caregiver_insecurity_effect: float = _p(
        0.6, 0, 5, "effect of caregiver anxiety/avoidance on sensitivity (logit)", "simulation.md 6.2"
    )
    caregiver_anx_av_r: float = _p(0.3, -0.9, 0.9, "correlation of caregiver anxiety and avoidance", INF)
    consistency_mean: float = _p(1.0, -5, 5, "logit mean of caregiver consistency", INF)
    rejection_mean: float = _p(-1.2, -5, 5, "logit mean of caregiver rejection", INF)
    overprotection_mean: float = _p(-0.5, -5, 5, "logit mean of caregiver overprotection", INF)
    bids_per_month: float = _p(8.0, 0.1, 100, "mean attachment bids per month (Poisson)", "simulation.md 6.3 (Petters)")
    learning_rate: float = _p(0.25, 0.0, 1.0, "working-model learning rate per distressed episode", CAL)
    memory: float = _p(0.97, 0.5, 1.0, "monthly retention of working-model evidence", INF)
    temperament_sd: float = _p(1.0, 0, 5, "SD of infant reactivity (distress share of bids, logit)", CAL)
    strange_situation_sd: float = _p(1.2, 0, 10, "SD of situational noise in the 12-month read-out", CAL)
    state_ar: float = _p(0.9, 0, 0.999, "monthly AR(1) coefficient of the attachment state S", "Fraley (2002)")
    state_sd: float = _p(0.45, 0, 5, "stationary SD of the attachment state S (z units)", CAL)
    prototype_rate_infant: float = _p(0.2, 0, 1, "prototype consolidation rate per month at age 0", "Fraley (2002)")
    prototype_rate_adult: float = _p(
        0.005, 0, 1, "prototype consolidation rate per month in adulthood", "Fraley (2002)"
    )
    competency_rate: float = _p(0.03, 0, 1, "monthly adjustment rate of competencies", INF)
    competency_sd: float = _p(0.75, 0, 5, "SD of person-specific competency set-points (z units)", CAL)
    attachment_effect: float = _p(
        0.35, 0, 3, "scale of attachment -> competency paths (Wei, Russell & Zakalik 2005 pattern)", CAL
    )


@dataclasses.dataclass(frozen=True)
class NetworkParams(_Validated):
    """Adult social network, support and loneliness (weekly steps)."""

    section: ClassVar[str] = "network"

    max_ties: int = _p(64, 2, 1000, "tie slots per agent (Dunbar-style capacity)", "Dunbar layers 5/15/50/150")
    initial_ties: float = _p(20.0, 0, 1000, "mean ties per agent at the start of adulthood", INF)
    meet_rate: float = _p(0.6, 0, 50, "mean new meetings per agent per week", INF)
    friend_of_friend: float = _p(0.6, 0, 1, "share of meetings through a friend (triadic closure)", "simulation.md 6.4")
    form_intercept: float = _p(-0.5, -10, 10, "tie formation logit intercept", "RSiena-style prior, calibrated")
    form_triadic: float = _p(0.4, -5, 5, "formation logit: met through a friend", "simulation.md 6.4")
    form_homophily: float = _p(0.5, -5, 5, "formation logit: warmth similarity", "simulation.md 6.4")
    form_initiation: float = _p(0.5, -5, 5, "formation logit: mean initiation", "simulation.md 6.4")
    form_self_efficacy: float = _p(0.4, -5, 5, "formation logit: mean social self-efficacy", "simulation.md 6.4")
    form_avoidance: float = _p(0.2, -5, 5, "formation logit: minus mean avoidance", "simulation.md 6.4")
    form_lonely: float = _p(0.5, -5, 5, "formation logit: minus number lonely", "Cacioppo et al. (2009)")
    initial_strength: float = _p(0.3, 0, 1, "strength of a new tie", INF)
    growth: float = _p(0.03, 0, 1, "weekly strengthening theta times interaction quality", INF)
    decay: float = _p(0.02, 0, 1, "weekly base decay of tie strength", INF)
    decay_avoidance: float = _p(0.15, -3, 3, "log-decay per SD of avoidance (withdrawal)", "simulation.md 6.4")
    decay_lonely: float = _p(0.5, -3, 3, "log-decay when lonely (periphery effect)", "Cacioppo et al. (2009)")
    min_strength: float = _p(0.08, 0, 1, "ties weaker than this are dropped", INF)
    capacity_half: float = _p(40.0, 1, 1e4, "ties at which the time budget halves strengthening", "Dunbar layers")
    prune_every: int = _p(4, 1, 52, "weeks between dropping weak ties", INF)
    quality_intercept: float = _p(0.3, -10, 10, "interaction quality logit intercept", INF)
    quality_disclosure: float = _p(0.6, -5, 5, "quality: min(disclosure_i, disclosure_j)", "simulation.md 6.4")
    quality_conflict_mgmt: float = _p(0.4, -5, 5, "quality: mean conflict management", "simulation.md 6.4")
    quality_warmth: float = _p(0.4, -5, 5, "quality: mean warmth", "Kiesler complementarity")
    quality_anxiety: float = _p(0.15, -5, 5, "quality: minus anxiety of the perceiver", INF)
    conflict_rate: float = _p(0.1, 0, 10, "weekly conflicts per agent at average anxiety", INF)
    conflict_anxiety: float = _p(0.5, -3, 3, "log-conflict per SD of anxiety (reassurance seeking)", INF)
    conflict_cost: float = _p(0.3, 0, 1, "share of tie strength lost in a conflict", INF)
    support_scale: float = _p(6.0, 1e-3, 1e4, "received support saturation constant", INF)
    support_bias_anxiety: float = _p(
        0.05, -3, 3, "perceived support bias: minus anxiety (logit)", "calibrated: d(anxiety -> outcome) -.46"
    )
    support_bias_avoidance: float = _p(0.15, -3, 3, "perceived support bias: minus avoidance (logit)", CAL)
    support_bias_sd: float = _p(0.5, 0, 5, "SD of person-specific support perception bias (logit)", CAL)
    lonely_intercept: float = _p(-3.2, -20, 5, "weekly loneliness onset logit", "Hill et al. (2010), calibrated")
    lonely_support: float = _p(4.0, -20, 20, "onset logit per unit (0.5 - perceived support)", CAL)
    lonely_anxiety: float = _p(0.5, -5, 5, "onset logit per SD of anxiety (Wei, Russell & Zakalik 2005)", CAL)
    lonely_self_efficacy: float = _p(
        0.3, -5, 5, "onset logit: minus per SD social self-efficacy", "Wei, Russell & Zakalik (2005)"
    )
    lonely_friends: float = _p(0.1, -5, 5, "onset logit per lonely-friend strength", "Cacioppo et al. (2009)")
    lonely_recovery: float = _p(0.12, 0, 1, "weekly recovery probability at average support", "Hill et al. (2010)")
    lonely_memory_weeks: float = _p(26.0, 1, 520, "time constant of the loneliness score (weeks)", INF)


@dataclasses.dataclass(frozen=True)
class DistressParams(_Validated):
    """Cramer et al. (2016) symptom network per agent; stress and support as external field."""

    section: ClassVar[str] = "distress"

    connectivity: float = _p(1.0, 0, 10, "baseline connectivity c of the symptom network", "Cramer et al. (2016)")
    connectivity_anxiety: float = _p(0.0, -5, 5, "connectivity per SD of anxiety (reactivity)", CAL)
    connectivity_awareness: float = _p(
        0.2, -5, 5, "connectivity per SD of emotional awareness (minus)", "calibrated: path EA -> distress < 0"
    )
    connectivity_avoidance: float = _p(
        0.0, -5, 5, "connectivity per SD of avoidance (plus; minus = deactivation dampens spreading)", INF
    )
    field_intercept: float = _p(-0.5, -10, 10, "baseline external field E", CAL)
    field_support: float = _p(1.2, -10, 10, "field: minus perceived support", "simulation.md 4.1 borrow")
    field_lonely: float = _p(0.5, -10, 10, "field: loneliness score", "simulation.md 4.1 borrow")
    field_self_efficacy: float = _p(
        0.2, -5, 5, "field per SD of social self-efficacy (minus)", "calibrated: path SSE -> distress < 0 (M&W 2005)"
    )
    field_avoidance: float = _p(
        -0.76,
        -5,
        5,
        "field per SD of avoidance (deactivation; Wei et al. 2005)",
        "calibrated: d(avoidance -> outcome) 0",
    )
    life_event_rate: float = _p(0.04, 0, 10, "life events per agent per week", INF)
    life_event_severity: float = _p(1.5, 0, 20, "mean life-event stress (exponential)", INF)
    stress_decay: float = _p(0.9, 0, 1, "weekly retention of life-event stress", INF)
    stress_avoidance: float = _p(
        0.75,
        -3,
        3,
        "log life-event stress per SD of avoidance (episodic reactivity; [inference])",
        "calibrated: path avoidance -> distress >= 0 with d(avoidance -> outcome) 0",
    )
    symptom_memory_weeks: float = _p(8.0, 1, 52, "time constant of symptom intensity (weeks)", "PHQ-9 2-week window")


@dataclasses.dataclass(frozen=True)
class TherapyParams(_Validated):
    """Help-seeking and session-by-session therapy dynamics."""

    section: ClassVar[str] = "therapy"

    policy: str = dataclasses.field(
        default="scip",
        metadata={
            "range": (None, None),
            "choices": POLICIES,
            "doc": "therapist policy",
            "source": "Daly & Mallinckrodt (2009)",
        },
    )
    sessions: int = _p(16, 1, 500, "planned sessions (weekly)", INF)
    micro_steps: int = _p(20, 1, 1000, "micro-steps of the distance streams per session", "simulation.md 6.5")
    help_intercept: float = _p(-4.5, -20, 20, "help-seeking logit intercept", CAL)
    help_distress: float = _p(0.9, -10, 10, "help-seeking logit per symptom-intensity point", INF)
    help_avoidance: float = _p(0.4, -10, 10, "help-seeking logit: minus avoidance (Dozier 1990)", "Dozier (1990)")
    help_support: float = _p(0.5, -10, 10, "help-seeking logit: perceived support encourages", INF)
    preferred_anxiety: float = _p(
        0.5, 0, 5, "preferred distance: minus anxiety (closeness)", "Mallinckrodt et al. (2015)"
    )
    preferred_avoidance: float = _p(0.5, 0, 5, "preferred distance: plus avoidance", "Mallinckrodt et al. (2015)")
    daily_sd: float = _p(0.25, 0, 5, "session-to-session SD of the preferred distance", INF)
    self_regulation: float = _p(1.0, 0, 10, "client pull toward preferred distance", "Boker (2015)")
    coregulation: float = _p(0.5, -5, 5, "client co-regulation toward therapist (dependent > 0)", "PMC8260608")
    coregulation_anxiety: float = _p(0.3, -5, 5, "co-regulation per SD anxiety (dependent coupling)", "PMC8260608")
    coregulation_avoidance: float = _p(0.3, -5, 5, "co-regulation per SD avoidance (contrarian, minus)", "PMC8260608")
    tolerance: float = _p(0.6, 1e-3, 10, "tolerance width of distance misfit for a secure client", INF)
    tolerance_insecurity: float = _p(0.25, 0, 3, "log-narrowing of tolerance per SD of anxiety + avoidance", INF)
    tension_decay: float = _p(1.0, 0, 10, "tension decay tau_T", INF)
    rupture_threshold: float = _p(1.0, 0, 100, "tension at which a rupture opens", CAL)
    repair_intercept: float = _p(0.0, -10, 10, "repair logit intercept", CAL)
    repair_responsiveness: float = _p(
        1.0, -10, 10, "repair logit per SD therapist responsiveness", "Safran et al. (2011)"
    )
    repair_metacommunication: float = _p(
        0.5, -10, 10, "repair logit when the policy metacommunicates", "Safran et al. (2011)"
    )
    repair_tension: float = _p(0.5, -10, 10, "repair logit: minus tension", INF)
    alliance_initial: float = _p(0.55, 0, 1, "mean initial alliance (0-1)", INF)
    alliance_support: float = _p(0.06, -1, 1, "initial alliance per SD perceived support", "Mallinckrodt (1991)")
    alliance_self_efficacy: float = _p(
        0.04, -1, 1, "initial alliance per SD social self-efficacy", "Mallinckrodt (2000)"
    )
    alliance_avoidance: float = _p(0.03, -1, 1, "initial alliance: minus per SD avoidance", "Notsu et al. (2024)")
    alliance_sd: float = _p(0.08, 0, 1, "SD of initial alliance", INF)
    alliance_comfort: float = _p(0.04, 0, 1, "alliance change per unit mean comfort", INF)
    alliance_repair: float = _p(0.08, 0, 1, "alliance gain from a repair", "Eubanks et al. (2018)")
    alliance_rupture: float = _p(0.06, 0, 1, "alliance loss per session with an open rupture", "Eubanks et al. (2018)")
    alliance_threshold: float = _p(0.45, 0, 1, "alliance above which corrective change happens (B_min)", INF)
    dropout_intercept: float = _p(-4.2, -20, 5, "dropout logit per session", INF)
    dropout_alliance: float = _p(4.0, -20, 20, "dropout logit: minus per unit alliance above 0.5", INF)
    dropout_rupture: float = _p(1.2, -10, 10, "dropout logit with an open rupture", "McLaughlin et al. (2014)")
    corrective_rate: float = _p(
        0.12, 0, 1, "drift of preferred distance toward therapist distance (zeta)", "Boker (2015)"
    )
    rupture_stress: float = _p(
        4.0,
        0,
        20,
        "stress added when therapy ends with a rupture unrepaired [inference]",
        "calibrated: d(repaired vs unrepaired) .62 (Eubanks et al. 2018)",
    )
    repair_weight: float = _p(
        2.0, 1, 10, "weight of a repaired rupture in corrective drift (counts double)", "simulation.md 6.5"
    )
    attachment_change: float = _p(
        0.6, 0, 5, "prototype change per unit drift of preferred distance", "[inference] path k"
    )
    competency_change: float = _p(0.5, 0, 5, "competency gain per unit security gain", "[inference] path k")
    therapist_support: float = _p(0.25, 0, 2, "perceived support added by the alliance while in therapy", INF)
    awareness_gain: float = _p(0.01, 0, 1, "emotional awareness gain per attended session", INF)
    secure_distance: float = _p(0.0, -5, 5, "secure set-point D_s of the distance axis", "Daly & Mallinckrodt (2009)")
    engage_sessions: int = _p(
        3, 0, 100, "SCIP policy: sessions at the client's preferred distance", "Daly & Mallinckrodt (2009)"
    )
    policy_rate: float = _p(0.15, 0, 5, "SCIP policy: distance moved toward D_s per session", "Mallinckrodt (2010)")
    fixed_distance: float = _p(0.0, -5, 5, "fixed policy: therapist distance", INF)
    disconfirm_push: float = _p(1.0, 0, 5, "disconfirming policy: overshoot beyond D_s", "Thomas et al. (2014)")
    responsiveness_sd: float = _p(1.0, 0, 5, "SD of therapist responsiveness across clients", INF)


@dataclasses.dataclass(frozen=True)
class MeasurementParams(_Validated):
    """Latent states -> item responses."""

    section: ClassVar[str] = "measurement"

    error: bool = dataclasses.field(
        default=True,
        metadata={
            "range": (None, None),
            "doc": "add measurement error (targeting published reliability)",
            "source": INF,
        },
    )
    default_alpha: float = _p(0.85, 0.05, 0.99, "reliability target when an instrument records none", INF)
    recall_bias: float = _p(0.2, -3, 3, "PBI: recalled care lowered per SD of anxiety", "simulation.md 6.7")


@dataclasses.dataclass(frozen=True)
class SimParams(_Validated):
    """All parameters of one simulation run.

    Examples
    --------
    >>> p = SimParams(n_agents=100)
    >>> p.network.max_ties
    64
    >>> p.updated({"network.meet_rate": 0.3}).network.meet_rate
    0.3
    """

    section: ClassVar[str] = ""

    n_agents: int = _p(2000, 2, 20_000_000, "number of agents", INF)
    years: float = _p(4.0, 0.0, 100.0, "years of adult network dynamics before help-seeking", INF)
    followup_weeks: int = _p(26, 0, 5200, "weeks of follow-up after therapy", INF)
    childhood_months: int = _p(216, 12, 600, "months of childhood (0-18 years)", "simulation.md 6.1")
    childhood: ChildhoodParams = dataclasses.field(default_factory=ChildhoodParams)
    network: NetworkParams = dataclasses.field(default_factory=NetworkParams)
    distress: DistressParams = dataclasses.field(default_factory=DistressParams)
    therapy: TherapyParams = dataclasses.field(default_factory=TherapyParams)
    measurement: MeasurementParams = dataclasses.field(default_factory=MeasurementParams)

    def updated(self, changes: Mapping[str, Any]) -> SimParams:
        """A copy with dotted-name changes (``{"network.meet_rate": 0.3, "n_agents": 500}``).

        Unknown names raise :class:`InvalidParameterError` with close-name suggestions.
        """
        names = parameter_names()
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if key not in names:
                raise InvalidParameterError(f"unknown simulation parameter {key!r}{suggest(key, names)}")
            if "." in key:
                sec, name = key.split(".", 1)
                nested.setdefault(sec, {})[name] = value
            else:
                top[key] = value
        for sec, vals in nested.items():
            top[sec] = dataclasses.replace(getattr(self, sec), **vals)
        return dataclasses.replace(self, **top)

    def flat(self) -> dict[str, Any]:
        """All parameters as ``{dotted name: value}``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                for g in dataclasses.fields(value):
                    out[f"{f.name}.{g.name}"] = getattr(value, g.name)
            else:
                out[f.name] = value
        return out


_SECTIONS = ("childhood", "network", "distress", "therapy", "measurement")


def parameter_names() -> list[str]:
    """Every dotted parameter name (``n_agents``, ``network.meet_rate``, ...)."""
    return list(SimParams(n_agents=2).flat())


def parameter_table() -> pd.DataFrame:
    """One row per parameter: ``name``, ``default``, ``min``, ``max``, ``description``, ``source``.

    Examples
    --------
    >>> t = parameter_table()
    >>> t.set_index("name").loc["distress.connectivity", "source"]
    'Cramer et al. (2016)'
    """
    rows = []
    for f in dataclasses.fields(SimParams):
        if f.name in _SECTIONS:
            cls = f.default_factory  # type: ignore[misc]
            for g in dataclasses.fields(cls):
                lo, hi = g.metadata["range"]
                rows.append((f"{f.name}.{g.name}", g.default, lo, hi, g.metadata["doc"], g.metadata["source"]))
        else:
            lo, hi = f.metadata["range"]
            rows.append((f.name, f.default, lo, hi, f.metadata["doc"], f.metadata["source"]))
    return pd.DataFrame(rows, columns=["name", "default", "min", "max", "description", "source"])
