"""The running clinic: settings, database, hasher, rate limiter and signing key, shared by pages and API.

Request helpers live here too: the current login (:func:`Clinic.authenticate`), the client address,
and the translation of a database failure into one :class:`~sciplab.web.errors.DatabaseError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from sciplab.web.audit.service import Who
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.service import LoginOutcome, RateLimiter, load_session, login
from sciplab.web.db import WriterQueue, read_only, redact
from sciplab.web.errors import BadRequest, DatabaseError, Forbidden, NotAuthenticated
from sciplab.web.models import AuthSession, User
from sciplab.web.policy import Actor
from sciplab.web.settings import Settings

log = logging.getLogger("sciplab.web")

COOKIE = "sciplab_session"
PRE_COOKIE = "sciplab_form"


@dataclasses.dataclass
class Login:
    """The signed-in user of a request."""

    session: AuthSession
    user: User
    actor: Actor
    token: str
    db: Session | None = None

    @property
    def who(self) -> Who:
        """Audit identity."""
        return Who(self.user.id, self.user.username, self.actor.ip)


@dataclasses.dataclass
class Clinic:
    """Everything a request handler needs (``app.state.clinic``)."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    hasher: Hasher
    limiter: RateLimiter
    secret: str
    revision: str
    setup_token: str | None = None
    writers: WriterQueue | None = None  # SQLite: writers queue here before BEGIN IMMEDIATE (sciplab.web.db)

    @contextlib.contextmanager
    def tx(self, *, read_only: bool = False) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back whole on any error.

        ``read_only``: the block only reads (see :meth:`read`); SQLite then opens it with a deferred
        ``BEGIN`` (:data:`sciplab.web.db.READ_ONLY`) instead of taking the write lock. Otherwise, on
        SQLite, the transaction first waits its turn in :attr:`writers` (woken as soon as the writer
        before it committed, instead of SQLite's sleep-and-retry busy handler).
        """
        bind = self._reader if read_only else self.engine
        queue = contextlib.nullcontext() if read_only or self.writers is None else self.writers.hold()
        try:
            with queue, self.factory(bind=bind) as db, db.begin():
                yield db
        except (OperationalError, DBAPIError) as exc:
            if not isinstance(exc, OperationalError) and "IntegrityError" in type(exc).__name__:
                raise
            if isinstance(exc, DataError):  # e.g. an id beyond PostgreSQL's integer range: the input, not the database
                raise BadRequest("a number in the request is out of range (an id or a value too large)") from None
            log.error("database unavailable (%s): %s", redact(str(self.engine.url)), exc.orig)
            raise DatabaseError(
                "the clinic database is unavailable (locked, moved or down); nothing was saved — try again shortly"
            ) from None

    @functools.cached_property
    def _reader(self) -> Engine:
        """The engine of read-only transactions (built once: :func:`sciplab.web.db.read_only`)."""
        return read_only(self.engine)

    def read(self) -> contextlib.AbstractContextManager[Session]:
        """A transaction that only reads (a page's data after its access was decided and audited in :meth:`tx`).

        On SQLite (WAL) a reader neither queues behind the one writer nor holds it up: the client page
        computes and renders its overview without holding the write lock every other request needs.
        Never write in it (SQLite could refuse a write that follows another writer's commit). The one
        exception is PostgreSQL's audit entry: :func:`sciplab.web.audit.service.record` only keeps it, and
        the block's end writes it with the chain's lock as one implicit transaction (the client page).
        """
        return self.tx(read_only=True)

    def login(self, request: Request, username: str, password: str, code: str = "") -> LoginOutcome:
        """Sign in: the attempt (and any failure count or lockout) is committed before a refusal is raised."""
        with self.tx() as db:
            outcome = login(
                db,
                self.settings,
                self.hasher,
                self.limiter,
                username=username,
                password=password,
                code=code,
                ip=client_ip(request),
            )
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def authenticate(self, db: Session, request: Request, *, allow_enroll: bool = False) -> Login:
        """The login of the request's session cookie (NotAuthenticated when none)."""
        token = request.cookies.get(COOKIE)
        found = load_session(db, self.settings, token)
        if found is None or token is None:
            raise NotAuthenticated("please sign in")
        sess, user = found
        if sess.stage != "full" and not allow_enroll:
            raise Forbidden("set up two-factor sign-in first (Account → two-factor)")
        actor = Actor.of(user, client_ip(request))
        request.state.actor = actor
        return Login(sess, user, actor, token)


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers so this is the real client)."""
    return request.client.host if request.client else ""
