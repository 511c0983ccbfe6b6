"""Match a DataFrame's columns to an instrument's items.

Default naming (documented in the README and ``docs/instrument-format.md``): a column belongs to
item *k* when its name, lower-cased with everything but letters and digits removed, is one of the
instrument's column prefixes followed by *k* with optional leading zeros. For the ECR that accepts
``ECR_01``, ``ecr1``, ``ECR-1`` and ``Ecr 01``; for PHQ-9 ``PHQ9_1``, ``phq-9_01`` and ``PHQ_1``.
An explicit mapping (item number -> column, or a list of columns in item order) overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from sciplab._core.errors import DataError, suggest
from sciplab.instruments.schema import Instrument


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _where(data: pd.DataFrame) -> str:
    src = data.attrs.get("source")
    return f"{src}: " if src else ""


def default_column_name(instrument: Instrument, item: int) -> str:
    """The canonical column name of ``item``: ``<prefix>_<NN>`` (e.g. ``ECR_01``)."""
    width = max(2, len(str(max(instrument.item_numbers))))
    return f"{instrument.column_prefixes[0]}_{item:0{width}d}"


def match_columns(
    data: pd.DataFrame,
    instrument: Instrument,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    needed: Sequence[int] | None = None,
) -> dict[int, str]:
    """Return ``{item number: column name}`` for the items in ``needed`` (default: all items).

    Raises
    ------
    DataError
        Missing item columns (listed with the expected names), a column that matches an item twice
        (duplicated item columns), duplicated column names, or a mapping naming absent columns.
    """
    where = _where(data)
    names = pd.Index([str(c) for c in data.columns])
    dupes = names[names.duplicated()].unique().tolist()
    if dupes:
        raise DataError(f"{where}duplicated column names: {', '.join(map(str, dupes))}")
    needed = list(instrument.item_numbers if needed is None else needed)
    valid = set(instrument.item_numbers)
    present = list(names)
    # matching works on the text of the labels; the result names the DataFrame's own labels
    # (non-string labels such as 0, 1, 2 would otherwise not be found by data[...])
    label_of = dict(zip(present, data.columns, strict=True))

    if columns is not None:
        if isinstance(columns, Mapping):
            mapping: dict[int, str] = {}
            for k, col in columns.items():
                try:
                    item = int(k)
                except (TypeError, ValueError):
                    raise DataError(f"column mapping: key {k!r} is not an item number") from None
                if item not in valid:
                    raise DataError(f"column mapping: item {item} is not an item of {instrument.id}")
                mapping[item] = str(col)
        else:
            cols = [str(c) for c in columns]
            if len(cols) != len(instrument.item_numbers):
                raise DataError(
                    f"column list has {len(cols)} names but {instrument.id} has "
                    f"{len(instrument.item_numbers)} items (give them in item order)"
                )
            mapping = dict(zip(instrument.item_numbers, cols, strict=True))
        absent = [c for c in mapping.values() if c not in present]
        if absent:
            hints = "; ".join(f"{c!r}{suggest(c, present)}" for c in absent[:10])
            raise DataError(f"{where}mapped columns not in the data: {hints}")
        used = pd.Series(list(mapping.values()))
        if used.duplicated().any():
            twice = used[used.duplicated()].unique().tolist()
            raise DataError(f"column mapping uses the same column for several items: {twice}")
    else:
        mapping = {}
        prefixes = sorted({_norm(p) for p in instrument.column_prefixes}, key=len, reverse=True)
        patterns = [re.compile(rf"^{re.escape(p)}0*(\d+)$") for p in prefixes]
        found: dict[int, list[str]] = {}
        for col in present:
            key = _norm(col)
            for pat in patterns:
                m = pat.match(key)
                if m and int(m.group(1)) in valid:
                    found.setdefault(int(m.group(1)), []).append(col)
                    break
        for item, cols in found.items():
            if len(cols) > 1 and item in needed:
                raise DataError(
                    f"{where}duplicated item columns: item {item} of {instrument.id} matches "
                    f"{', '.join(repr(c) for c in cols)}; keep one or pass an explicit mapping"
                )
            mapping[item] = cols[0]

    missing = [i for i in needed if i not in mapping]
    if missing:
        shown = ", ".join(default_column_name(instrument, i) for i in missing[:12])
        more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        raise DataError(
            f"{where}{instrument.id}: {len(missing)} item column(s) not found: {shown}{more}. "
            f"Expected names like {default_column_name(instrument, instrument.item_numbers[0])} "
            f"(prefixes {', '.join(instrument.column_prefixes)}, case-insensitive) or an explicit "
            "mapping (columns=... / --map FILE)"
        )
    return {i: label_of[mapping[i]] for i in needed}
