"""Read and write tabular data: CSV/TSV, Excel, SPSS ``.sav`` (value labels kept) and Parquet.

One entry point each way: :func:`read_data` and :func:`write_data`. Errors name the file and what
was expected. The file a DataFrame came from is kept in ``df.attrs["source"]`` so later errors (a
bad cell found by the scoring engine, say) can name it too. SPSS variable and value labels are kept
in ``df.attrs["column_labels"]`` and ``df.attrs["value_labels"]`` and written back to ``.sav``.
"""

from __future__ import annotations

import os
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
            df = pd.read_csv(p, sep="," if kind == "csv" else "\t")
        elif kind == "excel":
            # name the engine: pandas >= 3.1 warns on every .xlsx read that its default will change
            engine = "openpyxl" if p.suffix.lower() in (".xlsx", ".xlsm") else None
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, engine=engine)
        elif kind == "parquet":
            df = pd.read_parquet(p)
        else:
            import pyreadstat

            df, meta = pyreadstat.read_sav(str(p), apply_value_formats=False)
            attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels, strict=False))
            attrs["value_labels"] = {k: dict(v) for k, v in meta.variable_value_labels.items()}
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
    SPSS value and variable labels in ``data.attrs`` are written to ``.sav`` files.
    """
    p = Path(path)
    kind = _format(p, WRITERS, "write")
    out = data.reset_index() if index else data
    with atomic_write(p, overwrite=overwrite) as tmp:
        try:
            _write(out, data, tmp, kind)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - third-party writers raise many types
            raise DataError(f"{p}: cannot write as {kind.upper()} ({type(exc).__name__}: {exc})") from exc
    return p


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
        pyreadstat.write_sav(
            out,
            str(tmp),
            column_labels=[labels.get(c) or "" for c in out.columns],
            variable_value_labels={k: v for k, v in value_labels.items() if k in out.columns},
        )
