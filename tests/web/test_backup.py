"""``sciplab db backup`` / ``db restore``: a round trip keeps every row of every table, on SQLite and
PostgreSQL; a non-empty target, an existing backup file and a backup of the other kind are refused."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from sciplab.cli.main import app as cli
from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.db import make_engine

from .conftest import PG_ENV, _pg_database, add_user, client_for, new_client, new_link, settings_for, sign_in


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _fill(url: str) -> None:
    app = create_app(settings_for(url))
    try:
        add_user(app, "sup", "supervisor")
        add_user(app, "t1", supervisor="sup")
        http, csrf = sign_in(app, "t1")
        for name in ("Ada Lovelace", "Émile Zola"):
            cid = new_client(http, csrf, name)
            token = new_link(http, csrf, cid)
            answers = {str(i): 1 for i in range(1, 9)} | {"9": 2}
            assert client_for(app).post(f"/api/v1/questionnaires/{token}", json={"answers": answers}).status_code == 200
            http.post(f"/api/v1/clients/{cid}/sessions", json={"therapist_alliance": 7}, headers={"X-CSRF-Token": csrf})
        client_for(app).post("/api/v1/session", json={"username": "t1", "password": "wrong password"})
    finally:
        app.state.clinic.engine.dispose()


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (ordered by the primary key, else by every column)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            out = {}
            for table in sorted(insp.get_table_names()):
                cols = [c["name"] for c in insp.get_columns(table)]
                pk = insp.get_pk_constraint(table)["constrained_columns"] or cols
                order = ", ".join(f'"{c}"' for c in pk)
                out[table] = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))]  # noqa: S608
            return out
    finally:
        engine.dispose()


@pytest.fixture
def second_db(db_url: str, tmp_path: Any) -> Any:
    """Another empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield from _pg_database(os.environ[PG_ENV])


def test_round_trip_keeps_every_table(migrated, second_db, tmp_path):
    _fill(migrated)
    file = tmp_path / "clinic.backup"
    r = run("db", "backup", file, "--db", migrated)
    assert r.exit_code == 0, r.output
    assert "backed up" in r.output and file.stat().st_size > 0
    again = run("db", "backup", file, "--db", migrated)
    assert again.exit_code != 0 and "already exists" in again.output
    r = run("db", "restore", file, "--db", second_db)
    assert r.exit_code == 0, r.output
    assert f"revision {migrate.head()}" in r.output
    before, after = _dump(migrated), _dump(second_db)
    assert set(before) == set(after) and {"clients", "client_identities", "audit_log", "responses"} <= set(before)
    for table in before:
        assert after[table] == before[table], table
    assert len(before["audit_log"]) > 10 and len(before["client_identities"]) == 2
    # the restored clinic starts, its audit chain verifies, and it refuses another restore on top
    restored = create_app(settings_for(second_db))
    try:
        assert client_for(restored).get("/api/v1/audit/verify").status_code == 401
        from sciplab.web.audit.service import verify

        with restored.state.clinic.tx() as db:
            assert verify(db).ok
    finally:
        restored.state.clinic.engine.dispose()
    r = run("db", "restore", file, "--db", second_db)
    assert r.exit_code != 0 and "is not empty" in r.output and "restore only into a new, empty database" in r.output
    assert _dump(second_db) == after


def test_restore_refuses_other_kinds_and_files(tmp_path):
    db = tmp_path / "a.db"
    migrate.upgrade(f"sqlite:///{db}")
    backup_file = tmp_path / "a.backup"
    assert run("db", "backup", backup_file, "--db", db).exit_code == 0
    r = run("db", "restore", backup_file, "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert r.exit_code != 0 and "restore it into the same kind of database" in r.output
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    r = run("db", "restore", junk, "--db", tmp_path / "new.db")
    assert r.exit_code != 0 and "is not a clinic backup" in r.output
    assert not (tmp_path / "new.db").exists()
    r = run("db", "backup", tmp_path / "b.backup", "--db", tmp_path / "missing.db")
    assert r.exit_code != 0 and "does not exist" in r.output and "Traceback" not in r.output


def test_backup_is_consistent_while_the_clinic_writes(tmp_path):
    """The SQLite online backup taken during a stream of writes is a database whose audit chain verifies."""
    import threading

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    try:
        add_user(app, "t1")
        http, csrf = sign_in(app, "t1")
        stop = threading.Event()

        def writer() -> None:
            while not stop.is_set():
                new_client(http, csrf, "Busy Person")

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            files = [tmp_path / f"b{i}.backup" for i in range(3)]
            for f in files:
                assert run("db", "backup", f, "--db", url).exit_code == 0
        finally:
            stop.set()
            thread.join()
        from sciplab.web.audit.service import verify
        from sciplab.web.db import session_factory
        from sciplab.web.models import Client, ClientIdentity

        for f in files:
            engine = make_engine(f"sqlite:///{f}")
            try:
                with session_factory(engine)() as db:
                    assert verify(db).ok
                    n_clients = len(db.scalars(select(Client.id)).all())
                    assert n_clients == len(db.scalars(select(ClientIdentity.client_id)).all())
            finally:
                engine.dispose()
    finally:
        app.state.clinic.engine.dispose()
