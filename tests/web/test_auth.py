"""First run, sign-in, two factors, lockout, rate limiting, sessions, cookies and CSRF."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from sciplab.web.app import create_app
from sciplab.web.auth import totp
from sciplab.web.models import AuditEntry, AuthSession, User

from .conftest import PASSWORD, add_user, client_for, form_token, new_client, settings_for, sign_in


def test_first_run_setup_token_makes_one_admin_once(app):
    token = app.state.clinic.setup_token
    assert token
    http = client_for(app)
    assert http.get("/").headers["location"] == "/setup"
    ft = form_token(http, "/setup")
    bad = http.post(
        "/setup",
        data={"form_token": ft, "token": "wrong", "username": "boss", "password": PASSWORD, "password2": PASSWORD},
    )
    assert bad.status_code == 401
    ok = http.post(
        "/setup",
        data={"form_token": ft, "token": token, "username": "boss", "password": PASSWORD, "password2": PASSWORD},
    )
    assert ok.status_code == 303
    again = http.post(
        "/setup",
        data={"form_token": ft, "token": token, "username": "boss2", "password": PASSWORD, "password2": PASSWORD},
    )
    assert again.status_code == 401
    with app.state.clinic.tx() as db:
        assert [u.role for u in db.scalars(select(User))] == ["admin"]
    # a restarted app with users issues no token
    assert create_app(app.state.clinic.settings).state.clinic.setup_token is None


def test_setup_form_needs_its_form_token(app):
    http = client_for(app)
    r = http.post(
        "/setup",
        data={"token": app.state.clinic.setup_token, "username": "boss", "password": PASSWORD, "password2": PASSWORD},
    )
    assert r.status_code == 403


def test_page_login_sets_a_strict_httponly_cookie(app):
    add_user(app, "t1")
    http = client_for(app)
    ft = form_token(http, "/login")
    r = http.post("/login", data={"form_token": ft, "username": "t1", "password": PASSWORD, "next": "/dashboard"})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("sciplab_session=")][0].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert http.get("/dashboard").status_code == 200


def test_secure_cookie_behind_https(migrated):
    app = create_app(settings_for(migrated, https=True))
    add_user(app, "t1")
    r = client_for(app).post("/api/v1/session", json={"username": "t1", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()
    assert "strict-transport-security" in r.headers


def test_wrong_password_is_audited_and_generic(app):
    add_user(app, "t1")
    http = client_for(app)
    r = http.post("/api/v1/session", json={"username": "t1", "password": "wrong password!"})
    r2 = http.post("/api/v1/session", json={"username": "nobody", "password": "wrong password!"})
    assert r.status_code == r2.status_code == 401
    assert r.json()["error"] == r2.json()["error"]
    with app.state.clinic.tx() as db:
        outcomes = [(e.username, e.outcome) for e in db.scalars(select(AuditEntry).where(AuditEntry.action == "login"))]
    assert ("t1", "failed") in outcomes and ("nobody", "failed") in outcomes


def test_lockout_after_repeated_failures(app):
    add_user(app, "t1")
    http = client_for(app)
    for _ in range(5):
        assert http.post("/api/v1/session", json={"username": "t1", "password": "wrong password!"}).status_code == 401
    r = http.post("/api/v1/session", json={"username": "t1", "password": PASSWORD})
    assert r.status_code == 429 and "locked" in r.json()["error"]


def test_rate_limit_per_address_across_usernames(migrated):
    app = create_app(settings_for(migrated, ip_failures_per_window=3))
    add_user(app, "t1")
    http = client_for(app)
    for name in ("a1", "a2", "a3"):
        http.post("/api/v1/session", json={"username": name, "password": "wrong password!"})
    r = http.post("/api/v1/session", json={"username": "t1", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed logins" in r.json()["error"]


def test_disabled_user_cannot_sign_in(app):
    add_user(app, "t1")
    with app.state.clinic.tx() as db:
        db.execute(update(User).values(disabled=True))
    assert client_for(app).post("/api/v1/session", json={"username": "t1", "password": PASSWORD}).status_code == 401


def test_idle_and_absolute_timeouts(app):
    add_user(app, "t1")
    http, _ = sign_in(app, "t1")
    assert http.get("/api/v1/me").status_code == 200
    with app.state.clinic.tx() as db:
        db.execute(update(AuthSession).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)))
    assert http.get("/api/v1/me").status_code == 401
    http, _ = sign_in(app, "t1")
    with app.state.clinic.tx() as db:
        db.execute(update(AuthSession).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)))
    assert http.get("/api/v1/me").status_code == 401


def test_csrf_required_on_state_changes(therapist):
    http, csrf = therapist
    assert http.post("/api/v1/clients", json={"name": "X"}).status_code == 403
    assert http.post("/api/v1/clients", json={"name": "X"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert http.post("/clients", data={"name": "X"}).status_code == 403
    assert http.post("/clients", data={"name": "X", "csrf_token": csrf}).status_code == 303


def test_logout_ends_the_session(therapist):
    http, csrf = therapist
    assert http.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert http.get("/api/v1/me").status_code == 401
    assert http.get("/dashboard").headers["location"].startswith("/login")


def test_two_factor_enrolment_then_login_with_code(migrated):
    app = create_app(settings_for(migrated, require_2fa=True))
    add_user(app, "t1")
    http = client_for(app)
    ft = form_token(http, "/login")
    r = http.post("/login", data={"form_token": ft, "username": "t1", "password": PASSWORD})
    assert r.headers["location"] == "/account/2fa"
    # until enrolled, clinical pages send the user to the set-up page
    assert http.get("/dashboard").headers["location"] == "/account/2fa"
    page = http.get("/account/2fa")
    with app.state.clinic.tx() as db:
        secret = db.scalar(select(User.totp_secret))
    assert secret in page.text
    csrf = http.get("/api/v1/me")  # API refuses too
    assert csrf.status_code == 403
    with app.state.clinic.tx() as db:
        token = db.scalar(select(AuthSession.csrf_token))
    assert http.post("/account/2fa", data={"csrf_token": token, "code": "000000"}).status_code == 400
    assert http.post("/account/2fa", data={"csrf_token": token, "code": totp.code(secret)}).status_code == 303
    assert http.get("/dashboard").status_code == 200
    # next sign-in: the code is required, and a used code is refused
    other = client_for(app)
    assert other.post("/api/v1/session", json={"username": "t1", "password": PASSWORD}).status_code == 401
    with app.state.clinic.tx() as db:
        db.execute(update(User).values(totp_last_step=0))
    ok = other.post("/api/v1/session", json={"username": "t1", "password": PASSWORD, "code": totp.code(secret)})
    assert ok.status_code == 200 and ok.json()["stage"] == "full"
    replay = client_for(app).post(
        "/api/v1/session", json={"username": "t1", "password": PASSWORD, "code": totp.code(secret)}
    )
    assert replay.status_code == 401


def test_admin_can_turn_off_2fa_for_a_demo(migrated):
    app = create_app(settings_for(migrated, require_2fa=True))
    add_user(app, "boss", "admin")
    add_user(app, "t1")
    with app.state.clinic.tx() as db:
        db.execute(update(User).where(User.username == "boss").values(totp_enabled=True, totp_secret=totp.new_secret()))
        secret = db.scalar(select(User.totp_secret).where(User.username == "boss"))
    http = client_for(app)
    r = http.post("/api/v1/session", json={"username": "boss", "password": PASSWORD, "code": totp.code(secret)})
    csrf = r.json()["csrf_token"]
    assert http.post("/admin/settings", data={"csrf_token": csrf}).status_code == 303
    r = client_for(app).post("/api/v1/session", json={"username": "t1", "password": PASSWORD})
    assert r.json()["stage"] == "full"


def test_admin_user_management_pages(app):
    add_user(app, "boss", "admin")
    http, csrf = sign_in(app, "boss")
    assert http.get("/admin/users").status_code == 200
    r = http.post(
        "/admin/users", data={"csrf_token": csrf, "username": "sup", "password": PASSWORD, "role": "supervisor"}
    )
    assert r.status_code == 303
    r = http.post("/admin/users", data={"csrf_token": csrf, "username": "t9", "password": "short", "role": "therapist"})
    assert r.status_code == 400 and "at least 8" in r.text
    r = http.post("/admin/users", data={"csrf_token": csrf, "username": "t9", "password": PASSWORD, "role": "boss"})
    assert r.status_code == 400 and "role must be one of" in r.text
    assert http.post("/admin/users/sup/disable", data={"csrf_token": csrf}).status_code == 303
    assert http.post("/admin/users/sup/reset-2fa", data={"csrf_token": csrf}).status_code == 303
    assert http.post("/admin/users/sup/explode", data={"csrf_token": csrf}).status_code == 400
    assert http.post("/admin/users/nobody/disable", data={"csrf_token": csrf}).status_code == 404


def test_therapist_cannot_manage_users(therapist):
    http, csrf = therapist
    assert http.get("/admin/users").status_code == 403
    r = http.post("/admin/users", data={"csrf_token": csrf, "username": "x1", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403


def test_pages_render_for_a_therapist(therapist):
    http, csrf = therapist
    cid = new_client(http, csrf)
    for path in ("/dashboard", "/clients/new", f"/clients/{cid}", f"/clients/{cid}/manual?instrument=GAD-7"):
        r = http.get(path)
        assert r.status_code == 200, path
        assert "<script>" not in r.text and "script-src 'self'" in r.headers["content-security-policy"]
