"""Write and read simulation outputs: one folder with Parquet tables (and CSV on request).

Files: ``persons``, ``sessions``, ``ties``, ``items_<instrument id>`` (``.parquet``, plus ``.csv``
with ``csv=True``) and ``details.json`` (seed, parameters, counts). An existing, non-empty folder
is refused unless ``overwrite=True``; even then only the files this module writes are replaced and
nothing else in the folder is touched or deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from sciplab._core.errors import DataError
from sciplab._core.io import write_data
from sciplab._core.results import to_jsonable

__all__ = ["read_outputs", "write_outputs"]


def _tables(result: Any) -> dict[str, pd.DataFrame]:
    out = {"persons": result.persons, "sessions": result.sessions, "ties": result.ties}
    for inst_id, frame in result.items.items():
        out[f"items_{inst_id}"] = frame
    return out


def write_outputs(result: Any, out: str | os.PathLike[str], *, csv: bool = False, overwrite: bool = False) -> list[str]:
    """Write ``result`` (a SimResult) into folder ``out``; returns the paths written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sciplab.sim import simulate
    >>> res = simulate(100, years=0.5, seed=1, instruments=["PHQ-9"])
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> sorted(pathlib.Path(p).name for p in write_outputs(res, folder))[:2]
    ['details.json', 'items_PHQ-9.parquet']
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder")
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise DataError(
            f"{folder}: output folder already exists and is not empty; choose another folder or pass --overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in _tables(result).items():
        exts = [".parquet", ".csv"] if csv else [".parquet"]
        for ext in exts:
            written.append(str(write_data(frame, folder / f"{name}{ext}", overwrite=True)))
    details = folder / "details.json"
    details.write_text(json.dumps(to_jsonable(dict(result.details)), indent=2), encoding="utf-8")
    written.append(str(details))
    return written


def read_outputs(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a folder written by :func:`write_outputs`: ``{"persons": df, ..., "items": {id: df}, "details": {}}``."""
    p = Path(folder)
    if not p.is_dir():
        raise DataError(f"{p}: simulation output folder not found")
    if not (p / "persons.parquet").exists():
        raise DataError(f"{p}: no persons.parquet; not a folder written by 'sciplab simulate run'")
    out: dict[str, Any] = {"items": {}}
    for name in ("persons", "sessions", "ties"):
        f = p / f"{name}.parquet"
        out[name] = pd.read_parquet(f) if f.exists() else pd.DataFrame()
    for f in sorted(p.glob("items_*.parquet")):
        out["items"][f.stem.removeprefix("items_")] = pd.read_parquet(f)
    d = p / "details.json"
    out["details"] = json.loads(d.read_text(encoding="utf-8")) if d.exists() else {}
    return out
