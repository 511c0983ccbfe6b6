"""``create_app(settings)``: the FastAPI application of SCIP Clinic.

At start the app opens the database (an SQLite file must exist: ``sciplab db upgrade`` makes it),
refuses a schema that is not this SCIP Lab's head, loads the link-signing key and, while the clinic
has no user, issues the one-time setup token (``app.state.clinic.setup_token``; ``sciplab serve``
prints it). Every response carries a strict Content-Security-Policy (no inline script: JavaScript
is in ``static/``), no-store caching for pages and ``X-Frame-Options: DENY``.
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
from starlette.requests import Request

from sciplab._core.results import package_version
from sciplab.web import api, pages
from sciplab.web.audit.service import Who, record
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.service import RateLimiter, issue_setup_token, secret_key
from sciplab.web.clinic import Clinic, client_ip, log
from sciplab.web.db import make_engine, session_factory
from sciplab.web.errors import DatabaseError, Forbidden, NotAuthenticated, WebError
from sciplab.web.exchange import routes as exchange_routes
from sciplab.web.migrate import check_schema
from sciplab.web.settings import Settings

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: :meth:`Settings.load`); raises DatabaseError on a bad database."""
    settings = settings or Settings.load()
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
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="SCIP Clinic API",
        version=package_version(),
        description="JSON API of SCIP Clinic (sciplab.web). Sign in with POST /api/v1/session; "
        "send the returned csrf_token as X-CSRF-Token on every POST.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads assets from a CDN: the clinic ships everything it serves
        redoc_url=None,
    )
    app.state.clinic = clinic
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = package_version()
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(exchange_routes.api)
    app.include_router(exchange_routes.pages)
    app.include_router(api.router)
    app.include_router(pages.router)
    _handlers(app, clinic, templates)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        if settings.https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """Liveness and database check; no login needed."""
        try:
            with clinic.tx() as db:
                db.execute(text("SELECT 1"))
        except DatabaseError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "schema": clinic.revision, "version": package_version()})

    return app


def _handlers(app: FastAPI, clinic: Clinic, templates: Jinja2Templates) -> None:
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        if isinstance(exc, Forbidden):
            _audit_denied(clinic, request, exc)
        if isinstance(exc, DatabaseError):
            log.error("request %s %s failed: %s", request.method, request.url.path, exc)
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
