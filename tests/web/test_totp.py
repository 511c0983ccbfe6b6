"""RFC 6238 appendix B test vectors (SHA-1, 8 digits, secret "12345678901234567890") and the accept window."""

from __future__ import annotations

import base64

import pytest

from sciplab.web.auth import totp

SECRET = base64.b32encode(b"12345678901234567890").decode()
VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "expected"), VECTORS)
def test_rfc6238_vectors(at, expected):
    assert totp.hotp(base64.b32decode(SECRET), totp.step(at), digits=8) == expected


def test_rfc4226_hotp_vectors():
    key = b"12345678901234567890"
    assert [totp.hotp(key, c) for c in range(4)] == ["755224", "287082", "359152", "969429"]


def test_verify_window_and_replay():
    secret = totp.new_secret()
    now = 1_700_000_000
    code = totp.code(secret, now)
    step = totp.verify(secret, code, at=now)
    assert step == totp.step(now)
    assert totp.verify(secret, code, at=now + 30) == step  # one step of drift
    assert totp.verify(secret, code, at=now + 90) is None  # too old
    assert totp.verify(secret, code, last_step=step, at=now) is None  # never twice
    assert totp.verify(secret, "12345", at=now) is None
    assert totp.verify(secret, "abcdef", at=now) is None
    assert totp.uri(secret, "t1").startswith("otpauth://totp/SCIP%20Clinic:t1?secret=")
