"""Parameter sections of therapy and measurement (see :mod:`sciplab.sim.params`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from sciplab.sim._fields import CAL, INF, NORM, POLICIES, _p, _Validated, mech_cal, mech_inf


@dataclasses.dataclass(frozen=True)
class TherapyParams(_Validated):
    """Help-seeking and session-by-session therapy dynamics (one session a week)."""

    section: ClassVar[str] = "therapy"

    policy: str = dataclasses.field(
        default="scip",
        metadata={
            "range": (None, None),
            "choices": POLICIES,
            "doc": "therapist policy",
            "source": mech_inf("Daly & Mallinckrodt (2009)"),
            "unit": "",
        },
    )
    sessions: int = _p(16, 1, 500, "planned sessions (weekly)", INF, "sessions")
    micro_steps: int = _p(
        20,
        1,
        1000,
        "micro-steps of the distance streams per session",
        mech_inf("Boker (2015): fast regulation within a session"),
        "steps",
    )
    session_length: float = _p(
        5.0, 0.01, 100, "length of a session in time units of the distance streams", INF, "time units"
    )
    help_intercept: float = _p(-4.5, -20, 20, "help-seeking logit intercept", CAL, "logit")
    help_distress: float = _p(0.9, -10, 10, "help-seeking logit per symptom-intensity point", INF, "logit")
    help_avoidance: float = _p(
        0.4, -10, 10, "help-seeking logit: minus avoidance", mech_inf("Dozier (1990)"), "logit per SD"
    )
    help_support: float = _p(0.5, -10, 10, "help-seeking logit: perceived support encourages", INF, "logit")
    preferred_anxiety: float = _p(
        0.5,
        0,
        5,
        "preferred distance: minus anxiety (closeness)",
        mech_inf("Mallinckrodt, Choi & Daly (2015)"),
        "distance per SD",
    )
    preferred_avoidance: float = _p(
        0.5, 0, 5, "preferred distance: plus avoidance", mech_inf("Mallinckrodt, Choi & Daly (2015)"), "distance per SD"
    )
    daily_sd: float = _p(0.25, 0, 5, "session-to-session SD of the preferred distance", INF, "distance")
    observation_sd: float = _p(
        0.2, 0, 5, "SD of the therapist's error in reading the preferred distance", INF, "distance"
    )
    therapist_noise_sd: float = _p(
        0.05, 0, 5, "SD of the therapist's distance around its target per micro-step", INF, "distance"
    )
    client_noise_sd: float = _p(
        0.1, 0, 5, "diffusion SD of the client's distance stream", INF, "distance per sqrt(time)"
    )
    self_regulation: float = _p(
        1.0, 0, 10, "client pull toward preferred distance", mech_inf("Boker (2015)"), "per time unit"
    )
    coregulation: float = _p(
        0.5,
        -5,
        5,
        "client co-regulation toward therapist (dependent > 0)",
        mech_inf("couples co-regulation (PMC8260608)"),
        "per time unit",
    )
    coregulation_anxiety: float = _p(
        0.3,
        -5,
        5,
        "co-regulation per SD anxiety (dependent coupling)",
        mech_inf("couples co-regulation (PMC8260608)"),
        "per SD",
    )
    coregulation_avoidance: float = _p(
        0.3,
        -5,
        5,
        "co-regulation per SD avoidance (contrarian, minus)",
        mech_inf("couples co-regulation (PMC8260608)"),
        "per SD",
    )
    tolerance: float = _p(0.6, 1e-3, 10, "tolerance width of distance misfit for a secure client", INF, "distance")
    tolerance_insecurity: float = _p(
        0.25, 0, 3, "log-narrowing of tolerance per SD of anxiety + avoidance", INF, "log per SD"
    )
    tension_decay: float = _p(1.0, 0, 10, "tension decay tau_T", INF, "per time unit")
    rupture_threshold: float = _p(1.4, 0, 100, "tension at which a rupture opens", CAL, "tension")
    repair_intercept: float = _p(0.8, -10, 10, "repair logit intercept", CAL, "logit")
    repair_responsiveness: float = _p(
        1.0,
        -10,
        10,
        "repair logit per SD therapist responsiveness",
        mech_inf("Safran, Muran & Eubanks-Carter (2011)"),
        "logit per SD",
    )
    repair_metacommunication: float = _p(
        0.5,
        -10,
        10,
        "repair logit when the policy metacommunicates",
        mech_inf("Safran, Muran & Eubanks-Carter (2011)"),
        "logit",
    )
    repair_tension: float = _p(0.5, -10, 10, "repair logit: minus tension", INF, "logit per unit")
    repair_tension_keep: float = _p(0.3, 0, 1, "share of tension left after a repair", INF, "ratio")
    alliance_initial: float = _p(0.55, 0, 1, "mean initial alliance (0-1)", INF, "alliance")
    support_z_scale: float = _p(
        0.25, 1e-3, 1, "perceived-support units per SD (for the intake alliance)", NORM, "support"
    )
    alliance_support: float = _p(
        0.06, -1, 1, "initial alliance per SD perceived support", mech_inf("Mallinckrodt (1991)"), "alliance per SD"
    )
    alliance_self_efficacy: float = _p(
        0.04, -1, 1, "initial alliance per SD social self-efficacy", mech_inf("Mallinckrodt (2000)"), "alliance per SD"
    )
    alliance_avoidance: float = _p(
        0.03, -1, 1, "initial alliance: minus per SD avoidance", mech_inf("Notsu et al. (2024)"), "alliance per SD"
    )
    alliance_sd: float = _p(0.08, 0, 1, "SD of initial alliance", INF, "alliance")
    alliance_comfort: float = _p(0.04, 0, 1, "alliance change per unit mean comfort", INF, "alliance")
    alliance_comfort_offset: float = _p(
        0.5, -5, 5, "mean comfort at which the alliance holds steady (minus)", INF, "comfort"
    )
    availability_comfort: float = _p(
        -0.5, -10, 0, "mean comfort above which the therapist counts as available", INF, "comfort"
    )
    alliance_repair: float = _p(
        0.08, 0, 1, "alliance gain from a repair", mech_inf("Eubanks, Muran & Safran (2018)"), "alliance"
    )
    alliance_rupture: float = _p(
        0.06,
        0,
        1,
        "alliance loss per session with an open rupture",
        mech_inf("Eubanks, Muran & Safran (2018)"),
        "alliance",
    )
    alliance_threshold: float = _p(
        0.45, 0, 1, "alliance above which corrective change happens (B_min)", INF, "alliance"
    )
    dropout_intercept: float = _p(-4.2, -20, 5, "dropout logit per session", INF, "logit per session")
    dropout_alliance: float = _p(4.0, -20, 20, "dropout logit: minus per unit alliance above 0.5", INF, "logit")
    dropout_rupture: float = _p(
        1.2, -10, 10, "dropout logit with an open rupture", mech_inf("McLaughlin et al. (2014)"), "logit"
    )
    corrective_rate: float = _p(
        0.12,
        0,
        1,
        "drift of preferred distance toward therapist distance (zeta)",
        mech_inf("Boker (2015)"),
        "per session",
    )
    rupture_stress: float = _p(
        4.0,
        0,
        20,
        "stress added when therapy ends with a rupture unrepaired",
        mech_cal("Eubanks, Muran & Safran (2018): unrepaired ruptures -> worse outcome"),
        "E",
    )
    repair_weight: float = _p(
        2.0,
        1,
        10,
        "weight of a repaired rupture in corrective drift (counts double)",
        mech_inf("Petters (2004-2008): learning in distressed episodes"),
        "ratio",
    )
    attachment_change: float = _p(
        0.6,
        0,
        5,
        "prototype change per unit drift of preferred distance",
        "[inference] mechanism (SCIP path k, Mallinckrodt 2000) and value",
        "z per unit",
    )
    competency_change: float = _p(
        0.5,
        0,
        5,
        "competency gain per unit security gain",
        "[inference] mechanism (SCIP path k, Mallinckrodt 2000) and value",
        "z per z",
    )
    therapist_support: float = _p(
        0.25, 0, 2, "perceived support added by the alliance while in therapy", INF, "support per alliance"
    )
    awareness_gain: float = _p(0.01, 0, 1, "emotional awareness gain per attended session", INF, "z per session")
    secure_distance: float = _p(
        0.0, -5, 5, "secure set-point D_s of the distance axis", mech_inf("Daly & Mallinckrodt (2009)"), "distance"
    )
    engage_sessions: int = _p(
        3,
        0,
        100,
        "SCIP policy: sessions at the client's preferred distance",
        mech_inf("Daly & Mallinckrodt (2009)"),
        "sessions",
    )
    policy_rate: float = _p(
        0.15,
        0,
        5,
        "SCIP policy: distance moved toward D_s per session",
        mech_inf("Mallinckrodt (2010)"),
        "distance per session",
    )
    policy_step_back: float = _p(
        0.5,
        0,
        1,
        "SCIP policy: share of the way back toward the client after a strain",
        mech_inf("Daly & Mallinckrodt (2009)"),
        "ratio",
    )
    fixed_distance: float = _p(0.0, -5, 5, "fixed policy: therapist distance", INF, "distance")
    disconfirm_push: float = _p(
        1.0, 0, 5, "disconfirming policy: overshoot beyond D_s", mech_inf("Thomas et al. (2014)"), "ratio"
    )
    responsiveness_sd: float = _p(1.0, 0, 5, "SD of therapist responsiveness across clients", INF, "z")


@dataclasses.dataclass(frozen=True)
class MeasurementParams(_Validated):
    """Latent states -> item responses and read-outs."""

    section: ClassVar[str] = "measurement"

    error: bool = dataclasses.field(
        default=True,
        metadata={
            "range": (None, None),
            "doc": "add measurement error (targeting published reliability)",
            "source": INF,
            "unit": "",
        },
    )
    default_alpha: float = _p(0.85, 0.05, 0.99, "reliability target when an instrument records none", INF, "alpha")
    recall_bias: float = _p(
        0.2,
        -3,
        3,
        "PBI: recalled care lowered per SD of anxiety",
        mech_inf("working-model bias in retrospective report"),
        "z per SD",
    )
    care_center: float = _p(-0.6, -10, 10, "logit of caregiver care at the population centre", NORM, "logit")
    care_scale: float = _p(1.3, 1e-3, 10, "logit SD of caregiver care", NORM, "logit")
    overprotection_center: float = _p(-0.5, -10, 10, "logit of overprotection at the population centre", NORM, "logit")
    overprotection_scale: float = _p(1.0, 1e-3, 10, "logit SD of overprotection", NORM, "logit")
    elevation_insecurity: float = _p(0.2, -5, 5, "IIP elevation per SD of anxiety and of avoidance", INF, "z per SD")
    elevation_assertion: float = _p(0.3, -5, 5, "IIP elevation: minus per SD assertion", INF, "z per SD")
    cats_alliance_center: float = _p(0.6, 0, 1, "alliance at the CATS z centre", NORM, "alliance")
    cats_alliance_scale: float = _p(0.15, 1e-3, 1, "alliance units per CATS z", NORM, "alliance")
    cats_relation_center: float = _p(0.7, 0, 1, "therapist-availability evidence at the CATS z centre", NORM, "share")
    cats_relation_scale: float = _p(0.15, 1e-3, 1, "availability units per CATS z", NORM, "share")
    cats_secure_alliance: float = _p(
        0.75,
        -5,
        5,
        "CATS Secure per z alliance",
        mech_inf("Mallinckrodt, Gantt & Coble (1995): secure = therapist felt responsive"),
        "z per z",
    )
    cats_secure_relation: float = _p(
        0.25,
        -5,
        5,
        "CATS Secure per z therapist availability",
        mech_inf("Mallinckrodt, Gantt & Coble (1995)"),
        "z per z",
    )
    cats_secure_insecurity: float = _p(
        0.1,
        -5,
        5,
        "CATS Secure: minus per SD anxiety and per SD avoidance",
        mech_inf("Mallinckrodt & Jeong (2015)"),
        "z per SD",
    )
    cats_secure_noise: float = _p(
        1.3,
        0,
        10,
        "SD of CATS Secure not explained by the simulated states",
        "[inference] mechanism; value calibrated to calibration target T3 (CATS Secure-WAI .71); not a reliability",
        "z",
    )
    cats_avoidant_avoidance: float = _p(
        0.2, -5, 5, "CATS Avoidant-Fearful per SD avoidance", mech_inf("Mallinckrodt & Jeong (2015)"), "z per SD"
    )
    cats_avoidant_tension: float = _p(0.3, -5, 5, "CATS Avoidant-Fearful per unit tension", INF, "z per unit")
    cats_avoidant_alliance: float = _p(
        0.5, -5, 5, "CATS Avoidant-Fearful: minus per z alliance", mech_inf("Mallinckrodt & Jeong (2015)"), "z per z"
    )
    cats_avoidant_noise: float = _p(0.8, 0, 10, "SD of CATS Avoidant-Fearful not explained by the states", INF, "z")
    cats_preoccupied_anxiety: float = _p(
        0.35, -5, 5, "CATS Preoccupied-Merger per SD anxiety", mech_inf("Mallinckrodt & Jeong (2015)"), "z per SD"
    )
    cats_preoccupied_distance: float = _p(
        0.2,
        -5,
        5,
        "CATS Preoccupied-Merger per unit therapist too distant",
        mech_inf("Mallinckrodt, Choi & Daly (2015)"),
        "z per unit",
    )
    cats_preoccupied_noise: float = _p(
        0.9, 0, 10, "SD of CATS Preoccupied-Merger not explained by the states", INF, "z"
    )
    rating_slope: float = _p(
        2.0, 0, 10, "therapist distance rating (1-7) per unit distance misfit", INF, "points per unit"
    )
    rating_noise_sd: float = _p(0.5, 0, 10, "SD of the therapist's distance rating error", INF, "points")
