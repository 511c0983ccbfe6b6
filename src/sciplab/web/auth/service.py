"""Accounts, login, two factors, lockout, server-side sessions, CSRF and the first-run setup token.

Sessions: the cookie carries a random 256-bit token; the database keeps only its SHA-256 (a stolen
database holds no usable session). A session ends after ``session_idle_minutes`` without a request
or ``session_absolute_hours`` after login, whichever comes first. Each session has its own CSRF
token, checked on every state-changing request (form field ``csrf_token`` or header
``X-CSRF-Token``).

Lockout: ``lockout_failures`` wrong passwords or codes in a row lock the account for
``lockout_minutes``; independently, one address gets at most ``ip_failures_per_window`` failures
per ``lockout_minutes`` (rate limiting across usernames), counted in the database
(:mod:`sciplab.web.auth.ratelimit`) so that several Uvicorn workers share one count. Unknown
usernames cost the same time as known ones and give the same message.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from sciplab._core.errors import suggest
from sciplab.web.audit.service import Who, record
from sciplab.web.auth import totp
from sciplab.web.auth.passwords import Hasher, check_password_rules
from sciplab.web.auth.ratelimit import RateLimiter
from sciplab.web.errors import BadRequest, Conflict, NotAuthenticated, NotFound, TooManyAttempts, WebError
from sciplab.web.models import ROLES, AppSetting, AuthSession, User, utcnow
from sciplab.web.settings import Settings

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def token_hash(token: str) -> str:
    """SHA-256 hex of a bearer token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def get_setting(db: Session, key: str) -> str | None:
    """A value of ``app_settings``."""
    row = db.get(AppSetting, key)
    return row.value if row else None


def put_setting(db: Session, key: str, value: str) -> None:
    """Set a value of ``app_settings``."""
    row = db.get(AppSetting, key)
    if row is None:
        db.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    db.flush()


def secret_key(db: Session, configured: str = "") -> str:
    """The key signing questionnaire links: the configured one, else one made once and kept in the database."""
    if configured:
        return configured
    value = get_setting(db, "secret_key")
    if value is None:
        value = secrets.token_urlsafe(32)
        put_setting(db, "secret_key", value)
    return value


def require_2fa(db: Session, settings: Settings) -> bool:
    """Whether staff need a second factor (an admin may turn it off, e.g. for a demo)."""
    value = get_setting(db, "require_2fa")
    return settings.require_2fa if value is None else value == "true"


# -- users -----------------------------------------------------------------------------------------


def check_username(username: str) -> str:
    """Lower-case username of 2-64 characters from a-z, 0-9, '.', '_', '-'."""
    name = username.strip().lower()
    if not 2 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise BadRequest(f"username must be 2-64 characters of a-z, 0-9, '.', '_' or '-'; got {username!r}")
    return name


def check_role(role: str) -> str:
    """One of the four roles."""
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}; got {role!r}{suggest(role, ROLES)}")
    return role


def find_user(db: Session, username: str) -> User:
    """The user called ``username`` (NotFound with close names)."""
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        names = db.scalars(select(User.username)).all()
        raise NotFound(f"no user {username!r}{suggest(username, names)}")
    return user


def create_user(
    db: Session,
    hasher: Hasher,
    who: Who,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    supervisor: str | None = None,
    clinical_access: bool = False,
) -> User:
    """A new account (password rules checked, Argon2id hash stored, audited)."""
    name = check_username(username)
    check_role(role)
    check_password_rules(password, username=name)
    if db.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"username {name!r} is already taken")
    sup_id = None
    if supervisor:
        sup = find_user(db, supervisor)
        if sup.role != "supervisor":
            raise BadRequest(f"--supervisor {supervisor!r} is a {sup.role}, not a supervisor")
        sup_id = sup.id
    user = User(
        username=name,
        display_name=display_name.strip()[:120] or name,
        role=role,
        password_hash=hasher.hash(password),
        supervisor_id=sup_id,
        clinical_access=clinical_access,
    )
    db.add(user)
    db.flush()
    record(db, who, "user.create", "user", user.id, detail={"username": name, "role": role})
    return user


