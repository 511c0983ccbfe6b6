"""Operations: /readyz, JSON-lines logs without personal data, graceful shutdown of ``sciplab serve``, and
the production configuration of docs/deployment.md parsed and validated."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from sciplab.web import migrate, ops
from sciplab.web.app import create_app
from sciplab.web.settings import Settings

from .conftest import PASSWORD, add_user, client_for, new_client, new_link, settings_for, sign_in

DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def test_readyz_needs_the_database_at_head(app):
    http = client_for(app)
    r = http.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "schema": migrate.head()}
    with app.state.clinic.tx() as db:
        db.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    r = http.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "schema not at head" and r.json()["schema"] == "0001"
    assert http.get("/healthz").status_code == 200  # alive, but not ready


def test_readyz_when_the_database_is_gone(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    try:
        app.state.clinic.engine.dispose()
        (tmp_path / "c.db").unlink()
        r = client_for(app).get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
    finally:
        app.state.clinic.engine.dispose()


def test_logs_are_json_lines_without_personal_data(app):
    stream = io.StringIO()
    handler = ops.configure_logging(stream=stream)
    try:
        add_user(app, "therapist.smith")
        http, csrf = sign_in(app, "therapist.smith")
        cid = new_client(http, csrf, "Zebulon Quartermaine")
        http.post("/api/v1/clients", json={"name": "Wilhelmina Other", "contact": "wo@example.org"},
                  headers={"X-CSRF-Token": csrf})  # fmt: skip
        token = new_link(http, csrf, cid)
        anon = client_for(app)
        anon.get(f"/q/{token}?secret=1")
        anon.post("/api/v1/session", json={"username": "therapist.smith", "password": "not the password"})
        http.get(f"/clients/{cid}")
    finally:
        logging.getLogger("sciplab.web").removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 7
    records = [json.loads(line) for line in lines]
    for rec in records:
        assert {"ts", "level", "logger", "event"} <= set(rec)
    access = [r for r in records if r["logger"] == "sciplab.web.access"]
    assert {"method", "route", "status", "ms"} <= set(access[0])
    assert {"/q/{token}", "/clients/{client_id}", "/api/v1/session"} <= {r["route"] for r in access}
    assert any(r["status"] == 401 for r in access)
    log_text = stream.getvalue()
    for personal in ("Zebulon", "Wilhelmina", "wo@example.org", "therapist.smith", token, token.split(".")[1],
                     "testclient", "secret=1", PASSWORD, "not the password"):  # fmt: skip
        assert personal not in log_text, personal


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_graceful_shutdown_finishes_requests_in_flight(tmp_path):
    """SIGTERM during a slow sign-in (an expensive Argon2 hash): the answer still arrives, then the server exits 0."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    from sciplab.web.audit.service import Who
    from sciplab.web.auth.passwords import Hasher
    from sciplab.web.auth.service import create_user
    from sciplab.web.db import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as db, db.begin():  # a hash that takes about a second or more to verify
        create_user(db, Hasher(12, 65536), Who(username="test"), username="slow", password=PASSWORD, role="therapist")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SCIPLAB_REQUIRE_2FA": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciplab.cli.main", "serve", "--db", str(tmp_path / "c.db"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        result: dict[str, object] = {}

        def slow_sign_in() -> None:
            req = urllib.request.Request(  # noqa: S310
                base + "/api/v1/session",
                data=json.dumps({"username": "slow", "password": PASSWORD}).encode(),
                headers={"Content-Type": "application/json"},
            )
            started = time.monotonic()
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
                result["status"] = resp.status
                result["body"] = json.loads(resp.read())
            result["seconds"] = time.monotonic() - started

        client = threading.Thread(target=slow_sign_in)
        client.start()
        time.sleep(0.4)  # the request is being served (the hash takes longer than this)
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=60)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    if proc.stdout:
        proc.stdout.close()
    text_out = "".join(output)
    assert result.get("status") == 200, (result, text_out[-2000:])
    assert result["body"]["username"] == "slow"  # type: ignore[index]
    assert code == 0 and "SCIP Clinic stopped." in text_out and "Traceback" not in text_out
    # the server logged the request as a JSON line and nothing personal
    lines = [json.loads(line) for line in text_out.splitlines() if line.startswith("{")]
    assert any(r.get("route") == "/api/v1/session" and r.get("status") == 200 for r in lines)
    assert "slow" not in "".join(line for line in text_out.splitlines() if line.startswith("{"))
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310


def _fenced(lang: str) -> list[str]:
    text_ = DEPLOYMENT.read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```", text_, re.S | re.M)


def test_deployment_configuration_example_is_valid(tmp_path):
    tomls = _fenced("toml")
    assert tomls, "docs/deployment.md has no ```toml example"
    raw = tomllib.loads(tomls[0])
    settings = Settings.load(_write(tmp_path / "clinic.toml", tomls[0]))
    clinic = raw.get("clinic", raw)
    assert settings.db.startswith("postgresql+psycopg://") and settings.https and settings.require_2fa
    assert settings.log_json and len(settings.secret_key) >= 32
    assert set(clinic) <= {f for f in Settings.__dataclass_fields__}
    # the proxy configuration forwards to the workers, sets the forwarded headers and terminates TLS
    nginx = "\n".join(_fenced("nginx"))
    for needle in ("ssl_certificate", "proxy_pass http://127.0.0.1:8000", "X-Forwarded-Proto", "X-Forwarded-For",
                   "listen 443 ssl", "return 301 https://"):  # fmt: skip
        assert needle in nginx, needle
    unit = "\n".join(_fenced("ini"))
    assert "--workers" in unit and "--factory sciplab.web.app:create_app" in unit and "--proxy-headers" in unit
    assert "SCIPLAB_CONFIG=/etc/sciplab/clinic.toml" in unit and "KillSignal=SIGTERM" in unit


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_uvicorn_factory_with_several_workers_serves_the_clinic(tmp_path):
    """The deployment's command: ``uvicorn --factory sciplab.web.app:create_app --workers 2`` with SCIPLAB_CONFIG."""
    db = tmp_path / "c.db"
    migrate.upgrade(f"sqlite:///{db}")
    config = _write(tmp_path / "clinic.toml", f'[clinic]\ndb = "{db}"\nlog_json = true\nsecret_key = "{"k" * 40}"\n')
    port = _free_port()
    env = {**os.environ, "SCIPLAB_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "sciplab.web.app:create_app", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port), "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
         "--timeout-graceful-shutdown", "30", "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline, body = time.monotonic() + 90, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:  # noqa: S310
                    body = json.loads(resp.read())
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ready", "schema": migrate.head()}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0]
    assert "Traceback" not in out, out[-3000:]
