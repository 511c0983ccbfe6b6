"""Migrations up and down from an empty database; the app refuses an unmigrated, older or newer schema."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.db import make_engine
from sciplab.web.errors import DatabaseError
from sciplab.web.models import Base

from .conftest import settings_for


def _tables(url: str) -> set[str]:
    engine = make_engine(url, create=True)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_up_down_up_from_empty(db_url):
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()
    assert _tables(db_url) == set(Base.metadata.tables)
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    assert _tables(db_url) == set()
    migrate.upgrade(db_url)
    assert _tables(db_url) == set(Base.metadata.tables)


def test_migrated_schema_matches_the_models(migrated):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(migrated)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_app_refuses_an_unmigrated_database(db_url):
    engine = make_engine(db_url, create=True)
    with engine.connect():  # an empty SQLite file / PostgreSQL database
        pass
    engine.dispose()
    with pytest.raises(DatabaseError, match="no SCIP Lab schema: run `sciplab db upgrade"):
        create_app(settings_for(db_url))


def test_app_refuses_a_newer_database(migrated):
    engine = make_engine(migrated)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="newer than this SCIP Lab knows"):
        create_app(settings_for(migrated))


def test_a_missing_sqlite_file_is_never_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'gone.db'}"
    with pytest.raises(DatabaseError, match="does not exist: create it with `sciplab db upgrade"):
        create_app(settings_for(url))
    assert not (tmp_path / "gone.db").exists()


def test_unknown_revision_is_refused(migrated):
    with pytest.raises(DatabaseError, match="unknown revision 'nope'"):
        migrate.downgrade(migrated, "nope")


def test_sqlite_runs_in_wal_mode(tmp_path):
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
