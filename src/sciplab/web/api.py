"""The JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``): the same services as the pages.

Sign in with ``POST /api/v1/session`` (username, password, code); the response sets the session
cookie and returns the CSRF token to send as ``X-CSRF-Token`` on every other POST. Errors are
``{"error": message, "status": code}`` with the HTTP status of the error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import Request

from sciplab.web.audit import service as audit
from sciplab.web.audit.service import Who
from sciplab.web.auth import service as auth
from sciplab.web.clients import service as clients
from sciplab.web.clinic import COOKIE, Clinic, client_ip
from sciplab.web.measures import service as measures
from sciplab.web.policy import require

router = APIRouter(prefix="/api/v1", tags=["clinic"])


def _clinic(request: Request) -> Clinic:
    return request.app.state.clinic


class SessionIn(BaseModel):
    """Credentials."""

    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    code: str = Field(default="", max_length=20)


class ClientIn(BaseModel):
    """A new client (the name is identifying: only their clinicians see it)."""

    name: str = Field(min_length=1, max_length=200)
    contact: str = Field(default="", max_length=200)
    gender: str = Field(default="", max_length=32)
    birth_year: int | None = None
    therapist_id: int | None = None


class SessionRecordIn(BaseModel):
    """A therapy session with the therapist's ratings."""

    date: dt.date | None = None
    attendance: str = "attended"
    therapist_alliance: int | None = Field(default=None, description="0-10, the clinic's own alliance item")
    distance_rating: int | None = Field(default=None, description="1 much too close, 4 about right, 7 much too distant")
    note: str = Field(default="", max_length=5000)


class AssignmentIn(BaseModel):
    """An instrument of the library with a schedule."""

    instrument: str
    schedule: str = Field(description="intake, every_session, every_n or end")
    every_n: int | None = None


class LinkIn(BaseModel):
    """A questionnaire link (or kiosk hand-over)."""

    instrument: str
    mode: str = "link"
    session_id: int | None = None


class AnswersIn(BaseModel):
    """Item responses by item number (``{"1": 2, "2": 0, ...}``); a missing item is a skipped one."""

    answers: dict[str, int | float | str | None]


class WordingIn(BaseModel):
    """Licensed item wording the clinic holds a licence for (``{"1": "text", ...}``); kept in the database only."""

    items: dict[int, str]


class ManualIn(AnswersIn):
    """Item responses typed in from a paper form."""

    instrument: str
    session_id: int | None = None


def _auth(request: Request, db: Any, csrf: str | None = None, *, post: bool = False) -> Any:
    clinic = _clinic(request)
    login = clinic.authenticate(db, request)
    if post:
        auth.check_csrf(login.session, csrf)
    return login


@router.post("/session", openapi_extra={"x-access": "public"})
def open_session(request: Request, body: SessionIn) -> JSONResponse:
    """Sign in; the session cookie is set and the CSRF token returned."""
    clinic = _clinic(request)
    out = clinic.login(request, body.username, body.password, body.code)
    with clinic.tx() as db:
        sess = db.get(auth.AuthSession, auth.token_hash(out.token))
        csrf = sess.csrf_token if sess else ""
    response = JSONResponse(
        {"username": out.user.username, "role": out.user.role, "stage": out.stage, "csrf_token": csrf}
    )
    response.set_cookie(COOKIE, out.token, httponly=True, samesite="strict", secure=clinic.settings.https)
    return response


@router.get("/me", openapi_extra={"x-access": "signed-in"})
def me(request: Request) -> dict[str, Any]:
    """The signed-in user."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        return {
            "id": login.user.id,
            "username": login.user.username,
            "role": login.user.role,
            "csrf_token": login.session.csrf_token,
        }


@router.get("/instruments", openapi_extra={"x-access": "public"})
def instruments() -> list[dict[str, Any]]:
    """Instruments a clinic can assign (scorable ones of the library) with their licence for item wording."""
    return [
        {
            "id": i.id,
            "name": i.name,
            "items": i.n_items,
            "min": i.response.min,
            "max": i.response.max,
            "item_text_shipped": bool(i.licence.item_text and i.item_text),
            "flags": [f.name for f in i.flags],
        }
        for i in measures.scorable()
    ]


@router.get("/clients", openapi_extra={"x-access": "clients.list"})
def list_clients(request: Request) -> list[dict[str, Any]]:
    """The caseload (clients with open risk alerts first)."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        return [vars(r) for r in clients.caseload(db, login.actor)]


