"""The access matrix, generated from the app's route table: every route × every role, zero leaks.

Each route declares its access in its decorator (``openapi_extra={"x-access": ...}``): an action of
``policy.ACTIONS`` or one of ``policy.ACCESS_KINDS`` (public, link, signed-in). A route without a
valid declaration fails :func:`test_every_route_declares_its_access`. The expected outcome of each
(route, role) follows from the declaration alone:

* ``public``: the same status for every role (the answer does not depend on who asks);
* ``link``: with a valid questionnaire token the same status for every role, with a forged one 410;
* ``signed-in``: every live session passes; no session (anonymous, the client holding a link, a
  disabled user's session) is sent to sign in (401, or 303 to ``/login`` for a page);
* an action: the roles ``policy.allowed`` grants pass, the other signed-in roles get 403; on a
  record of client A (``{client_id}``, ``{alert_id}``, ``{response_id}``) only A's therapist, A's
  supervisor and an admin granted clinical access (where the action allows admins) pass: therapist
  B and a supervisor of neither get 403.

"Pass" means neither 401 nor 403 nor a sign-in redirect nor a 5xx. Every response body is also
searched for the identifiers of clients the role may not see (name, contact, pseudonymous code):
none may appear, in an error page, an export or a search result. Pseudonymous codes are allowed
where the role's job needs them: the researcher's de-identified views and the admin's audit log.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from sqlalchemy import select

from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.audit.service import Who
from sciplab.web.auth.service import set_disabled, token_hash
from sciplab.web.clinic import COOKIE
from sciplab.web.models import AuthSession, User
from sciplab.web.policy import ACCESS_KINDS, ACTIONS, Actor, access_of, allowed
from sciplab.web.security import check_declarations, flat_routes, route_access

from .conftest import add_user, client_for, new_client, new_link, settings_for, sign_in

#: role -> (username, policy role, clinical access); None: no account
ROLES: dict[str, tuple[str, str, bool] | None] = {
    "anonymous": None,
    "client-by-link": None,
    "therapist A": ("ta", "therapist", False),
    "therapist B": ("tb", "therapist", False),
    "supervisor of A": ("supa", "supervisor", False),
    "supervisor of neither": ("supx", "supervisor", False),
    "researcher": ("res", "researcher", False),
    "admin": ("adm", "admin", False),
    "admin with clinical access": ("admc", "admin", True),
    "disabled user": ("gone", "therapist", False),
}
#: roles that see client A's record (when the action's role rule lets them)
SCOPE_A = {"therapist A", "supervisor of A", "admin with clinical access"}
SCOPE_B = {"therapist B", "admin with clinical access"}
#: path parameters naming a record of client A
RECORD_PARAMS = {"client_id", "alert_id", "response_id"}
#: field values that make a request body valid enough to reach the policy check
HINTS: dict[str, Any] = {
    "instrument": "PHQ-9",
    "schedule": "intake",
    "mode": "link",
    "attendance": "attended",
    "name": "Matrix Person",
    "username": "matrix-new",
    "password": "a long enough passphrase",
    "role": "therapist",
    "answers": {"1": 0},
    "items": {"1": "licensed wording"},
    "action": "save",
    "every_n": 2,
}


def _routes(app: Any) -> list[Any]:
    return flat_routes(app)


def test_every_route_declares_its_access(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    try:
        problems = []
        for route in _routes(app):
            try:
                access_of(route_access(route))
            except KeyError as exc:
                problems.append(f"{sorted(route.methods)} {route.path}: {exc}")
        assert not problems, "\n".join(problems)
        assert any(route_access(r) == "link" for r in _routes(app))
        assert set(ACCESS_KINDS) == {"public", "link", "signed-in"}
    finally:
        app.state.clinic.engine.dispose()


def test_a_route_without_a_declaration_is_caught():
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    route = next(r for r in bare.routes if getattr(r, "path", "") == "/undeclared")
    with pytest.raises(KeyError, match="declares no access"):
        access_of(route_access(route))
    with pytest.raises(KeyError, match="unknown access 'clients.steal'"):
        access_of("clients.steal")
    with pytest.raises(RuntimeError, match="GET /undeclared: the route declares no access"):
        check_declarations(bare)


def test_the_app_refuses_to_start_with_an_undeclared_route(tmp_path, monkeypatch):
    from fastapi import APIRouter

    from sciplab.web import pages

    extra = APIRouter()

    @extra.get("/sneaky")
    def sneaky() -> dict[str, str]:
        return {}

    monkeypatch.setattr(pages.router, "routes", [*pages.router.routes, *extra.routes])
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    with pytest.raises(RuntimeError, match="GET /sneaky: the route declares no access"):
        create_app(settings_for(url))


# -- the world: two therapists' clients, every role with a session ------------------------------------


class World:
    def __init__(self, app: Any) -> None:
        self.app = app
        add_user(app, "supa", "supervisor")
        add_user(app, "supx", "supervisor")
        add_user(app, "ta", supervisor="supa")
        add_user(app, "tb")
        add_user(app, "res", "researcher")
        add_user(app, "adm", "admin")
        add_user(app, "admc", "admin", clinical_access=True)
        add_user(app, "gone")
        add_user(app, "matrixtarget")
        ha, ca = sign_in(app, "ta")
        hb, cb = sign_in(app, "tb")
        self.csrf_a, self.http_a = ca, ha
        self.client_a = new_client(ha, ca, "Alice Secretname")
        self.client_b = new_client(hb, cb, "Bruno Hiddenname")
        with app.state.clinic.tx() as db:
            from sciplab.web.models import Client, ClientIdentity

            for cid in (self.client_a, self.client_b):
                ident = db.scalar(select(ClientIdentity).where(ClientIdentity.client_id == cid))
                ident.contact = f"contact-{cid}-{secrets.token_hex(4)}@example.org"
            codes = dict(db.execute(select(Client.id, Client.code)).all())
            idents = {i.client_id: i for i in db.scalars(select(ClientIdentity))}
            self.secrets = {
                cid: {"name": idents[cid].name, "contact": idents[cid].contact, "code": codes[cid]}
                for cid in (self.client_a, self.client_b)
            }
        token = new_link(ha, ca, self.client_a)
        answers = {str(i): 1 for i in range(1, 9)} | {"9": 2}
        r = client_for(app).post(f"/api/v1/questionnaires/{token}", json={"answers": answers})
        assert r.status_code == 200, r.text
        self.response_a = r.json()["response_id"]
        self.alert_a = ha.get("/api/v1/alerts").json()[0]["id"]
        self.users = {}
        self._sessions: dict[str, tuple[str, str]] = {}
        self.http = client_for(app)
        with app.state.clinic.tx() as db:
            for username, uid in db.execute(select(User.username, User.id)):
                self.users[username] = uid
            set_disabled(db, Who(username="test"), "gone", True)

    def session(self, role: str) -> tuple[str, str] | None:
        """The session token and CSRF token of ``role`` (None: no account); new after a sign-out."""
        spec = ROLES[role]
        if spec is None:
            return None
        if role in self._sessions:
            return self._sessions[role]
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        with self.app.state.clinic.tx() as db:
            db.add(AuthSession(id=token_hash(token), user_id=self.users[spec[0]], csrf_token=csrf, stage="full"))
        self._sessions[role] = (token, csrf)
        return token, csrf

    def fresh_link(self) -> str:
        return new_link(self.http_a, self.csrf_a, self.client_a)

    def forbidden_words(self, role: str, access: str) -> dict[str, str]:
        """Identifiers the role must not see in any answer of a route with ``access``."""
        visible = {cid for cid, scope in ((self.client_a, SCOPE_A), (self.client_b, SCOPE_B)) if role in scope}
        words = {}
        for cid, values in self.secrets.items():
            if cid in visible:
                continue
            for kind, value in values.items():
                codes_ok = access == "research.view" or (role.startswith("admin") and access == "audit.view")
                if kind == "code" and codes_ok:
                    continue
                words[f"{kind} of client {cid}"] = value
        return words


def _schema_body(app: Any, path: str, method: str) -> Any:
    doc = app.openapi()
    op = doc["paths"].get(path, {}).get(method.lower())
    if not op or "requestBody" not in op:
        return None
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    return _example(doc, schema, "")


def _example(doc: dict[str, Any], schema: dict[str, Any], name: str) -> Any:
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if name in HINTS:
        return HINTS[name]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(doc, props[k], k) for k in schema.get("required", [])}
    if "anyOf" in schema:
        return _example(doc, schema["anyOf"][0], name)
    return {"integer": 1, "number": 1, "boolean": False, "array": []}.get(kind, "x")


def _path_values(world: World, route: Any) -> dict[str, Any]:
    values = {
        "client_id": world.client_a,
        "alert_id": world.alert_a,
        "response_id": world.response_a,
        "token": None,  # filled per request
        "username": "matrixtarget",
        "action": "enable",
        "instrument_id": "PHQ-9",
        "fmt": "html",
        "name": "matrixmapping",
    }
    names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
    missing = [n for n in names if n not in values and not n.endswith("client_id")]
    assert not missing, f"{route.path}: add a value for path parameter(s) {missing} in test_access._path_values"
    return {n: values.get(n, world.client_a) for n in names}


def _request(world: World, route: Any, method: str, role: str, token: str | None) -> Any:
    http = world.http
    http.cookies.clear()
    session = world.session(role)
    if session is not None:
        http.cookies.set(COOKIE, session[0])
    csrf = session[1] if session else ""
    params = _path_values(world, route)
    if "token" in params:
        params["token"] = token
    path = route.path
    for name, value in params.items():
        path = re.sub(r"{" + name + r"(?::\w+)?}", str(value), path)
    is_api = route.path.startswith("/api/")
    if method == "GET":
        r = http.get(path)
    elif is_api:
        body = _schema_body(world.app, route.path, method)
        r = http.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
    else:
        form = {k: str(v) for k, v in HINTS.items() if isinstance(v, str | int)} | {"csrf_token": csrf}
        r = http.request(method, path, data=form)
    if COOKIE in r.headers.get("set-cookie", ""):  # signed out or rotated: the next request makes a new session
        world._sessions.pop(role, None)
    return r


def _passed(r: Any) -> bool:
    to_login = r.request.method == "GET" and r.status_code == 303 and r.headers["location"].startswith("/login")
    return r.status_code not in (401, 403) and r.status_code < 500 and not to_login


def _sent_to_sign_in(r: Any) -> bool:
    return r.status_code == 401 or (r.status_code == 303 and r.headers["location"].startswith("/login"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    import os

    from .conftest import PG_ENV, _pg_database

    if request.param == "sqlite":
        gen = None
        url = f"sqlite:///{tmp_path_factory.mktemp('access') / 'clinic.db'}"
    else:
        base = os.environ.get(PG_ENV)
        if not base:
            pytest.skip(f"PostgreSQL tests need {PG_ENV}")
        gen = _pg_database(base)
        url = next(gen)
    migrate.upgrade(url)
    app = create_app(settings_for(url, ip_failures_per_window=1000))
    try:
        yield World(app)
    finally:
        app.state.clinic.engine.dispose()
        if gen is not None:
            with pytest.raises(StopIteration):
                next(gen)


def test_every_route_for_every_role(world):
    app = world.app
    failures: list[str] = []
    checked = 0
    for route in _routes(app):
        access = access_of(route_access(route))
        for method in sorted(route.methods - {"HEAD"}):
            baseline = None
            for role in ROLES:
                token = world.fresh_link() if access == "link" else None
                r = _request(world, route, method, role, token)
                checked += 1
                where = f"{method} {route.path} as {role} ({access}): {r.status_code}"
                if r.status_code >= 500:
                    failures.append(f"{where}: server error")
                for what, word in world.forbidden_words(role, access).items():
                    if word in r.text or word in r.headers.get("location", ""):
                        failures.append(f"{where}: LEAK of the {what}")
                if access in ("public", "link"):
                    baseline = r.status_code if baseline is None else baseline
                    if r.status_code != baseline:
                        failures.append(f"{where}: differs from anonymous ({baseline})")
                    continue
                spec = ROLES[role]
                if spec is None or role == "disabled user":
                    if not _sent_to_sign_in(r):
                        failures.append(f"{where}: expected a sign-in answer")
                    continue
                if access == "signed-in":
                    ok = True
                else:
                    ok = allowed(Actor(0, spec[0], spec[1], spec[2]), access)
                    if ok and RECORD_PARAMS & set(re.findall(r"{(\w+)", route.path)):
                        ok = role in SCOPE_A
                if ok and not _passed(r):
                    failures.append(f"{where}: expected to pass")
                if not ok and r.status_code != 403:
                    failures.append(f"{where}: expected 403")
            if access == "link":  # a forged token is refused the same way for everyone
                forged = "x" + world.fresh_link()[1:]
                r = _request(world, route, method, "client-by-link", forged)
                checked += 1
                if r.status_code != 410:
                    failures.append(f"{method} {route.path} with a forged token: {r.status_code}, expected 410")
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures)
    assert checked > 10 * len(ROLES)
    assert set(ACTIONS) >= {route_access(r) for r in _routes(app)} - set(ACCESS_KINDS)
