"""Import of historical session data from CSV: map the columns once, preview, then import all rows or none.

A **mapping** names, for each field of a session record, the CSV column holding it:
``client`` (the clinic's client code), ``session`` (number), ``date`` (YYYY-MM-DD), optionally
``attendance``, ``therapist_alliance`` (0-10), ``distance_rating`` (1-7) and ``note``, and any item of
a scorable instrument as ``INSTRUMENT:ITEM`` (``PHQ-9:1`` ... ``PHQ-9:9``). Mappings are saved by
name in the clinic database (``app_settings``, key ``csv_mapping:<name>``) and reused for the next
file of the same layout.

The file is read by :func:`sciplab._core.io.read_data` (the project's CSV reader: empty cells are
missing, duplicated headers refused) and every row is checked before anything is written: the
client must be on the importer's caseload, the session new, the date a date, ratings and item
answers inside their scales (answers are checked by the same rule as every questionnaire,
:func:`sciplab.web.measures.service.parse_answers`). Each rejected cell is listed with file, row
(the header is row 1), column, value and what was expected. **Preview** shows the result;
**import** refuses the whole file while any row is rejected, else writes every session and
response and scores them through :func:`sciplab.score` in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sciplab._core.errors import SciplabError, suggest
from sciplab._core.io import read_data
from sciplab.web.audit.service import record
from sciplab.web.auth.service import get_setting, put_setting
from sciplab.web.clients.service import ALLIANCE_SCALE, DISTANCE_SCALE, current_episode, who_of
from sciplab.web.errors import BadRequest, Forbidden, NotFound, WebError
from sciplab.web.measures.service import instrument, parse_answers, scorable, score_and_store_many
from sciplab.web.models import ATTENDANCE, AppSetting, Client, Response, TherapySession
from sciplab.web.policy import Actor, check_client, require

MAX_SESSION = 10_000
FIELDS: dict[str, tuple[bool, str]] = {
    "client": (True, "the clinic's client code (C-XXXXXX) of a client on your caseload"),
    "session": (True, f"the session number, a whole number from 1 to {MAX_SESSION}"),
    "date": (True, "the session date as YYYY-MM-DD"),
    "attendance": (False, f"one of {', '.join(ATTENDANCE)} (empty: attended)"),
    "therapist_alliance": (
        False,
        f"the therapist's alliance rating, a whole number {ALLIANCE_SCALE[0]}-{ALLIANCE_SCALE[1]}",
    ),
    "distance_rating": (False, f"therapeutic distance, a whole number {DISTANCE_SCALE[0]}-{DISTANCE_SCALE[1]}"),
    "note": (False, "the session note (free text, kept with the record only)"),
}
MAPPING_KEY = "csv_mapping:"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_ROWS = 50_000


class ImportRejected(WebError):
    """Rows of the file were rejected: nothing was imported (``rejected`` lists each with its reason)."""

    status = 400

    def __init__(self, message: str, rejected: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rejected = rejected


def fields() -> dict[str, Any]:
    """The mapping's fields with what each expects, and the item fields per instrument."""
    return {
        "fields": {k: {"required": req, "expected": text} for k, (req, text) in FIELDS.items()},
        "items": {i.id: [f"{i.id}:{n}" for n in i.item_numbers] for i in scorable()},
    }


