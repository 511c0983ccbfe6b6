"""A straightforward Mesa 3 version of the adult-phase rules of ``sciplab.sim.network`` (benchmark only).

Same weekly rules, parameters taken from :class:`sciplab.sim.params.SimParams` (so both sides always
use the same values), written the ordinary Mesa way: one ``Agent`` object per person, a dict of ties
(partner -> [strength, gain]), a per-agent ``step()`` activated in random order by
``shuffle_do`` and scalar arithmetic with Python's ``math``/``random`` (the fastest scalar tools;
nothing is slowed down on purpose). Every rule of ``adult_step`` is here:

1. meetings ``Poisson(meet_rate * exp(0.3 * initiation))``, a share through a friend of a friend;
2. SAOM-like formation logit (triadic, homophily, initiation, self-efficacy, avoidance, loneliness)
   with a free slot needed at both ends, per-direction interaction quality;
3. strengthening with decay (avoidance, loneliness) and the time budget, capped at 1; conflicts
   ``Poisson(conflict_rate * exp(c_anx * anxiety - 0.5 * CM))`` on a random one of the K slots;
   ties under ``min_strength`` dropped every ``prune_every`` weeks;
4. received support (saturating) and perceived support with the attachment bias;
5. SISa loneliness (onset with lonely-friend exposure, recovery) and its moving average;
6. life-event stress and the 9-node Cramer et al. (2016) symptom network with its moving average.

The one difference is inherent to the Mesa style: agents update one after another (asynchronous,
reading neighbours' current values) instead of all at once.
"""

from __future__ import annotations

import math
import random

import mesa
import numpy as np

from sciplab.sim.distress import CRAMER_A, CRAMER_B, CRAMER_W
from sciplab.sim.params import SimParams

_A = [float(a) for a in CRAMER_A]
_B = [float(b) for b in CRAMER_B]
_NB = [[k for k in range(9) if CRAMER_W[j, k]] for j in range(9)]


