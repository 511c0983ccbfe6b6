"""Security of the clinic over HTTP: headers on every answer, rate limits shared by several workers,
unguessable links bound to one questionnaire, no session fixation, no inline script or style."""

from __future__ import annotations

import math
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sciplab.web.app import create_app
from sciplab.web.auth import totp
from sciplab.web.auth.ratelimit import RateEvent
from sciplab.web.clinic import COOKIE
from sciplab.web.models import User
from sciplab.web.security import CSP

from .conftest import PASSWORD, add_user, client_for, form_token, new_client, new_link, settings_for, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "sciplab" / "web" / "templates"


def _headers_ok(r, *, https: bool = False) -> None:
    h = r.headers
    assert h["content-security-policy"] == CSP, r.url
    assert h["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "camera=()" in h["permissions-policy"]
    assert ("strict-transport-security" in h) == https


def test_every_kind_of_answer_carries_the_headers(therapist, app):
    http, csrf = therapist
    cid = new_client(http, csrf)
    token = new_link(http, csrf, cid)
    anon = client_for(app)
    answers = [
        http.get("/dashboard"),
        http.get(f"/clients/{cid}"),
        http.get("/api/v1/clients"),
        anon.get("/login"),
        anon.get("/api/v1/openapi.json"),
        anon.get("/healthz"),
        anon.get("/readyz"),
        anon.get("/no/such/page"),
        anon.get("/api/v1/nothing"),
        anon.get("/dashboard"),  # redirect
        anon.get("/api/v1/clients"),  # 401
        http.get("/admin/users"),  # 403 page
        anon.get(f"/q/{token}"),
        anon.get("/q/1.forged.token"),  # 410
        anon.post("/api/v1/session", json={"username": 1}),  # 422
    ]
    for r in answers:
        _headers_ok(r)
        assert r.headers["cache-control"] == "no-store", r.url
    static = anon.get("/static/clinic.css")
    _headers_ok(static)
    assert "no-store" not in static.headers.get("cache-control", "")


def test_csp_forbids_inline_code_and_the_templates_have_none():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in CSP and "*" not in CSP
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b[^>]*>", text):
            assert "src=" in m.group(0), f"{template.name}: inline script {m.group(0)}"
        assert not re.search(r"<style\b", text), f"{template.name}: inline <style>"
        assert not re.search(r"\sstyle\s*=", text), f"{template.name}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: inline event handler"
        assert "javascript:" not in text, template.name


def test_hsts_only_over_https(migrated):
    app = create_app(settings_for(migrated, https=True))
    try:
        _headers_ok(client_for(app).get("/login"), https=True)
        assert "max-age=31536000" in client_for(app).get("/healthz").headers["strict-transport-security"]
    finally:
        app.state.clinic.engine.dispose()


def test_login_rate_limit_is_shared_by_workers(migrated):
    # two app instances on one database are two Uvicorn workers
    workers = [create_app(settings_for(migrated, ip_failures_per_window=4)) for _ in range(2)]
    try:
        add_user(workers[0], "t1")
        for i in range(4):
            body = {"username": f"x{i}", "password": "wrong pass!"}
            r = client_for(workers[i % 2]).post("/api/v1/session", json=body)
            assert r.status_code == 401
        for w in workers:
            r = client_for(w).post("/api/v1/session", json={"username": "t1", "password": PASSWORD})
            assert r.status_code == 429 and "too many failed logins" in r.json()["error"]
        # another address is not affected
        other = TestClient(workers[1], client=("203.0.113.9", 5000), follow_redirects=False)
        assert other.post("/api/v1/session", json={"username": "t1", "password": PASSWORD}).status_code == 200
    finally:
        for w in workers:
            w.state.clinic.engine.dispose()


def test_link_guessing_is_rate_limited_across_workers(migrated):
    workers = [create_app(settings_for(migrated, link_failures_per_window=5)) for _ in range(2)]
    try:
        add_user(workers[0], "t1")
        http, csrf = sign_in(workers[0], "t1")
        token = new_link(http, csrf, new_client(http, csrf))
        guesser = [TestClient(w, client=("198.51.100.7", 1), follow_redirects=False) for w in workers]
        link_id = token.split(".")[0]
        for i in range(5):
            r = guesser[i % 2].get(f"/api/v1/questionnaires/{link_id}.guess{i}.sig")
            assert r.status_code == 410
        for g in guesser:  # blocked now, on both workers, even with a valid token, pages and API alike
            assert g.get(f"/api/v1/questionnaires/{token}").status_code == 429
            assert g.get(f"/q/{token}").status_code == 429
        # the real client, from another address, is not
        assert client_for(workers[1]).get(f"/q/{token}").status_code == 200
        # expired or used links are not guesses and are not counted
        with workers[0].state.clinic.tx() as db:
            assert db.scalar(select(func.count(RateEvent.id))) == 5
    finally:
        for w in workers:
            w.state.clinic.engine.dispose()


def test_links_are_unguessable_and_bound_to_one_questionnaire(therapist, app):
    http, csrf = therapist
    cid = new_client(http, csrf)
    phq = new_link(http, csrf, cid, "PHQ-9")
    gad = new_link(http, csrf, cid, "GAD-7")
    anon = client_for(app)
    assert anon.get(f"/api/v1/questionnaires/{phq}").json()["instrument"] == "PHQ-9"
    assert anon.get(f"/api/v1/questionnaires/{gad}").json()["instrument"] == "GAD-7"
    pid, pnonce, psig = phq.split(".")
    gid, gnonce, gsig = gad.split(".")
    # random part: 18 bytes (144 bits) of nonce plus a 144-bit HMAC; no two links share it
    assert len(pnonce) >= 24 and pnonce != gnonce and math.log2(64) * len(pnonce) >= 128
    for forged in (
        f"{gid}.{pnonce}.{psig}",  # another link's id with this link's secret
        f"{pid}.{gnonce}.{gsig}",
        f"{gid}.{gnonce}.{psig}",
        f"{pid}.{pnonce}.{psig[:-1]}{'A' if psig[-1] != 'A' else 'B'}",
        f"{int(pid) + 10}.{pnonce}.{psig}",
    ):
        assert anon.get(f"/api/v1/questionnaires/{forged}").status_code == 410, forged
        assert anon.post(f"/api/v1/questionnaires/{forged}", json={"answers": {"1": 0}}).status_code == 410
    # the right id and nonce signed with another clinic's key open nothing here
    from sciplab.web.measures.service import _sign

    assert anon.get(f"/q/{pid}.{pnonce}.{_sign('another key', f'{pid}.{pnonce}')}").status_code == 410
    assert anon.get(f"/q/{phq}").status_code == 200


def test_login_issues_a_new_session_id_whatever_the_browser_held(app):
    add_user(app, "t1")
    add_user(app, "mallory")
    attacker, _ = sign_in(app, "mallory")
    planted = attacker.cookies[COOKIE]
    victim = client_for(app)
    victim.cookies.set(COOKIE, planted)  # fixation attempt: the attacker's (valid) session id
    ft = form_token(victim, "/login")
    r = victim.post("/login", data={"form_token": ft, "username": "t1", "password": PASSWORD})
    assert r.status_code == 303
    issued = re.search(rf"{COOKIE}=([^;]+)", r.headers["set-cookie"]).group(1)
    assert issued != planted
    # the planted id still belongs to the attacker only, never to the victim
    me = client_for(app)
    me.cookies.set(COOKIE, planted)
    assert me.get("/api/v1/me").json()["username"] == "mallory"
    me.cookies.set(COOKIE, issued)
    assert me.get("/api/v1/me").json()["username"] == "t1"


def test_two_factor_enrolment_rotates_the_session(migrated):
    app = create_app(settings_for(migrated, require_2fa=True))
    try:
        add_user(app, "t1")
        http = client_for(app)
        ft = form_token(http, "/login")
        r = http.post("/login", data={"form_token": ft, "username": "t1", "password": PASSWORD})
        before = http.cookies[COOKIE]
        assert r.headers["location"] == "/account/2fa"
        page = http.get("/account/2fa")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        with app.state.clinic.tx() as db:
            secret = db.scalar(select(User.totp_secret))
        r = http.post("/account/2fa", data={"csrf_token": csrf, "code": totp.code(secret)})
        assert r.status_code == 303 and f"{COOKIE}=" in r.headers["set-cookie"]
        after = http.cookies[COOKIE]
        assert after != before
        assert http.get("/dashboard").status_code == 200
        stale = client_for(app)
        stale.cookies.set(COOKIE, before)  # the pre-2FA id is worthless now
        assert stale.get("/api/v1/me").status_code == 401
        assert stale.get("/dashboard").headers["location"].startswith("/login")
        # the CSRF token changed with the session
        assert http.post("/logout", data={"csrf_token": csrf}).status_code == 403
    finally:
        app.state.clinic.engine.dispose()