def _check_mapping(columns: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(columns, Mapping) or not columns:
        raise BadRequest('mapping: give {field: CSV column}, e.g. {"client": "Code", "session": "Nr"}')
    out: dict[str, str] = {}
    for field, column in columns.items():
        field = str(field).strip()
        if ":" in field:
            inst_id, _, item = field.partition(":")
            try:
                inst = instrument(inst_id)
            except BadRequest as exc:
                raise BadRequest(f"mapping field {field!r}: {exc}") from None
            if not item.strip().isdigit() or int(item) not in inst.item_numbers:
                raise BadRequest(
                    f"mapping field {field!r}: {inst.id} has items "
                    f"{inst.item_numbers[0]}-{inst.item_numbers[-1]}; write {inst.id}:1 ..."
                )
            field = f"{inst.id}:{int(item)}"
        elif field not in FIELDS:
            raise BadRequest(
                f"mapping field {field!r} is unknown; fields: {', '.join(FIELDS)} or INSTRUMENT:ITEM"
                f"{suggest(field, list(FIELDS))}"
            )
        if not isinstance(column, str) or not column.strip():
            raise BadRequest(f"mapping field {field!r}: give the CSV column's name")
        out[field] = column
    missing = [f for f, (req, _) in FIELDS.items() if req and f not in out]
    if missing:
        raise BadRequest(f"mapping: the required field(s) {', '.join(missing)} have no column")
    if len(set(out.values())) != len(out):
        raise BadRequest("mapping: a CSV column is mapped to two fields")
    return out


def save_mapping(db: Session, actor: Actor, name: str, columns: Mapping[str, str]) -> dict[str, Any]:
    """Keep ``columns`` as the mapping ``name`` (in ``app_settings``), audited."""
    require(actor, "import.csv")
    if not NAME.match(name or ""):
        raise BadRequest(f"mapping name {name!r}: 1-40 letters, digits, _ or -")
    clean = _check_mapping(columns)
    value = {"columns": clean, "saved_by": actor.username, "saved_at": dt.datetime.now(dt.UTC).isoformat()}
    put_setting(db, MAPPING_KEY + name, json.dumps(value, sort_keys=True))
    record(db, who_of(actor), "csv.mapping.save", "setting", MAPPING_KEY + name, detail={"fields": len(clean)})
    return {"name": name, **value}


def load_mapping(db: Session, name: str) -> dict[str, str]:
    """The saved mapping ``name`` (NotFound naming the saved ones)."""
    raw = get_setting(db, MAPPING_KEY + str(name))
    if raw is None:
        names = [
            k[len(MAPPING_KEY) :]
            for k in db.scalars(select(AppSetting.key).where(AppSetting.key.startswith(MAPPING_KEY)))
        ]
        raise NotFound(f"no saved mapping {name!r}; saved: {', '.join(names) or 'none'}")
    return dict(json.loads(raw)["columns"])


def list_mappings(db: Session, actor: Actor) -> dict[str, Any]:
    """Every saved mapping by name."""
    require(actor, "import.csv")
    rows = db.scalars(select(AppSetting).where(AppSetting.key.startswith(MAPPING_KEY)).order_by(AppSetting.key))
    return {r.key[len(MAPPING_KEY) :]: json.loads(r.value) for r in rows}


# -- reading and checking ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One accepted row, ready to store."""

    row: int
    client: Client
    session: int
    date: dt.date
    attendance: str
    therapist_alliance: int | None
    distance_rating: int | None
    note: str
    answers: dict[str, dict[int, int | None]]


@dataclasses.dataclass
class Plan:
    """The checked file: accepted rows and rejected cells."""

    filename: str
    sha256: str
    rows: list[Row]
    rejected: list[dict[str, Any]]
    total: int
    mapping: dict[str, str]

    def preview(self, limit: int = 20) -> dict[str, Any]:
        """JSON-safe summary: counts, the first accepted rows and every rejection."""
        return {
            "file": self.filename,
            "rows": self.total,
            "accepted": len(self.rows),
            "rejected_rows": len({r["row"] for r in self.rejected}),
            "rejected": self.rejected,
            "responses": sum(len(r.answers) for r in self.rows),
            "sample": [
                {
                    "row": r.row,
                    "client": r.client.code,
                    "session": r.session,
                    "date": r.date.isoformat(),
                    "attendance": r.attendance,
                    "therapist_alliance": r.therapist_alliance,
                    "distance_rating": r.distance_rating,
                    "instruments": sorted(r.answers),
                }
                for r in self.rows[:limit]
            ],
            "mapping": self.mapping,
        }


def _read(filename: str, content: str) -> Any:
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt"):
        raise BadRequest(f"{filename}: expected a .csv file (or .tsv, tab-separated)")
    with tempfile.TemporaryDirectory(prefix="sciplab-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_text(content, encoding="utf-8")
        try:
            frame = read_data(path)
        except SciplabError as exc:
            raise BadRequest(str(exc).replace(str(path), filename)) from None
    if len(frame) > MAX_ROWS:
        raise BadRequest(f"{filename}: {len(frame)} rows; at most {MAX_ROWS} per import (split the file)")
    return frame


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _whole(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    try:
        f = float(str(v).strip())
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) and f.is_integer() else None


def _shown(v: Any) -> str:
    return "" if _blank(v) else str(v)[:200]


def plan(
    db: Session,
    actor: Actor,
    filename: str,
    content: str,
    mapping: Mapping[str, str] | None = None,
    mapping_name: str | None = None,
) -> Plan:
    """Read and check a file with a mapping (inline, or saved under ``mapping_name``); nothing is written."""
    require(actor, "import.csv")
    if mapping is None and mapping_name is None:
        raise BadRequest("give a mapping ({field: CSV column}) or the name of a saved mapping")
    columns = _check_mapping(mapping if mapping is not None else load_mapping(db, str(mapping_name)))
    filename = Path(str(filename) or "upload.csv").name
    frame = _read(filename, content)
    header = [str(c) for c in frame.columns]
    absent = [c for c in columns.values() if c not in header]
    if absent:
        raise BadRequest(
            f"{filename}: the mapping names column(s) {', '.join(map(repr, absent))} that the file does "
            f"not have; its columns: {', '.join(header)}"
        )
    rejected: list[dict[str, Any]] = []
    accepted: list[Row] = []
    clients: dict[str, Client | None] = {}
    seen: set[tuple[int, int]] = set()
    items_by_inst: dict[str, dict[int, str]] = {}
    for field, col in columns.items():
        if ":" in field:
            inst_id, _, item = field.partition(":")
            items_by_inst.setdefault(inst_id, {})[int(item)] = col

    def reject(row: int, field: str, value: Any, expected: str) -> None:
        rejected.append(
            {
                "file": filename,
                "row": row,
                "column": columns.get(field, field),
                "field": field,
                "value": _shown(value),
                "expected": expected,
            }
        )

    for idx, rec in enumerate(frame.to_dict("records")):
        row = idx + 2
        before = len(rejected)
        get = {f: rec[c] for f, c in columns.items()}
        code = "" if _blank(get["client"]) else str(get["client"]).strip()
        if code not in clients:
            clients[code] = _client(db, actor, code)
        client = clients[code]
        if client is None:
            reject(row, "client", get["client"], FIELDS["client"][1])
        number = _whole(get["session"])
        if number is not None and not 1 <= number <= MAX_SESSION:
            number = None
        if number is None:
            reject(row, "session", get["session"], FIELDS["session"][1])
        date = _date(get["date"])
        if date is None:
            reject(row, "date", get["date"], FIELDS["date"][1])
        attendance = "attended" if _blank(get.get("attendance")) else str(get["attendance"]).strip()
        if attendance not in ATTENDANCE:
            reject(row, "attendance", get["attendance"], FIELDS["attendance"][1])
        ratings: dict[str, int | None] = {}
        for field, (lo, hi) in (("therapist_alliance", ALLIANCE_SCALE), ("distance_rating", DISTANCE_SCALE)):
            raw = get.get(field)
            value = None if _blank(raw) else _whole(raw)
            if not _blank(raw) and (value is None or not lo <= value <= hi):
                reject(row, field, raw, FIELDS[field][1])
            ratings[field] = value
        answers: dict[str, dict[int, int | None]] = {}
        for inst_id, items in items_by_inst.items():
            inst = instrument(inst_id)
            raw_items = {str(n): rec[col] for n, col in items.items() if not _blank(rec[col])}
            good: dict[str, Any] = {}
            for n, value in raw_items.items():
                try:
                    good.update(
                        {k: v for k, v in parse_answers(inst.id, {n: value}, partial=True).items() if v is not None}
                    )
                except BadRequest:
                    expected = f"an answer to {inst.id} item {n}: a whole number from {inst.response.min} to "
                    reject(row, f"{inst.id}:{n}", value, expected + f"{inst.response.max} (empty: skipped)")
            if raw_items and len(good) == len(raw_items):
                answers[inst.id] = parse_answers(inst.id, {str(k): v for k, v in good.items()}, partial=True)
        if client is not None and number is not None:
            ep = current_episode(db, client)
            key = (ep.id, number)
            if key in seen:
                reject(row, "session", get["session"], f"a session number not already in this file for {code}")
            elif (
                db.scalar(
                    select(TherapySession.id).where(TherapySession.episode_id == ep.id, TherapySession.number == number)
                )
                is not None
            ):
                reject(row, "session", get["session"], f"a new session: session {number} of {code} is already recorded")
            seen.add(key)
        if len(rejected) == before and client is not None and number is not None and date is not None:
            note = "" if _blank(get.get("note")) else str(get["note"])[:5000]
            accepted.append(
                Row(
                    row,
                    client,
                    number,
                    date,
                    attendance,
                    ratings["therapist_alliance"],
                    ratings["distance_rating"],
                    note,
                    answers,
                )
            )
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return Plan(filename, digest, accepted, rejected, len(frame), columns)


def _client(db: Session, actor: Actor, code: str) -> Client | None:
    if not code:
        return None
    cid = db.scalar(select(Client.id).where(Client.code == code))
    if cid is None:
        return None
    try:
        return check_client(db, actor, cid, "import.csv")
    except Forbidden:
        return None  # reported as "not on your caseload", the same words as an unknown code


def _date(v: Any) -> dt.date | None:
    if _blank(v):
        return None
    try:
        return dt.date.fromisoformat(str(v).strip()[:10]) if len(str(v).strip()) == 10 else None
    except ValueError:
        return None


def run(
    db: Session,
    actor: Actor,
    filename: str,
    content: str,
    mapping: Mapping[str, str] | None = None,
    mapping_name: str | None = None,
) -> dict[str, Any]:
    """Import every row of the file, or none while any row is rejected (:class:`ImportRejected` lists them)."""
    p = plan(db, actor, filename, content, mapping, mapping_name)
    if p.rejected:
        n = len({r["row"] for r in p.rejected})
        raise ImportRejected(f"{p.filename}: {n} of {p.total} rows rejected; nothing was imported", p.rejected)
    if not p.rows:
        raise BadRequest(f"{p.filename}: no data rows to import")
    pending: dict[str, tuple[list[Response], list[dict[int, int | None]]]] = {}
    for r in p.rows:
        ep = current_episode(db, r.client)
        sess = TherapySession(
            episode_id=ep.id,
            number=r.session,
            date=r.date,
            attendance=r.attendance,
            therapist_alliance=r.therapist_alliance,
            distance_rating=r.distance_rating,
            note=r.note,
        )
        db.add(sess)
        db.flush()
        for inst_id, values in r.answers.items():
            resp = Response(
                client_id=r.client.id,
                episode_id=ep.id,
                session_id=sess.id,
                instrument_id=inst_id,
                source="csv",
                entered_by=actor.user_id,
                submitted_at=dt.datetime.combine(r.date, dt.time(12), tzinfo=dt.UTC),
            )
            db.add(resp)
            group = pending.setdefault(inst_id, ([], []))
            group[0].append(resp)
            group[1].append(values)
    db.flush()
    alerts = 0
    for resps, values in pending.values():
        try:
            alerts += len(score_and_store_many(db, resps, values))
        except BadRequest as exc:  # e.g. no item answered at all: the library names it
            raise BadRequest(f"{p.filename}: {exc}; nothing was imported") from None
    responses = sum(len(v[0]) for v in pending.values())
    record(
        db,
        who_of(actor),
        "csv.import",
        "file",
        p.filename[:64],
        detail={
            "rows": len(p.rows),
            "sessions": len(p.rows),
            "responses": responses,
            "alerts": alerts,
            "sha256": p.sha256,
            "mapping": mapping_name or "inline",
        },
    )
    return {
        "file": p.filename,
        "rows": len(p.rows),
        "sessions": len(p.rows),
        "responses": responses,
        "alerts": alerts,
        "sha256": p.sha256,
    }
