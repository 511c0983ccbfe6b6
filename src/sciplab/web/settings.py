"""Settings of the clinic app: defaults, a TOML file, then ``SCIPLAB_*`` environment variables.

``Settings.load(path=None, **overrides)`` reads ``path`` (or ``SCIPLAB_CONFIG``) when given, then the
environment (``SCIPLAB_DB``, ``SCIPLAB_SECRET_KEY``, ``SCIPLAB_REQUIRE_2FA``, ...), then the explicit
overrides (command-line options). The default database is ``clinic.db`` (SQLite, WAL) in the user
data directory: ``$SCIPLAB_DATA_DIR``, else ``$XDG_DATA_HOME/sciplab``, else ``~/.local/share/sciplab``
(``%APPDATA%/sciplab`` on Windows).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sciplab._core.errors import InvalidParameterError, suggest


def data_dir() -> Path:
    """The user data directory of SCIP Lab (not created here)."""
    if os.environ.get("SCIPLAB_DATA_DIR"):
        return Path(os.environ["SCIPLAB_DATA_DIR"])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "sciplab"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sciplab"


def database_url(value: str | None) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as given, a file path as SQLite, ``None`` as the default file."""
    if value is None or value == "":
        return f"sqlite:///{quote(str(data_dir() / 'clinic.db'), safe='/')}"
    if "://" in value:
        scheme = value.split("://", 1)[0]
        if scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise InvalidParameterError(
                f"--db must be a file path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB; got scheme {scheme!r}"
            )
        if scheme.startswith("postgresql") and "+" not in scheme:
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value
    # percent-encoded: a file name with ?, # or % stays one file name (SQLAlchemy decodes it)
    return f"sqlite:///{quote(str(Path(value)), safe='/')}"


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to start; one immutable object passed to :func:`create_app`."""

    db: str = ""
    secret_key: str = ""
    require_2fa: bool = True
    https: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    link_hours: int = 72
    lockout_failures: int = 5
    lockout_minutes: int = 15
    ip_failures_per_window: int = 20
    link_failures_per_window: int = 20
    one_item_per_screen: bool = False
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    log_sql: bool = False
    log_json: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "db", database_url(self.db or None))
        for name in (
            "session_idle_minutes",
            "session_absolute_hours",
            "link_hours",
            "lockout_failures",
            "lockout_minutes",
            "ip_failures_per_window",
            "link_failures_per_window",
            "argon2_time_cost",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"setting {name} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.argon2_memory_kib, int) or self.argon2_memory_kib < 8:
            raise InvalidParameterError(f"setting argon2_memory_kib must be >= 8, got {self.argon2_memory_kib!r}")

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an SQLite file."""
        return self.db.startswith("sqlite")

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Defaults < TOML file (``path`` or ``$SCIPLAB_CONFIG``) < ``SCIPLAB_*`` variables < ``overrides``."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        path = path or os.environ.get("SCIPLAB_CONFIG")
        if path:
            try:
                raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise InvalidParameterError(f"cannot read the settings file {path}: {exc.strerror}") from None
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise InvalidParameterError(f"settings file {path} is not valid TOML: {exc}") from None
            raw = raw.get("clinic", raw)
            for key, value in raw.items():
                if key not in fields:
                    raise InvalidParameterError(
                        f"settings file {path}: unknown setting {key!r}{suggest(key, fields)}; "
                        f"settings: {', '.join(fields)}"
                    )
                values[key] = value
        for name, field in fields.items():
            env = os.environ.get(f"SCIPLAB_{name.upper()}")
            if env is not None:
                values[name] = _parse_env(name, env, field.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse_env(name: str, text: str, kind: Any) -> Any:
    kind = str(kind)
    if kind == "bool":
        if text.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if text.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise InvalidParameterError(f"SCIPLAB_{name.upper()} must be true or false, got {text!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise InvalidParameterError(f"SCIPLAB_{name.upper()} must be a whole number, got {text!r}") from None
    return text
