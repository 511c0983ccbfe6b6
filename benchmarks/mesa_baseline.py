"""A minimal Mesa 3 version of the adult network rules (benchmark only; not part of sciplab).

Same rules as sciplab.sim.network: meetings with friend-of-friend closure, logistic formation,
strengthening/decay with a time budget, pruning, saturating support and SISa-like loneliness, written
the straightforward Mesa way (one Agent object per person, a dict of ties, per-agent step()).
"""

from __future__ import annotations

import math
import random

import mesa


class Person(mesa.Agent):
    def __init__(self, model, anx, avo, sse, ea, ini, warmth):
        super().__init__(model)
        self.anx, self.avo, self.sse, self.ea, self.ini, self.warmth = anx, avo, sse, ea, ini, warmth
        self.ties: dict[Person, list[float]] = {}  # partner -> [strength, gain]
        self.lonely = False
        self.support = 0.5
        self.resp = 1 / (1 + math.exp(-(0.5 * sse + 0.5 * ea + 0.3 * warmth)))

    def step(self):
        m = self.model
        rng = m.rng
        # meetings
        lam = m.meet_rate * math.exp(0.3 * self.ini)
        for _ in range(rng.poisson(lam)):
            other = None
            if self.ties and rng.random() < 0.6:
                friend = random.choice(list(self.ties))
                if friend.ties:
                    other = random.choice(list(friend.ties))
            if other is None:
                other = m.people[rng.integers(len(m.people))]
            if other is self or other in self.ties:
                continue
            z = (
                -0.5
                - 0.5 * abs(self.warmth - other.warmth)
                + 0.2 * (self.ini + other.ini)
                + 0.2 * (self.sse + other.sse)
            )
            if rng.random() < 1 / (1 + math.exp(-z)) and len(self.ties) < 64 and len(other.ties) < 64:
                q = 1 / (1 + math.exp(-0.3))
                self.ties[other] = [0.3, 0.03 * q]
                other.ties[self] = [0.3, 0.03 * q]
        # strengthening, decay, pruning
        keep = 1 - 0.02 * math.exp(0.15 * self.avo + 0.5 * self.lonely)
        budget = 1 / (1 + len(self.ties) / 40)
        total = 0.0
        for partner, tie in list(self.ties.items()):
            tie[0] = min(1.0, tie[0] * keep + tie[1] * budget)
            if tie[0] < 0.08:
                del self.ties[partner]
            else:
                total += tie[0] * partner.resp
        rs = 1 - math.exp(-total / 6)
        self.support = rs
        p_on = 1 / (1 + math.exp(-(-3.2 + 4 * (0.5 - rs))))
        self.lonely = (rng.random() >= 0.12) if self.lonely else (rng.random() < p_on)


class NetworkModel(mesa.Model):
    def __init__(self, n, initial_ties=50, seed=0):
        super().__init__(seed=seed)
        self.meet_rate = 0.6
        g = self.rng
        self.people = [Person(self, *g.standard_normal(6)) for _ in range(n)]
        for p in self.people:
            while len(p.ties) < initial_ties // 2:
                o = self.people[g.integers(n)]
                if o is not p and len(o.ties) < 64:
                    p.ties[o] = [0.5, 0.03]
                    o.ties[p] = [0.5, 0.03]

    def step(self):
        self.agents.shuffle_do("step")