def _sig(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def _poisson(rnd: random.Random, lam: float) -> int:
    # Knuth's method (fast for the small weekly rates used here)
    limit, k, prod = math.exp(-lam), 0, rnd.random()
    while prod > limit:
        k += 1
        prod *= rnd.random()
    return k


class Person(mesa.Agent):
    def __init__(self, model, z):
        super().__init__(model)
        sse, ea, dis, cm, ini, warmth, anx, avo, bias = z
        self.sse, self.ea, self.dis, self.cm, self.ini, self.warmth = sse, ea, dis, cm, ini, warmth
        self.anx, self.avo = anx, avo
        self.bias = model.p.network.support_bias_sd * bias
        self.ties: dict[Person, list[float]] = {}  # partner -> [strength, gain]
        self.lonely = False
        self.loneliness = 0.0
        self.perceived = 0.5
        self.stress = 0.0
        self.symptoms = [False] * 9
        self.intensity = [0.0] * 9
        nw = model.p.network
        self.resp = _sig(
            nw.responsiveness_self_efficacy * sse + nw.responsiveness_awareness * ea + nw.responsiveness_warmth * warmth
        )

    def gain_to(self, other: Person) -> float:
        n = self.model.p.network
        q = _sig(
            n.quality_intercept
            + n.quality_disclosure * min(self.dis, other.dis)
            + n.quality_conflict_mgmt * (self.cm + other.cm) / 2
            + n.quality_warmth * (self.warmth + other.warmth) / 2
            - n.quality_anxiety * self.anx
        )
        return n.growth * q

    def solo(self) -> float:
        n = self.model.p.network
        return (
            n.form_initiation * self.ini / 2
            + n.form_self_efficacy * self.sse / 2
            - n.form_avoidance * self.avo / 2
            - n.form_lonely * self.lonely
        )

    def step(self):  # noqa: C901, PLR0912 - one Mesa step holds every rule
        m = self.model
        n, d, rnd, k = m.p.network, m.p.distress, m.rnd, m.k
        # 1-2 meetings and formation
        for _ in range(_poisson(rnd, n.meet_rate * math.exp(n.meet_initiation * self.ini))):
            other, via = m.people[rnd.randrange(m.n)], 0.0
            if rnd.random() < n.friend_of_friend and self.ties:
                friend = rnd.choice(list(self.ties))
                if friend.ties:
                    other, via = rnd.choice(list(friend.ties)), 1.0
            if other is self or other in self.ties or self in other.ties:
                continue
            z = (
                n.form_intercept
                + n.form_triadic * via
                - n.form_homophily * abs(self.warmth - other.warmth)
                + self.solo()
                + other.solo()
            )
            if rnd.random() < _sig(z) and len(self.ties) < k and len(other.ties) < k:
                self.ties[other] = [n.initial_strength, self.gain_to(other)]
                other.ties[self] = [n.initial_strength, other.gain_to(self)]
        # 3 strengthening, decay, conflicts, pruning
        keep = 1.0 - n.decay * math.exp(
            n.decay_avoidance * self.avo - n.decay_disclosure * self.dis + n.decay_lonely * self.lonely
        )
        budget = 1.0 / (1.0 + len(self.ties) / n.capacity_half)
        for tie in self.ties.values():
            tie[0] = min(1.0, tie[0] * keep + tie[1] * budget)
        conflict_rate = n.conflict_rate * math.exp(n.conflict_anxiety * self.anx - n.conflict_management * self.cm)
        for _ in range(_poisson(rnd, conflict_rate)):
            slot = rnd.randrange(k)
            if slot < len(self.ties):
                list(self.ties.values())[slot][0] *= 1.0 - n.conflict_cost
        if m.prune_week:
            for partner in [o for o, tie in self.ties.items() if tie[0] < n.min_strength]:
                del self.ties[partner]
        # 4 support
        total = lonely_friends = 0.0
        for partner, tie in self.ties.items():
            total += tie[0] * partner.resp
            if partner.lonely:
                lonely_friends += tie[0]
        rs = min(max(1.0 - math.exp(-total / n.support_scale), 1e-4), 1 - 1e-4)
        ps = _sig(
            math.log(rs / (1 - rs))
            - n.support_bias_anxiety * self.anx
            - n.support_bias_avoidance * self.avo
            + n.support_self_efficacy * self.sse
            + n.support_awareness * self.ea
            + self.bias
        )
        self.perceived = ps
        # 5 loneliness (SISa)
        u = rnd.random()
        if self.lonely:
            self.lonely = u >= _sig(m.recovery_logit + n.lonely_support * (ps - 0.5))
        else:
            self.lonely = u < _sig(
                n.lonely_intercept
                + n.lonely_support * (0.5 - ps)
                + n.lonely_anxiety * self.anx
                - n.lonely_self_efficacy * self.sse
                - n.lonely_disclosure * self.dis
                + n.lonely_friends * lonely_friends
            )
        self.loneliness += (self.lonely - self.loneliness) / n.lonely_memory_weeks
        # 6 distress: life events and the Cramer symptom network
        self.stress *= d.stress_decay
        if _poisson(rnd, d.life_event_rate):
            self.stress += rnd.expovariate(1.0 / d.life_event_severity) * math.exp(d.stress_avoidance * self.avo)
        conn = max(
            d.connectivity
            + d.connectivity_anxiety * self.anx
            + d.connectivity_avoidance * self.avo
            - d.connectivity_awareness * self.ea,
            0.0,
        )
        field = (
            d.field_intercept
            + self.stress
            - d.field_support * ps
            + d.field_lonely * self.loneliness
            + d.field_anxiety * self.anx
            + d.field_avoidance * self.avo
            - d.field_self_efficacy * self.sse
        )
        old = self.symptoms
        new = [False] * 9
        for j in range(9):
            drive = conn * sum(old[i] for i in _NB[j]) + field
            p = _sig(_A[j] * (drive - _B[j]))
            new[j] = rnd.random() < p
            self.intensity[j] += (p - self.intensity[j]) / d.symptom_memory_weeks
        self.symptoms = new


class NetworkModel(mesa.Model):
    """``n`` persons with ``initial_ties`` mutual ties each on average; ``step()`` = one week."""

    def __init__(self, n, initial_ties=50, seed=0, params: SimParams | None = None):
        super().__init__(seed=seed)
        self.p = params if params is not None else SimParams()
        self.rnd = random.Random(seed)
        self.n = n
        self.k = min(self.p.network.max_ties, n - 1)
        self.week = 0
        self.prune_week = False
        self.recovery_logit = math.log(self.p.network.lonely_recovery / (1 - self.p.network.lonely_recovery))
        z = np.random.default_rng(seed).standard_normal((n, 9))
        self.people = [Person(self, row.tolist()) for row in z]
        # random initial network with mean degree ``initial_ties`` (as sciplab's start of adulthood)
        pairs = 0
        while pairs < n * initial_ties // 2:
            p, o = self.people[self.rnd.randrange(n)], self.people[self.rnd.randrange(n)]
            if o is not p and o not in p.ties and len(o.ties) < self.k and len(p.ties) < self.k:
                p.ties[o] = [0.5, p.gain_to(o)]
                o.ties[p] = [0.5, o.gain_to(p)]
                pairs += 1

    def step(self):
        self.prune_week = (self.week + 1) % self.p.network.prune_every == 0
        self.agents.shuffle_do("step")
        self.week += 1
