"""The SQLite writers' queue (sciplab.web.db.WriterQueue) and its use by the app's transactions."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from sciplab.web.db import WriterQueue, writer_queue

fcntl = pytest.importorskip("fcntl", reason="flock is POSIX only (elsewhere only the threads of a worker queue)")


def _taken(path: os.PathLike[str]) -> bool:
    """Whether another open file (as another worker's) would have to wait for the queue's lock."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_writer_queue_is_the_file_next_to_the_database(tmp_path):
    q = writer_queue(f"sqlite:///{tmp_path / 'clinic.db'}")
    assert q is not None and q.path == (tmp_path / "clinic.db-writer").resolve()
    assert writer_queue("sqlite://") is None
    assert writer_queue("postgresql+psycopg://u@localhost/x") is None


def test_a_holder_keeps_other_processes_out_until_it_is_done(tmp_path):
    q = WriterQueue(tmp_path / "clinic.db")
    with q.hold():
        assert _taken(q.path)
    assert not _taken(q.path)
    with pytest.raises(RuntimeError), q.hold():  # released when the transaction fails too
        raise RuntimeError
    assert not _taken(q.path)
    q.close()


def test_app_write_transactions_queue_and_read_ones_do_not(tmp_path):
    from sciplab.web import migrate
    from sciplab.web.app import create_app

    from .conftest import settings_for

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    clinic = app.state.clinic
    try:
        with clinic.tx():
            assert _taken(clinic.writers.path)
        with clinic.read():
            assert not _taken(clinic.writers.path)
        assert not _taken(clinic.writers.path)
    finally:
        clinic.engine.dispose()
        clinic.writers.close()


def test_an_unopenable_lock_file_leaves_sqlite_to_decide(tmp_path):
    q = WriterQueue(tmp_path / "gone" / "clinic.db")  # no such folder: no lock file, threads still queue
    with q.hold():
        pass
    assert not q.path.exists()


def _pg_app(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from sciplab.web import migrate
    from sciplab.web.app import create_app

    from .conftest import settings_for

    migrate.upgrade(db_url)
    return create_app(settings_for(db_url))


def test_postgresql_reads_run_in_autocommit_and_writes_in_a_transaction(db_url):
    app = _pg_app(db_url)
    clinic = app.state.clinic
    try:
        for _ in range(2):  # the same pooled connection, back and forth
            with clinic.read() as db:
                assert db.connection().connection.driver_connection.autocommit
            with clinic.tx() as db:
                raw = db.connection().connection.driver_connection
                assert not raw.autocommit
                db.execute(text("SELECT 1"))
                assert raw.info.transaction_status != raw.info.transaction_status.IDLE  # inside BEGIN
    finally:
        clinic.engine.dispose()


def test_postgresql_connections_killed_by_the_server_are_replaced_before_use(db_url):
    import psycopg
    from fastapi.testclient import TestClient
    from sqlalchemy.engine import make_url

    app = _pg_app(db_url)
    clinic = app.state.clinic
    http = TestClient(app)
    try:
        assert http.get("/healthz").status_code == 200  # pooled connections now idle
        with clinic.tx() as db:
            db.execute(text("SELECT 1"))
        u = make_url(db_url)
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname="postgres",
                             autocommit=True) as admin:  # fmt: skip
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"  # gone when it returns
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (u.database,),
            ).fetchone()
        assert killed and killed[0] >= 1
        for _ in range(3):
            r = http.get("/healthz")
            assert r.status_code == 200, r.text
            with clinic.tx() as db:
                assert db.execute(text("SELECT 1")).scalar() == 1
    finally:
        clinic.engine.dispose()


def test_readable_tells_an_idle_socket_from_one_with_data_or_closed():
    import socket

    from sciplab.web.db import _readable

    a, b = socket.socketpair()
    try:
        assert not _readable(a.fileno())
        b.sendall(b"x")
        assert _readable(a.fileno())
        a.recv(1)
        assert not _readable(a.fileno())
        b.close()  # the peer went away: end of stream
        assert _readable(a.fileno())
    finally:
        a.close()
