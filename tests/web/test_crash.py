"""Crash safety: the server is killed with SIGKILL again and again during a stream of questionnaire
submissions. Afterwards every submission that received a success answer is in the database, nothing is
half-written (every response has all its items and its scores, every used link exactly one response,
no response without a used link) and ``sciplab audit verify`` passes.

The counts (submissions answered, lost connections, kills, rows) are printed and attached to the test
report (``record_property``).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from sciplab.cli.main import app as cli
from sciplab.web import migrate
from sciplab.web.audit.service import Who
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.service import create_user
from sciplab.web.clients.service import create_client
from sciplab.web.db import make_engine, session_factory
from sciplab.web.measures.service import create_link
from sciplab.web.models import QuestionnaireLink, Response, ResponseItem, Score
from sciplab.web.policy import Actor

KILLS = 3
LINKS = 60
WORKERS = 4
SECRET = "crash-test-secret-key-0123456789abcdef"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SCIPLAB_CONFIG": str(config)}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "--factory", "sciplab.web.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()  # noqa: S310
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not start")


def test_sigkill_during_submissions_loses_nothing_answered(db_url, tmp_path, record_property):
    url = db_url  # SQLite file or a PostgreSQL database (the audit entry and COMMIT in one query there)
    migrate.upgrade(url)
    engine = make_engine(url)
    tokens: list[str] = []
    with session_factory(engine)() as s, s.begin():
        who = Who(username="test")
        t = create_user(s, Hasher(1, 64), who, username="t1", password="crash test passphrase", role="therapist")
        actor = Actor(t.id, "t1", "therapist")
        for i in range(LINKS // 10):
            c = create_client(s, actor, name=f"Crash {i}")
            tokens += [create_link(s, actor, SECRET, c.id, "PHQ-9")[1] for _ in range(10)]
    engine.dispose()
    config = tmp_path / "clinic.toml"
    config.write_text(f'[clinic]\ndb = "{url}"\nsecret_key = "{SECRET}"\n', encoding="utf-8")

    pending = list(tokens)
    answered: dict[str, int] = {}  # token -> response id of a success answer
    lost = 0
    lock = threading.Lock()
    rng = random.Random(17)  # noqa: S311 - test scheduling, not security
    answers = {str(i): (i % 4) for i in range(1, 10)}
    port = _port()
    kills = 0

    def submit_loop(stop: threading.Event) -> None:
        nonlocal lost
        while not stop.is_set():
            with lock:
                if not pending:
                    return
                token = pending.pop()
            req = urllib.request.Request(  # noqa: S310
                f"http://127.0.0.1:{port}/api/v1/questionnaires/{token}",
                data=json.dumps({"answers": answers}).encode(),
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                    body = json.loads(resp.read())
                with lock:
                    answered[token] = int(body["response_id"])
            except (OSError, http.client.HTTPException, ValueError):  # HTTPError is an OSError; IncompleteRead is not
                with lock:
                    lost += 1
                    pending.insert(0, token)  # the client retries later (a repeat stores nothing twice)

    while pending:
        proc = _start(config, port)
        stop = threading.Event()
        threads = [threading.Thread(target=submit_loop, args=(stop,)) for _ in range(WORKERS)]
        for th in threads:
            th.start()
        if kills < KILLS:
            # kill mid-stream whatever the machine's speed: after a share of the links has been answered
            # (plus a random few ms), so every kill lands while submissions are in flight
            target = min(LINKS - 1, len(answered) + LINKS // (2 * KILLS))
            deadline = time.monotonic() + 60
            while len(answered) < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
            kills += 1
            proc.wait()
            stop.set()
        for th in threads:
            th.join(timeout=60)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            responses = {r.id: r for r in s.scalars(select(Response))}
            per_response = select(ResponseItem.response_id, func.count()).group_by(ResponseItem.response_id)
            items = dict(s.execute(per_response).all())
            scores = dict(s.execute(select(Score.response_id, func.count()).group_by(Score.response_id)).all())
            used = s.scalars(select(QuestionnaireLink).where(QuestionnaireLink.used_at.is_not(None))).all()
            by_link = dict(s.execute(select(Response.link_id, func.count()).group_by(Response.link_id)).all())
    finally:
        engine.dispose()
    # every success answer is stored, with the id it was given
    assert len(answered) == LINKS
    assert set(answered.values()) <= set(responses)
    # nothing half-written
    assert all(items.get(rid) == 9 for rid in responses), "a response without all its items"
    assert all(scores.get(rid, 0) >= 1 for rid in responses), "a response without its scores"
    assert all(by_link.get(link.id) == 1 for link in used), "a used link without exactly one response"
    assert len(used) == len(responses) == LINKS
    verify = CliRunner().invoke(cli, ["audit", "verify", "--db", url])
    assert verify.exit_code == 0, verify.output
    counts = {"kills": kills, "links": LINKS, "answered": len(answered), "lost_then_retried": lost,
              "responses": len(responses), "audit": verify.output.strip()}  # fmt: skip
    record_property("crash_counts", counts)
    print("crash test:", counts)  # noqa: T201
    assert kills == KILLS