def set_disabled(db: Session, who: Who, username: str, disabled: bool = True) -> User:
    """Disable (or enable) an account; its sessions end at once."""
    user = find_user(db, username)
    user.disabled = disabled
    if disabled:
        db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    record(db, who, "user.disable" if disabled else "user.enable", "user", user.id)
    return user


def reset_2fa(db: Session, who: Who, username: str) -> User:
    """Forget the user's second factor: they enrol a new one at their next login."""
    user = find_user(db, username)
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = 0
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    record(db, who, "user.reset_2fa", "user", user.id)
    return user


def count_users(db: Session) -> int:
    """How many accounts exist."""
    return int(db.scalar(select(func.count(User.id))) or 0)


# -- first run ---------------------------------------------------------------------------------------


def issue_setup_token(db: Session) -> str | None:
    """A new one-time setup token when there is no user yet (its hash is stored), else None."""
    if count_users(db):
        return None
    token = secrets.token_urlsafe(24)
    put_setting(db, "setup_token_hash", token_hash(token))
    return token


def first_admin(
    db: Session, hasher: Hasher, who: Who, *, token: str, username: str, password: str
) -> User | NotAuthenticated:
    """Create the first admin with the setup token printed at start; the token then stops working.

    A wrong token is returned (not raised) so the caller commits its audit entry before refusing.
    """
    stored = get_setting(db, "setup_token_hash")
    if count_users(db) or not stored or not hmac.compare_digest(stored, token_hash(token)):
        record(db, who, "setup", outcome="denied")
        return NotAuthenticated("the setup token is not valid (it works once, while the clinic has no user)")
    user = create_user(db, hasher, who, username=username, password=password, role="admin")
    put_setting(db, "setup_token_hash", "")
    return user


# -- login ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoginOutcome:
    """A new session: the cookie token, and whether the user must enrol a second factor first."""

    token: str
    user: User
    stage: str


GENERIC_FAILURE = "wrong username, password or code"


def login(
    db: Session,
    settings: Settings,
    hasher: Hasher,
    limiter: RateLimiter,
    *,
    username: str,
    password: str,
    code: str = "",
    ip: str = "",
) -> LoginOutcome | WebError:
    """Check the credentials and open a session (every attempt audited; failures counted).

    A refusal is returned, not raised: the caller commits the failure count, the lockout and the
    audit entry, then raises it (a raise inside the transaction would roll them back).
    """
    who = Who(None, username.strip().lower()[:64], ip)
    bucket = f"login:{ip}"
    if limiter.blocked(db, bucket):
        record(db, who, "login", outcome="rate_limited")
        return TooManyAttempts("too many failed logins from your address: wait a few minutes and try again")
    user = db.scalar(select(User).where(User.username == username.strip().lower()))
    now = utcnow()
    if user is None:
        hasher.dummy_verify()
        limiter.fail(db, bucket)
        record(db, who, "login", outcome="failed", detail="unknown user")
        return NotAuthenticated(GENERIC_FAILURE)
    who = Who(user.id, user.username, ip)
    if user.locked_until is not None and user.locked_until > now:
        record(db, who, "login", "user", user.id, outcome="locked")
        return TooManyAttempts(
            f"this account is locked after {settings.lockout_failures} failed logins until "
            f"{user.locked_until:%H:%M} UTC"
        )
    ok = hasher.verify(user.password_hash, password) and not user.disabled
    need_code = user.totp_enabled and user.totp_secret
    if ok and need_code:
        matched = totp.verify(user.totp_secret or "", code, last_step=user.totp_last_step)
        ok = matched is not None
        if ok:
            user.totp_last_step = int(matched or 0)
    if not ok:
        limiter.fail(db, bucket)
        user.failed_logins += 1
        if user.failed_logins >= settings.lockout_failures:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
        record(db, who, "login", "user", user.id, outcome="failed", detail="disabled" if user.disabled else "")
        return NotAuthenticated(GENERIC_FAILURE)
    user.failed_logins = 0
    user.locked_until = None
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    stage = "enroll" if require_2fa(db, settings) and not user.totp_enabled else "full"
    token = secrets.token_urlsafe(32)
    db.add(AuthSession(id=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24), stage=stage, ip=ip))
    record(db, who, "login", "user", user.id)
    return LoginOutcome(token, user, stage)


