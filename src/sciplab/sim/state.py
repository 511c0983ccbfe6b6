"""Struct-of-arrays state of a simulated population and its tie slots.

One NumPy array per state variable, one row per agent (never one Python object per agent). Ties
live in fixed-capacity slots: agent *i* owns slots ``i*K .. i*K+K-1`` holding a partner index and
a strength (0 = empty). Rows are compact: the ``n_ties[i]`` ties of agent *i* fill its first
slots and the free slots follow, so a pass over the ties reads only occupied slots (every
mutator keeps this: ties are appended, pruning closes the gaps). The slot arrays are shared, without copying, with a
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
        self._work: dict[str, np.ndarray] = {}

    @property
    def strength2d(self) -> np.ndarray:
        """Strengths as an ``(n, K)`` view."""
        return self.strength.reshape(self.n, self.k)

    @property
    def gain2d(self) -> np.ndarray:
        """Gains (growth x interaction quality) as an ``(n, K)`` view."""
        return self.gain.reshape(self.n, self.k)

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
        partner of ``i``) are allowed to be requested but are skipped. The ``r``-th request of an
        agent (in request order) takes its ``r``-th free slot.
        """
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        ok = np.zeros(i.size, dtype=bool)
        if i.size == 0:
            return ok
        occupied = self.strength2d[i] > 0
        already = ((self.partner2d[i] == j[:, None]) & occupied).any(axis=1)
        rank = self._ranks(i)
        # first free slot (most requests); the r-th free slot only for the few later requests
        slot = np.argmin(occupied, axis=1)
        has = ~occupied[np.arange(i.size), slot]
        multi = np.flatnonzero(rank > 0)
        if multi.size:
            cum = np.cumsum(~occupied[multi], axis=1, dtype=np.int16)
            target = (rank[multi] + 1)[:, None]
            slot[multi] = np.argmax(cum >= target, axis=1)
            has[multi] = cum[:, -1] >= target[:, 0]
        has &= ~already
        idx = i[has] * self.k + slot[has]
        self.partner[idx] = j[has]
        self.strength[idx] = strength[has]
        self.gain[idx] = gain[has]
        self.n_ties += np.bincount(i[has], minlength=self.n).astype(np.int32)
        ok[has] = True
        return ok

    def _ranks(self, agents: np.ndarray) -> np.ndarray:
        """Rank of each entry among the entries of the same agent (in order of appearance).

        Most agents appear once, so only the repeated ones are sorted.
        """
        rank = np.zeros(agents.size, dtype=np.int64)
        rep = np.flatnonzero(np.bincount(agents, minlength=self.n)[agents] > 1)
        if rep.size:
            sub = agents[rep]
            order = np.argsort(sub, kind="stable")
            sa = sub[order]
            start = np.flatnonzero(np.r_[True, sa[1:] != sa[:-1]])
            rank[rep[order]] = np.arange(sa.size) - np.repeat(start, np.diff(np.r_[start, sa.size]))
        return rank

    def add_pairs(
        self, i: np.ndarray, j: np.ndarray, strength: float, gain_ij: np.ndarray, gain_ji: np.ndarray
    ) -> np.ndarray:
        """Create mutual ties ``i <-> j`` in request order (compiled kernel, :mod:`sciplab.sim._kernels`).

        A pair is formed when neither direction exists yet and both agents still have a free slot;
        requests are served one after another, so an agent's later requests see its earlier ties.
        Formed ties take the agents' first free slots. Returns the boolean mask of formed pairs.
        """
        from sciplab.sim import _kernels

        i = np.ascontiguousarray(i, dtype=np.int64)
        j = np.ascontiguousarray(j, dtype=np.int64)
        formed = np.zeros(i.size, dtype=bool)
        if i.size:
            _kernels.add_pairs(
                self.partner, self.strength, self.gain, self.n_ties, self.k, i, j, np.float32(strength),
                np.ascontiguousarray(gain_ij, dtype=np.float32), np.ascontiguousarray(gain_ji, dtype=np.float32),
                formed,
            )  # fmt: skip
        return formed

    def prune(self, min_strength: float) -> int:
        """Empty slots whose strength fell below ``min_strength`` and close the gaps; returns the number dropped.

        The surviving ties of a row keep their order and move to the front (compact rows).
        """
        alive = self.strength2d >= np.float32(min_strength)
        dead = int(self.n_ties.sum() - alive.sum())
        if dead == 0:
            return 0
        order = np.argsort(~alive, axis=1, kind="stable")
        for arr in (self.strength2d, self.gain2d, self.partner2d):
            arr[:] = np.take_along_axis(arr, order, axis=1)
        self.n_ties[:] = alive.sum(axis=1)
        free = np.arange(self.k)[None, :] >= self.n_ties[:, None]
        self.strength2d[free] = 0.0
        self.gain2d[free] = 0.0
        self.partner2d[free] = np.broadcast_to(np.arange(self.n, dtype=self.partner.dtype)[:, None], free.shape)[free]
        return dead

    def work(self, name: str, shape: int | tuple[int, ...], dtype: type) -> np.ndarray:
        """A work array of the weekly step kept between weeks (no per-week allocation); grown when too small."""
        shape = (shape,) if isinstance(shape, int) else shape
        buf = self._work.get(name)
        if buf is None or buf.shape[1:] != shape[1:] or buf.shape[0] < shape[0] or buf.dtype != dtype:
            grown = (max(shape[0], int(1.25 * buf.shape[0]) if buf is not None else 0), *shape[1:])
            buf = self._work[name] = np.empty(grown, dtype=dtype)
        return buf[: shape[0]]

    def rate_cache(self, n_rates: int, n_inputs: int, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weekly kernels' per-agent rate cache: ``(snapshot of the inputs, rates)``, kept between weeks.

        The snapshot is NaN (every agent recomputed) when the arrays are new or the model
        coefficients ``coef`` differ from those the rates were computed with.
        """
        before = self._work.get("rate_inputs")
        snap = self.work("rate_inputs", (self.n, n_inputs), np.float64)
        rates = self.work("rates", (self.n, n_rates), np.float64)
        old = self._work.get("rate_coef")
        if before is None or snap.base is not before or old is None or not np.array_equal(old, coef):
            snap.fill(np.nan)
            self._work["rate_coef"] = coef.copy()
        return snap, rates

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Occupied ties as ``(source, target, strength)`` arrays."""
        occ = np.flatnonzero(self.strength > 0)
        return (occ // self.k).astype(np.int64), self.partner[occ].astype(np.int64), self.strength[occ].astype(float)

    def nbytes(self) -> int:
        """Memory held by the tie arrays."""
        extra = sum(a.nbytes for a in self._work.values())
        return self.partner.nbytes + self.strength.nbytes + self.gain.nbytes + self.indptr.nbytes + extra


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
