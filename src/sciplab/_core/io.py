"""Read and write tabular data: CSV/TSV, Excel, SPSS ``.sav`` (value labels kept) and Parquet.

One entry point each way: :func:`read_data` and :func:`write_data`. Errors name the file and what
was expected. The file a DataFrame came from is kept in ``df.attrs["source"]`` so later errors (a
bad cell found by the scoring engine, say) can name it too. SPSS variable and value labels are kept
in ``df.attrs["column_labels"]`` and ``df.attrs["value_labels"]`` and written back to ``.sav``.

Duplicated column names are refused from the raw header of every format (pandas would rename a
second ``ECRS_01`` to ``ECRS_01.1``, which an item matcher could take for item 11).

SPSS variable names must start with a letter, contain only letters, digits and ``_ . @ # $``, be
at most 64 bytes and be unique regardless of case. :func:`write_data` gives every other column a
valid name (``IIP-SC_PA`` -> ``IIP_SC_PA``; see :func:`spss_names`), uses the original name as its
variable label (unless the column already has a label) and records the renaming in the file's
notes; :func:`read_data` restores the original names from that note, so a ``.sav`` round trip keeps
``IIP-SC_PA``, while SPSS shows ``IIP_SC_PA`` labelled "IIP-SC_PA".
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from sciplab._core.errors import DataError
from sciplab._core.files import atomic_write, note_input

READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".sav": "sav",
    ".zsav": "sav",
    ".parquet": "parquet",
    ".pq": "parquet",
}
WRITERS = {".csv": "csv", ".tsv": "tsv", ".xlsx": "excel", ".sav": "sav", ".parquet": "parquet"}

SPSS_NAME_NOTE = "sciplab-names: "
"""Prefix of the ``.sav`` file notes mapping SPSS variable names back to the original column names.

