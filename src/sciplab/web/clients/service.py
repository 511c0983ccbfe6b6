"""Clients, episodes of care, sessions with the therapist's ratings, and the de-identified research view.

Client codes are pseudonymous (``C-`` and six characters from an alphabet without look-alikes); the
name and contact live in ``client_identities`` only. :func:`research_rows` is the researcher's whole
view: it selects codes, demographics coarsened to an age band, session numbers and scores, and
never touches ``client_identities`` or calendar dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import secrets
from typing import Any, Literal, overload

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from sciplab.web.audit.service import Who, record
from sciplab.web.errors import BadRequest, NotFound
from sciplab.web.models import (
    ATTENDANCE,
    Alert,
    Client,
    ClientIdentity,
    Episode,
    Response,
    Score,
    TherapySession,
    User,
    utcnow,
)
from sciplab.web.policy import (
    Actor,
    assignable_therapist,
    check_client,
    client_scope,
    client_scope_bound,
    require,
    scope_params,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DISTANCE_SCALE = (1, 7)  # 1 much too close, 4 about right, 7 much too distant (sciplab.sim.sessions)
ALLIANCE_SCALE = (0, 10)  # the clinic's own single therapist-rated alliance item


def new_code(db: Session) -> str:
    """A fresh pseudonymous client code."""
    while True:
        code = "C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if db.scalar(select(Client.id).where(Client.code == code)) is None:
            return code


def _who(actor: Actor) -> Who:
    return Who(actor.user_id, actor.username, actor.ip)


def who_of(actor: Actor) -> Who:
    """The audit identity of ``actor``."""
    return _who(actor)


def get_client(db: Session, actor: Actor, client_id: int, action: str = "clients.view") -> Client:
    """The client, checked by the policy (a refusal is audited by the caller)."""
    client = check_client(db, actor, client_id, action)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def create_client(
    db: Session,
    actor: Actor,
    *,
    name: str,
    contact: str = "",
    gender: str = "",
    birth_year: int | None = None,
    therapist_id: int | None = None,
    started_on: dt.date | None = None,
) -> Client:
    """A new client with a first episode of care, on ``actor``'s caseload (or a supervisee's)."""
    require(actor, "clients.create")
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("name: give the client's name (1-200 characters); only their clinicians see it")
    this_year = dt.date.today().year
    if birth_year is not None and not 1900 <= birth_year <= this_year:
        raise BadRequest(f"birth_year must be between 1900 and {this_year}; got {birth_year}")
    therapist = assignable_therapist(db, actor, therapist_id or actor.user_id)
    client = Client(code=new_code(db), therapist_id=therapist.id, gender=gender.strip()[:32], birth_year=birth_year)
    db.add(client)
    db.flush()
    db.add(ClientIdentity(client_id=client.id, name=name, contact=contact.strip()[:200]))
    db.add(Episode(client_id=client.id, started_on=started_on or dt.date.today()))
    db.flush()
    record(db, _who(actor), "client.create", "client", client.id, detail={"code": client.code})
    return client


@dataclasses.dataclass(frozen=True)
class CaseloadRow:
    """One client on a caseload, with their open risk alerts counted."""

    id: int
    code: str
    name: str
    therapist: str
    open_alerts: int
    last_score: str


def caseload(db: Session, actor: Actor) -> list[CaseloadRow]:
    """The clients ``actor`` may see; those with open risk alerts first (audited as one view)."""
    require(actor, "clients.list")
    alerts = (
        select(Alert.client_id, func.count(Alert.id).label("n"))
        .where(Alert.acknowledged_at.is_(None))
        .group_by(Alert.client_id)
        .subquery()
    )
    rows = db.execute(
        select(Client.id, Client.code, ClientIdentity.name, User.username, func.coalesce(alerts.c.n, 0))
        .join(ClientIdentity, ClientIdentity.client_id == Client.id)
        .outerjoin(User, User.id == Client.therapist_id)
        .outerjoin(alerts, alerts.c.client_id == Client.id)
        .where(client_scope(actor))
        .order_by(func.coalesce(alerts.c.n, 0).desc(), Client.code)
    ).all()
    out = [CaseloadRow(r[0], r[1], r[2], r[3] or "", int(r[4]), "") for r in rows]
    record(db, _who(actor), "caseload.view", "client", "", detail={"clients": len(out)})
    return out


def open_alerts(db: Session, actor: Actor) -> list[dict[str, Any]]:
    """Unacknowledged risk alerts of the clients ``actor`` may see, newest first."""
    require(actor, "clients.list")
    rows = db.execute(
        select(Alert, Client.code)
        .join(Client, Client.id == Alert.client_id)
        .where(Alert.acknowledged_at.is_(None), client_scope(actor))
        .order_by(Alert.created_at.desc())
    ).all()
    return [
        {
            "id": a.id,
            "client_id": a.client_id,
            "client": code,
            "flag": a.flag,
            "message": a.message,
            "created_at": a.created_at,
        }
        for a, code in rows
    ]


def acknowledge_alert(db: Session, actor: Actor, alert_id: int, action: str = "") -> Alert:
    """Mark an alert as seen and acted on by ``actor``, with what was done (acknowledging twice keeps the first)."""
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    get_client(db, actor, alert.client_id, "alerts.acknowledge")
    if len(action) > 2000:
        raise BadRequest("action: say what was done in at most 2000 characters")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = actor.user_id
        alert.action_taken = action.strip() or None
        record(db, _who(actor), "alert.acknowledge", "alert", alert.id, detail={"action": bool(action.strip())})
    return alert


@overload
def current_episode(db: Session, client: Client) -> Episode: ...
@overload
def current_episode(db: Session, client: Client, *, required: Literal[False]) -> Episode | None: ...
def current_episode(db: Session, client: Client, *, required: bool = True) -> Episode | None:
    """The client's open episode (the newest one when all are closed); NotFound without one unless not ``required``."""
    ep = db.scalar(select(Episode).where(Episode.client_id == client.id).order_by(Episode.id.desc()).limit(1))
    if ep is None and required:
        raise NotFound(f"client {client.code} has no episode of care")
    return ep


