"""``create_app(settings)``: the FastAPI application of SCIP Clinic.

At start the app opens the database (an SQLite file must exist: ``sciplab db upgrade`` makes it),
refuses a schema that is not this SCIP Lab's head, loads the link-signing key and, while the clinic
has no user, issues the one-time setup token (``app.state.clinic.setup_token``; ``sciplab serve``
prints it). :mod:`sciplab.web.security` wraps every request (security headers, link rate limit,
session rotation, access log); :mod:`sciplab.web.ops` provides ``/readyz`` and the JSON logs.

Every route declares who may call it in its decorator, ``openapi_extra={"x-access": ...}``: an action
of :data:`sciplab.web.policy.ACTIONS`, or ``public``, ``link`` (the questionnaire token is the key)
or ``signed-in`` (see :data:`sciplab.web.policy.ACCESS_KINDS`); ``tests/web/test_access.py`` derives
its role × route matrix from these declarations and fails on a route without one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from sciplab._core.results import package_version
from sciplab.web import api, ops, pages, security
from sciplab.web.audit.service import Who, record
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.ratelimit import RateLimiter
from sciplab.web.auth.service import issue_setup_token, secret_key
from sciplab.web.clinic import Clinic, client_ip, log
from sciplab.web.db import make_engine, session_factory, writer_queue
from sciplab.web.errors import DatabaseError, Forbidden, LinkError, NotAuthenticated, WebError
from sciplab.web.exchange import routes as exchange_routes
from sciplab.web.measures.service import TAMPERED
from sciplab.web.migrate import check_schema
from sciplab.web.settings import Settings
from sciplab.web.views import routes as views_routes
from sciplab.web.views import service as views_service
from sciplab.web.views.cache import OverviewCache

HERE = Path(__file__).parent
CSP = security.CSP
PUBLIC = {"x-access": "public"}
ERROR_STATUSES = {
    "400": "Bad input (names the field and what is allowed)",
    "401": "Not signed in",
    "403": "Refused by the policy (audited) or CSRF check failed",
    "404": "No such record",
    "409": "Conflicts with the current state",
    "410": "Questionnaire link expired, used or altered",
    "429": "Too many failed attempts: wait",
    "503": "Database unavailable: nothing was saved",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: :meth:`Settings.load`); raises DatabaseError on a bad database."""
    settings = settings or Settings.load()
    if settings.log_json:
        ops.configure_logging()
    engine = make_engine(settings.db, echo=settings.log_sql)
    try:
        revision = check_schema(engine)
        factory = session_factory(engine)
        with factory() as db, db.begin():
            secret = secret_key(db, settings.secret_key)
            setup_token = issue_setup_token(db)
    except Exception:
        engine.dispose()
        raise
    clinic = Clinic(
        settings=settings,
        engine=engine,
        factory=factory,
        hasher=Hasher(settings.argon2_time_cost, settings.argon2_memory_kib),
        limiter=RateLimiter(settings.ip_failures_per_window, settings.lockout_minutes * 60),
        secret=secret,
        revision=revision,
        setup_token=setup_token,
        writers=writer_queue(settings.db),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a worker's start-up heap, with the engines the client page uses, out of the collector's reach
        ops.freeze_startup_heap(views_service.warm)
        yield
        engine.dispose()
        if clinic.writers is not None:
            clinic.writers.close()

    app = FastAPI(
        lifespan=lifespan,
        title="SCIP Clinic API",
        version=package_version(),
        description="JSON API of SCIP Clinic (sciplab.web). Sign in with POST /api/v1/session; "
        "send the returned csrf_token as X-CSRF-Token on every POST.",
        openapi_url=None,  # served by the declared route below
        docs_url=None,  # Swagger UI loads assets from a CDN: the clinic ships everything it serves
        redoc_url=None,
    )
    app.state.clinic = clinic
    app.state.overview_cache = OverviewCache()  # this app's client overviews (sciplab.web.views.cache)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = package_version()
    templates.env.auto_reload = False  # shipped templates: no file check on every render
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(exchange_routes.api)
    app.include_router(exchange_routes.pages)
    app.include_router(api.router)
    app.include_router(views_routes.router)  # clinician views: pages and their JSON under /api/v1
    app.include_router(pages.router)
    link_limiter = RateLimiter(settings.link_failures_per_window, settings.lockout_minutes * 60)
    app.state.link_limiter = link_limiter
    _handlers(app, clinic, templates, link_limiter)
    app.add_middleware(security.TrustMiddleware, clinic=clinic, limiter=link_limiter,
                       patterns=lambda: security.link_patterns(app))  # fmt: skip

    @app.get("/healthz", tags=["health"], openapi_extra=PUBLIC)
    def healthz() -> JSONResponse:
        """Liveness and database check; no login needed."""
        try:
            with clinic.read() as db:
                db.execute(text("SELECT 1"))
        except DatabaseError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "schema": clinic.revision, "version": package_version()})

    @app.get("/readyz", tags=["health"], openapi_extra=PUBLIC)
    def readyz() -> JSONResponse:
        """Readiness: the database answers and its schema is at this SCIP Lab's head; no login needed."""
        code, body = ops.readiness(clinic)
        return JSONResponse(body, status_code=code)

    @app.get("/api/v1/openapi.json", include_in_schema=False, openapi_extra=PUBLIC)
    def openapi_document() -> JSONResponse:
        """The OpenAPI document of the JSON API."""
        return JSONResponse(app.openapi())

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    security.check_declarations(app)  # every route says who may call it, or the app does not start
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the error answers every operation may give (``{"error", "status"}``)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
        "required": ["error", "status"],
    }
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for item in doc.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for code, text_ in ERROR_STATUSES.items():
                responses.setdefault(code, {"description": text_, **ref})
    app.openapi_schema = doc
    return doc


