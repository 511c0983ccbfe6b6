"""The clinic's HTTP trust layer: security headers, link rate limits, session rotation, access log.

One ASGI middleware (:class:`TrustMiddleware`) wraps every request, whatever route serves it, so a
route added later is covered without doing anything:

* **Headers.** A strict Content-Security-Policy (scripts and styles from the clinic's own ``/static``
  only: no inline script, no inline style, no ``eval``), ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``
  (a questionnaire link never leaks through a Referer), a ``Permissions-Policy`` turning off the
  camera, microphone and location, ``Cache-Control: no-store`` on everything but static assets, and
  ``Strict-Transport-Security`` when the clinic is served over HTTPS (``https = true``).
* **Link rate limit.** Routes declared ``x-access: link`` (the questionnaire token is the key) refuse
  an address that presented ``link_failures_per_window`` bad tokens within ``lockout_minutes``
  (``429``); the count lives in the database (:mod:`sciplab.web.auth.ratelimit`), so every worker
  shares it. A failure is counted by the error handler of :class:`~sciplab.web.errors.LinkError`.
* **Session rotation.** When a request raised its session's privilege (two-factor enrolment), the
  service replaced the session (:func:`~sciplab.web.auth.service.rotate_session`); the new token is
  set as the cookie here, so the session id a browser held before is worthless afterwards.
* **Access log.** One JSON line per request on the ``sciplab.web.access`` logger (see
  :mod:`sciplab.web.ops`): method, the route *template* (``/q/{token}``, never the token or a
  query string), status and milliseconds. No address, user name, client or form field.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from sciplab.web.auth.ratelimit import RateLimiter
from sciplab.web.auth.service import ROTATED
from sciplab.web.clinic import COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"

access_log = logging.getLogger("sciplab.web.access")


def security_headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (``path`` decides the caching)."""
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if not path.startswith("/static/"):
        headers.append((b"cache-control", b"no-store"))
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def route_access(route: Any) -> str | None:
    """The ``x-access`` declaration of a route (None when it declares none)."""
    original = getattr(route, "original_route", None)
    extra = getattr(route, "openapi_extra", None) or getattr(original, "openapi_extra", None) or {}
    value = extra.get("x-access")
    return value if isinstance(value, str) else None


def flat_routes(app: Any) -> list[Any]:
    """Every endpoint of ``app`` with its full path, methods and ``openapi_extra`` (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy included routers: app.routes is already flat
        routes: list[Any] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    return [r for r in routes if getattr(r, "methods", None)]


def check_declarations(app: Any) -> None:
    """Refuse to build an app with a route that declares no access, or an unknown one (RuntimeError naming them)."""
    from sciplab.web.policy import access_of

    problems = []
    for route in flat_routes(app):
        try:
            access_of(route_access(route))
        except KeyError as exc:
            problems.append(f"{' '.join(sorted(route.methods))} {route.path}: {exc.args[0]}")
    if problems:
        raise RuntimeError("routes without a valid access declaration:\n" + "\n".join(problems))


def link_patterns(app: Any) -> list[re.Pattern[str]]:
    """Path patterns of the routes declared ``x-access: link``."""
    return [_path_regex(route) for route in flat_routes(app) if route_access(route) == "link"]


def _path_regex(route: Any) -> re.Pattern[str]:
    for candidate in (getattr(route, "_route_context", None), route, getattr(route, "original_route", None)):
        regex = getattr(candidate, "path_regex", None)
        if regex is not None:
            return regex
    from starlette.routing import compile_path

    return compile_path(route.path)[0]


class TrustMiddleware:
    """Headers, link rate limit, rotated session cookie and the access log for every request."""

    def __init__(
        self, app: ASGIApp, clinic: Any, limiter: RateLimiter, patterns: Callable[[], list[re.Pattern[str]]]
    ) -> None:
        self.app = app
        self.clinic = clinic
        self.limiter = limiter
        self._patterns = patterns
        self._cache: list[re.Pattern[str]] | None = None

    def _is_link(self, path: str) -> bool:
        if self._cache is None:
            self._cache = self._patterns()
        return any(p.match(path) for p in self._cache)

    def _blocked(self, ip: str) -> bool:
        with self.clinic.read() as db:  # only reads: no write lock (SQLite) for every link request
            return self.limiter.blocked(db, f"link:{ip}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with the trust layer around it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path: str = scope.get("path", "")
        https = bool(self.clinic.settings.https)
        extra = security_headers(path, https)
        status = {"code": 500}
        holder: dict[str, str] = {}
        token = ROTATED.set(holder)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                names = {k.lower() for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                headers.extend(extra)
                if holder.get("token"):
                    cookie = session_cookie(holder["token"], self.clinic.settings)
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            if self._is_link(path) and await run_in_threadpool(self._blocked, _peer(scope)):
                response = JSONResponse(
                    {"error": "too many invalid questionnaire links from your address: wait and retry", "status": 429},
                    status_code=429,
                )
                await response(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            ROTATED.reset(token)
            route = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method", ""),
                        "route": getattr(route, "path", None) or ("/static" if path.startswith("/static/") else "?"),
                        "status": status["code"],
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                    }
                },
            )


def session_cookie(token: str, settings: Any) -> str:
    """The ``Set-Cookie`` value of a session token (HttpOnly, SameSite=Strict, Secure over HTTPS)."""
    response = Response()
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.https,
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    return response.headers["set-cookie"]


def count_link_failure(clinic: Any, limiter: RateLimiter, ip: str) -> None:
    """Count one bad questionnaire token presented by ``ip`` (a new transaction: the request's rolled back)."""
    with clinic.tx() as db:
        limiter.fail(db, f"link:{ip}")


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""