@router.post("/clients", status_code=201, openapi_extra={"x-access": "clients.create"})
def create_client(request: Request, body: ClientIn, x_csrf_token: str | None = Header(None)) -> dict[str, Any]:
    """A new client with a first episode of care."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        c = clients.create_client(db, login.actor, **body.model_dump())
        return {"id": c.id, "code": c.code}


def _client_json(rec: dict[str, Any]) -> dict[str, Any]:
    c, ident = rec["client"], rec["identity"]
    return {
        "id": c.id,
        "code": c.code,
        "name": ident.name if ident else "",
        "gender": c.gender,
        "birth_year": c.birth_year,
        "therapist": rec["therapist"].username if rec["therapist"] else None,
        "episodes": [{"id": e.id, "started_on": e.started_on, "ended_on": e.ended_on} for e in rec["episodes"]],
        "sessions": [
            {
                "id": s.id,
                "number": s.number,
                "date": s.date,
                "attendance": s.attendance,
                "therapist_alliance": s.therapist_alliance,
                "distance_rating": s.distance_rating,
            }
            for s in rec["sessions"]
        ],
        "responses": [
            {
                "id": r.id,
                "instrument": r.instrument_id,
                "session_id": r.session_id,
                "source": r.source,
                "submitted_at": r.submitted_at,
                "scores": [{"scale": s.scale, "value": s.value, "status": s.status, "band": s.band} for s in scores],
            }
            for r, scores in rec["responses"]
        ],
        "alerts": [
            {
                "id": a.id,
                "flag": a.flag,
                "message": a.message,
                "created_at": a.created_at,
                "acknowledged": a.acknowledged_at is not None,
            }
            for a in rec["alerts"]
        ],
    }


@router.get("/clients/{client_id}", openapi_extra={"x-access": "clients.view"})
def get_client(request: Request, client_id: int) -> dict[str, Any]:
    """One client's record: episodes, sessions, responses with scores, alerts."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        return _client_json(clients.client_record(db, login.actor, client_id))


