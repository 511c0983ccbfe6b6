"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30-second steps.

Matches the RFC 6238 appendix B test vectors (``tests/web/test_totp.py``). A code is accepted for the
current step and one step either side (clock drift), and never twice (replay: the last used step is
stored per user).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret in base32 (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP value of ``counter``."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % (10**digits)
    return str(code).zfill(digits)


def step(at: float | None = None) -> int:
    """The 30-second time step of ``at`` (default now)."""
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code(secret: str, at: float | None = None) -> str:
    """The current code for ``secret``."""
    return hotp(_key(secret), step(at))


def verify(secret: str, submitted: str, *, last_step: int = 0, at: float | None = None) -> int | None:
    """The matched step when ``submitted`` is valid now (+-1 step) and newer than ``last_step``, else None."""
    digits = "".join(ch for ch in submitted if not ch.isspace())
    if len(digits) != DIGITS or not digits.isdigit():
        return None
    key = _key(secret)
    now = step(at)
    for candidate in (now - 1, now, now + 1):
        if candidate > last_step and hmac.compare_digest(hotp(key, candidate), digits):
            return candidate
    return None


def uri(secret: str, username: str, issuer: str = "SCIP Clinic") -> str:
    """``otpauth://`` URI for authenticator apps."""
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
