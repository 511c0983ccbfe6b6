"""Measures: instruments assigned with a schedule, delivered by signed link, kiosk or manual entry, scored at once.

Scoring goes through the library (:func:`sciplab.score`: validity, prorating, bands, item flags);
nothing here computes a score. A link token is ``<id>.<nonce>.<signature>`` with an HMAC-SHA256
signature under the clinic's secret key; the database stores only the SHA-256 of the nonce, so a
link can be neither forged nor recovered from a copy of the database. A link works once, until it
expires; a second submission of the same link returns the first response (idempotent) and stores
nothing. Item wording is shown only where the instrument's licence allows shipping it, or where an
admin imported the licensed wording into the database; otherwise item numbers and the response scale.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from sciplab._core.errors import SciplabError, suggest
from sciplab.instruments import get_instrument, list_instruments
from sciplab.instruments.registry import ENV_VAR
from sciplab.instruments.schema import Instrument
from sciplab.web.audit.service import Who, record
from sciplab.web.clients.service import current_episode, get_client, who_of
from sciplab.web.errors import BadRequest, LinkError, NotFound
from sciplab.web.models import (
    SCHEDULES,
    Alert,
    Assignment,
    Client,
    LicensedText,
    QuestionnaireLink,
    Response,
    ResponseItem,
    Score,
    TherapySession,
    utcnow,
)
from sciplab.web.policy import Actor, require

# -- the library -----------------------------------------------------------------------------------


def scorable() -> list[Instrument]:
    """Instruments of the library that carry a scoring key (the ones a clinic can assign)."""
    return list(_scorable())


def _scorable() -> tuple[Instrument, ...]:
    if os.environ.get(ENV_VAR):  # user folders: re-read when their files change (the registry decides)
        return tuple(i for i in list_instruments() if i.has_key)
    return _shipped_scorable()


@functools.lru_cache(maxsize=1)
def _shipped_scorable() -> tuple[Instrument, ...]:
    # the shipped library is fixed for the life of the process: looked up once, not on every request
    return tuple(i for i in list_instruments() if i.has_key)


def _scorable_by_name(name: str) -> Instrument | None:
    if os.environ.get(ENV_VAR):
        return _find(_scorable(), name)
    return _shipped_by_name(name)


@functools.lru_cache(maxsize=256)
def _shipped_by_name(name: str) -> Instrument | None:
    return _find(_shipped_scorable(), name)


def _find(instruments: tuple[Instrument, ...], name: str) -> Instrument | None:
    match = next((i.id for i in instruments if i.id.lower() == name.strip().lower()), None)
    return None if match is None else get_instrument(match)


def instrument(instrument_id: str) -> Instrument:
    """A scorable instrument by id (BadRequest with close names)."""
    found = _scorable_by_name(str(instrument_id))
    if found is None:
        ids = [i.id for i in _scorable()]
        raise BadRequest(
            f"instrument must be one of the library's scorable instruments; got {instrument_id!r}"
            f"{suggest(str(instrument_id), ids)}"
        )
    return found


@dataclasses.dataclass(frozen=True)
class FormItem:
    """One item as the questionnaire page shows it."""

    number: int
    text: str | None


@dataclasses.dataclass(frozen=True)
class Form:
    """What a questionnaire page needs: items (wording only where licensed) and the response scale."""

    instrument_id: str
    name: str
    items: tuple[FormItem, ...]
    scale: tuple[tuple[int, str], ...]
    wording: str  # "shipped", "imported" or "numbers"
    attribution: str


def form(db: Session, instrument_id: str) -> Form:
    """The form of an instrument: shipped wording, imported licensed wording, or item numbers only."""
    inst = instrument(instrument_id)
    texts: Mapping[int, str] = {}
    wording = "numbers"
    if inst.licence.item_text and inst.item_text:
        texts, wording = inst.item_text, "shipped"
    else:
        imported = {
            t.item: t.text for t in db.scalars(select(LicensedText).where(LicensedText.instrument_id == inst.id))
        }
        if imported:
            texts, wording = imported, "imported"
    lo, hi = inst.response.min, inst.response.max
    scale = tuple((v, inst.response.anchors.get(v, "")) for v in range(lo, hi + 1))
    items = tuple(FormItem(n, texts.get(n)) for n in inst.item_numbers)
    return Form(inst.id, inst.name, items, scale, wording, inst.licence.attribution if wording == "shipped" else "")


def import_wording(db: Session, actor: Actor, instrument_id: str, texts: Mapping[int, str]) -> int:
    """Store licensed item wording an admin holds a licence for (kept in the database, never shipped)."""
    require(actor, "instruments.import_text")
    inst = instrument(instrument_id)
    unknown = sorted(set(texts) - set(inst.item_numbers))
    if unknown:
        raise BadRequest(f"{inst.id} has items {inst.item_numbers[0]}-{inst.item_numbers[-1]}; got item(s) {unknown}")
    for item, text in texts.items():
        row = db.scalar(select(LicensedText).where(LicensedText.instrument_id == inst.id, LicensedText.item == item))
        if row is None:
            db.add(LicensedText(instrument_id=inst.id, item=item, text=str(text)[:2000]))
        else:
            row.text = str(text)[:2000]
    record(db, who_of(actor), "instrument.import_text", "instrument", inst.id, detail={"items": len(texts)})
    return len(texts)


# -- assignments -----------------------------------------------------------------------------------


def assign(
    db: Session, actor: Actor, client_id: int, instrument_id: str, schedule: str, every_n: int | None = None
) -> Assignment:
    """Assign an instrument to the client's current episode with a schedule."""
    client = get_client(db, actor, client_id, "clients.edit")
    inst = instrument(instrument_id)
    if schedule not in SCHEDULES:
        raise BadRequest(
            f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}{suggest(schedule, SCHEDULES)}"
        )
    if schedule == "every_n":
        if every_n is None or not 2 <= every_n <= 52:
            raise BadRequest(
                f"every_n must be a whole number of sessions from 2 to 52 with schedule every_n; got {every_n}"
            )
    else:
        every_n = None
    ep = current_episode(db, client)
    a = Assignment(episode_id=ep.id, instrument_id=inst.id, schedule=schedule, every_n=every_n)
    db.add(a)
    db.flush()
    record(
        db,
        who_of(actor),
        "assignment.create",
        "assignment",
        a.id,
        detail={"client": client.code, "instrument": inst.id, "schedule": schedule},
    )
    return a