#: The session and its user by the session id's hash (built once: SQLAlchemy reuses its compiled form).
_SESSION_QUERY = (
    select(AuthSession, User).outerjoin(User, User.id == AuthSession.user_id).where(AuthSession.id == bindparam("sid"))
)


def load_session(db: Session, settings: Settings, token: str | None) -> tuple[AuthSession, User] | None:
    """The live session of ``token`` and its user (expired sessions are deleted), else None."""
    if not token:
        return None
    row = db.execute(_SESSION_QUERY, {"sid": token_hash(token)}).first()  # one query on every signed-in request
    if row is None:
        return None
    sess, user = row
    now = utcnow()
    idle = now - sess.last_seen_at > dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = now - sess.created_at > dt.timedelta(hours=settings.session_absolute_hours)
    if user is None or user.disabled or idle or absolute:
        db.delete(sess)
        return None
    if now - sess.last_seen_at > dt.timedelta(seconds=30):  # bounded writes: touch at most twice a minute
        sess.last_seen_at = now
    return sess, user


def logout(db: Session, token: str | None, who: Who) -> None:
    """End the session of ``token``."""
    if token:
        db.execute(delete(AuthSession).where(AuthSession.id == token_hash(token)))
        record(db, who, "logout", "user", who.user_id)


def check_csrf(sess: AuthSession, submitted: str | None) -> None:
    """Raise :class:`Forbidden` unless ``submitted`` is the session's CSRF token."""
    from sciplab.web.errors import Forbidden

    if not submitted or not hmac.compare_digest(sess.csrf_token, submitted):
        raise Forbidden("the form expired or did not come from this site (CSRF check failed): reload and try again")


def start_enrollment(db: Session, user: User) -> str:
    """A new (not yet active) TOTP secret for ``user``."""
    if not user.totp_secret or user.totp_enabled:
        user.totp_secret = totp.new_secret()
        user.totp_enabled = False
    return user.totp_secret


def confirm_enrollment(db: Session, sess: AuthSession, user: User, code: str, who: Who) -> None:
    """Activate the second factor when ``code`` matches; the session becomes a full one."""
    if not user.totp_secret:
        raise BadRequest("start the two-factor set-up first")
    matched = totp.verify(user.totp_secret, code, last_step=user.totp_last_step)
    if matched is None:
        record(db, who, "2fa.enroll", "user", user.id, outcome="failed")
        raise BadRequest("code: that code does not match; check the clock of your device and type the current code")
    user.totp_enabled = True
    user.totp_last_step = matched
    rotate_session(db, sess, stage="full")
    record(db, who, "2fa.enroll", "user", user.id)


#: per request: the new session token when the session id changed (set here, sent as the cookie by
#: :mod:`sciplab.web.security`); a mutable holder so a change made in a worker thread is seen
ROTATED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("sciplab_rotated", default=None)


def rotate_session(db: Session, sess: AuthSession, *, stage: str) -> str:
    """Replace ``sess`` by a session with a new id and CSRF token (privilege change: no fixation).

    The old token stops working at once. The new token is handed to the response through
    :data:`ROTATED` (the request's cookie is replaced) and returned.
    """
    token = secrets.token_urlsafe(32)
    db.add(
        AuthSession(
            id=token_hash(token),
            user_id=sess.user_id,
            csrf_token=secrets.token_urlsafe(24),
            stage=stage,
            ip=sess.ip,
            created_at=sess.created_at,
        )
    )
    db.delete(sess)
    db.flush()
    holder = ROTATED.get()
    if holder is not None:
        holder["token"] = token
    return token
