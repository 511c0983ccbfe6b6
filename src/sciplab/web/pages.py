"""Server-rendered pages (Jinja2). Each handler: check the login, call one service function, render.

State-changing forms are POSTs carrying the session's CSRF token; the sign-in and first-run forms,
made before there is a session, carry a per-browser form token checked against a SameSite=Strict
cookie (double submit). The public questionnaire pages need no login: the signed link is the key.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hmac
import io
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sciplab.web.audit import service as audit
from sciplab.web.audit.service import Who
from sciplab.web.auth import service as auth
from sciplab.web.auth import totp
from sciplab.web.clients import service as clients
from sciplab.web.clinic import COOKIE, PRE_COOKIE, Clinic, Login, client_ip
from sciplab.web.errors import BadRequest, Forbidden, NotAuthenticated, TooManyAttempts
from sciplab.web.measures import service as measures
from sciplab.web.models import ROLES, SCHEDULES, User
from sciplab.web.policy import allowed, require
from sciplab.web.views import cache as views_cache
from sciplab.web.views import charts as views_charts
from sciplab.web.views import service as views_service

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


def _clinic(request: Request) -> Clinic:
    return request.app.state.clinic


def render(request: Request, name: str, status: int = 200, login: Login | None = None, **ctx: Any) -> HTMLResponse:
    """Render a template with the login and CSRF token in its context."""
    ctx.setdefault("login", login)
    ctx.setdefault("csrf", login.session.csrf_token if login else "")
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _int(form: dict[str, str], name: str, *, required: bool = False) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        if required:
            raise BadRequest(f"{name}: a whole number is required")
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name}: {raw!r} is not a whole number") from None


def _date(form: dict[str, str], name: str) -> dt.date | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: {raw!r} is not a date (YYYY-MM-DD)") from None


async def _posted(request: Request, fn: Callable[[Clinic, Login, dict[str, str]], T], *, enroll: bool = False) -> T:
    """Read the form, then in one transaction: authenticate, check the CSRF token, run ``fn``."""
    form = await _form(request)
    clinic = _clinic(request)

    def work() -> T:
        with clinic.tx() as db:
            login = clinic.authenticate(db, request, allow_enroll=enroll)
            auth.check_csrf(login.session, form.get("csrf_token"))
            login.db = db
            return fn(clinic, login, form)

    return await run_in_threadpool(work)


def _db(login: Login) -> Any:
    return login.db


def _pre_token(request: Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(18)


def _with_pre(response: Response, token: str, clinic: Clinic) -> Response:
    response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict", secure=clinic.settings.https)
    return response


def _check_pre(request: Request, form: dict[str, str]) -> None:
    cookie = request.cookies.get(PRE_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("form_token", "")):
        raise Forbidden("the form expired or did not come from this site: reload the page and try again")


def _set_session(response: Response, token: str, clinic: Clinic) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=clinic.settings.https,
        path="/",
        max_age=clinic.settings.session_absolute_hours * 3600,
    )
    return response


# -- first run, sign-in, two factors ------------------------------------------------------------------


@router.get("/", openapi_extra={"x-access": "public"})
def home(request: Request) -> Response:
    """Page: GET /."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        if auth.count_users(db) == 0:
            return _see_other("/setup")
    return _see_other("/dashboard" if request.cookies.get(COOKIE) else "/login")


@router.get("/setup", openapi_extra={"x-access": "public"})
def setup_page(request: Request, token: str = "") -> Response:
    """Page: GET /setup."""
    clinic = _clinic(request)
    pre = _pre_token(request)
    return _with_pre(render(request, "setup.html", token=token, form_token=pre), pre, clinic)


@router.post("/setup", openapi_extra={"x-access": "public"})
async def setup_submit(request: Request) -> Response:
    """Page: POST /setup."""
    form = await _form(request)
    _check_pre(request, form)
    clinic = _clinic(request)

    def work() -> None:
        if form.get("password", "") != form.get("password2", ""):
            raise BadRequest("password: the two passwords differ")
        with clinic.tx() as db:
            made = auth.first_admin(
                db,
                clinic.hasher,
                Who(ip=client_ip(request)),
                token=form.get("token", ""),
                username=form.get("username", ""),
                password=form.get("password", ""),
            )
        if isinstance(made, Exception):
            raise made

    await run_in_threadpool(work)
    clinic.setup_token = None
    return _see_other("/login?created=1")


