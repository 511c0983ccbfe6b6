"""Write and read simulation outputs: one folder with Parquet tables (and CSV on request).

Files: ``persons``, ``sessions``, ``ties``, ``items_<instrument id>`` (``.parquet``, plus ``.csv``
with ``csv=True``) and ``details.json`` (seed, parameters, counts). An existing, non-empty folder
is refused unless ``overwrite=True``; even then only the files this module writes are replaced and
nothing else in the folder is touched or deleted. Every file goes through
:mod:`sciplab._core.files` (atomic write; a file that is an input of the command, by device and
inode, is never replaced).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sciplab._core.errors import DataError
from sciplab._core.files import check_output, load_structured, write_text_atomic
from sciplab._core.io import read_data, write_data
from sciplab._core.results import to_jsonable

__all__ = ["check_output_folder", "read_outputs", "write_outputs"]


def check_output_folder(
    out: str | os.PathLike[str], *, overwrite: bool = False, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Return ``Path(out)`` if it may receive outputs: a new or empty folder, or any folder with ``overwrite``.

    A path that is a file (an input or not) is refused: the output folder never replaces a file.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder; choose a new folder name for the outputs")
    for src in inputs:
        if Path(src).exists() and folder.exists() and Path(src).resolve() == folder.resolve():
            raise DataError(f"{folder}: is an input of this command; choose another output folder")
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise DataError(
            f"{folder}: output folder already exists and is not empty; choose another folder or pass --overwrite"
        )
    if not folder.exists() and not folder.parent.exists():
        raise DataError(f"{folder}: parent folder {folder.parent} does not exist")
    return folder


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
    folder = check_output_folder(out, overwrite=overwrite)
    exts = [".parquet", ".csv"] if csv else [".parquet"]
    targets = [(folder / f"{name}{ext}", frame) for name, frame in _tables(result).items() for ext in exts]
    details = folder / "details.json"
    if folder.exists():  # check every file before writing any (an input among them is refused)
        for path in [t for t, _ in targets] + [details]:
            check_output(path, overwrite=True)
    folder.mkdir(exist_ok=True)
    written = [str(write_data(frame, path, overwrite=True)) for path, frame in targets]
    text = json.dumps(to_jsonable(dict(result.details)), indent=2)
    written.append(str(write_text_atomic(details, text, overwrite=True)))
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
        out[name] = read_data(f) if f.exists() else pd.DataFrame()
    for f in sorted(p.glob("items_*.parquet")):
        out["items"][f.stem.removeprefix("items_")] = read_data(f)
    d = p / "details.json"
    details = load_structured(d, what="simulation details file", kinds=("json",)) if d.exists() else {}
    if not isinstance(details, dict):
        raise DataError(f"{d}: simulation details file must hold a JSON object, got {type(details).__name__}")
    out["details"] = details
    return out