_ACTIVE = select(Assignment).where(Assignment.episode_id == bindparam("ep"), Assignment.active.is_(True))


def assignments(db: Session, client: Client, episode: Any = None) -> list[Assignment]:
    """Active assignments of the client's current episode (``episode``: it, when the caller loaded it already)."""
    ep = episode if episode is not None else current_episode(db, client)
    return list(db.scalars(_ACTIVE, {"ep": ep.id}))


def is_due(a: Assignment, session_number: int | None, *, ending: bool = False) -> bool:
    """Whether ``a`` is due at intake (``session_number`` None or 0), at a session, or at the end."""
    if a.schedule == "end":
        return ending
    if a.schedule == "intake":
        return not session_number
    if a.schedule == "every_session":
        return bool(session_number)
    if not session_number or a.every_n is None:
        return False
    return (session_number - 1) % a.every_n == 0


# -- links -------------------------------------------------------------------------------------------


def _sign(secret: str, message: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode("ascii")


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def create_link(
    db: Session,
    actor: Actor,
    secret: str,
    client_id: int,
    instrument_id: str,
    *,
    hours: int = 72,
    session_id: int | None = None,
    mode: str = "link",
) -> tuple[QuestionnaireLink, str]:
    """A single-use link (or kiosk hand-over) for one questionnaire; returns the link and its token."""
    client = get_client(db, actor, client_id, "measures.deliver")
    inst = instrument(instrument_id)
    if mode not in ("link", "kiosk"):
        raise BadRequest(f"mode must be link or kiosk; got {mode!r}")
    if not 1 <= hours <= 24 * 30:
        raise BadRequest(f"hours must be from 1 to 720; got {hours}")
    ep = current_episode(db, client)
    if session_id is not None:
        sess = db.get(TherapySession, session_id)
        if sess is None or sess.episode_id != ep.id:
            raise BadRequest(f"session {session_id} is not a session of {client.code}'s current episode")
    nonce = secrets.token_urlsafe(18)
    link = QuestionnaireLink(
        nonce_hash=_nonce_hash(nonce),
        client_id=client.id,
        episode_id=ep.id,
        session_id=session_id,
        instrument_id=inst.id,
        mode=mode,
        created_by=actor.user_id,
        expires_at=utcnow() + dt.timedelta(hours=hours if mode == "link" else 2),
    )
    db.add(link)
    db.flush()
    token = f"{link.id}.{nonce}.{_sign(secret, f'{link.id}.{nonce}')}"
    record(db, who_of(actor), f"{mode}.create", "link", link.id, detail={"client": client.code, "instrument": inst.id})
    return link, token


TAMPERED = "This questionnaire link is not valid. Please ask your clinician for a new link."


#: A link by id, and the same with a row lock (``FOR UPDATE`` on PostgreSQL), built once.
_LINK = select(QuestionnaireLink).where(QuestionnaireLink.id == bindparam("id"))
_LINK_LOCKED = _LINK.with_for_update()


def open_link(db: Session, secret: str, token: str, *, lock: bool = False) -> QuestionnaireLink:
    """The link of a token: LinkError when tampered, withdrawn or expired (a used link is returned as is)."""
    parts = str(token).split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        raise LinkError(TAMPERED)
    link_id, nonce, sig = parts
    if not hmac.compare_digest(_sign(secret, f"{link_id}.{nonce}"), sig):
        raise LinkError(TAMPERED)
    link = db.scalars(_LINK_LOCKED if lock else _LINK, {"id": int(link_id)}).first()
    if link is None or not hmac.compare_digest(link.nonce_hash, _nonce_hash(nonce)) or link.withdrawn:
        raise LinkError(TAMPERED)
    if link.used_at is None and link.expires_at < utcnow():
        raise LinkError("This questionnaire link has expired. Please ask your clinician for a new link.")
    return link


def save_draft(db: Session, secret: str, token: str, answers: Mapping[str, Any], who: Who) -> QuestionnaireLink:
    """Keep the answers given so far (save and resume); only valid answers are kept."""
    link = open_link(db, secret, token, lock=True)
    if link.used_at is not None:
        raise LinkError("This questionnaire was already submitted. Thank you.")
    values = parse_answers(link.instrument_id, answers, partial=True)
    link.draft = {str(k): v for k, v in values.items() if v is not None}
    record(db, who, "link.save", "link", link.id)
    return link


# -- answers, storage and scoring ------------------------------------------------------------------


def parse_answers(instrument_id: str, answers: Mapping[str, Any], *, partial: bool = False) -> dict[int, int | None]:
    """``{item: value}`` from form fields ``item_<n>`` (or JSON keys ``"<n>"``), each checked against the scale.

    An empty field is a skipped item (None); the missing-data rule of the instrument decides later
    whether the scale can be scored. Out-of-range or non-numeric answers are refused naming the item.
    """
    inst = instrument(instrument_id)
    lo, hi = inst.response.min, inst.response.max
    out: dict[int, int | None] = {n: None for n in inst.item_numbers}
    problems: list[str] = []
    for key, raw in answers.items():
        name = str(key)
        number = name[5:] if name.startswith("item_") else name
        if not (number.isascii() and number.isdigit()) or int(number) not in out:  # "¹".isdigit() but int() fails
            if name.startswith("item_") or name.isdigit():
                problems.append(
                    f"{inst.id} has no item {number!r} (items {inst.item_numbers[0]}-{inst.item_numbers[-1]})"
                )
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            problems.append(f"item {number}: {raw!r} is not a number from {lo} to {hi}")
            continue
        if isinstance(raw, bool) or not math.isfinite(value) or not value.is_integer() or not lo <= value <= hi:
            problems.append(f"item {number}: {raw!r} is outside the response scale {lo}-{hi}")
            continue
        out[int(number)] = int(value)
    if problems:
        raise BadRequest("; ".join(problems))
    if not partial and all(v is None for v in out.values()):
        raise BadRequest(f"no answers given: answer the items of {inst.id} ({lo}-{hi})")
    return out


def _score_and_store(db: Session, response: Response, values: Mapping[int, int | None]) -> list[Alert]:
    return score_and_store_many(db, [response], [values])


@dataclasses.dataclass(frozen=True)
class Scored:
    """Answers of one instrument scored by the library (:func:`score_answers`), ready to be stored."""

    instrument_id: str
    answers: tuple[Mapping[int, int | None], ...]
    result: Any  # list of sciplab.scoring.rows.ScoredAnswers, one per answer set


def score_answers(instrument_id: str, answers: Sequence[Mapping[int, int | None]]) -> Scored:
    """Score parsed answers (one set per response) with :func:`sciplab.scoring.rows.score_answers`; no database.

    The library's scorer for a few respondents: the numbers :func:`sciplab.score` gives for the frame
    of ``item_<n>`` columns these answers stand for, and its errors. A submission scores its answers
    this way before its write transaction starts, so the write lock (SQLite) is not held while the
    library computes.
    """
    from sciplab.scoring.rows import score_answers as score_rows

    inst = instrument(instrument_id)
    try:
        result = score_rows(answers, inst, columns={n: f"item_{n}" for n in inst.item_numbers})
    except SciplabError as exc:  # the library is the judge; its message names the item
        raise BadRequest(str(exc)) from None
    return Scored(inst.id, tuple(answers), result)


def score_and_store_many(
    db: Session, responses: Sequence[Response], answers: Sequence[Mapping[int, int | None]]
) -> list[Alert]:
    """Store the items of flushed ``responses`` of one instrument and score them in one :func:`sciplab.score` call.

    Each scale's score, validity status and band are stored as the library computed them; every
    item flag the library raises (PHQ-9 item 9, CORE-10 risk item) becomes an :class:`Alert`.
    """
    if not responses:
        return []
    return store_scored(db, responses, score_answers(responses[0].instrument_id, answers))


_INSERT_ITEMS = insert(ResponseItem.__table__)  # type: ignore[arg-type]
_INSERT_SCORES = insert(Score.__table__)  # type: ignore[arg-type]


def store_scored(db: Session, responses: Sequence[Response], scored: Scored) -> list[Alert]:
    """Store the items, scores and flags of ``scored`` (one row per response, in order) for flushed ``responses``."""
    inst = instrument(scored.instrument_id)
    alerts = []
    items: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    for response, values, row in zip(responses, scored.answers, scored.result, strict=True):
        for item in inst.item_numbers:
            value = values.get(item)
            items.append({"response_id": response.id, "item": item, "value": None if value is None else float(value)})
        for scale in inst.scales:
            col = inst.column(scale.name)
            got = row.scales.get(col)
            band = None if got is None else got.bands.get(f"{col}_band")
            scores.append(
                {
                    "response_id": response.id,
                    "scale": scale.name,
                    "value": None if got is None or math.isnan(got.value) else got.value,
                    "status": "" if got is None else got.status,
                    "band": "" if band is None else band,
                }
            )
        for flag in inst.flags:
            col = f"{inst.id}_{flag.name}"
            if row.flags.get(col, False):
                alert = Alert(client_id=response.client_id, response_id=response.id, flag=col, message=flag.message)
                db.add(alert)
                alerts.append(alert)
    # items and scores in one multi-row INSERT each, straight to their tables (the unit of work's per-object
    # bookkeeping, then the ORM's bulk path around the same INSERT, were most of their cost)
    if items:
        db.execute(_INSERT_ITEMS, items)
    if scores:
        db.execute(_INSERT_SCORES, scores)
    db.flush()
    return alerts


@dataclasses.dataclass(frozen=True)
class Submission:
    """A stored response; ``repeated`` when the link had already been submitted (nothing stored again)."""

    response_id: int
    repeated: bool
    alerts: int


def prepare_submission(db: Session, secret: str, token: str, answers: Mapping[str, Any]) -> Scored | None:
    """Check the link and score its answers before the write transaction (None: already submitted).

    Raises what :func:`submit` would (LinkError, BadRequest naming the item) without writing; run it
    in a read-only transaction, then pass the result to :func:`submit` as ``scored``.
    """
    link = open_link(db, secret, token)
    if link.used_at is not None:
        return None
    return score_answers(link.instrument_id, [parse_answers(link.instrument_id, answers)])


def submit(
    db: Session, secret: str, token: str, answers: Mapping[str, Any], who: Who, *, scored: Scored | None = None
) -> Submission:
    """Store and score the answers of a link once; a repeat returns the first response unchanged.

    ``scored``: the answers already scored by :func:`prepare_submission` (the link is checked again
    here, under the transaction's lock; answers scored for another instrument are scored anew).
    """
    link = open_link(db, secret, token, lock=True)
    if link.used_at is not None:
        existing = db.scalar(select(Response.id).where(Response.link_id == link.id))
        record(db, who, "link.submit", "link", link.id, outcome="repeated")
        return Submission(int(existing or 0), True, 0)
    if scored is None or scored.instrument_id != link.instrument_id:
        scored = score_answers(link.instrument_id, [parse_answers(link.instrument_id, answers)])
    response = Response(
        link_id=link.id,
        client_id=link.client_id,
        episode_id=link.episode_id,
        session_id=link.session_id,
        instrument_id=link.instrument_id,
        source=link.mode,
    )
    db.add(response)
    db.flush()
    alerts = store_scored(db, [response], scored)
    link.used_at = utcnow()
    link.draft = None
    record(db, who, "link.submit", "response", response.id, detail={"link": link.id, "alerts": len(alerts)})
    return Submission(response.id, False, len(alerts))


def manual_entry(
    db: Session,
    actor: Actor,
    client_id: int,
    instrument_id: str,
    answers: Mapping[str, Any],
    session_id: int | None = None,
) -> Submission:
    """Item responses typed in by the clinician from a paper form."""
    client = get_client(db, actor, client_id, "measures.deliver")
    inst = instrument(instrument_id)
    values = parse_answers(inst.id, answers)
    ep = current_episode(db, client)
    if session_id is not None:
        sess = db.get(TherapySession, session_id)
        if sess is None or sess.episode_id != ep.id:
            raise BadRequest(f"session {session_id} is not a session of {client.code}'s current episode")
    response = Response(
        client_id=client.id,
        episode_id=ep.id,
        session_id=session_id,
        instrument_id=inst.id,
        source="manual",
        entered_by=actor.user_id,
    )
    db.add(response)
    db.flush()
    alerts = _score_and_store(db, response, values)
    record(db, who_of(actor), "response.manual", "response", response.id, detail={"client": client.code})
    return Submission(response.id, False, len(alerts))


def response_detail(db: Session, actor: Actor, response_id: int) -> dict[str, Any]:
    """A response with its items and scores (checked and audited through the client's policy)."""
    response = db.get(Response, response_id)
    if response is None:
        raise NotFound(f"no response {response_id}")
    client = get_client(db, actor, response.client_id)
    items = db.scalars(select(ResponseItem).where(ResponseItem.response_id == response.id).order_by(ResponseItem.item))
    scores = db.scalars(select(Score).where(Score.response_id == response.id))
    record(db, who_of(actor), "response.view", "response", response.id)
    return {"response": response, "client": client, "items": list(items), "scores": list(scores)}
