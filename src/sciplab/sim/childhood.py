"""Childhood phase (monthly steps, 0-18 years): caregiving -> working model -> attachment, competencies.

Rules (all vectorised over agents; the only loop is over months):

1. Caregiver traits at birth from the caregiver's own attachment (van IJzendoorn 1995):
   ``sensitivity = logistic(mu_s - e * (anx_cg + avo_cg) / 2 + N(0, 1))``; consistency falls with
   caregiver anxiety, rejection rises with caregiver avoidance and low sensitivity, overprotection
   rises with caregiver anxiety.
2. Bids and responses (Petters 2004-2008): ``n ~ Poisson(lambda_b)`` bids a month, responses
   ``~ Binomial(n, s * kappa + (1 - kappa) * U(0, 1))``, warm responses ``~ Binomial(responses, 1 - rho)``.
   Learning is weighted by the share of bids made in distress (infant reactivity): infants learn
   mainly in anxious episodes.
3. Working model as sufficient statistics with forgetting: evidence of availability (Beta counts),
   unpredictability (running squared surprise), worthiness, experienced rejection
   (Cittern et al. 2018 style, [inference] functional form).
4. Dimensions from beliefs: anxiety from unpredictability, unworthiness, overprotection and
   reactivity; avoidance from expected unavailability and rejection ([inference]).
5. Prototype consolidation (Fraley 2002): ``P += eta(age) * (target - P)`` with eta decaying from
   0.2/month in infancy to 0.005/month; observed = ``P + S``, ``S`` an AR(1) state.
6. Strange-situation read-out at 12 months: B when both observed dimensions are below the coder's
   cut point of each, else A or C by the dimension further above its cut (the categories as cut
   points on two dimensions, Fraley & Spieker 2003; the two cuts are calibrated to the recalled
   B/A/C shares). Targets: sensitivity-security r = .24 (De Wolff & van IJzendoorn 1997).
7. Competencies move toward a person set-point minus attachment effects (Wei, Russell & Zakalik
   2005; Mallinckrodt & Wei 2005: both dimensions lower both social self-efficacy and awareness).

Deliberate simplifications: no childhood peer network (peer quality enters
through the competency set-point noise); the "dimension target" uses fixed centring constants so
what-if changes of caregiving shift the population rather than being re-standardised away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit

from sciplab.sim.params import SimParams
from sciplab.sim.state import COMPETENCIES, Population

__all__ = ["run_childhood"]


def _caregiving(n: int, p: SimParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = p.childhood
    r = c.caregiver_anx_av_r
    z1 = rng.standard_normal(n)
    z2 = r * z1 + np.sqrt(1 - r * r) * rng.standard_normal(n)
    zs = c.sensitivity_mean - c.caregiver_insecurity_effect * (z1 + z2) / 2 + rng.standard_normal(n)
    sd = c.caregiver_trait_sd
    return {
        "caregiver_anxiety": z1,
        "caregiver_avoidance": z2,
        "sensitivity": expit(zs),
        "consistency": expit(c.consistency_mean - c.consistency_anxiety * z1 + sd * rng.standard_normal(n)),
        "rejection": expit(
            c.rejection_mean
            + c.rejection_avoidance * z2
            - c.rejection_sensitivity * (zs - c.sensitivity_mean)
            + sd * rng.standard_normal(n)
        ),
        "overprotection": expit(c.overprotection_mean + c.overprotection_anxiety * z1 + sd * rng.standard_normal(n)),
    }


def run_childhood(
    params: SimParams, rng: np.random.Generator, progress: Callable[[int, int], None] | None = None
) -> Population:
    """Simulate childhood for ``params.n_agents`` agents and return the population at age 18.

    Examples
    --------
    >>> pop = run_childhood(SimParams(n_agents=500), np.random.default_rng(1))
    >>> pop.competencies.shape
    (500, 6)
    """
    n = params.n_agents
    c = params.childhood
    cg = _caregiving(n, params, rng)
    temperament = c.temperament_sd * rng.standard_normal(n)
    yes = np.ones(n)
    no = np.ones(n)
    worth = np.full(n, c.initial_worth)
    unpred = np.full(n, c.initial_unpredictability)
    rej = np.zeros(n)
    proto_anx = np.zeros(n)
    proto_avo = np.zeros(n)
    s_sd = c.state_sd * np.sqrt(1 - c.state_ar**2)
    st_anx = c.state_sd * rng.standard_normal(n)
    st_avo = c.state_sd * rng.standard_normal(n)
    g = rng.standard_normal(n)
    share = c.competency_general_share
    setpoint = c.competency_sd * (
        np.sqrt(share) * g[:, None] + np.sqrt(1 - share) * rng.standard_normal((n, len(COMPETENCIES)))
    )
    weights = c.attachment_weights()
    comp = setpoint.copy()
    infant_sec = np.zeros(n)
    infant_cls = np.full(n, "B", dtype="<U1")
    months = params.childhood_months
    for m in range(months):
        bids = rng.poisson(c.bids_per_month, n)
        p_resp = cg["sensitivity"] * cg["consistency"] + (1 - cg["consistency"]) * rng.random(n)
        resp = rng.binomial(bids, p_resp)
        warm = rng.binomial(resp, 1 - cg["rejection"])
        distressed = expit(temperament + rng.standard_normal(n))
        any_bid = bids > 0
        safe = np.maximum(bids, 1)
        rate = resp / safe
        expect = yes / (yes + no)
        surprise = np.where(any_bid, (rate - expect) ** 2, unpred)
        w = c.learning_rate * distressed
        yes = c.memory * yes + w * resp
        no = c.memory * no + w * (bids - resp)
        unpred += c.surprise_rate * (surprise - unpred)
        worth += np.where(any_bid, w * (warm / safe - worth), 0.0)
        rej += np.where(resp > 0, c.rejection_learning * ((resp - warm) / np.maximum(resp, 1) - rej), 0.0)
        expect = yes / (yes + no)
        anx_raw = (
            c.anxiety_unpredictability * np.sqrt(unpred)
            + c.anxiety_unworthiness * (1 - worth)
            + c.anxiety_overprotection * cg["overprotection"]
            + c.anxiety_temperament * temperament
        )
        avo_raw = c.avoidance_unavailability * (1 - expect) + c.avoidance_rejection * rej
        target_anx = (anx_raw - c.anxiety_center) / c.anxiety_scale
        target_avo = (avo_raw - c.avoidance_center) / c.avoidance_scale
        age = m / 12.0
        decline = np.exp(-age / c.prototype_age_years)
        eta = c.prototype_rate_adult + (c.prototype_rate_infant - c.prototype_rate_adult) * decline
        # the prototype carries most of the observed variance; the state the rest (Fraley 2002)
        proto_anx += eta * (c.prototype_share * target_anx - proto_anx)
        proto_avo += eta * (c.prototype_share * target_avo - proto_avo)
        st_anx = c.state_ar * st_anx + s_sd * rng.standard_normal(n)
        st_avo = c.state_ar * st_avo + s_sd * rng.standard_normal(n)
        anx = proto_anx + st_anx
        avo = proto_avo + st_avo
        att = np.column_stack([anx, avo]) @ weights.T * c.attachment_effect
        comp += c.competency_rate * (setpoint - att - comp) + c.competency_noise_sd * rng.standard_normal(comp.shape)
        if m == 11:
            # one 20-minute observation: behaviour = dimensions + situational noise
            obs_anx = anx + c.strange_situation_sd * rng.standard_normal(n)
            obs_avo = avo + c.strange_situation_sd * rng.standard_normal(n)
            infant_sec = -(obs_anx + obs_avo)
            # the coder's two cuts (Fraley & Spieker 2003: the categories cut two dimensions)
            over_anx = obs_anx - c.strange_situation_cut_anxiety
            over_avo = obs_avo - c.strange_situation_cut_avoidance
            infant_cls = np.where(
                (over_anx < 0) & (over_avo < 0), "B", np.where(over_avo >= over_anx, "A", "C")
            ).astype("<U1")
        if progress is not None:
            progress(m + 1, months)
    warmth = (
        -c.warmth_avoidance * (proto_avo + st_avo)
        - c.warmth_anxiety * (proto_anx + st_anx)
        + c.style_sd * rng.standard_normal(n)
    )
    dominance = (
        c.dominance_assertion * comp[:, COMPETENCIES.index("assertion")]
        - c.dominance_anxiety * (proto_anx + st_anx)
        + c.style_sd * rng.standard_normal(n)
    )
    return Population(
        n=n,
        temperament=temperament,
        evidence_yes=yes,
        evidence_no=no,
        worth=worth,
        unpredictability=unpred,
        rejection_experienced=rej,
        prototype_anxiety=proto_anx,
        prototype_avoidance=proto_avo,
        state_anxiety=st_anx,
        state_avoidance=st_avo,
        competencies=comp,
        competency_setpoint=setpoint,
        dominance=dominance,
        warmth=warmth,
        infant_security=infant_sec,
        infant_class=infant_cls,
        **cg,
    )