@router.post("/clients/{client_id}/sessions", status_code=201, openapi_extra={"x-access": "clients.edit"})
def add_session(
    request: Request, client_id: int, body: SessionRecordIn, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Record the next session with the therapist's alliance and distance ratings."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        s = clients.add_session(db, login.actor, client_id, **body.model_dump())
        return {"id": s.id, "number": s.number}


@router.post("/clients/{client_id}/assignments", status_code=201, openapi_extra={"x-access": "clients.edit"})
def add_assignment(
    request: Request, client_id: int, body: AssignmentIn, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Assign an instrument with a schedule."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        a = measures.assign(db, login.actor, client_id, body.instrument, body.schedule, body.every_n)
        return {"id": a.id, "instrument": a.instrument_id, "schedule": a.schedule, "every_n": a.every_n}


@router.post("/clients/{client_id}/links", status_code=201, openapi_extra={"x-access": "measures.deliver"})
def add_link(request: Request, client_id: int, body: LinkIn, x_csrf_token: str | None = Header(None)) -> dict[str, Any]:
    """A single-use, expiring questionnaire link; send ``url`` to the client."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        link, token = measures.create_link(
            db,
            login.actor,
            clinic.secret,
            client_id,
            body.instrument,
            hours=clinic.settings.link_hours,
            mode=body.mode,
            session_id=body.session_id,
        )
        return {
            "id": link.id,
            "token": token,
            "url": str(request.base_url) + f"q/{token}",
            "expires_at": link.expires_at,
        }


@router.post("/clients/{client_id}/episode/end", openapi_extra={"x-access": "clients.edit"})
def end_episode(request: Request, client_id: int, x_csrf_token: str | None = Header(None)) -> dict[str, Any]:
    """Close the client's current episode of care (end-of-episode measures become due)."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        ep = clients.end_episode(db, login.actor, client_id)
        return {"episode_id": ep.id, "ended_on": ep.ended_on}


@router.post("/instruments/{instrument_id}/wording", openapi_extra={"x-access": "instruments.import_text"})
def import_wording(
    request: Request, instrument_id: str, body: WordingIn, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Admins: store licensed item wording for an instrument that does not ship it."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        n = measures.import_wording(db, login.actor, instrument_id, body.items)
        return {"instrument": instrument_id, "items": n}


@router.post("/clients/{client_id}/responses", status_code=201, openapi_extra={"x-access": "measures.deliver"})
def add_response(
    request: Request, client_id: int, body: ManualIn, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Item responses entered by hand; scored at once."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        sub = measures.manual_entry(db, login.actor, client_id, body.instrument, body.answers, body.session_id)
        return {"response_id": sub.response_id, "alerts": sub.alerts}


@router.get("/responses/{response_id}", openapi_extra={"x-access": "clients.view"})
def get_response(request: Request, response_id: int) -> dict[str, Any]:
    """A response item by item with its scores."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        d = measures.response_detail(db, login.actor, response_id)
        r = d["response"]
        return {
            "id": r.id,
            "client": d["client"].code,
            "instrument": r.instrument_id,
            "source": r.source,
            "submitted_at": r.submitted_at,
            "items": {str(i.item): i.value for i in d["items"]},
            "scores": [{"scale": s.scale, "value": s.value, "status": s.status, "band": s.band} for s in d["scores"]],
        }


@router.get("/alerts", openapi_extra={"x-access": "clients.list"})
def alerts(request: Request) -> list[dict[str, Any]]:
    """Open risk alerts of the caseload, newest first."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        return clients.open_alerts(db, login.actor)


class AcknowledgeIn(BaseModel):
    """What was done about the alert (optional; kept with the acknowledgement and audited)."""

    action: str = Field(default="", max_length=2000)


@router.post("/alerts/{alert_id}/acknowledge", openapi_extra={"x-access": "alerts.acknowledge"})
def acknowledge(
    request: Request, alert_id: int, body: AcknowledgeIn | None = None, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Mark an alert as seen, with what was done about it."""
    with _clinic(request).tx() as db:
        login = _auth(request, db, x_csrf_token, post=True)
        a = clients.acknowledge_alert(db, login.actor, alert_id, body.action if body else "")
        return {"id": a.id, "acknowledged_at": a.acknowledged_at, "action_taken": a.action_taken}


@router.get("/questionnaires/{token}", openapi_extra={"x-access": "link"})
def questionnaire(request: Request, token: str) -> dict[str, Any]:
    """The form behind a link (no login: the signed link is the key)."""
    clinic = _clinic(request)
    with clinic.read() as db:
        link = measures.open_link(db, clinic.secret, token)
        f = measures.form(db, link.instrument_id)
        return {
            "instrument": f.instrument_id,
            "name": f.name,
            "wording": f.wording,
            "submitted": link.used_at is not None,
            "items": [{"number": i.number, "text": i.text} for i in f.items],
            "scale": [{"value": v, "label": lab} for v, lab in f.scale],
            "draft": link.draft or {},
        }


@router.post("/questionnaires/{token}", openapi_extra={"x-access": "link"})
def submit(request: Request, token: str, body: AnswersIn) -> dict[str, Any]:
    """Submit the answers of a link; a repeat returns the first response and stores nothing."""
    clinic = _clinic(request)
    scored = None
    if clinic.engine.dialect.name != "postgresql":  # PostgreSQL's write locks only the link's row: scored there
        with clinic.read() as db:  # check and score first: the write transaction holds SQLite's one write lock
            scored = measures.prepare_submission(db, clinic.secret, token, body.answers)
    with clinic.tx() as db:
        sub = measures.submit(db, clinic.secret, token, body.answers, Who(ip=client_ip(request)), scored=scored)
        return {"response_id": sub.response_id, "repeated": sub.repeated}


@router.post("/questionnaires/{token}/draft", openapi_extra={"x-access": "link"})
def draft(request: Request, token: str, body: AnswersIn) -> dict[str, Any]:
    """Save the answers so far (resume later with the same link)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        link = measures.save_draft(db, clinic.secret, token, body.answers, Who(ip=client_ip(request)))
        return {"saved": len(link.draft or {}), "expires_at": link.expires_at}


@router.get("/research/scores", openapi_extra={"x-access": "research.view"})
def research_scores(request: Request) -> list[dict[str, Any]]:
    """De-identified scores of the clinic (researchers, admins)."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        return clients.research_rows(db, login.actor)


@router.get("/audit/verify", openapi_extra={"x-access": "audit.view"})
def audit_verify(request: Request) -> dict[str, Any]:
    """Check the audit chain (admins)."""
    with _clinic(request).tx() as db:
        login = _auth(request, db)
        require(login.actor, "audit.view")
        res = audit.verify(db)
        return {"ok": res.ok, "entries": res.entries, "broken_at": res.broken_at, "reason": res.reason}
