"""Fixtures of the clinic tests: a fresh, migrated database per test on SQLite and on PostgreSQL.

PostgreSQL runs when ``SCIPLAB_TEST_POSTGRES_URL`` names a server (``.ci/run`` sets
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets its own database
``sciplab_test_<pid>_<n>``, dropped afterwards. Without the variable, or when no server answers,
the PostgreSQL cases skip with the reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.audit.service import Who
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.service import create_user
from sciplab.web.settings import Settings

PG_ENV = "SCIPLAB_TEST_POSTGRES_URL"
PASSWORD = "correct horse battery"
#: the browser tests' Chromium (Debian's; ``.ci/run`` installs it with apt-get, never ``playwright install``)
CHROMIUM = os.environ.get("SCIPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
_counter = itertools.count()


def _pg_database(base: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"sciplab_test_{os.getpid()}_{next(_counter)}"
    conninfo = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "dbname": url.database or "postgres",
        "connect_timeout": 3,
    }
    if url.password:
        conninfo["password"] = url.password
    try:
        admin = psycopg.connect(autocommit=True, **conninfo)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {url.host}:{url.port} ({PG_ENV}): {exc}".splitlines()[0])
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(autocommit=True, **conninfo) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty database (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    yield from _pg_database(base)


def settings_for(url: str, **kw: Any) -> Settings:
    """Test settings: cheap Argon2 (the cost is not under test), no 2FA unless asked."""
    kw.setdefault("require_2fa", False)
    return Settings(db=url, argon2_time_cost=1, argon2_memory_kib=64, secret_key="test-secret", **kw)


@pytest.fixture
def migrated(db_url: str) -> str:
    """A database at head."""
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def app(migrated: str) -> Iterator[Any]:
    """The clinic app on a fresh database."""
    application = create_app(settings_for(migrated))
    yield application
    application.state.clinic.engine.dispose()


def add_user(app: Any, username: str, role: str = "therapist", **kw: Any) -> int:
    """Create an account directly through the service; returns its id."""
    clinic = app.state.clinic
    with clinic.tx() as db:
        return create_user(
            db, Hasher(1, 64), Who(username="test"), username=username, password=PASSWORD, role=role, **kw
        ).id


def client_for(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, follow_redirects=False)


def sign_in(app: Any, username: str, password: str = PASSWORD, code: str = "") -> tuple[Any, str]:
    """A TestClient signed in through the API; returns it and its CSRF token."""
    http = client_for(app)
    r = http.post("/api/v1/session", json={"username": username, "password": password, "code": code})
    assert r.status_code == 200, r.text
    return http, r.json()["csrf_token"]


def form_token(http: Any, path: str) -> str:
    """The pre-session form token of a page (sign-in, first run)."""
    r = http.get(path)
    m = re.search(r'name="form_token" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1)


@pytest.fixture
def therapist(app: Any) -> tuple[Any, str]:
    """A signed-in therapist ``t1`` with a CSRF token."""
    add_user(app, "t1")
    return sign_in(app, "t1")


def new_client(http: Any, csrf: str, name: str = "Jane Doe") -> int:
    r = http.post(
        "/api/v1/clients", json={"name": name, "birth_year": 1990, "gender": "f"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_link(http: Any, csrf: str, client_id: int, instrument: str = "PHQ-9", **kw: Any) -> str:
    r = http.post(
        f"/api/v1/clients/{client_id}/links", json={"instrument": instrument, **kw}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


@contextlib.contextmanager
def serve_on_loopback(app: Any) -> Iterator[str]:
    """Serve ``app`` with Uvicorn in a thread on a free loopback port; yield its base URL; stop it after."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium (:data:`CHROMIUM`) from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def staffed_clinic(
    folder: Path, make_clients: Callable[[Any, str], dict[str, int]]
) -> Iterator[tuple[str, Any, dict[str, int]]]:
    """The browser modules' clinic: SQLite in ``folder``, a supervisor ``sup``, her therapist ``t1`` and a researcher
    ``res`` (password :data:`PASSWORD`), clients made by ``make_clients(http, csrf)`` as ``t1``, served on a free
    loopback port; yields ``(base URL, app, client ids)``."""
    url = f"sqlite:///{folder / 'clinic.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    add_user(app, "sup", role="supervisor")
    add_user(app, "t1", supervisor="sup")
    add_user(app, "res", role="researcher")
    http, csrf = sign_in(app, "t1")
    ids = make_clients(http, csrf)
    try:
        with serve_on_loopback(app) as base:
            yield base, app, ids
    finally:
        app.state.clinic.engine.dispose()