@router.get("/login", openapi_extra={"x-access": "public"})
def login_page(request: Request, next: str = "/dashboard", created: int = 0) -> Response:  # noqa: A002
    """Page: GET /login."""
    clinic = _clinic(request)
    pre = _pre_token(request)
    return _with_pre(render(request, "login.html", next=_safe_next(next), form_token=pre, created=created), pre, clinic)


def _safe_next(url: str) -> str:
    """Page: GET /login."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/dashboard"


@router.post("/login", openapi_extra={"x-access": "public"})
async def login_submit(request: Request) -> Response:
    """Page: POST /login."""
    form = await _form(request)
    _check_pre(request, form)
    clinic = _clinic(request)

    def work() -> auth.LoginOutcome:
        return clinic.login(request, form.get("username", ""), form.get("password", ""), form.get("code", ""))

    try:
        outcome = await run_in_threadpool(work)
    except (NotAuthenticated, TooManyAttempts) as exc:
        pre = _pre_token(request)
        page = render(
            request, "login.html", 401, next=_safe_next(form.get("next", "/")), form_token=pre, error=str(exc)
        )
        return _with_pre(page, pre, clinic)
    target = "/account/2fa" if outcome.stage == "enroll" else _safe_next(form.get("next", "/dashboard"))
    return _set_session(_see_other(target), outcome.token, clinic)


@router.post("/logout", openapi_extra={"x-access": "signed-in"})
async def logout(request: Request) -> Response:
    """Page: POST /logout."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        auth.logout(_db(login), login.token, login.who)

    await _posted(request, fn, enroll=True)
    response = _see_other("/login")
    response.delete_cookie(COOKIE)
    return response


@router.get("/account/2fa", openapi_extra={"x-access": "signed-in"})
def enroll_page(request: Request) -> Response:
    """Page: GET /account/2fa."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request, allow_enroll=True)
        if login.user.totp_enabled:
            return render(
                request,
                "message.html",
                login=login,
                title="Two-factor sign-in",
                message="Two-factor sign-in is active on your account.",
                status=200,
            )
        secret = auth.start_enrollment(db, login.user)
        return render(request, "enroll.html", login=login, secret=secret, uri=totp.uri(secret, login.user.username))


@router.post("/account/2fa", openapi_extra={"x-access": "signed-in"})
async def enroll_submit(request: Request) -> Response:
    """Page: POST /account/2fa."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        auth.confirm_enrollment(_db(login), login.session, login.user, form.get("code", ""), login.who)

    await _posted(request, fn, enroll=True)
    return _see_other("/dashboard")


# -- dashboard and clients ----------------------------------------------------------------------------


@router.get("/dashboard", openapi_extra={"x-access": "signed-in"})
def dashboard(request: Request) -> Response:
    """Page: GET /dashboard."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        a = login.actor
        ctx: dict[str, Any] = {"alerts": [], "caseload": None}
        if allowed(a, "clients.list"):
            ctx["alerts"] = clients.open_alerts(db, a)
            ctx["caseload"] = views_service.caseload_analysis(db, a)  # sorted by what needs attention
        return render(request, "dashboard.html", login=login, can=lambda action: allowed(a, action), **ctx)


@router.get("/clients/new", openapi_extra={"x-access": "clients.create"})
def client_new(request: Request) -> Response:
    """Page: GET /clients/new."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        require(login.actor, "clients.create")
        return render(request, "client_new.html", login=login)