The mapping is JSON, base64-encoded and split over as many notes as needed: a ``.sav`` note line
holds at most 80 bytes."""

_NOTE_CHUNK = 80 - len(SPSS_NAME_NOTE)


def _name_notes(renamed: dict[str, str]) -> list[str] | None:
    if not renamed:
        return None
    payload = base64.b64encode(json.dumps(renamed, ensure_ascii=True).encode("ascii")).decode("ascii")
    return [SPSS_NAME_NOTE + payload[i : i + _NOTE_CHUNK] for i in range(0, len(payload), _NOTE_CHUNK)]


_SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
_SPSS_BAD = re.compile(r"[^A-Za-z0-9_.@#$]")
_SPSS_MAX_BYTES = 64


def _format(path: Path, table: dict[str, str], verb: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in table:
        allowed = ", ".join(sorted(table))
        shown = suffix or "(no extension)"
        raise DataError(f"{path}: cannot {verb} files of type {shown}; supported: {allowed}")
    return table[suffix]


def read_data(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    r"""Read a data file into a DataFrame, choosing the reader from the extension.

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``/``.txt`` (tab-separated), ``.xlsx``/``.xls``, ``.sav``/``.zsav`` or
        ``.parquet``. Empty CSV fields are read as missing (NaN), never as 0.
    sheet
        Excel sheet name or 0-based index (default: the first sheet).

    Returns
    -------
    pandas.DataFrame
        With ``attrs["source"]`` set to the path; SPSS files also carry ``attrs["column_labels"]``
        and ``attrs["value_labels"]`` (variable -> {code: label}); codes are kept as numbers.

    Raises
    ------
    DataError
        Missing, empty or unreadable file, or an unsupported extension.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("a,b\n1,\n")
    >>> read_data(p)["b"].isna().item()
    True
    """
    if not isinstance(path, str | os.PathLike):
        raise DataError(f"read_data needs a file path (str or pathlib.Path), got {type(path).__name__}: {path!r}")
    p = Path(path)
    kind = _format(p, READERS, "read")
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, expected a data file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: the file is empty (0 bytes); expected a header row and data rows")
    attrs: dict[str, Any] = {}
    try:
        if kind in ("csv", "tsv"):
            sep = "," if kind == "csv" else "\t"
            _refuse_duplicates(p, _raw_header(pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str)))
            df = pd.read_csv(p, sep=sep)
        elif kind == "excel":
            # name the engine: pandas >= 3.1 warns on every .xlsx read that its default will change
            engine = "openpyxl" if p.suffix.lower() in (".xlsx", ".xlsm") else None
            which = 0 if sheet is None else sheet
            head = pd.read_excel(p, sheet_name=which, engine=engine, header=None, nrows=1, dtype=str)
            _refuse_duplicates(p, _raw_header(head))
            df = pd.read_excel(p, sheet_name=which, engine=engine)
        elif kind == "parquet":
            import pyarrow.parquet as pq

            _refuse_duplicates(p, list(pq.read_schema(p).names))
            df = pd.read_parquet(p)
        else:
            import pyreadstat

            df, meta = pyreadstat.read_sav(str(p), apply_value_formats=False)
            _refuse_duplicates(p, list(meta.column_names))
            attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels, strict=False))
            attrs["value_labels"] = {k: dict(v) for k, v in meta.variable_value_labels.items()}
            df = _restore_spss_names(df, attrs, meta.notes)
    except DataError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{p}: no columns to read (is the file empty or only blank lines?)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot parse as {kind.upper()}: {exc}") from exc
    except ValueError as exc:  # e.g. an unknown Excel sheet
        raise DataError(f"{p}: cannot read: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - third-party readers raise many types for corrupt files
        raise DataError(f"{p}: cannot read as {kind.upper()} ({type(exc).__name__}: {exc})") from exc
    if df.shape[1] == 0:
        raise DataError(f"{p}: no columns found; expected a header row naming the columns")
    _refuse_duplicates(p, [str(c) for c in df.columns])
    df.attrs.update(attrs)
    df.attrs["source"] = str(p)
    note_input(p)
    return df


def write_data(
    data: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False, index: bool = False
) -> Path:
    """Write a DataFrame by extension (``.csv``, ``.tsv``, ``.xlsx``, ``.sav``, ``.parquet``).

    An existing file is never replaced unless ``overwrite=True``; the file is written to a temporary
    name and renamed into place, so a failure leaves no partial file (:mod:`sciplab._core.files`).
    SPSS value and variable labels in ``data.attrs`` are written to ``.sav`` files. Column names SPSS
    does not accept are written under valid names (:func:`spss_names`) with the original name as the
    variable label (unless the column has one) and in the file note :func:`read_data` restores from.
    """
    return write_all([(data, path)], overwrite=overwrite, index=index)[0]


def write_all(
    items: list[tuple[pd.DataFrame, str | os.PathLike[str]]], *, overwrite: bool = False, index: bool = False
) -> list[Path]:
    """Write several DataFrames (as :func:`write_data`) so that either every file is written or none.

    Each goes to a temporary file first; the renames into place happen only after all were written.
    """
    paths = [Path(path) for _, path in items]
    kinds = [_format(p, WRITERS, "write") for p in paths]
    with contextlib.ExitStack() as stack:
        for (data, _), p, kind in zip(items, paths, kinds, strict=True):
            tmp = stack.enter_context(atomic_write(p, overwrite=overwrite))
            out = data.reset_index() if index else data
            try:
                _write(out, data, tmp, kind)
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001 - third-party writers raise many types
                raise DataError(f"{p}: cannot write as {kind.upper()} ({type(exc).__name__}: {exc})") from exc
    return paths


def _write(out: pd.DataFrame, data: pd.DataFrame, tmp: Path, kind: str) -> None:
    if kind == "csv":
        out.to_csv(tmp, index=False)
    elif kind == "tsv":
        out.to_csv(tmp, index=False, sep="\t")
    elif kind == "excel":
        out.to_excel(tmp, index=False, engine="openpyxl")
    elif kind == "parquet":
        out.to_parquet(tmp, index=False)
    else:
        import pyreadstat

        labels = data.attrs.get("column_labels") or {}
        value_labels = data.attrs.get("value_labels") or {}
        originals = [str(c) for c in out.columns]
        names = spss_names(originals)
        renamed = {new: old for new, old in zip(names, originals, strict=True) if new != old}
        pairs = list(zip(names, originals, strict=True))
        pyreadstat.write_sav(
            out.set_axis(names, axis=1),
            str(tmp),
            column_labels=[labels.get(old) or (old if new != old else "") for new, old in pairs],
            variable_value_labels={new: value_labels[old] for new, old in pairs if old in value_labels},
            note=_name_notes(renamed),
        )


def spss_names(columns: list[str]) -> list[str]:
    """Valid, unique SPSS variable names for ``columns`` (valid names are kept as they are).

    A letter first (else ``v`` is put in front), then letters, digits and ``_ . @ # $`` (anything
    else becomes ``_``), no trailing ``.``, not a reserved word, at most 64 bytes, unique regardless
    of case (``_2``, ``_3`` ... appended).

    Examples
    --------
    >>> spss_names(["IIP-SC_PA", "id", "1st", "all", "a b", "A_B"])
    ['IIP_SC_PA', 'id', 'v1st', 'all_', 'a_b_2', 'A_B']
    """
    out: list[str] = []
    taken = {c.upper() for c in columns if _spss_valid(c)}
    used: set[str] = set()
    for col in columns:
        if _spss_valid(col) and col.upper() not in used:
            out.append(col)
            used.add(col.upper())
            continue
        base = _SPSS_BAD.sub("_", col) or "v"
        if not base[0].isalpha():
            base = "v" + base
        base = base.rstrip(".") or "v"
        if base.upper() in _SPSS_RESERVED:
            base += "_"
        base = base[:_SPSS_MAX_BYTES]
        name, k = base, 1
        while name.upper() in used or (name.upper() in taken and name != col):
            k += 1
            suffix = f"_{k}"
            name = base[: _SPSS_MAX_BYTES - len(suffix)] + suffix
        out.append(name)
        used.add(name.upper())
    return out


def _spss_valid(name: str) -> bool:
    return (
        bool(name)
        and name.isascii()
        and name[0].isalpha()
        and not _SPSS_BAD.search(name)
        and not name.endswith(".")
        and name.upper() not in _SPSS_RESERVED
        and len(name.encode("utf-8")) <= _SPSS_MAX_BYTES
    )


def _restore_spss_names(df: pd.DataFrame, attrs: dict[str, Any], notes: list[str] | None) -> pd.DataFrame:
    """Give columns renamed by :func:`write_data` their original names back (from the file note)."""
    mapping: dict[str, str] = {}
    ours = [n for n in notes or [] if isinstance(n, str) and n.startswith(SPSS_NAME_NOTE)]
    payload = "".join(n[len(SPSS_NAME_NOTE) :].strip() for n in ours)
    if payload:
        try:
            raw = json.loads(base64.b64decode(payload, validate=True).decode("ascii"))
        except (ValueError, UnicodeDecodeError):  # binascii.Error and JSONDecodeError are ValueErrors
            return df
        if isinstance(raw, dict):
            mapping = {str(k): str(v) for k, v in raw.items() if k in df.columns}
    if not mapping:
        return df
    restored = [mapping.get(c, c) for c in df.columns]
    if len(set(restored)) != len(restored):
        return df  # the note does not fit this file (edited in SPSS?): keep the names as stored
    labels = attrs.get("column_labels", {})
    attrs["column_labels"] = {
        mapping.get(k, k): (None if k in mapping and v == mapping[k] else v) for k, v in labels.items()
    }
    attrs["value_labels"] = {mapping.get(k, k): v for k, v in attrs.get("value_labels", {}).items()}
    return df.set_axis(restored, axis=1)


def _raw_header(head: pd.DataFrame) -> list[str]:
    """The first row of a file read with ``header=None``: the column names as written."""
    if head.empty:
        return []
    return [str(v) for v in head.iloc[0].tolist() if isinstance(v, str) and v != ""]


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    seen: dict[str, list[int]] = {}
    for pos, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(pos)
    dups = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dups:
        shown = "; ".join(f"{n!r} (columns {', '.join(map(str, pos))})" for n, pos in list(dups.items())[:10])
        raise DataError(f"{path}: duplicated column name(s) in the header: {shown}; rename them so each is unique")