def newest_episode(rec: dict[str, Any]) -> Episode | None:
    """The current episode of a record from :func:`client_record` (its episodes are in id order), None without one."""
    return rec["episodes"][-1] if rec["episodes"] else None


def _rating(name: str, value: int | None, bounds: tuple[int, int]) -> int | None:
    if value is None:
        return None
    if not bounds[0] <= value <= bounds[1]:
        raise BadRequest(f"{name} must be a whole number from {bounds[0]} to {bounds[1]}; got {value}")
    return value


def add_session(
    db: Session,
    actor: Actor,
    client_id: int,
    *,
    date: dt.date | None = None,
    attendance: str = "attended",
    therapist_alliance: int | None = None,
    distance_rating: int | None = None,
    note: str = "",
) -> TherapySession:
    """Record the next session of the client's current episode with the therapist's ratings."""
    client = get_client(db, actor, client_id, "clients.edit")
    if attendance not in ATTENDANCE:
        raise BadRequest(f"attendance must be one of {', '.join(ATTENDANCE)}; got {attendance!r}")
    ep = current_episode(db, client)
    number = int(db.scalar(select(func.max(TherapySession.number)).where(TherapySession.episode_id == ep.id)) or 0)
    sess = TherapySession(
        episode_id=ep.id,
        number=number + 1,
        date=date or dt.date.today(),
        attendance=attendance,
        therapist_alliance=_rating("therapist_alliance", therapist_alliance, ALLIANCE_SCALE),
        distance_rating=_rating("distance_rating", distance_rating, DISTANCE_SCALE),
        note=note[:5000],
    )
    db.add(sess)
    db.flush()
    record(db, _who(actor), "session.create", "session", sess.id, detail={"client": client.code})
    return sess


def end_episode(db: Session, actor: Actor, client_id: int, ended_on: dt.date | None = None) -> Episode:
    """Close the current episode of care."""
    client = get_client(db, actor, client_id, "clients.edit")
    ep = current_episode(db, client)
    if ep.ended_on is not None:
        raise BadRequest(f"the episode of {client.code} already ended on {ep.ended_on}")
    ep.ended_on = ended_on or dt.date.today()
    record(db, _who(actor), "episode.end", "episode", ep.id)
    return ep


