"""The one policy layer: who may do what to which record. Routes and services ask here; nothing else decides.

Roles (least privilege):

* ``admin`` — users and settings, the audit log; clinical records only when granted
  (``clinical_access``), and then read-only over the whole clinic;
* ``supervisor`` — the clients of their supervisees (therapists whose ``supervisor_id`` is theirs)
  and their own clients; read and write;
* ``therapist`` — their own clients only;
* ``researcher`` — de-identified data only: the research views never select from
  ``client_identities`` and never return dates of sessions or names; every identifiable route is
  refused for the role before any query runs.

A refusal raises :class:`~sciplab.web.errors.Forbidden`; the caller audits it (``outcome="denied"``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from sciplab.web.errors import Forbidden
from sciplab.web.models import Client, User


@dataclasses.dataclass(frozen=True)
class Actor:
    """The signed-in user as the policy sees them."""

    user_id: int
    username: str
    role: str
    clinical_access: bool = False
    ip: str = ""

    @classmethod
    def of(cls, user: User, ip: str = "") -> Actor:
        """The actor of ``user``."""
        return cls(user.id, user.username, user.role, bool(user.clinical_access), ip)


# action -> roles allowed (record-level scope is checked by client_scope / check_client)
ACTIONS: dict[str, frozenset[str]] = {
    "users.manage": frozenset({"admin"}),
    "settings.manage": frozenset({"admin"}),
    "audit.view": frozenset({"admin"}),
    "instruments.import_text": frozenset({"admin"}),
    "clients.list": frozenset({"admin", "supervisor", "therapist"}),
    "clients.create": frozenset({"supervisor", "therapist"}),
    "clients.view": frozenset({"admin", "supervisor", "therapist"}),
    "clients.edit": frozenset({"supervisor", "therapist"}),
    "measures.deliver": frozenset({"supervisor", "therapist"}),
    "alerts.acknowledge": frozenset({"supervisor", "therapist"}),
    "research.view": frozenset({"researcher", "admin"}),
    # documents and exchange (sciplab.web.exchange)
    "reports.client": frozenset({"supervisor", "therapist"}),
    "research.export": frozenset({"researcher"}),
    "fhir.export": frozenset({"supervisor", "therapist"}),
    "fhir.import": frozenset({"supervisor", "therapist"}),
    "import.csv": frozenset({"supervisor", "therapist"}),
    # clinician views (sciplab.web.views)
    "formulation.review": frozenset({"supervisor", "therapist"}),
    "supervision.view": frozenset({"supervisor"}),
    "reports.clinic": frozenset({"admin", "researcher"}),
}
CLINICAL = {"clients.list", "clients.view", "reports.clinic"}

#: what a route may declare as ``openapi_extra={"x-access": ...}`` besides an action of ACTIONS
ACCESS_KINDS: dict[str, str] = {
    "public": "anyone, signed in or not (the same answer for every role)",
    "link": "anyone holding the questionnaire link (the signed token in the path is the key)",
    "signed-in": "any user with a live session, whatever the role",
}


def access_of(declared: str | None) -> str:
    """Check a route's ``x-access`` declaration: an action of ACTIONS or one of ACCESS_KINDS."""
    if declared is None:
        raise KeyError("the route declares no access (openapi_extra={'x-access': ...})")
    if declared not in ACTIONS and declared not in ACCESS_KINDS:
        raise KeyError(f"unknown access {declared!r}: an action of ACTIONS or one of {', '.join(ACCESS_KINDS)}")
    return declared


def allowed(actor: Actor, action: str) -> bool:
    """Role-level permission (no record involved)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if actor.role == "admin" and action in CLINICAL:
        return actor.clinical_access
    return actor.role in ACTIONS[action]


def require(actor: Actor, action: str) -> None:
    """Raise :class:`Forbidden` unless the role may do ``action``."""
    if not allowed(actor, action):
        raise Forbidden(f"a {actor.role} may not do {action.replace('.', ' ')}")


def client_scope(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on :class:`Client` selecting exactly the clients ``actor`` may see."""
    return _scope(actor.role, actor.clinical_access, actor.user_id)


def _scope(role: str, clinical_access: bool, user_id: Any) -> ColumnElement[bool]:
    if role == "admin":
        return true() if clinical_access else false()
    if role == "therapist":
        return Client.therapist_id == user_id
    if role == "supervisor":
        supervisees = select(User.id).where(User.supervisor_id == user_id)
        return or_(Client.therapist_id == user_id, Client.therapist_id.in_(supervisees))
    return false()


@functools.lru_cache(maxsize=16)
def client_scope_bound(role: str, clinical_access: bool) -> ColumnElement[bool]:
    """:func:`client_scope` of a role with the user's id as the bind parameter ``scope_uid``.

    For statements built once and executed with ``{"scope_uid": actor.user_id, ...}`` (SQLAlchemy
    then reuses their cache key and compiled form instead of building them on every request).
    """
    return _scope(role, clinical_access, bindparam("scope_uid"))


def scope_params(actor: Actor) -> dict[str, Any]:
    """The parameters of :func:`client_scope_bound` for ``actor``."""
    return {"scope_uid": actor.user_id}


@functools.lru_cache(maxsize=16)
def _scoped_client(role: str, clinical_access: bool) -> Any:
    return select(Client).where(Client.id == bindparam("client_id"), client_scope_bound(role, clinical_access))


def check_client(db: Session, actor: Actor, client_id: int, action: str = "clients.view") -> Client | None:
    """The client when ``actor`` may do ``action`` on it; None when it does not exist; else Forbidden."""
    require(actor, action)
    stmt = _scoped_client(actor.role, actor.clinical_access)
    client = db.scalars(stmt, {"client_id": client_id, **scope_params(actor)}).first()
    if client is not None:  # one query when allowed; telling "absent" from "not yours" only on a refusal
        return client
    if db.scalar(select(Client.id).where(Client.id == client_id)) is None:
        return None
    raise Forbidden("this client is not on your caseload")  # no code: a refusal names no record


def assignable_therapist(db: Session, actor: Actor, therapist_id: int) -> User:
    """The therapist ``actor`` may assign a client to (self; a supervisor also their supervisees)."""
    user = db.get(User, therapist_id)
    if user is None or user.role not in ("therapist", "supervisor") or user.disabled:
        raise Forbidden(f"user {therapist_id} is not an active therapist")
    if user.id == actor.user_id or (actor.role == "supervisor" and user.supervisor_id == actor.user_id):
        return user
    raise Forbidden(f"you may not assign clients to {user.username}")
