"""Reading mapping files (``--map FILE``) for the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd

from sciplab._core.errors import DataError


def read_mapping(path: str) -> dict[str, str]:
    """Read a ``{key: column}`` mapping from JSON, TOML or a two-column CSV (key,column)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: mapping file not found")
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            raw = json.loads(p.read_text(encoding="utf-8"))
        elif suffix == ".toml":
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        elif suffix == ".csv":
            frame = pd.read_csv(p, dtype=str)
            if frame.shape[1] != 2:
                raise DataError(f"{p}: a mapping CSV needs exactly two columns (key, column), got {frame.shape[1]}")
            raw = dict(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))
        else:
            raise DataError(f"{p}: mapping files must be .json, .toml or .csv")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: cannot parse mapping: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DataError(f"{p}: expected a flat mapping of names to column names")
    return {str(k): v for k, v in raw.items()}
