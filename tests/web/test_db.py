"""The SQLite writers' queue (sciplab.web.db.WriterQueue) and its use by the app's transactions."""

from __future__ import annotations

import os

import pytest

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
