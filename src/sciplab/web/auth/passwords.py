"""Password hashing (Argon2id, argon2-cffi) and password rules after NIST SP 800-63B section 5.1.1.2.

Length, not composition: at least 8 characters (15 recommended by the 2024 revision for single-factor
use; we ask 8 with two factors and say so), at most 128; any printable Unicode including spaces;
refused when it is a commonly used or breached password, repeats one character, or contains the
username. No rules such as "one digit and one symbol", no periodic expiry.
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sciplab.web.errors import BadRequest

MIN_LENGTH = 8
MAX_LENGTH = 128

# The most common passwords in public breach corpora (a short list; 800-63B asks for such a check).
COMMON = frozenset(
    """password password1 password123 passw0rd 12345678 123456789 1234567890 qwertyui qwerty123 iloveyou
    11111111 00000000 abc12345 abcd1234 1q2w3e4r 1qaz2wsx sunshine princess football baseball welcome1
    letmein1 trustno1 superman starwars whatever dragon12 monkey12 master12 shadow12 computer internet
    administrator changeme changeme1 qwertyuiop asdfghjkl zaq12wsx p@ssw0rd p@ssword welcome123 secret123
    therapist clinic123 sciplab""".split()
)


def normalise(password: str) -> str:
    """NFKC as 800-63B recommends before hashing."""
    return unicodedata.normalize("NFKC", password)


def check_password_rules(password: str, *, username: str = "") -> None:
    """Raise :class:`BadRequest` naming the rule a new password breaks."""
    pw = normalise(password)
    if len(pw) < MIN_LENGTH:
        raise BadRequest(
            f"password must be at least {MIN_LENGTH} characters long (got {len(pw)}); a passphrase is best"
        )
    if len(pw) > MAX_LENGTH:
        raise BadRequest(f"password must be at most {MAX_LENGTH} characters long (got {len(pw)})")
    if any(unicodedata.category(c) == "Cc" for c in pw):
        raise BadRequest("password must not contain control characters")
    if pw.lower() in COMMON:
        raise BadRequest("that password is among the most commonly used ones: choose another (a passphrase is best)")
    if len(set(pw)) == 1:
        raise BadRequest("password must not repeat a single character")
    if username and len(username) >= 3 and username.lower() in pw.lower():
        raise BadRequest("password must not contain the username")


class Hasher:
    """Argon2id hashing with the app's cost settings."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    def hash(self, password: str) -> str:
        """An Argon2id hash string."""
        return self._ph.hash(normalise(password))

    def verify(self, hashed: str, password: str) -> bool:
        """True when ``password`` matches ``hashed``."""
        try:
            return bool(self._ph.verify(hashed, normalise(password)))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """True when ``hashed`` was made with other cost settings."""
        try:
            return bool(self._ph.check_needs_rehash(hashed))
        except InvalidHashError:
            return True

    def dummy_verify(self) -> None:
        """Spend the time of one verification (unknown usernames take as long as known ones)."""
        self.verify(self._dummy, "x" * 12)

    @property
    def _dummy(self) -> str:
        if not hasattr(self, "_dummy_hash"):
            self._dummy_hash = self._ph.hash("dummy password for timing")
        return self._dummy_hash
