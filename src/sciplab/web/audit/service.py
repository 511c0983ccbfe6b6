"""The append-only, hash-chained audit log.

Every entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's canonical JSON
(id, time, user, action, record, address, outcome, detail), so changing, deleting or reordering any
entry breaks the chain from there on; :func:`verify` walks it. Appends are serialised (SQLite:
``BEGIN IMMEDIATE`` transactions; PostgreSQL: a transaction-scoped advisory lock) so two writers
never chain onto the same entry. The database refuses UPDATE and DELETE on the table (triggers
made by the first migration).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sciplab.web.models import AuditEntry, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK = 0x5C1B1AB  # the audit chain's PostgreSQL advisory lock key


@dataclasses.dataclass(frozen=True)
class Who:
    """Who acts and from where (a user, or an anonymous client holding a link)."""

    user_id: int | None = None
    username: str = ""
    ip: str = ""


def _payload(entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(
        [
            entry.id,
            at,
            entry.user_id,
            entry.username,
            entry.action,
            entry.record_type,
            entry.record_id,
            entry.ip,
            entry.outcome,
            entry.detail,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The chain hash of ``entry`` after ``prev_hash``."""
    return hashlib.sha256((prev_hash + _payload(entry)).encode("utf-8")).hexdigest()


#: The newest entry (id and hash), the one a new entry chains onto (built once).
_LAST = select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
_INSERT = insert(AuditEntry.__table__)  # type: ignore[arg-type]
_COLUMNS = tuple(c.key for c in AuditEntry.__table__.columns)
#: PostgreSQL: the chain's lock, then the entry chained onto the newest one, in one round trip: two statements
#: of one simple-protocol query. Under READ COMMITTED each statement takes its snapshot when it starts, so the
#: INSERT sees every entry committed before the lock was granted (one statement would read a snapshot older
#: than the lock). The database computes only what depends on the newest entry: its id + 1, its hash, and the
#: entry's hash, SHA-256 over that hash and the canonical JSON of :func:`_payload`, whose text after the id
#: Python made (``{rest}``); :func:`verify` recomputes it in Python. The lock is then held only from this
#: round trip to the commit (before, three round trips with Python in between: the queue of every writer).
_APPEND_PG = (
    "SELECT pg_advisory_xact_lock({key}); "
    "WITH last AS (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1), "
    "head AS (SELECT coalesce((SELECT id FROM last), 0) + 1 AS id, "
    "coalesce((SELECT hash FROM last), {genesis}) AS prev) "
    "INSERT INTO audit_log (id, at, user_id, username, action, record_type, record_id, ip, outcome, detail, "
    "prev_hash, hash) "
    "SELECT head.id, {at}, {user_id}, {username}, {action}, {record_type}, {record_id}, {ip}, {outcome}, "
    "{detail}, head.prev, encode(sha256(convert_to(head.prev || '[' || head.id::text || ',' || {rest}, 'UTF8')), "
    "'hex') FROM head RETURNING id, prev_hash, hash"
)


def _append_pg(db: Session, entry: AuditEntry) -> None:
    """Write ``entry`` (all but its id and hashes) chained onto the newest entry; set its id and hashes."""
    from psycopg import sql

    rest = _payload(entry)[len(f"[{entry.id}") :]  # "," + the JSON after the id (the id is a placeholder here)
    values = {name: getattr(entry, name) for name in _COLUMNS if name not in ("id", "prev_hash", "hash")}
    proxy = db.connection().connection
    query = sql.SQL(_APPEND_PG).format(
        key=sql.Literal(ADVISORY_LOCK),
        genesis=sql.Literal(GENESIS),
        rest=sql.Literal(rest[1:]),
        **{name: sql.Literal(value) for name, value in values.items()},
    )
    cursor = proxy.cursor()
    try:
        cursor.execute(query.as_string(proxy.driver_connection))
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:  # pragma: no cover - INSERT ... RETURNING always returns the row it wrote
        raise RuntimeError("the audit entry was not written")
    entry.id, entry.prev_hash, entry.hash = int(row[0]), str(row[1]), str(row[2])


def record(
    db: Session,
    who: Who,
    action: str,
    record_type: str = "",
    record_id: object = "",
    *,
    outcome: str = "ok",
    detail: dict[str, Any] | str = "",
) -> AuditEntry:
    """Append one entry in the caller's transaction (committed or rolled back with the change it records).

    The caller's pending changes are written first (as the query for the newest entry would do anyway), so
    on PostgreSQL the chain's lock is held only for the entry itself (:data:`_APPEND_PG`) and the commit.
    """
    db.flush()
    entry = AuditEntry(
        id=0,
        at=utcnow(),
        user_id=who.user_id,
        username=who.username,
        action=action,
        record_type=record_type,
        record_id=str(record_id) if record_id is not None else "",
        ip=who.ip,
        outcome=outcome,
        detail=detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, ensure_ascii=False),
        prev_hash="",
        hash="",
    )
    if db.get_bind().dialect.name == "postgresql":
        _append_pg(db, entry)
        return entry  # as written (not added to the session: the row is in the database already)
    row = db.execute(_LAST).first()
    entry.id = int(row[0]) + 1 if row else 1
    entry.prev_hash = str(row[1]) if row else GENESIS
    entry.hash = entry_hash(entry.prev_hash, entry)
    db.execute(_INSERT, {c: getattr(entry, c) for c in _COLUMNS})
    return entry


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: entries checked and the first broken entry (None: intact)."""

    entries: int
    broken_at: int | None
    reason: str

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact."""
        return self.broken_at is None


def _walk(db: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(db: Session) -> VerifyResult:
    """Recompute the chain from the first entry; report the first entry that does not match."""
    prev = GENESIS
    expected_id = 1
    count = 0
    for entry in _walk(db):
        count += 1
        if entry.id != expected_id:
            return VerifyResult(count, entry.id, f"entry {expected_id} is missing (next is {entry.id})")
        if entry.prev_hash != prev:
            return VerifyResult(count, entry.id, f"entry {entry.id} does not chain onto entry {entry.id - 1}")
        if entry_hash(prev, entry) != entry.hash:
            return VerifyResult(count, entry.id, f"entry {entry.id} was changed after it was written")
        prev = entry.hash
        expected_id += 1
    return VerifyResult(count, None, "")


def recent(db: Session, limit: int = 200) -> list[AuditEntry]:
    """The newest entries first."""
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
