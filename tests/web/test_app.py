"""The app as a whole: /healthz, the OpenAPI document, security headers, error pages, database failures."""

from __future__ import annotations

import logging
import os

from sciplab.web import migrate

from .conftest import add_user, client_for, new_client, sign_in


def test_healthz_needs_no_login(app):
    r = client_for(app).get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["schema"] == migrate.head()


def test_openapi_documents_every_api_route(app):
    doc = client_for(app).get("/api/v1/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    from sciplab.web import api

    api_routes = {(m, r.path) for r in api.router.routes for m in r.methods}
    assert len(api_routes) >= 15 and api_routes <= documented
    assert client_for(app).get("/api/v1/docs").status_code == 404  # no CDN-loaded Swagger UI


def test_security_headers_and_assets_in_the_package(app):
    http = client_for(app)
    r = http.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert "https://" not in r.text and '<script src="/static/clinic.js"' in r.text
    assert http.get("/static/clinic.css").status_code == 200
    assert http.get("/static/clinic.js").status_code == 200


def test_unknown_pages_and_bad_ids(app):
    add_user(app, "t1")
    http, _ = sign_in(app, "t1")
    assert http.get("/nowhere").status_code == 404
    assert http.get("/api/v1/nowhere").json()["status"] == 404
    assert http.get("/api/v1/clients/999").status_code == 404
    assert http.get("/api/v1/clients/abc").status_code == 422


def test_not_signed_in(app):
    http = client_for(app)
    assert http.get("/dashboard").headers["location"] == "/login?next=/dashboard"
    assert http.get("/api/v1/clients").status_code == 401
    assert http.get("/").headers["location"] == "/setup"


def test_database_gone_gives_a_clear_page_and_a_log_line(app, caplog, db_url):
    add_user(app, "t1")
    http, csrf = sign_in(app, "t1")
    if not db_url.startswith("sqlite"):
        import pytest

        pytest.skip("removing the file is the SQLite case; PostgreSQL down is covered by the engine's error path")
    path = db_url.removeprefix("sqlite:///")
    app.state.clinic.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    with caplog.at_level(logging.ERROR, logger="sciplab.web"):
        r = http.get("/dashboard")
        r2 = http.post("/api/v1/clients", json={"name": "X"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 503 and "nothing was saved" in r.text
    assert r2.status_code == 503 and "unavailable" in r2.json()["error"]
    assert client_for(app).get("/healthz").status_code == 503
    assert "database unavailable" in caplog.text
    assert not os.path.exists(path)  # never recreated as an empty database


def test_database_locked_gives_a_clear_error_and_no_half_record(migrated, db_url):
    if not db_url.startswith("sqlite"):
        import pytest

        pytest.skip("SQLite write lock; PostgreSQL row locks wait instead")
    import sqlite3

    from sqlalchemy import func, select

    from sciplab.web import db as webdb
    from sciplab.web.app import create_app
    from sciplab.web.models import Client

    from .conftest import settings_for

    saved = webdb.BUSY_TIMEOUT_MS
    webdb.BUSY_TIMEOUT_MS = 200
    try:
        app = create_app(settings_for(migrated))
    finally:
        webdb.BUSY_TIMEOUT_MS = saved
    add_user(app, "t1")
    http, csrf = sign_in(app, "t1")
    blocker = sqlite3.connect(migrated.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        r = http.post("/api/v1/clients", json={"name": "X"}, headers={"X-CSRF-Token": csrf})
        page = http.get("/dashboard")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert r.status_code == 503 and "nothing was saved" in r.json()["error"]
    assert page.status_code == 503
    with app.state.clinic.tx() as db:
        assert db.scalar(select(func.count(Client.id))) == 0
    assert new_client(http, csrf)  # works again once the lock is gone
