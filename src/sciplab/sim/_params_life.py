"""Parameter sections of the life course: childhood, adult network, distress (see :mod:`sciplab.sim.params`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from sciplab.sim._fields import CAL, INF, NORM, _p, _Validated, mech_cal, mech_inf, taken


@dataclasses.dataclass(frozen=True)
class ChildhoodParams(_Validated):
    """Caregiving, working-model learning, prototype consolidation and competency development (monthly)."""

    section: ClassVar[str] = "childhood"

    sensitivity_mean: float = _p(
        0.3, -5, 5, "logit mean of caregiver sensitivity", mech_inf("De Wolff & van IJzendoorn (1997)"), "logit"
    )
    caregiver_insecurity_effect: float = _p(
        0.6,
        0,
        5,
        "effect of caregiver anxiety/avoidance on sensitivity",
        mech_inf("van IJzendoorn (1995): parent attachment -> caregiving"),
        "logit per SD",
    )
    caregiver_anx_av_r: float = _p(0.3, -0.9, 0.9, "correlation of caregiver anxiety and avoidance", INF, "r")
    caregiver_trait_sd: float = _p(
        0.8, 0, 5, "SD of the noise in caregiver consistency, rejection, overprotection", INF, "logit"
    )
    consistency_mean: float = _p(1.0, -5, 5, "logit mean of caregiver consistency", INF, "logit")
    consistency_anxiety: float = _p(
        0.8,
        -5,
        5,
        "caregiver consistency: minus per SD caregiver anxiety",
        mech_inf("Cittern et al. (2018): inconsistent care -> ambivalence"),
        "logit per SD",
    )
    rejection_mean: float = _p(-1.2, -5, 5, "logit mean of caregiver rejection", INF, "logit")
    rejection_avoidance: float = _p(
        0.8,
        -5,
        5,
        "caregiver rejection per SD caregiver avoidance",
        mech_inf("Cittern et al. (2018): rejecting care -> avoidance"),
        "logit per SD",
    )
    rejection_sensitivity: float = _p(
        0.5, -5, 5, "caregiver rejection: minus per logit unit of sensitivity", INF, "logit per logit"
    )
    overprotection_mean: float = _p(-0.5, -5, 5, "logit mean of caregiver overprotection", INF, "logit")
    overprotection_anxiety: float = _p(
        0.6,
        -5,
        5,
        "caregiver overprotection per SD caregiver anxiety",
        mech_inf("Mallinckrodt (1991): PBI overprotection"),
        "logit per SD",
    )
    bids_per_month: float = _p(
        8.0, 0.1, 100, "mean attachment bids per month (Poisson)", mech_inf("Petters (2004-2008)"), "per month"
    )
    learning_rate: float = _p(
        0.25,
        0.0,
        1.0,
        "working-model learning rate per distressed episode",
        mech_cal("Petters (2004-2008): learning in anxious episodes"),
        "per bid",
    )
    memory: float = _p(0.97, 0.5, 1.0, "monthly retention of working-model evidence", INF, "per month")
    initial_worth: float = _p(0.5, 0, 1, "self-worth belief at birth (uninformed prior)", INF, "share")
    initial_unpredictability: float = _p(0.05, 0, 1, "running squared surprise at birth", INF, "squared share")
    surprise_rate: float = _p(
        0.1,
        0,
        1,
        "update rate of the running squared surprise (unpredictability)",
        mech_inf("Cittern et al. (2018)"),
        "per month",
    )
    rejection_learning: float = _p(0.1, 0, 1, "update rate of experienced rejection", INF, "per month")
    temperament_sd: float = _p(1.0, 0, 5, "SD of infant reactivity (distress share of bids)", CAL, "logit")
    anxiety_unpredictability: float = _p(
        1.2,
        -10,
        10,
        "anxiety target per unit sqrt(unpredictability)",
        mech_inf("Cittern et al. (2018): uncertainty -> hyperactivation"),
        "raw",
    )
    anxiety_unworthiness: float = _p(
        0.2,
        -10,
        10,
        "anxiety target per unit (1 - worth)",
        mech_inf("Bowlby/Cittern et al. (2018): model of self"),
        "raw",
    )
    anxiety_overprotection: float = _p(
        0.3, -10, 10, "anxiety target per unit caregiver overprotection", mech_inf("Mallinckrodt (1991)"), "raw"
    )
    anxiety_temperament: float = _p(0.2, -10, 10, "anxiety target per SD temperament", INF, "raw")
    avoidance_unavailability: float = _p(
        1.0,
        -10,
        10,
        "avoidance target per unit expected unavailability",
        mech_inf("Cittern et al. (2018): expected unavailability -> deactivation"),
        "raw",
    )
    avoidance_rejection: float = _p(
        0.6, -10, 10, "avoidance target per unit experienced rejection", mech_inf("Cittern et al. (2018)"), "raw"
    )
    anxiety_center: float = _p(0.48, -10, 10, "centre of the raw anxiety target", NORM, "raw")
    anxiety_scale: float = _p(0.227, 1e-3, 10, "scale of the raw anxiety target", NORM, "raw")
    avoidance_center: float = _p(0.62, -10, 10, "centre of the raw avoidance target", NORM, "raw")
    avoidance_scale: float = _p(0.26, 1e-3, 10, "scale of the raw avoidance target", NORM, "raw")
    strange_situation_sd: float = _p(
        1.2,
        0,
        10,
        "SD of situational noise in the 12-month read-out",
        mech_cal("Ainsworth Strange Situation: one 20-minute observation"),
        "z",
    )
    strange_situation_cut_anxiety: float = _p(
        1.55,
        -5,
        5,
        "coder's cut on observed anxiety (resistance, proximity seeking): B needs both below their cut",
        mech_cal("Fraley & Spieker (2003): Strange-Situation variation is dimensional; categories are cut points"),
        "z",
    )
    strange_situation_cut_avoidance: float = _p(
        0.8,
        -5,
        5,
        "coder's cut on observed avoidance: B needs both below their cut; otherwise the dimension further "
        "above its cut gives A (avoidance) or C (anxiety)",
        mech_cal("Fraley & Spieker (2003): Strange-Situation variation is dimensional; categories are cut points"),
        "z",
    )
    state_ar: float = _p(
        0.9,
        0,
        0.999,
        "monthly AR(1) coefficient of the attachment state S",
        mech_inf("Fraley (2002), prototype + state"),
        "per month",
    )
    state_sd: float = _p(0.45, 0, 5, "stationary SD of the attachment state S", mech_cal("Fraley (2002)"), "z")
    prototype_share: float = _p(
        0.9, 0, 1, "share of the dimension target the prototype settles on", mech_inf("Fraley (2002)"), "ratio"
    )
    prototype_rate_infant: float = _p(
        0.2, 0, 1, "prototype consolidation rate per month at age 0", mech_inf("Fraley (2002)"), "per month"
    )
    prototype_rate_adult: float = _p(
        0.005, 0, 1, "prototype consolidation rate per month in adulthood", mech_inf("Fraley (2002)"), "per month"
    )
    prototype_age_years: float = _p(
        3.0, 0.01, 100, "time constant of the decline of the consolidation rate", mech_inf("Fraley (2002)"), "years"
    )
    competency_rate: float = _p(0.03, 0, 1, "monthly adjustment rate of competencies", INF, "per month")
    competency_sd: float = _p(0.75, 0, 5, "SD of person-specific competency set-points", CAL, "z")
    competency_general_share: float = _p(
        0.25, 0, 1, "share of set-point variance that is a general factor", INF, "ratio"
    )
    competency_noise_sd: float = _p(0.02, 0, 5, "SD of monthly competency noise", INF, "z per month")
    attachment_effect: float = _p(
        0.35,
        0,
        3,
        "scale of the attachment -> competency paths (weights below)",
        mech_cal("Mallinckrodt & Wei (2005); Wei, Russell & Zakalik (2005)"),
        "z per z",
    )
    sse_anxiety: float = _p(
        0.5,
        -5,
        5,
        "weight anxiety -> social self-efficacy",
        mech_cal("Wei, Russell & Zakalik (2005): SSE specific to anxiety"),
        "relative",
    )
    sse_avoidance: float = _p(
        0.3,
        -5,
        5,
        "weight avoidance -> social self-efficacy",
        mech_cal("Mallinckrodt & Wei (2005): both dimensions lower SSE"),
        "relative",
    )
    awareness_anxiety: float = _p(
        0.5, -5, 5, "weight anxiety -> emotional awareness", mech_inf("Mallinckrodt & Wei (2005)"), "relative"
    )
    awareness_avoidance: float = _p(
        0.8, -5, 5, "weight avoidance -> emotional awareness", mech_inf("Mallinckrodt & Wei (2005)"), "relative"
    )
    disclosure_anxiety: float = _p(
        0.3, -5, 5, "weight anxiety -> self-disclosure", mech_inf("Wei, Russell & Zakalik (2005)"), "relative"
    )
    disclosure_avoidance: float = _p(
        1.0,
        -5,
        5,
        "weight avoidance -> self-disclosure",
        mech_inf("Wei, Russell & Zakalik (2005): disclosure specific to avoidance"),
        "relative",
    )
    assertion_anxiety: float = _p(0.6, -5, 5, "weight anxiety -> assertion", INF, "relative")
    assertion_avoidance: float = _p(0.4, -5, 5, "weight avoidance -> assertion", INF, "relative")
    initiation_anxiety: float = _p(0.5, -5, 5, "weight anxiety -> initiation", INF, "relative")
    initiation_avoidance: float = _p(0.6, -5, 5, "weight avoidance -> initiation", INF, "relative")
    conflict_anxiety: float = _p(0.7, -5, 5, "weight anxiety -> conflict management", INF, "relative")
    conflict_avoidance: float = _p(0.3, -5, 5, "weight avoidance -> conflict management", INF, "relative")
    warmth_avoidance: float = _p(
        0.35,
        -5,
        5,
        "circumplex warmth: minus per SD avoidance",
        mech_inf("Kiesler / interpersonal circumplex"),
        "per SD",
    )
    warmth_anxiety: float = _p(0.1, -5, 5, "circumplex warmth: minus per SD anxiety", INF, "per SD")
    dominance_assertion: float = _p(0.3, -5, 5, "circumplex dominance per SD assertion", INF, "per SD")
    dominance_anxiety: float = _p(0.2, -5, 5, "circumplex dominance: minus per SD anxiety", INF, "per SD")
    style_sd: float = _p(0.8, 0, 5, "SD of person-specific warmth and dominance", INF, "z")

    def attachment_weights(self) -> np.ndarray:
        """``(6, 2)`` weights (anxiety, avoidance) of the attachment -> competency paths, COMPETENCIES order."""
        return np.array(
            [
                [self.sse_anxiety, self.sse_avoidance],
                [self.awareness_anxiety, self.awareness_avoidance],
                [self.disclosure_anxiety, self.disclosure_avoidance],
                [self.assertion_anxiety, self.assertion_avoidance],
                [self.initiation_anxiety, self.initiation_avoidance],
                [self.conflict_anxiety, self.conflict_avoidance],
            ]
        )


@dataclasses.dataclass(frozen=True)
class NetworkParams(_Validated):
    """Adult social network, support and loneliness (weekly steps)."""

    section: ClassVar[str] = "network"

    max_ties: int = _p(64, 2, 1000, "tie slots per agent (capacity)", mech_inf("Dunbar layers 5/15/50/150"), "ties")
    initial_ties: float = _p(20.0, 0, 1000, "mean ties per agent at the start of adulthood", INF, "ties")
    init_rounds: int = _p(4, 1, 50, "rounds of random meetings that build the initial network", INF, "rounds")
    init_oversample: float = _p(1.2, 1, 10, "meetings per missing tie in each initial round", INF, "ratio")
    meet_rate: float = _p(0.6, 0, 50, "mean new meetings per agent per week", INF, "per week")
    meet_initiation: float = _p(
        0.3, -5, 5, "log meeting rate per SD of initiation", mech_inf("Buhrmester et al. ICQ: initiation"), "log per SD"
    )
    friend_of_friend: float = _p(
        0.6,
        0,
        1,
        "share of meetings through a friend (triadic closure)",
        mech_inf("Snijders, van de Bunt & Steglich (2010)"),
        "probability",
    )
    form_intercept: float = _p(
        -0.5, -10, 10, "tie formation logit intercept", mech_cal("Snijders, van de Bunt & Steglich (2010)"), "logit"
    )
    form_triadic: float = _p(
        0.4,
        -5,
        5,
        "formation logit: met through a friend",
        mech_inf("Snijders, van de Bunt & Steglich (2010)"),
        "logit",
    )
    form_homophily: float = _p(
        0.5,
        -5,
        5,
        "formation logit: minus warmth distance",
        mech_inf("Snijders, van de Bunt & Steglich (2010)"),
        "logit per unit",
    )
    form_initiation: float = _p(
        0.5,
        -5,
        5,
        "formation logit: mean initiation",
        mech_inf("Mallinckrodt (2000): skills recruit relationships"),
        "logit per SD",
    )
    form_self_efficacy: float = _p(
        0.4, -5, 5, "formation logit: mean social self-efficacy", mech_inf("Mallinckrodt (2000)"), "logit per SD"
    )
    form_avoidance: float = _p(
        0.2, -5, 5, "formation logit: minus mean avoidance", mech_inf("Dozier (1990): deactivation"), "logit per SD"
    )
    form_lonely: float = _p(
        0.5,
        -5,
        5,
        "formation logit: minus number lonely",
        mech_inf("Cacioppo et al. (2009): lonely move to the periphery"),
        "logit",
    )
    initial_strength: float = _p(0.3, 0, 1, "strength of a new tie", INF, "strength")
    growth: float = _p(0.03, 0, 1, "weekly strengthening theta times interaction quality", INF, "per week")
    decay: float = _p(0.02, 0, 1, "weekly base decay of tie strength", INF, "per week")
    decay_avoidance: float = _p(
        0.05,
        -3,
        3,
        "log-decay per SD of avoidance (withdrawal)",
        mech_cal("Mallinckrodt (2000): deactivating withdrawal"),
        "log per SD",
    )
    decay_disclosure: float = _p(
        0.3,
        -3,
        3,
        "log-decay: minus per SD of self-disclosure",
        mech_cal("Wei, Russell & Zakalik (2005): disclosure keeps ties"),
        "log per SD",
    )
    decay_lonely: float = _p(
        0.5, -3, 3, "log-decay when lonely (periphery effect)", mech_inf("Cacioppo et al. (2009)"), "log"
    )
    min_strength: float = _p(0.08, 0, 1, "ties weaker than this are dropped", INF, "strength")
    capacity_half: float = _p(
        40.0, 1, 1e4, "ties at which the time budget halves strengthening", mech_inf("Dunbar layers"), "ties"
    )
    prune_every: int = _p(4, 1, 52, "weeks between dropping weak ties", INF, "weeks")
    quality_intercept: float = _p(0.3, -10, 10, "interaction quality logit intercept", INF, "logit")
    quality_disclosure: float = _p(
        0.6,
        -5,
        5,
        "quality: min(disclosure_i, disclosure_j)",
        mech_inf("Wei, Russell & Zakalik (2005)"),
        "logit per SD",
    )
    quality_conflict_mgmt: float = _p(
        0.4,
        -5,
        5,
        "quality: mean conflict management",
        mech_inf("Buhrmester et al. ICQ: conflict management"),
        "logit per SD",
    )
    quality_warmth: float = _p(0.4, -5, 5, "quality: mean warmth", mech_inf("Kiesler: complementarity"), "logit per SD")
    quality_anxiety: float = _p(0.0, -5, 5, "quality: minus anxiety of the perceiver", INF, "logit per SD")
    conflict_rate: float = _p(0.1, 0, 10, "weekly conflicts per agent at average anxiety", INF, "per week")
    conflict_anxiety: float = _p(
        0.1,
        -3,
        3,
        "log-conflict per SD of anxiety (reassurance seeking)",
        mech_cal("Mallinckrodt (2000): hyperactivating strategies"),
        "log per SD",
    )
    conflict_management: float = _p(
        0.5, -3, 3, "log-conflict: minus per SD of conflict management", mech_inf("Buhrmester et al. ICQ"), "log per SD"
    )
    conflict_cost: float = _p(0.3, 0, 1, "share of tie strength lost in a conflict", INF, "ratio")
    responsiveness_self_efficacy: float = _p(
        0.5, -5, 5, "partner responsiveness logit per SD self-efficacy", mech_inf("Mallinckrodt (2000)"), "logit per SD"
    )
    responsiveness_awareness: float = _p(
        0.5,
        -5,
        5,
        "partner responsiveness logit per SD emotional awareness",
        mech_inf("Mallinckrodt & Wei (2005)"),
        "logit per SD",
    )
    responsiveness_warmth: float = _p(0.3, -5, 5, "partner responsiveness logit per SD warmth", INF, "logit per SD")
    support_scale: float = _p(6.0, 1e-3, 1e4, "received support saturation constant", INF, "strength x resp")
    support_self_efficacy: float = _p(
        0.5,
        -5,
        5,
        "perceived support logit per SD own social self-efficacy",
        mech_cal("Mallinckrodt & Wei (2005): competencies -> perceived support"),
        "logit per SD",
    )
    support_awareness: float = _p(
        1.0,
        -5,
        5,
        "perceived support logit per SD own emotional awareness",
        mech_cal("Mallinckrodt & Wei (2005)"),
        "logit per SD",
    )
    support_bias_anxiety: float = _p(
        0.0,
        -3,
        3,
        "perceived support bias: minus anxiety",
        mech_cal("Mallinckrodt (2000): working-model bias"),
        "logit per SD",
    )
    support_bias_avoidance: float = _p(
        0.15,
        -3,
        3,
        "perceived support bias: minus avoidance",
        mech_cal("Mallinckrodt (2000): working-model bias"),
        "logit per SD",
    )
    support_bias_sd: float = _p(0.5, 0, 5, "SD of person-specific support perception bias", CAL, "logit")
    lonely_intercept: float = _p(
        -3.2,
        -20,
        5,
        "weekly loneliness onset logit",
        mech_cal("Hill et al. (2010) SISa spontaneous onset"),
        "logit per week",
    )
    lonely_support: float = _p(
        4.0, -20, 20, "onset logit per unit (0.5 - perceived support)", mech_cal("Cacioppo et al. (2009)"), "logit"
    )
    lonely_anxiety: float = _p(
        1.15, -5, 5, "onset logit per SD of anxiety", mech_cal("Wei, Russell & Zakalik (2005)"), "logit per SD"
    )
    lonely_self_efficacy: float = _p(
        0.1,
        -5,
        5,
        "onset logit: minus per SD social self-efficacy",
        mech_cal("Wei, Russell & Zakalik (2005)"),
        "logit per SD",
    )
    lonely_disclosure: float = _p(
        0.3,
        -5,
        5,
        "onset logit: minus per SD self-disclosure",
        mech_cal("Wei, Russell & Zakalik (2005)"),
        "logit per SD",
    )
    lonely_friends: float = _p(
        0.1,
        -5,
        5,
        "onset logit per lonely-friend strength",
        mech_cal("Cacioppo et al. (2009) contagion"),
        "logit per strength",
    )
    lonely_recovery: float = _p(
        0.12,
        0,
        1,
        "weekly recovery probability at average support",
        mech_cal("Hill et al. (2010) SISa recovery (their annual rates are for other states; here per week)"),
        "probability per week",
    )
    lonely_memory_weeks: float = _p(26.0, 1, 520, "time constant of the loneliness score", INF, "weeks")


@dataclasses.dataclass(frozen=True)
class DistressParams(_Validated):
    """Cramer et al. (2016) symptom network per agent; stress and support as external field (weekly)."""

    section: ClassVar[str] = "distress"

    connectivity: float = _p(
        1.0,
        0,
        10,
        "baseline connectivity c of the symptom network",
        taken("Cramer et al. (2016), default connectivity of the published code"),
        "c",
    )
    connectivity_anxiety: float = _p(
        0.0,
        -5,
        5,
        "connectivity per SD of anxiety (reactivity)",
        mech_cal("Cramer et al. (2016): vulnerability = connectivity"),
        "c per SD",
    )
    connectivity_awareness: float = _p(
        0.2,
        -5,
        5,
        "connectivity: minus per SD of emotional awareness",
        mech_cal("Mallinckrodt & Wei (2005): awareness -> distress"),
        "c per SD",
    )
    connectivity_avoidance: float = _p(0.0, -5, 5, "connectivity per SD of avoidance", INF, "c per SD")
    field_intercept: float = _p(-0.5, -10, 10, "baseline external field E", mech_cal("Cramer et al. (2016)"), "E")
    field_support: float = _p(
        1.2,
        -10,
        10,
        "field: minus perceived support",
        mech_cal("Cramer et al. (2016) external field; Mallinckrodt & Wei (2005)"),
        "E per unit support",
    )
    field_lonely: float = _p(
        0.5,
        -10,
        10,
        "field: loneliness score",
        mech_cal("Wei, Russell & Zakalik (2005): loneliness -> later depression"),
        "E per unit",
    )
    field_self_efficacy: float = _p(
        0.2, -5, 5, "field: minus per SD of social self-efficacy", mech_cal("Mallinckrodt & Wei (2005)"), "E per SD"
    )
    field_anxiety: float = _p(
        0.3,
        -5,
        5,
        "field per SD of anxiety (rumination, reactivity)",
        mech_cal("Wei, Vogel et al. (2005): emotional reactivity"),
        "E per SD",
    )
    field_avoidance: float = _p(
        -0.65,
        -5,
        5,
        "field per SD of avoidance (deactivation)",
        mech_cal("Wei, Vogel et al. (2005): emotional cutoff"),
        "E per SD",
    )
    life_event_rate: float = _p(0.04, 0, 10, "life events per agent per week (about 2 a year)", INF, "per week")
    life_event_severity: float = _p(1.5, 0, 20, "mean life-event stress (exponential)", INF, "E")
    stress_decay: float = _p(0.9, 0, 1, "weekly retention of life-event stress", INF, "per week")
    stress_avoidance: float = _p(
        0.9, -3, 3, "log life-event stress per SD of avoidance (episodic reactivity)", CAL, "log per SD"
    )
    symptom_memory_weeks: float = _p(
        8.0, 1, 52, "time constant of symptom intensity", mech_inf("PHQ-9 two-week window"), "weeks"
    )