@router.post("/clients", openapi_extra={"x-access": "clients.create"})
async def client_create(request: Request) -> Response:
    """Page: POST /clients."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> int:
        c = clients.create_client(
            _db(login),
            login.actor,
            name=form.get("name", ""),
            contact=form.get("contact", ""),
            gender=form.get("gender", ""),
            birth_year=_int(form, "birth_year"),
            therapist_id=_int(form, "therapist_id"),
        )
        return c.id

    return _see_other(f"/clients/{await _posted(request, fn)}")


@router.get("/clients/{client_id}", openapi_extra={"x-access": "clients.view"})
def client_page(request: Request, client_id: int, link: str = "") -> Response:
    """Page: GET /clients/{client_id}."""
    clinic = _clinic(request)
    if clinic.engine.dialect.name == "postgresql":
        # the policy decides in the record's query and the page is read in autocommit (READ COMMITTED reads
        # the same without BEGIN and COMMIT round trips); the audit entry is written as the block ends, in
        # one query with the chain's lock (sciplab.web.audit.service), before the page is sent
        with clinic.read() as db:
            login = clinic.authenticate(db, request)
            page = _client_page(request, db, login, client_id, link)
            views_service.record_client_view(db, login.actor, client_id)
        return page
    with clinic.tx() as db:  # short: who, the policy's decision, the audit entry
        login = clinic.authenticate(db, request)
        views_service.audit_client_view(db, login.actor, client_id)
    with clinic.read() as db:  # the page: reads only, no lock held while the overview is computed and rendered
        return _client_page(request, db, login, client_id, link)


def _client_page(request: Request, db: Any, login: Login, client_id: int, link: str) -> Response:
    cache = request.app.state.overview_cache
    rec, entry = views_service.client_view(db, login.actor, client_id, cache, audit=False)
    overview = None if entry is None else entry.overview
    ov_html = None if overview is None else views_cache.analyses_html(entry, request.app.state.templates.env,
                                                                       views_charts)  # fmt: skip
    current = clients.newest_episode(rec)
    assigned = measures.assignments(db, rec["client"], current)
    ended = current is not None and current.ended_on is not None
    next_number = (rec["sessions"][-1].number if rec["sessions"] else 0) + 1
    due = [
        a
        for a in assigned
        if measures.is_due(a, next_number, ending=ended) or (not rec["sessions"] and measures.is_due(a, None))
    ]
    return render(
        request,
        "client.html",
        login=login,
        rec=rec,
        assignments=assigned,
        schedules=SCHEDULES,
        instruments=measures.scorable(),
        new_link=link,
        due=due,
        next_number=next_number,
        ov=overview,
        ov_html=ov_html,
        charts=views_charts,
        acks=views_service.acknowledgements(db, client_id, rec["alerts"]),
        can_ack=allowed(login.actor, "alerts.acknowledge"),
    )


@router.post("/clients/{client_id}/sessions", openapi_extra={"x-access": "clients.edit"})
async def session_add(request: Request, client_id: int) -> Response:
    """Page: POST /clients/{client_id}/sessions."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        clients.add_session(
            _db(login),
            login.actor,
            client_id,
            date=_date(form, "date"),
            attendance=form.get("attendance", "attended"),
            therapist_alliance=_int(form, "therapist_alliance"),
            distance_rating=_int(form, "distance_rating"),
            note=form.get("note", ""),
        )

    await _posted(request, fn)
    return _see_other(f"/clients/{client_id}")


@router.post("/clients/{client_id}/assignments", openapi_extra={"x-access": "clients.edit"})
async def assignment_add(request: Request, client_id: int) -> Response:
    """Page: POST /clients/{client_id}/assignments."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        measures.assign(
            _db(login),
            login.actor,
            client_id,
            form.get("instrument", ""),
            form.get("schedule", ""),
            _int(form, "every_n"),
        )

    await _posted(request, fn)
    return _see_other(f"/clients/{client_id}")


@router.post("/clients/{client_id}/links", openapi_extra={"x-access": "measures.deliver"})
async def link_create(request: Request, client_id: int) -> Response:
    """Page: POST /clients/{client_id}/links."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> tuple[str, str]:
        mode = form.get("mode", "link")
        _, token = measures.create_link(
            _db(login),
            login.actor,
            clinic.secret,
            client_id,
            form.get("instrument", ""),
            hours=clinic.settings.link_hours,
            mode=mode,
            session_id=_int(form, "session_id"),
        )
        return mode, token

    mode, token = await _posted(request, fn)
    if mode == "kiosk":
        return _see_other(f"/q/{token}")
    return _see_other(f"/clients/{client_id}?link={token}")


