"""Struct-of-arrays state of a simulated population and its tie slots.

One NumPy array per state variable, one row per agent (never one Python object per agent). Ties
live in fixed-capacity slots: agent *i* owns slots ``i*K .. i*K+K-1`` holding a partner index and
a strength (0 = empty). The slot arrays are shared, without copying, with a
:class:`scipy.sparse.csr_matrix` (``indptr = 0, K, 2K, ...``; an empty slot points at the agent
itself with weight 0), so support and contagion are sparse matrix-vector products and every rule
updates the arrays in place, vectorised over all ties. A tie is directed (the relationship as *i*
experiences it); formation creates both directions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

__all__ = ["COMPETENCIES", "Population", "TieSlots"]

#: Competency columns of ``Population.competencies`` (SCIP skills and dispositions).
COMPETENCIES = (
    "social_self_efficacy",
    "emotional_awareness",
    "self_disclosure",
    "assertion",
    "initiation",
    "conflict_management",
)


class TieSlots:
    """Fixed-capacity tie storage shared with a CSR matrix.

    Examples
    --------
    >>> t = TieSlots(3, 2)
    >>> _ = t.add(np.array([0]), np.array([2]), np.array([0.5], dtype=np.float32), np.array([0.1], dtype=np.float32))
    >>> t.degree().tolist()
    [1, 0, 0]
    >>> float(t.csr[0, 2])
    0.5
    """

    def __init__(self, n: int, capacity: int) -> None:
        self.n = int(n)
        self.k = int(capacity)
        self.partner = np.repeat(np.arange(self.n, dtype=np.int32), self.k)
        self.strength = np.zeros(self.n * self.k, dtype=np.float32)
        self.gain = np.zeros(self.n * self.k, dtype=np.float32)  # growth * interaction quality
        self.indptr = np.arange(
            0, self.n * self.k + 1, self.k, dtype=np.int64 if self.n * self.k >= 2**31 else np.int32
        )
        self.csr = sp.csr_matrix((self.strength, self.partner, self.indptr), shape=(self.n, self.n), copy=False)
        # scipy may copy on construction when dtypes differ; keep the arrays it actually uses
        self.strength = self.csr.data
        self.partner = self.csr.indices
        self.n_ties = np.zeros(self.n, dtype=np.int32)

    @property
    def strength2d(self) -> np.ndarray:
        """Strengths as an ``(n, K)`` view."""
        return self.strength.reshape(self.n, self.k)

    @property
    def partner2d(self) -> np.ndarray:
        """Partner indices as an ``(n, K)`` view."""
        return self.partner.reshape(self.n, self.k)

    def degree(self) -> np.ndarray:
        """Number of occupied slots per agent."""
        return (self.strength2d > 0).sum(axis=1)

    def add(self, i: np.ndarray, j: np.ndarray, strength: np.ndarray, gain: np.ndarray) -> np.ndarray:
        """Put ties ``i -> j`` into free slots of ``i`` (vectorised; full agents are skipped).

        Returns the boolean mask of requests that found a slot. Duplicate ties (``j`` already a
        partner of ``i``) are allowed to be requested but are skipped.
        """
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        ok = np.zeros(i.size, dtype=bool)
        if i.size == 0:
            return ok
        rows = self.strength2d[i]
        already = ((self.partner2d[i] == j[:, None]) & (rows > 0)).any(axis=1)
        # rank of each request among the requests of the same agent
        order = np.argsort(i, kind="stable")
        si = i[order]
        start = np.r_[0, np.flatnonzero(np.diff(si)) + 1]
        counts = np.diff(np.r_[start, si.size])
        rank = np.empty(i.size, dtype=np.int64)
        rank[order] = np.arange(si.size) - np.repeat(start, counts)
        free = rows == 0
        cum = np.cumsum(free, axis=1)
        target = rank + 1
        has = (cum[:, -1] >= target) & ~already
        slot = np.argmax(cum >= target[:, None], axis=1)
        idx = i[has] * self.k + slot[has]
        self.partner[idx] = j[has]
        self.strength[idx] = strength[has]
        self.gain[idx] = gain[has]
        np.add.at(self.n_ties, i[has], 1)
        ok[has] = True
        return ok

    def prune(self, min_strength: float) -> int:
        """Empty slots whose strength fell below ``min_strength``; returns the number dropped."""
        s2 = self.strength2d
        dead = (s2 < min_strength) & (s2 > 0)
        dropped = dead.sum(axis=1)
        s2[dead] = 0.0
        self.partner2d[dead] = np.nonzero(dead)[0].astype(self.partner.dtype)
        self.n_ties -= dropped.astype(np.int32)
        return int(dropped.sum())

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Occupied ties as ``(source, target, strength)`` arrays."""
        occ = np.flatnonzero(self.strength > 0)
        return (occ // self.k).astype(np.int64), self.partner[occ].astype(np.int64), self.strength[occ].astype(float)

    def nbytes(self) -> int:
        """Memory held by the tie arrays."""
        return self.partner.nbytes + self.strength.nbytes + self.gain.nbytes + self.indptr.nbytes


@dataclasses.dataclass
class Population:
    """All per-agent state arrays (struct of arrays). Latent dimensions are in z units."""

    n: int
    # caregiving (fixed after birth)
    sensitivity: np.ndarray
    consistency: np.ndarray
    rejection: np.ndarray
    overprotection: np.ndarray
    caregiver_anxiety: np.ndarray
    caregiver_avoidance: np.ndarray
    temperament: np.ndarray
    # internal working model
    evidence_yes: np.ndarray
    evidence_no: np.ndarray
    worth: np.ndarray
    unpredictability: np.ndarray
    rejection_experienced: np.ndarray
    prototype_anxiety: np.ndarray
    prototype_avoidance: np.ndarray
    state_anxiety: np.ndarray
    state_avoidance: np.ndarray
    # competencies (n, 6), set-points (n, 6), interpersonal style
    competencies: np.ndarray
    competency_setpoint: np.ndarray
    dominance: np.ndarray
    warmth: np.ndarray
    # adult network, support, loneliness, distress
    ties: TieSlots | None = None
    received_support: np.ndarray | None = None
    perceived_support: np.ndarray | None = None
    support_bias: np.ndarray | None = None
    lonely: np.ndarray | None = None
    loneliness: np.ndarray | None = None
    symptoms: np.ndarray | None = None
    symptom_intensity: np.ndarray | None = None
    stress: np.ndarray | None = None
    therapy_support: np.ndarray | None = None
    infant_security: np.ndarray | None = None
    infant_class: np.ndarray | None = None

    @property
    def anxiety(self) -> np.ndarray:
        """Observed attachment anxiety = prototype + state (Fraley 2002)."""
        return self.prototype_anxiety + self.state_anxiety

    @property
    def avoidance(self) -> np.ndarray:
        """Observed attachment avoidance = prototype + state."""
        return self.prototype_avoidance + self.state_avoidance

    def competency(self, name: str) -> np.ndarray:
        """One competency column by name."""
        return self.competencies[:, COMPETENCIES.index(name)]
