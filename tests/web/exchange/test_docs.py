"""docs/clinic-exchange.md as a test: every ```http request runs against a small clinic, in order.

The user of a request is the last "as `name`" before it (``therapist1``, ``researcher``);
``<csrf_token>`` is replaced by that user's token. A ```json block after a request (before the
next request) is its documented answer: a request with a documented ``error`` must answer with that
status and exactly that message; otherwise it must succeed and its answer must contain every key
and value the doc shows. Client 1 belongs to ``therapist1`` and has the code ``C-ABC234``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from sciplab.web.clients import service as clients
from sciplab.web.measures import service as measures
from sciplab.web.models import Client
from sciplab.web.policy import Actor

from ..conftest import add_user, sign_in
from .conftest import core10

DOC = Path(__file__).resolve().parents[3] / "docs" / "clinic-exchange.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
USER = re.compile(r"\b[Aa]s `(\w+)`:")


def requests() -> list[dict[str, Any]]:
    """The doc's requests: method, path, headers, body, user and the documented answer (or None)."""
    text = DOC.read_text(encoding="utf-8")
    out: list[dict[str, Any]] = []
    user, last_end = "therapist1", 0
    for m in FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        between = text[last_end : m.start()]
        last_end = m.end()
        users = USER.findall(between)
        user = users[-1] if users else user
        if lang == "http":
            head, _, payload = body.partition("\n\n")
            lines = head.strip().splitlines()
            method, path = lines[0].split(" ", 1)
            headers = dict(line.split(": ", 1) for line in lines[1:])
            out.append({"method": method, "path": path.strip(), "headers": headers, "body": payload.strip(),
                        "user": user, "answer": None, "line": text[: m.start()].count("\n") + 1})  # fmt: skip
        elif lang == "json" and out and out[-1]["answer"] is None:
            out[-1]["answer"] = json.loads(body)
    return out


def _contains(actual: Any, shown: Any) -> bool:
    if isinstance(shown, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in shown.items())
    if isinstance(shown, list):
        return isinstance(actual, list) and len(actual) == len(shown) and all(map(_contains, actual, shown))
    return actual == shown


def test_doc_has_requests():
    reqs = requests()
    assert len(reqs) >= 10 and {r["user"] for r in reqs} == {"therapist1", "researcher"}
    assert sum(r["answer"] is not None for r in reqs) >= 3


def test_documented_requests_run(app):
    ids = {u: add_user(app, u, role) for u, role in (("therapist1", "therapist"), ("researcher", "researcher"))}
    t1 = Actor(ids["therapist1"], "therapist1", "therapist")
    with app.state.clinic.tx() as db:
        c = clients.create_client(db, t1, name="Doc Client", gender="f", birth_year=1980)
        c.code = "C-ABC234"
        for k, total in enumerate((22, 12)):
            s = clients.add_session(db, t1, c.id, date=dt.date(2024, 1, 1) + dt.timedelta(weeks=k))
            measures.manual_entry(db, t1, c.id, "CORE-10", core10(total), s.id)
        assert c.id == 1 and db.get(Client, 1).code == "C-ABC234"
    sessions = {u: sign_in(app, u) for u in ids}
    for req in requests():
        http, csrf = sessions[req["user"]]
        headers = {k: v.replace("<csrf_token>", csrf) for k, v in req["headers"].items()}
        r = http.request(req["method"], req["path"], content=req["body"].encode("utf-8") or None, headers=headers)
        where = f"docs/clinic-exchange.md:{req['line']} {req['method']} {req['path']}"
        shown = req["answer"]
        if shown is not None and "error" in shown:
            assert r.status_code == shown["status"], (where, r.text)
            assert r.json()["error"] == shown["error"], where
            continue
        assert 200 <= r.status_code < 300, (where, r.status_code, r.text[:2000])
        if shown is not None:
            assert _contains(r.json(), shown), (where, r.json())