@router.get("/clients/{client_id}/manual", openapi_extra={"x-access": "measures.deliver"})
def manual_page(request: Request, client_id: int, instrument: str = "") -> Response:
    """Page: GET /clients/{client_id}/manual."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        client = clients.get_client(db, login.actor, client_id, "measures.deliver")
        return render(request, "manual.html", login=login, client=client, form=measures.form(db, instrument))


@router.post("/clients/{client_id}/responses", openapi_extra={"x-access": "measures.deliver"})
async def manual_submit(request: Request, client_id: int) -> Response:
    """Page: POST /clients/{client_id}/responses."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        measures.manual_entry(
            _db(login), login.actor, client_id, form.get("instrument", ""), form, session_id=_int(form, "session_id")
        )

    await _posted(request, fn)
    return _see_other(f"/clients/{client_id}")


@router.post("/alerts/{alert_id}/acknowledge", openapi_extra={"x-access": "alerts.acknowledge"})
async def alert_ack(request: Request, alert_id: int) -> Response:
    """Page: POST /alerts/{alert_id}/acknowledge."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> tuple[int, str]:
        alert = clients.acknowledge_alert(_db(login), login.actor, alert_id, form.get("action", ""))
        return alert.client_id, form.get("next", "")

    client_id, nxt = await _posted(request, fn)
    return _see_other("/dashboard" if nxt == "/dashboard" else f"/clients/{client_id}")


# -- the client's questionnaire (public: the signed link is the key) ---------------------------------


@router.get("/q/{token}", openapi_extra={"x-access": "link"})
def questionnaire(request: Request, token: str) -> Response:
    """Page: GET /q/{token}."""
    clinic = _clinic(request)
    with clinic.read() as db:
        link = measures.open_link(db, clinic.secret, token)
        if link.used_at is not None:
            return render(request, "thanks.html", kiosk=link.mode == "kiosk", repeated=True)
        form = measures.form(db, link.instrument_id)
    with clinic.tx() as db:  # short: only the audit entry holds the write lock (SQLite) or the chain's lock
        audit.record(db, Who(ip=client_ip(request)), "link.open", "link", link.id)
    return render(
        request,
        "questionnaire.html",
        form=form,
        token=token,
        draft=link.draft or {},
        items_html=None if link.draft else _blank_items(request.app.state.templates.env, form),
        one_per_screen=clinic.settings.one_item_per_screen,
        kiosk=link.mode == "kiosk",
    )


@functools.lru_cache(maxsize=64)
def _blank_items(env: Any, form: measures.Form) -> Markup:
    """``_items.html`` of a form without a draft: the same for every link of that form, rendered once.

    Keyed by the form's value (imported wording changes the form, so the key) and the app's environment.
    """
    return Markup(env.get_template("_items.html").render(form=form, draft={}))  # noqa: S704 - autoescaped output


@router.post("/q/{token}", openapi_extra={"x-access": "link"})
async def questionnaire_submit(request: Request, token: str) -> Response:
    """Page: POST /q/{token}."""
    form = await _form(request)
    clinic = _clinic(request)
    who = Who(ip=client_ip(request))

    def work() -> Response:
        scored = None
        if form.get("action") != "save":
            with clinic.read() as db:  # check and score first: the write transaction holds the lock only to store
                scored = measures.prepare_submission(db, clinic.secret, token, form)
        with clinic.tx() as db:
            if form.get("action") == "save":
                link = measures.save_draft(db, clinic.secret, token, form, who)
                return render(request, "saved.html", token=token, expires=link.expires_at)
            sub = measures.submit(db, clinic.secret, token, form, who, scored=scored)
            link = measures.open_link(db, clinic.secret, token)
        return render(request, "thanks.html", kiosk=link.mode == "kiosk", repeated=sub.repeated)

    try:
        return await run_in_threadpool(work)
    except BadRequest as exc:
        with clinic.read() as db:
            link = measures.open_link(db, clinic.secret, token)
            qform = measures.form(db, link.instrument_id)
        draft = {k[5:]: v for k, v in form.items() if k.startswith("item_")}
        return render(
            request,
            "questionnaire.html",
            400,
            form=qform,
            token=token,
            draft=draft,
            error=str(exc),
            one_per_screen=clinic.settings.one_item_per_screen,
            kiosk=link.mode == "kiosk",
        )


# -- admin ----------------------------------------------------------------------------------------------


@router.get("/admin/users", openapi_extra={"x-access": "users.manage"})
def users_page(request: Request) -> Response:
    """Page: GET /admin/users."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        require(login.actor, "users.manage")
        from sqlalchemy import select

        users = db.scalars(select(User).order_by(User.username)).all()
        return render(
            request,
            "users.html",
            login=login,
            users=users,
            roles=ROLES,
            require_2fa=auth.require_2fa(db, clinic.settings),
        )


