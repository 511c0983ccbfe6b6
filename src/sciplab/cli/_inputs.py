"""Side files of the CLI (``--map FILE``, ``--model FILE``), read through :mod:`sciplab._core.files`.

Size, encoding (UTF-8), NUL bytes and nesting depth are checked there; here the shape: a mapping is
a flat table of names to column names. Every error names the file and the field.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from sciplab._core.errors import DataError
from sciplab._core.files import load_structured, read_side_text

WHAT = "mapping file (--map)"


def read_mapping(path: str) -> dict[str, str]:
    """Read a ``{key: column}`` mapping from JSON, TOML or a two-column CSV (key,column)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        text = read_side_text(p, what=WHAT)
        if not text.strip():
            raise DataError(f"{p}: the {WHAT} is empty; expected a header row and rows of key,column")
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{p}: cannot parse the {WHAT} as CSV ({exc})") from exc
        if frame.shape[1] != 2:
            raise DataError(f"{p}: a mapping CSV needs exactly two columns (key, column), got {frame.shape[1]}")
        raw: object = dict(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))
    elif suffix in (".json", ".toml"):
        raw = load_structured(p, what=WHAT)
    else:
        raise DataError(f"{p}: a {WHAT} must be .json, .toml or .csv, got {p.suffix or '(no extension)'}")
    if not isinstance(raw, dict):
        raise DataError(f"{p}: the {WHAT} must be a table of names to column names, got {type(raw).__name__}")
    if not raw:
        raise DataError(f"{p}: the {WHAT} has no entries; expected at least one name = column pair")
    for key, value in raw.items():
        if not isinstance(value, str) or not value:
            raise DataError(
                f"{p}: field {key!r} of the {WHAT} must be a column name (text), got {type(value).__name__}"
            )
    return {str(k): v for k, v in raw.items()}


def read_model(value: str) -> str:
    """Model syntax from ``--model``: a file's text when ``value`` names an existing file, else ``value``."""
    p = Path(value)
    looks_like_file = "~" not in value and ":=" not in value
    if looks_like_file and p.suffix.lower() in (".lav", ".txt", ".model", ".lavaan") and not p.exists():
        raise DataError(f"{p}: model file not found")
    if looks_like_file and p.is_file():
        return read_side_text(p, what="model file (--model)")
    return value
