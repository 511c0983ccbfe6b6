"""The append-only, hash-chained audit log.

Every entry's ``hash`` is SHA-256 over the previous entry's hash and the entry's canonical JSON
(id, time, user, action, record, address, outcome, detail), so changing, deleting or reordering any
entry breaks the chain from there on; :func:`verify` walks it. Appends are serialised (SQLite:
``BEGIN IMMEDIATE`` transactions; PostgreSQL: a transaction-scoped advisory lock) so two writers
never chain onto the same entry. The database refuses UPDATE and DELETE on the table (triggers
made by the first migration).

On PostgreSQL an entry is written when its transaction commits: :func:`record` keeps it with the
session, and the commit sends the chain's lock, the entries and the ``COMMIT`` as one query
(:func:`_write_pending`), so the lock is held only inside the database server, never across a round
trip to the app (whose Python threads wait for the GIL and the cores under load).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from sciplab.web.models import AuditEntry, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK = 0x5C1B1AB  # the audit chain's PostgreSQL advisory lock key
PENDING = "sciplab_audit_pending"  # Session.info key: PostgreSQL entries waiting for their transaction's commit


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
#: PostgreSQL: the chain's lock, then each entry chained onto the newest one, then (inside a transaction
#: block) ``COMMIT``: one simple-protocol query, so the lock is taken and released inside the server (a
#: transaction-scoped lock ends with the commit). Under READ COMMITTED each statement takes its snapshot when
#: it starts, so an INSERT sees every entry committed before the lock was granted (and the entries before it in
#: this query). The database computes only what depends on the newest entry: its id + 1, its hash, and the
#: entry's hash, SHA-256 over that hash and the canonical JSON of :func:`_payload`, whose text after the id
#: Python made (``{rest}``); :func:`verify` recomputes it in Python.
_LOCK_PG = "SELECT pg_advisory_xact_lock({key})"
_INSERT_PG = (
    "WITH last AS (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1), "
    "head AS (SELECT coalesce((SELECT id FROM last), 0) + 1 AS id, "
    "coalesce((SELECT hash FROM last), {genesis}) AS prev) "
    "INSERT INTO audit_log (id, at, user_id, username, action, record_type, record_id, ip, outcome, detail, "
    "prev_hash, hash) "
    "SELECT head.id, {at}, {user_id}, {username}, {action}, {record_type}, {record_id}, {ip}, {outcome}, "
    "{detail}, head.prev, encode(sha256(convert_to(head.prev || '[' || head.id::text || ',' || {rest}, 'UTF8')), "
    "'hex') FROM head RETURNING id, prev_hash, hash"
)


def _insert_pg(entry: AuditEntry) -> Any:
    """The INSERT of ``entry`` (all but its id and hashes, as literals) chained onto the newest entry."""
    from psycopg import sql

    rest = _payload(entry)[len(f"[{entry.id}") :]  # "," + the JSON after the id (the id is a placeholder here)
    values = {name: getattr(entry, name) for name in _COLUMNS if name not in ("id", "prev_hash", "hash")}
    return sql.SQL(_INSERT_PG).format(
        genesis=sql.Literal(GENESIS),
        rest=sql.Literal(rest[1:]),
        **{name: sql.Literal(value) for name, value in values.items()},
    )


def _append_pg(db: Session, entries: list[AuditEntry], *, commit: bool = True) -> None:
    """Write ``entries`` chained in order and (``commit``) commit, in one round trip; set their ids and hashes.

    In a transaction block (the caller's statements began it) the query ends with ``COMMIT``; with nothing
    sent yet it is sent without a ``BEGIN`` and is its own implicit transaction (the server commits a
    multi-statement query at its end), so an audit-only transaction is one round trip. Either way the
    connection is idle afterwards and the session's own commit sends nothing. Without ``commit`` the
    entries join the open transaction and the lock is held to its end.
    """
    from psycopg import pq, sql

    proxy = db.connection().connection
    conn = proxy.driver_connection
    in_block = conn.pgconn.transaction_status != pq.TransactionStatus.IDLE
    parts = [sql.SQL(_LOCK_PG).format(key=sql.Literal(ADVISORY_LOCK)), *(_insert_pg(e) for e in entries)]
    if in_block and commit:
        parts.append(sql.SQL("COMMIT"))
    query = sql.SQL("; ").join(parts).as_string(conn)
    manual = commit and not in_block and not conn.autocommit
    if manual:
        conn.autocommit = True  # no BEGIN before the query: it is one implicit transaction (no round trip to set)
    cursor = proxy.cursor()
    try:
        cursor.execute(query)
        rows = []
        for _ in entries:
            cursor.nextset()
            rows.append(cursor.fetchone())
    finally:
        cursor.close()
        if manual:
            conn.autocommit = False
    for entry, row in zip(entries, rows, strict=True):
        if row is None:  # pragma: no cover - INSERT ... RETURNING always returns the row it wrote
            raise RuntimeError("the audit entry was not written")
        entry.id, entry.prev_hash, entry.hash = int(row[0]), str(row[1]), str(row[2])


@event.listens_for(Session, "before_commit")
def _write_pending(db: Session) -> None:
    """PostgreSQL: write the transaction's entries after its other changes, together with its commit."""
    pending = db.info.get(PENDING)
    if not pending or db.in_nested_transaction():  # a savepoint's release: the entries wait for the real commit
        return
    db.flush()  # the changes the entries record, before them
    del db.info[PENDING]
    _append_pg(db, pending)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(db: Session, transaction: Any) -> None:
    """Entries of a transaction that did not commit are not written (nor is the change they record)."""
    if transaction.parent is None:
        db.info.pop(PENDING, None)


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

    SQLite: written now, after the caller's pending changes (the transaction holds the write lock).
    PostgreSQL: written at the transaction's commit, after all its other changes, in the same query as
    the chain's lock and the ``COMMIT`` (:func:`_write_pending`); the returned entry gets its id and
    hashes then (inside a savepoint: written now, the lock then held to the commit). The entry's time is
    now either way.
    """
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
        if db.in_nested_transaction():  # a savepoint may roll back without the transaction: written now, under it
            db.flush()
            _append_pg(db, [entry], commit=False)
        else:
            db.info.setdefault(PENDING, []).append(entry)
        return entry  # id and hashes set when written (not added to the session: a Core INSERT writes it)
    db.flush()
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