@router.post("/admin/users", openapi_extra={"x-access": "users.manage"})
async def users_create(request: Request) -> Response:
    """Page: POST /admin/users."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        require(login.actor, "users.manage")
        auth.create_user(
            _db(login),
            clinic.hasher,
            login.who,
            username=form.get("username", ""),
            password=form.get("password", ""),
            role=form.get("role", ""),
            display_name=form.get("display_name", ""),
            supervisor=form.get("supervisor") or None,
            clinical_access=form.get("clinical_access") == "on",
        )

    await _posted(request, fn)
    return _see_other("/admin/users")


@router.post("/admin/users/{username}/{action}", openapi_extra={"x-access": "users.manage"})
async def users_action(request: Request, username: str, action: str) -> Response:
    """Page: POST /admin/users/{username}/{action}."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        require(login.actor, "users.manage")
        if action == "disable":
            auth.set_disabled(_db(login), login.who, username, True)
        elif action == "enable":
            auth.set_disabled(_db(login), login.who, username, False)
        elif action == "reset-2fa":
            auth.reset_2fa(_db(login), login.who, username)
        else:
            raise BadRequest(f"action must be disable, enable or reset-2fa; got {action!r}")

    await _posted(request, fn)
    return _see_other("/admin/users")


@router.post("/admin/settings", openapi_extra={"x-access": "settings.manage"})
async def settings_save(request: Request) -> Response:
    """Page: POST /admin/settings."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> None:
        require(login.actor, "settings.manage")
        value = "true" if form.get("require_2fa") == "on" else "false"
        auth.put_setting(_db(login), "require_2fa", value)
        audit.record(_db(login), login.who, "settings.change", "setting", "require_2fa", detail={"value": value})

    await _posted(request, fn)
    return _see_other("/admin/users")


@router.get("/admin/audit", openapi_extra={"x-access": "audit.view"})
def audit_page(request: Request) -> Response:
    """Page: GET /admin/audit."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        require(login.actor, "audit.view")
        result = audit.verify(db)
        entries = audit.recent(db)
        audit.record(db, login.who, "audit.view", "audit_log")
        return render(request, "audit.html", login=login, entries=entries, verify=result)


# -- research (de-identified) ---------------------------------------------------------------------------


@router.get("/research", openapi_extra={"x-access": "research.view"})
def research_page(request: Request) -> Response:
    """Page: GET /research."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        rows = clients.research_rows(db, login.actor)
        return render(
            request, "research.html", login=login, rows=rows[:500], total=len(rows), columns=clients.RESEARCH_COLUMNS
        )


@router.get("/research.csv", openapi_extra={"x-access": "research.view"})
def research_csv(request: Request) -> Response:
    """Page: GET /research.csv."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        rows = clients.research_rows(db, login.actor)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(clients.RESEARCH_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="sciplab-scores-deidentified.csv"'},
    )
