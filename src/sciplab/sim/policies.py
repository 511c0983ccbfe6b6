"""Therapist policies: how the therapist sets interpersonal distance each session (the what-if lever).

A policy maps the session number and what the therapist can observe to a distance target per
client, vectorised over clients: ``policy(session, obs) -> np.ndarray``. Distance axis: 0 is the
secure set-point ``D_s``; negative = closer (what anxious, hyperactivating clients prefer),
positive = more distant (what avoidant, deactivating clients prefer).

* ``fixed``: the same distance for everyone.
* ``complementary``: match the client's (observed) preferred distance every session.
* ``scip``: SCIP-calibrated (Daly & Mallinckrodt 2009; Mallinckrodt 2010): engage at the client's
  preferred distance for the first sessions, then move toward ``D_s`` by ``rate`` per session
  (growing autonomy for hyperactivating, growing engagement for deactivating clients) only while the
  alliance holds and no rupture is open; step back toward the client otherwise. Metacommunicates
  about ruptures.
* ``disconfirming``: take a position beyond ``D_s`` on the other side of the client's preference
  from the first session (anti-complementary; Thomas et al. 2014).
* a user function with the same signature.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab.sim.params import POLICIES, TherapyParams

__all__ = ["PolicyObservation", "get_policy"]


@dataclasses.dataclass(frozen=True)
class PolicyObservation:
    """What a therapist observes before a session (arrays over clients in therapy)."""

    preferred_distance: np.ndarray  # observed preferred distance of the client
    alliance: np.ndarray
    rupture_open: np.ndarray
    previous_distance: np.ndarray
    anxiety: np.ndarray
    avoidance: np.ndarray


Policy = Callable[[int, PolicyObservation], np.ndarray]


def _fixed(t: TherapyParams) -> Policy:
    def policy(session: int, obs: PolicyObservation) -> np.ndarray:
        return np.full(obs.alliance.shape, t.fixed_distance)

    return policy


def _complementary(t: TherapyParams) -> Policy:
    def policy(session: int, obs: PolicyObservation) -> np.ndarray:
        return obs.preferred_distance.copy()

    return policy


def _scip(t: TherapyParams) -> Policy:
    def policy(session: int, obs: PolicyObservation) -> np.ndarray:
        if session < t.engage_sessions:
            return obs.preferred_distance.copy()
        prev = obs.previous_distance
        holds = (obs.alliance > t.alliance_threshold) & ~obs.rupture_open
        gap = t.secure_distance - prev
        step = np.sign(gap) * np.minimum(np.abs(gap), t.policy_rate)
        back = t.policy_step_back * (obs.preferred_distance - prev)
        return np.where(holds, prev + step, prev + back)

    return policy


def _disconfirming(t: TherapyParams) -> Policy:
    def policy(session: int, obs: PolicyObservation) -> np.ndarray:
        return t.secure_distance - t.disconfirm_push * (obs.preferred_distance - t.secure_distance)

    return policy


_FACTORIES = {"fixed": _fixed, "complementary": _complementary, "scip": _scip, "disconfirming": _disconfirming}
_ALIASES = {"scip-calibrated": "scip", "scip_calibrated": "scip", "anti-complementary": "disconfirming"}
#: Policies that metacommunicate about ruptures (raises repair probability).
METACOMMUNICATING = frozenset({"scip"})


def get_policy(policy: str | Policy, therapy: TherapyParams) -> tuple[str, Policy]:
    """Return ``(name, function)`` for a policy name or a user function.

    Examples
    --------
    >>> name, f = get_policy("scip-calibrated", TherapyParams())
    >>> name
    'scip'
    >>> obs = PolicyObservation(np.array([-1.0]), np.array([0.6]), np.array([False]), np.array([-1.0]),
    ...                         np.array([1.0]), np.array([0.0]))
    >>> f(5, obs).round(2).tolist()
    [-0.85]
    """
    if callable(policy):
        return getattr(policy, "__name__", "user"), policy
    key = str(policy).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _FACTORIES:
        choices = [*POLICIES, *_ALIASES]
        raise InvalidParameterError(
            f"policy must be one of {', '.join(POLICIES)} or a function, got {policy!r}{suggest(str(policy), choices)}"
        )
    return key, _FACTORIES[key](therapy)
