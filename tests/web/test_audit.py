"""The audit log: every view, change, export and login recorded; append-only; hash chain verified."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from sciplab.web.audit.service import GENESIS, Who, entry_hash, record, verify
from sciplab.web.models import AuditEntry

from .conftest import add_user, new_client, new_link, sign_in


def _actions(app):
    with app.state.clinic.tx() as db:
        return [(e.username, e.action, e.outcome) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_views_changes_exports_and_logins_are_recorded(app):
    add_user(app, "t1")
    add_user(app, "res", "researcher")
    http, csrf = sign_in(app, "t1")
    cid = new_client(http, csrf)
    http.get(f"/api/v1/clients/{cid}")
    new_link(http, csrf, cid)
    hr, _ = sign_in(app, "res")
    hr.get("/research.csv")
    actions = _actions(app)
    for expected in [
        ("t1", "login", "ok"),
        ("t1", "client.create", "ok"),
        ("t1", "client.view", "ok"),
        ("t1", "link.create", "ok"),
        ("res", "research.export", "ok"),
    ]:
        assert expected in actions
    with app.state.clinic.tx() as db:
        e = db.scalar(select(AuditEntry).where(AuditEntry.action == "client.view"))
        assert e.record_type == "client" and e.record_id == str(cid) and e.ip == "testclient" and e.at.tzinfo


def test_chain_verifies_and_detects_changes(app, db_url):
    with app.state.clinic.tx() as db:
        for i in range(5):
            record(db, Who(1, "u", "1.2.3.4"), "test", "thing", i)
    with app.state.clinic.tx() as db:
        res = verify(db)
        assert res.ok and res.entries == 5
        first = db.scalar(select(AuditEntry).where(AuditEntry.id == 1))
        assert first.prev_hash == GENESIS and first.hash == entry_hash(GENESIS, first)
    _tamper(app, "UPDATE audit_log SET record_id = '99' WHERE id = 3")
    with app.state.clinic.tx() as db:
        res = verify(db)
    assert not res.ok and res.broken_at == 3 and "changed after it was written" in res.reason
    _tamper(app, "DELETE FROM audit_log WHERE id = 3")
    with app.state.clinic.tx() as db:
        res = verify(db)
    assert not res.ok and "entry 3 is missing" in res.reason


def _tamper(app, sql):
    """Change the log behind the app's back (the triggers must be dropped first: they refuse it)."""
    engine = app.state.clinic.engine
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_change_the_log(app, sql):
    with app.state.clinic.tx() as db:
        record(db, Who(), "test")
    with pytest.raises(DBAPIError, match="append-only"), app.state.clinic.engine.begin() as conn:
        conn.execute(text(sql))


def test_admin_audit_page_and_api(app):
    add_user(app, "boss", "admin")
    http, _ = sign_in(app, "boss")
    page = http.get("/admin/audit")
    assert page.status_code == 200 and "Chain intact" in page.text
    assert http.get("/api/v1/audit/verify").json()["ok"] is True
    add_user(app, "t1")
    ht, _ = sign_in(app, "t1")
    assert ht.get("/admin/audit").status_code == 403


def test_concurrent_appends_chain_onto_each_other(app):
    """Writers in parallel transactions never chain onto the same entry (PostgreSQL: lock, then the newest entry)."""
    import threading

    clinic, errors = app.state.clinic, []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                with clinic.tx() as db:
                    record(db, Who(n, f"u{n}"), "test", "thing", i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with clinic.read() as db:
        res = verify(db)
        ids = db.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    assert res.ok and res.entries == 48 and ids == list(range(1, 49))


def test_an_entry_is_written_after_the_changes_it_records_and_returned_as_stored(app):
    from sciplab.web.models import AppSetting

    with app.state.clinic.tx() as db:
        db.add(AppSetting(key="probe", value="1"))  # pending: written before the entry
        entry = record(db, Who(7, "u", "1.2.3.4"), "settings.change", "setting", "probe", detail={"value": "1"})
    with app.state.clinic.read() as db:  # the entry has its id and hashes once written (PostgreSQL: at the commit)
        stored = db.scalar(select(AuditEntry).where(AuditEntry.id == entry.id))
        assert db.get(AppSetting, "probe") is not None
    expected = (entry.hash, GENESIS, '{"value": "1"}', entry.at)
    assert (stored.hash, stored.prev_hash, stored.detail, stored.at) == expected
    assert stored.hash == entry_hash(GENESIS, stored)


def test_a_rolled_back_transaction_writes_neither_its_change_nor_its_entry(app):
    from sciplab.web.models import AppSetting

    clinic = app.state.clinic
    with clinic.tx() as db:
        record(db, Who(), "first")
    with pytest.raises(RuntimeError, match="boom"), clinic.tx() as db:
        db.add(AppSetting(key="probe", value="1"))
        record(db, Who(), "lost")
        db.flush()
        raise RuntimeError("boom")
    with clinic.tx() as db:  # the same pooled connection: nothing of the rolled-back transaction is left over
        record(db, Who(), "second")
    with clinic.read() as db:
        assert db.get(AppSetting, "probe") is None
        assert [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))] == ["first", "second"]
        assert verify(db).ok


def test_postgresql_holds_the_chain_lock_only_inside_the_commit(app):
    """The entry waits for the commit, which sends lock, entry and COMMIT in one query: no lock while the app works."""
    clinic = app.state.clinic
    if clinic.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's advisory lock")
    from sciplab.web.audit.service import ADVISORY_LOCK
    from sciplab.web.models import AppSetting

    def chain_locks() -> int:
        with clinic.read() as other:  # another connection
            return int(
                other.scalar(
                    text(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {ADVISORY_LOCK}")
                )
            )

    with clinic.tx() as db:
        db.add(AppSetting(key="probe", value="1"))
        entry = record(db, Who(), "settings.change")
        db.flush()  # the transaction is open on the server
        assert chain_locks() == 0 and entry.hash == ""
    assert chain_locks() == 0 and len(entry.hash) == 64
    with clinic.tx() as db:  # nested: written at once inside the savepoint, kept when the savepoint is released
        with db.begin_nested():
            inner = record(db, Who(), "inner")
        assert len(inner.hash) == 64 and chain_locks() == 1
        outer = record(db, Who(), "outer")
    with clinic.read() as db:
        assert db.get(AppSetting, "probe") is not None
        rows = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.hash) for e in rows] == [(e.action, e.hash) for e in (entry, inner, outer)]
        assert verify(db).ok


def test_entries_with_awkward_text_chain_and_verify(app):
    """Quotes, backslashes, control characters and non-ASCII text hash the same wherever the entry is written."""
    awkward = ['O\'Brien "q" \\ \\\\x', "tab\tnew\nline\r\x01\x1f\x7f", "Zoë · ∑ 😀 ‘quotes’", "", "{rest} %s %(x)s"]
    with app.state.clinic.tx() as db:
        written = [
            record(db, Who(None if i % 2 else i, text, text), text or "x", text, text, outcome="ok", detail={"t": text})
            for i, text in enumerate(awkward)
        ]
    with app.state.clinic.read() as db:
        stored = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        res = verify(db)
    assert res.ok and res.entries == len(awkward)
    prev = GENESIS
    for entry, row in zip(written, stored, strict=True):
        assert (row.id, row.prev_hash, row.hash, row.username, row.detail) == (
            entry.id, prev, entry.hash, entry.username, entry.detail
        )  # fmt: skip
        assert row.hash == entry_hash(prev, row)
        prev = row.hash
