"""Childhood phase (monthly steps, 0-18 years): caregiving -> working model -> attachment, competencies.

Rules (all vectorised over agents; the only loop is over months):

1. Caregiver traits at birth from the caregiver's own attachment (simulation.md 6.2):
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
6. Strange-situation read-out at 12 months: B when both dimensions are below a cut point, else A
   (avoidance larger) or C. Targets: sensitivity-security r = .24 (De Wolff & van IJzendoorn 1997).
7. Competencies move toward a person set-point minus attachment effects (Wei, Russell & Zakalik
   2005; Mallinckrodt & Wei 2005: both dimensions lower both social self-efficacy and awareness).

Deliberate differences from the design sketch: no childhood peer network (peer quality enters
through the competency set-point noise); the "dimension target" uses fixed centring constants so
what-if changes of caregiving shift the population rather than being re-standardised away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit

from sciplab.sim.params import SimParams
from sciplab.sim.state import COMPETENCIES, Population

__all__ = ["ATTACHMENT_WEIGHTS", "run_childhood"]

#: Relative (anxiety, avoidance) weights of the attachment -> competency paths, per competency.
#: Signs: M&W (2005) both dimensions lower both mediators; Wei, Russell & Zakalik (2005): social
#: self-efficacy more specific to anxiety, disclosure to avoidance. Magnitudes [inference].
ATTACHMENT_WEIGHTS = np.array(
    [
        [0.8, 0.5],  # social_self_efficacy
        [0.5, 0.8],  # emotional_awareness
        [0.3, 1.0],  # self_disclosure
        [0.6, 0.4],  # assertion
        [0.5, 0.6],  # initiation
        [0.7, 0.3],  # conflict_management
    ]
)
assert ATTACHMENT_WEIGHTS.shape == (len(COMPETENCIES), 2)  # noqa: S101 - module invariant

# Centring of the raw dimension targets (chosen so the default population has mean ~0, SD ~1).
_ANX_CENTER, _ANX_SCALE = 0.48, 0.227
_AVO_CENTER, _AVO_SCALE = 0.62, 0.26
# Strange-situation cut point on the observed dimensions (z units): gives ~62% B under defaults.
INFANT_CUT = 0.9


def _caregiving(n: int, p: SimParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = p.childhood
    r = c.caregiver_anx_av_r
    z1 = rng.standard_normal(n)
    z2 = r * z1 + np.sqrt(1 - r * r) * rng.standard_normal(n)
    zs = c.sensitivity_mean - c.caregiver_insecurity_effect * (z1 + z2) / 2 + rng.standard_normal(n)
    return {
        "caregiver_anxiety": z1,
        "caregiver_avoidance": z2,
        "sensitivity": expit(zs),
        "consistency": expit(c.consistency_mean - 0.8 * z1 + 0.8 * rng.standard_normal(n)),
        "rejection": expit(
            c.rejection_mean + 0.8 * z2 - 0.5 * (zs - c.sensitivity_mean) + 0.8 * rng.standard_normal(n)
        ),
        "overprotection": expit(c.overprotection_mean + 0.6 * z1 + 0.8 * rng.standard_normal(n)),
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
    worth = np.full(n, 0.5)
    unpred = np.full(n, 0.05)
    rej = np.zeros(n)
    proto_anx = np.zeros(n)
    proto_avo = np.zeros(n)
    s_sd = c.state_sd * np.sqrt(1 - c.state_ar**2)
    st_anx = c.state_sd * rng.standard_normal(n)
    st_avo = c.state_sd * rng.standard_normal(n)
    g = rng.standard_normal(n)
    setpoint = c.competency_sd * (0.5 * g[:, None] + np.sqrt(0.75) * rng.standard_normal((n, len(COMPETENCIES))))
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
        unpred += 0.1 * (surprise - unpred)
        worth += np.where(any_bid, w * (warm / safe - worth), 0.0)
        rej += np.where(resp > 0, 0.1 * ((resp - warm) / np.maximum(resp, 1) - rej), 0.0)
        expect = yes / (yes + no)
        anx_raw = 1.2 * np.sqrt(unpred) + 0.2 * (1 - worth) + 0.3 * cg["overprotection"] + 0.2 * temperament
        avo_raw = 1.0 * (1 - expect) + 0.6 * rej
        target_anx = (anx_raw - _ANX_CENTER) / _ANX_SCALE
        target_avo = (avo_raw - _AVO_CENTER) / _AVO_SCALE
        age = m / 12.0
        eta = c.prototype_rate_adult + (c.prototype_rate_infant - c.prototype_rate_adult) * np.exp(-age / 3.0)
        # the prototype carries ~80% of the observed variance; the state the rest (Fraley 2002)
        proto_anx += eta * (0.9 * target_anx - proto_anx)
        proto_avo += eta * (0.9 * target_avo - proto_avo)
        st_anx = c.state_ar * st_anx + s_sd * rng.standard_normal(n)
        st_avo = c.state_ar * st_avo + s_sd * rng.standard_normal(n)
        anx = proto_anx + st_anx
        avo = proto_avo + st_avo
        att = np.column_stack([anx, avo]) @ ATTACHMENT_WEIGHTS.T * c.attachment_effect
        comp += c.competency_rate * (setpoint - att - comp) + 0.02 * rng.standard_normal(comp.shape)
        if m == 11:
            # one 20-minute observation: behaviour = dimensions + situational noise
            obs_anx = anx + c.strange_situation_sd * rng.standard_normal(n)
            obs_avo = avo + c.strange_situation_sd * rng.standard_normal(n)
            infant_sec = -(obs_anx + obs_avo)
            infant_cls = np.where(
                (obs_anx < INFANT_CUT) & (obs_avo < INFANT_CUT), "B", np.where(obs_avo >= obs_anx, "A", "C")
            ).astype("<U1")
        if progress is not None:
            progress(m + 1, months)
    warmth = -0.35 * (proto_avo + st_avo) - 0.1 * (proto_anx + st_anx) + 0.8 * rng.standard_normal(n)
    dominance = (
        0.3 * comp[:, COMPETENCIES.index("assertion")] - 0.2 * (proto_anx + st_anx) + 0.8 * rng.standard_normal(n)
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