def _handlers(app: FastAPI, clinic: Clinic, templates: Jinja2Templates, link_limiter: RateLimiter) -> None:
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        if isinstance(exc, Forbidden):
            _audit_denied(clinic, request, exc)
        if isinstance(exc, LinkError) and str(exc) == TAMPERED:  # a guess, not an old link
            with contextlib.suppress(DatabaseError):
                security.count_link_failure(clinic, link_limiter, client_ip(request))
        if isinstance(exc, DatabaseError):
            route = getattr(request.scope.get("route"), "path", "?")  # the template: never a token
            fields = {"method": request.method, "route": route}
            log.error("request failed: database unavailable", extra={"fields": fields})
        if wants_json(request):
            return JSONResponse({"error": str(exc), "status": exc.status}, status_code=exc.status)
        if isinstance(exc, NotAuthenticated) and request.method == "GET" and request.url.path not in ("/login",):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if isinstance(exc, Forbidden) and "two-factor" in str(exc):
            return RedirectResponse("/account/2fa", status_code=303)
        return templates.TemplateResponse(
            request,
            "message.html",
            {"title": _title(exc), "message": str(exc), "status": exc.status},
            status_code=exc.status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Framework errors (a body that does not parse, a wrong method) in the clinic's own format."""
        message = str(exc.detail)
        if wants_json(request):
            return JSONResponse(
                {"error": message, "status": exc.status_code}, status_code=exc.status_code, headers=exc.headers
            )
        return templates.TemplateResponse(
            request,
            "message.html",
            {"title": "Error", "message": message, "status": exc.status_code},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "no such page", "status": 404}, status_code=404)
        return templates.TemplateResponse(
            request,
            "message.html",
            {"title": "Not found", "message": "There is no such page.", "status": 404},
            status_code=404,
        )


def _title(exc: WebError) -> str:
    return {
        400: "Please check the form",
        401: "Please sign in",
        403: "Not allowed",
        404: "Not found",
        409: "Already there",
        410: "Link not valid",
        429: "Please wait",
        503: "Service unavailable",
    }.get(exc.status, "Error")


def _audit_denied(clinic: Clinic, request: Request, exc: Exception) -> None:
    actor = getattr(request.state, "actor", None)
    who = Who(actor.user_id, actor.username, actor.ip) if actor else Who(ip=client_ip(request))
    try:
        with clinic.tx() as db:
            record(
                db,
                who,
                "access",
                "path",
                request.url.path[:64],
                outcome="denied",
                detail={"method": request.method, "reason": str(exc)[:500]},
            )
    except DatabaseError:
        log.error("could not audit a denied request to %s", request.url.path)
