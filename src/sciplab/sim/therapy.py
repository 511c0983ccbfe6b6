"""Help-seeking and therapy: session-by-session distance regulation, ruptures, repair, alliance, change.

Per session (vectorised over clients; loops only over sessions and micro-steps), after Daly &
Mallinckrodt (2009), Mallinckrodt (2010), Mallinckrodt, Choi & Daly (2015), Boker (2015) and Eubanks,
Muran & Safran (2018) (functional forms are [inference]; every coefficient is a field of
:class:`~sciplab.sim.params.TherapyParams`):

* Preferred distance ``D*_c = k_av * avoidance - k_anx * anxiety`` (Mallinckrodt, Choi & Daly
  2015: avoidant clients feel "too close", anxious clients "too distant"), plus a session-to-session
  fluctuation. The therapist's distance ``D_t`` comes from the policy (:mod:`sciplab.sim.policies`).
* Micro-steps (Boker 2015 two-timescale regulation; couples co-regulation): ``D_c += dt * [a_c
  (D*_c - D_c) + kappa_c (D_t - D_c)] + noise`` with ``kappa_c = kappa0 + kappa_anx anx - kappa_av av``
  (dependent coupling for anxiety, contrarian for avoidance).
* Comfort ``-|D_t - D*_c| / width`` (width narrower for insecure clients); tension
  ``T += dt * (-comfort - tau T)``; a rupture opens when ``T`` exceeds the threshold, typed
  **withdrawal** when the therapist is too close (``D_t < D*_c``) and **confrontation** when too
  distant (Schenk et al. 2020 types; direction mapping [inference]).
* Repair of an open rupture: ``logistic(r0 + r1 responsiveness + r2 metacommunication - r3 T)``.
* Alliance ``B += alpha (mean comfort + 0.5) + beta repair - gamma open rupture``, initial ``B``
  rising with perceived support and self-efficacy, falling with avoidance (Mallinckrodt 1991).
* Dropout hazard ``logistic(d0 - d_B (B - 0.5) + d_open open)`` (McLaughlin et al. 2014).
* Corrective experience (path k, [inference]): while ``B > B_min`` the preferred distance drifts
  toward the therapist's, ``D*_c += zeta (D_t - D*_c)``, a repaired rupture counting double; a
  drift away from the hyperactivating side lowers the anxiety prototype, away from the
  deactivating side the avoidance prototype; competencies rise with the security gain (SCIP change
  loop) and emotional awareness with attendance.
* No corrective drift in a session that ends with a rupture open; leaving therapy (dropout or the
  last session) with a rupture unrepaired adds ``rupture_stress`` to the client's stress (the
  insecure expectation is confirmed; Eubanks, Muran & Safran 2018) [inference].
* While in therapy the alliance adds perceived support (the therapist as a support source).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy.special import expit

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.params import SimParams
from sciplab.sim.policies import METACOMMUNICATING, Policy, PolicyObservation
from sciplab.sim.state import COMPETENCIES, Population

__all__ = ["TherapyState", "help_seeking", "run_session", "start_therapy"]

_EA = COMPETENCIES.index("emotional_awareness")


def help_seeking(pop: Population, params: SimParams, rng: np.random.Generator) -> np.ndarray:
    """Indices of agents who enter therapy: ``logistic(h0 + h_d distress - h_av av + h_ps (PS - .5))``.

    Avoidant people seek help less (Dozier 1990); support networks encourage help-seeking [inference].
    """
    t = params.therapy
    distress = pop.symptom_intensity.sum(axis=1)
    z = (
        t.help_intercept
        + t.help_distress * distress
        - t.help_avoidance * pop.avoidance
        + t.help_support * (pop.perceived_support - 0.5)
    )
    return np.flatnonzero(rng.random(pop.n) < expit(z))


@dataclasses.dataclass
class TherapyState:
    """Per-client therapy arrays (struct of arrays over clients)."""

    clients: np.ndarray
    active: np.ndarray
    preferred: np.ndarray
    therapist_distance: np.ndarray
    tension: np.ndarray
    rupture_open: np.ndarray
    alliance: np.ndarray
    responsiveness: np.ndarray
    relation_yes: np.ndarray
    relation_no: np.ndarray
    n_sessions: np.ndarray
    n_ruptures: np.ndarray
    n_repaired: np.ndarray
    n_withdrawal: np.ndarray
    n_confrontation: np.ndarray
    dropped: np.ndarray
    anxiety_pre: np.ndarray
    avoidance_pre: np.ndarray
    distress_pre: np.ndarray
    security_gain: np.ndarray
    metacommunicates: bool
    records: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)

    def sessions_frame(self) -> pd.DataFrame:
        """One row per client-session."""
        if not self.records:
            return pd.DataFrame(columns=["person_id", "session"])
        return pd.concat([pd.DataFrame(r) for r in self.records], ignore_index=True)


def start_therapy(
    pop: Population, clients: np.ndarray, params: SimParams, rng: np.random.Generator, policy_name: str
) -> TherapyState:
    """Intake: preferred distance, initial alliance and therapist responsiveness per client."""
    t = params.therapy
    m = clients.size
    anx = pop.anxiety[clients]
    avo = pop.avoidance[clients]
    ps_z = (pop.perceived_support[clients] - 0.5) / t.support_z_scale
    sse = pop.competencies[clients, 0]
    b0 = (
        t.alliance_initial
        + t.alliance_support * ps_z
        + t.alliance_self_efficacy * sse
        - t.alliance_avoidance * avo
        + t.alliance_sd * rng.standard_normal(m)
    )
    preferred = t.preferred_avoidance * avo - t.preferred_anxiety * anx
    return TherapyState(
        clients=clients,
        active=np.ones(m, dtype=bool),
        preferred=preferred,
        therapist_distance=preferred.copy(),
        tension=np.zeros(m),
        rupture_open=np.zeros(m, dtype=bool),
        alliance=np.clip(b0, 0.0, 1.0),
        responsiveness=t.responsiveness_sd * rng.standard_normal(m),
        relation_yes=np.ones(m),
        relation_no=np.ones(m),
        n_sessions=np.zeros(m, dtype=np.int64),
        n_ruptures=np.zeros(m, dtype=np.int64),
        n_repaired=np.zeros(m, dtype=np.int64),
        n_withdrawal=np.zeros(m, dtype=np.int64),
        n_confrontation=np.zeros(m, dtype=np.int64),
        dropped=np.zeros(m, dtype=bool),
        anxiety_pre=anx.copy(),
        avoidance_pre=avo.copy(),
        distress_pre=pop.symptom_intensity[clients].sum(axis=1).astype(float),
        security_gain=np.zeros(m),
        metacommunicates=policy_name in METACOMMUNICATING,
    )


def run_session(
    ts: TherapyState, pop: Population, session: int, policy: Policy, params: SimParams, rng: np.random.Generator
) -> None:
    """Run session ``session`` (0-based) for every client still in therapy; updates ``pop`` in place."""
    t = params.therapy
    act = np.flatnonzero(ts.active)
    pop.therapy_support[ts.clients] = 0.0
    if act.size == 0:
        return
    who = ts.clients[act]
    anx = pop.anxiety[who]
    avo = pop.avoidance[who]
    obs = PolicyObservation(
        preferred_distance=ts.preferred[act] + t.observation_sd * rng.standard_normal(act.size),
        alliance=ts.alliance[act].copy(),
        rupture_open=ts.rupture_open[act].copy(),
        previous_distance=ts.therapist_distance[act].copy(),
        anxiety=anx,
        avoidance=avo,
    )
    target = np.asarray(policy(session, obs), dtype=float)
    if target.shape != (act.size,) or not np.isfinite(target).all():
        raise InvalidParameterError(
            f"policy returned {target.shape} values (finite: {bool(np.isfinite(target).all())}); "
            f"expected {act.size} finite distances, one per client in therapy"
        )
    day = ts.preferred[act] + t.daily_sd * rng.standard_normal(act.size)
    width = t.tolerance * np.exp(-t.tolerance_insecurity * np.clip(anx + avo, -2, 4))
    kappa = t.coregulation + t.coregulation_anxiety * anx - t.coregulation_avoidance * avo
    k_steps = t.micro_steps
    dt = t.session_length / k_steps
    d_c = day.copy()
    tension = ts.tension[act].copy()
    t_max = tension.copy()
    comfort_sum = np.zeros(act.size)
    d_c_sum = np.zeros(act.size)
    for _ in range(k_steps):
        d_t = target + t.therapist_noise_sd * rng.standard_normal(act.size)
        d_c += dt * (t.self_regulation * (day - d_c) + kappa * (d_t - d_c))
        d_c += t.client_noise_sd * np.sqrt(dt) * rng.standard_normal(act.size)
        comfort = -np.abs(d_t - day) / width
        tension += dt * (-comfort - t.tension_decay * tension)
        t_max = np.maximum(t_max, tension)
        comfort_sum += comfort
        d_c_sum += d_c
    comfort_mean = comfort_sum / k_steps
    was_open = ts.rupture_open[act]
    new = ~was_open & (t_max > t.rupture_threshold)
    withdrawal = new & (target < day)
    confrontation = new & ~withdrawal
    open_now = was_open | new
    p_rep = expit(
        t.repair_intercept
        + t.repair_responsiveness * ts.responsiveness[act]
        + t.repair_metacommunication * ts.metacommunicates
        - t.repair_tension * tension
    )
    repaired = open_now & (rng.random(act.size) < p_rep)
    still_open = open_now & ~repaired
    tension = np.where(repaired, t.repair_tension_keep * tension, tension)
    alliance = np.clip(
        ts.alliance[act]
        + t.alliance_comfort * (comfort_mean + t.alliance_comfort_offset)
        + t.alliance_repair * repaired
        - t.alliance_rupture * still_open,
        0.0,
        1.0,
    )
    available = comfort_mean > t.availability_comfort
    ts.relation_yes[act] += available
    ts.relation_no[act] += ~available
    # corrective experience: slow drift of the preferred distance (Boker's adaptive equilibrium)
    old = ts.preferred[act]
    # no corrective experience while a rupture stays open (change needs B > B_min and no open
    # rupture; Daly & Mallinckrodt 2009); a repaired rupture counts repair_weight times
    weight = np.where(repaired, t.repair_weight, 1.0) * (alliance > t.alliance_threshold) * ~still_open
    drift = t.corrective_rate * weight * (target - old)
    new_pref = old + drift
    toward = np.abs(new_pref - t.secure_distance) < np.abs(old - t.secure_distance)
    gain_anx = np.where(toward & (old < t.secure_distance), np.abs(drift), 0.0)
    gain_avo = np.where(toward & (old > t.secure_distance), np.abs(drift), 0.0)
    pop.prototype_anxiety[who] -= t.attachment_change * gain_anx
    pop.prototype_avoidance[who] -= t.attachment_change * gain_avo
    gains = np.column_stack([gain_anx, gain_avo]) @ params.childhood.attachment_weights().T
    pop.competencies[who] += t.competency_change * t.attachment_change * gains
    pop.competencies[who, _EA] += t.awareness_gain
    ts.security_gain[act] += t.attachment_change * (gain_anx + gain_avo)
    dropout = rng.random(act.size) < expit(
        t.dropout_intercept - t.dropout_alliance * (alliance - 0.5) + t.dropout_rupture * still_open
    )
    last = session == t.sessions - 1
    # ending with an unrepaired rupture confirms the insecure expectation: an interpersonal stressor
    # (Eubanks, Muran & Safran 2018: unrepaired ruptures -> worse outcome) [inference]
    ends_open = still_open & (dropout | last)
    if t.rupture_stress and ends_open.any():
        pop.stress[who[ends_open]] += t.rupture_stress
    # write back
    ts.preferred[act] = new_pref
    ts.therapist_distance[act] = target
    ts.tension[act] = tension
    ts.rupture_open[act] = still_open
    ts.alliance[act] = alliance
    ts.n_sessions[act] += 1
    ts.n_ruptures[act] += new
    ts.n_withdrawal[act] += withdrawal
    ts.n_confrontation[act] += confrontation
    ts.n_repaired[act] += repaired
    ts.dropped[act] = dropout & ~last
    ts.active[act] = ~dropout & ~last
    pop.therapy_support[who] = np.where(ts.active[act], t.therapist_support * alliance, 0.0)
    ts.records.append(
        {
            "person_id": who,
            "session": np.full(act.size, session + 1),
            "therapist_distance": target,
            "preferred_distance": day,
            "client_distance": d_c_sum / k_steps,
            "comfort": comfort_mean,
            "tension": tension,
            "rupture": new,
            "rupture_type": np.where(withdrawal, "withdrawal", np.where(confrontation, "confrontation", "")),
            "repaired": repaired,
            "rupture_open": still_open,
            "alliance": alliance,
            "distress": pop.symptom_intensity[who].sum(axis=1).astype(float),
            "dropped_out": dropout & ~last,
        }
    )
