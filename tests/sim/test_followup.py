"""Follow-up: the SCIP change loop after therapy (sciplab.sim.followup)."""

import numpy as np

from sciplab.sim import simulate
from sciplab.sim.childhood import run_childhood
from sciplab.sim.followup import refresh_after_therapy
from sciplab.sim.network import init_adulthood
from sciplab.sim.params import SimParams


def test_refresh_ends_therapist_support_and_rereads_competencies():
    p = SimParams(n_agents=300)
    rng = np.random.default_rng(1)
    pop = run_childhood(p, rng)
    init_adulthood(pop, p, rng)
    pop.therapy_support[:] = 0.3
    clients = np.arange(20)
    before = pop.ties.gain2d.copy()
    pop.competencies[clients] += 1.5
    refresh_after_therapy(pop, clients, p)
    assert (pop.therapy_support == 0).all()
    occ = pop.ties.strength2d[clients] > 0
    assert (pop.ties.gain2d[clients][occ] > before[clients][occ]).mean() > 0.9


def test_corrective_experience_lowers_clients_insecurity_at_follow_up():
    """Path k: with corrective change on, clients leave less insecure than with it switched off."""

    def change(attachment_change):
        params = SimParams(n_agents=1500, years=1).updated({"therapy.attachment_change": attachment_change})
        res = simulate(params=params, seed=21, instruments=None, session_instruments=None)
        c = res.persons[res.persons["in_therapy"]]
        anx = c["latent_attachment_anxiety_followup"] - c["latent_attachment_anxiety"]
        avo = c["latent_attachment_avoidance_followup"] - c["latent_attachment_avoidance"]
        return float((anx + avo).mean()), float(c["latent_security_gain"].mean())

    on, gain_on = change(0.6)
    off, gain_off = change(0.0)
    assert gain_off == 0 and gain_on > 0.02
    assert on < off - 0.02  # the insecurity drop is larger with corrective experience