@functools.lru_cache(maxsize=16)
def _record_statements(role: str, clinical_access: bool) -> tuple[Any, ...]:
    """The statements of :func:`client_record`, built once per role (bind parameters ``cid`` and the scope's)."""
    cid = bindparam("cid")
    return (
        select(Client, ClientIdentity, User)
        .outerjoin(ClientIdentity, ClientIdentity.client_id == Client.id)
        .outerjoin(User, User.id == Client.therapist_id)
        .where(Client.id == cid, client_scope_bound(role, clinical_access)),
        select(Episode).where(Episode.client_id == cid).order_by(Episode.id),
        select(TherapySession)
        .join(Episode, Episode.id == TherapySession.episode_id)
        .where(Episode.client_id == cid)
        .order_by(TherapySession.number),
        select(Response, Score)
        .outerjoin(Score, Score.response_id == Response.id)
        .where(Response.client_id == cid)
        .order_by(Response.submitted_at.desc(), Response.id, Score.id),
        select(Alert).where(Alert.client_id == cid).order_by(Alert.created_at.desc()),
    )


def client_record(db: Session, actor: Actor, client_id: int, *, audit: bool = True) -> dict[str, Any]:
    """Everything a clinician sees on a client's page (the view is audited unless the caller did: ``audit``).

    The policy decides first (:func:`sciplab.web.policy.check_client`'s rule: the role may view clients
    and the client is in :func:`~sciplab.web.policy.client_scope`), in the query that also reads the
    identity and the therapist; the responses come with their scores in one query.
    """
    require(actor, "clients.view")
    scoped, episodes_q, sessions_q, responses_q, alerts_q = _record_statements(actor.role, actor.clinical_access)
    found = db.execute(scoped, {"cid": client_id, **scope_params(actor)}).first()
    if found is None:
        get_client(db, actor, client_id)  # raises NotFound or Forbidden, as check_client decides
        raise NotFound(f"no client {client_id}")  # pragma: no cover - get_client raised
    client, identity, therapist = found
    params = {"cid": client.id}
    episodes = db.scalars(episodes_q, params).all()
    sessions = db.scalars(sessions_q, params).all()
    responses: dict[int, Response] = {}
    scores: dict[int, list[Score]] = {}
    for r, s in db.execute(responses_q, params).all():
        responses.setdefault(r.id, r)
        if s is not None:
            scores.setdefault(r.id, []).append(s)
    alerts = db.scalars(alerts_q, params).all()
    if audit:
        record(db, _who(actor), "client.view", "client", client.id)
    return {
        "client": client,
        "identity": identity,
        "therapist": therapist,
        "episodes": episodes,
        "sessions": sessions,
        "responses": [(r, scores.get(r.id, [])) for r in responses.values()],
        "alerts": alerts,
    }


def age_band(birth_year: int | None, today: dt.date | None = None) -> str:
    """Ten-year age band (``"30-39"``) or ``""``."""
    if birth_year is None:
        return ""
    age = (today or dt.date.today()).year - birth_year
    low = max(0, age // 10 * 10)
    return f"{low}-{low + 9}"


RESEARCH_COLUMNS = ("client", "gender", "age_band", "instrument", "session", "scale", "score", "status", "band")


def research_rows(db: Session, actor: Actor) -> list[dict[str, Any]]:
    """De-identified scores of the whole clinic: pseudonymous code, gender, age band, session number, score.

    Built from ``clients``, ``responses``, ``therapy_sessions`` and ``scores`` only: the query has
    no path to names, contacts, birth years or dates, whatever the caller does with the result.
    """
    require(actor, "research.view")
    rows = db.execute(
        select(
            Client.code,
            Client.gender,
            Client.birth_year,
            Response.instrument_id,
            TherapySession.number,
            Score.scale,
            Score.value,
            Score.status,
            Score.band,
        )
        .join(Response, Response.client_id == Client.id)
        .join(Score, Score.response_id == Response.id)
        .outerjoin(TherapySession, TherapySession.id == Response.session_id)
        .order_by(Client.code, Response.id, Score.scale)
    ).all()
    record(db, _who(actor), "research.export", "scores", "", detail={"rows": len(rows)})
    return [
        dict(zip(RESEARCH_COLUMNS, (r[0], r[1], age_band(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]), strict=True))
        for r in rows
    ]
