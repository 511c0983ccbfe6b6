"""Match a DataFrame's columns to an instrument's items.

Default naming (documented in the README and ``docs/instrument-format.md``): a column belongs to
item *k* of an instrument when its name is one of the instrument's *stems* followed by *k*, with
optional leading zeros, in any case, with or without a separator. The stems are the instrument id
as users write it and its declared ``column_prefixes``, compared with everything but letters and
digits removed: for ECR-S (prefix ``ECRS``) ``ECR-S_01``, ``ECRS1``, ``ecr_s_1``, ``ECRS_01`` and
``ECRS 01`` all name item 1; for PHQ-9 ``PHQ9_1``, ``phq-9_01`` and ``PHQ_1``.

The reading is never ambiguous:

* every split of the trailing digits is considered (``ECR122`` reads as ``ECR`` + 122 or
  ``ECR12`` + 2; after a separator the split at the separator wins: ``ECR_12`` is ECR item 12, and
  ``PHQ-91`` is PHQ-9 item 1 only because PHQ has no item 91). A column that reads as an item of
  the instrument being scored *and* as an item of another known instrument under a stem the first
  does not declare is taken by neither (and named when the item is then missing), so ECR, ECR-S,
  ECR-R and ECR-12 never take each other's columns;
* a column that reads as two different items of the same instrument is not taken;
* a name that is exactly one of the instrument's stems (``PHQ9``, ``GAD7``, ``TAS20``: often the
  total) is an item only when no other column names that item (``PHQ1`` ... ``PHQ9`` naming);
* a trailing ``.N`` as pandas appends to a duplicated header (``ECRS_01.1``) is refused: such a
  column is never read as an item when the name before ``.N`` is also a column or itself names an
  item (an error names it when that item is needed).

An explicit mapping (item number -> column, or a list of columns in item order) overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sciplab._core.errors import DataError, suggest
from sciplab.instruments.registry import list_instruments
from sciplab.instruments.schema import Instrument

_TRAILING = re.compile(r"^(.*?)([0-9]+)$", re.ASCII | re.DOTALL)
_DUPLICATE_SUFFIX = re.compile(r"^(.+)\.([0-9]+)$", re.ASCII | re.DOTALL)


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _where(data: pd.DataFrame) -> str:
    src = data.attrs.get("source")
    return f"{src}: " if src else ""


def stems(instrument: Instrument) -> frozenset[str]:
    """Normalised stems of ``instrument``'s item columns: its id and every declared column prefix."""
    return frozenset({_norm(instrument.id), *(_norm(p) for p in instrument.column_prefixes)} - {""})


def readings(name: object) -> list[tuple[str, int]]:
    """Every ``(stem, item number)`` a column name can be read as, most natural first.

    The stem may end in some of the trailing digits (``ECR122``: ``ECR`` + 122 or ``ECR12`` + 2).
    After a separator the split at the separator comes first (``ECR_12`` is ``ECR`` + 12 before
    ``ECR1`` + 2); the other splits there serve ids written with a separator (``PHQ-91``).

    >>> readings("ECR-S_1")
    [('ecrs', 1)]
    >>> readings("ECR122")
    [('ecr', 122), ('ecr1', 22), ('ecr12', 2)]
    """
    return [(s, k) for s, k, _ in _readings(name)]


def _readings(name: object) -> list[tuple[str, int, bool]]:
    """``(stem, item, loose)``: loose = a split inside digits that follow a separator."""
    m = _TRAILING.match(str(name).strip())
    if m is None:
        return []
    text, digits = m.groups()
    head = _norm(text)
    if not head:
        return []
    separated = not text[-1].isalnum()
    return [(head + digits[:i], int(digits[i:]), separated and i > 0) for i in range(len(digits))]


@dataclass
class _Claims:
    """What the default naming found for one instrument."""

    strong: dict[int, list[str]] = field(default_factory=dict)
    weak: dict[int, list[str]] = field(default_factory=dict)  # the name is exactly a stem (PHQ9)
    duplicates: dict[int, list[str]] = field(default_factory=dict)  # item -> pandas-renamed duplicates
    ambiguous: dict[int, list[str]] = field(default_factory=dict)  # item -> why a column was not taken


def _claims(present: Sequence[str], instrument: Instrument, others: Iterable[Instrument]) -> _Claims:
    own = stems(instrument)
    valid = set(instrument.item_numbers)
    foreign: dict[str, tuple[str, set[int]]] = {}
    for other in others:
        if other.id == instrument.id:
            continue
        for s in stems(other) - own:
            foreign.setdefault(s, (other.id, set(other.item_numbers)))
    names = set(present)
    out = _Claims()
    for col in present:
        found = [(s, k, loose) for s, k, loose in _readings(col) if s in own and k in valid]
        strict = any(not loose for _, _, loose in found)  # a split at the separator wins
        mine = {k for _, k, loose in found if not (strict and loose)}
        dup = _DUPLICATE_SUFFIX.match(col)
        if dup is not None:
            base = dup.group(1)
            base_items = {k for s, k in readings(base) if s in own and k in valid}
            if base in names or base_items or any(s in foreign for s, _ in readings(base)):
                why = (
                    f"{col!r} ends in '.{dup.group(2)}' like pandas' rename of a duplicated column {base!r}; "
                    "it is not read as an item (rename the duplicated headers)"
                )
                for k in mine | base_items:
                    out.duplicates.setdefault(k, []).append(why)
                continue
        if not mine:
            continue
        if len(mine) > 1:
            why = f"{col!r} reads as items {', '.join(map(str, sorted(mine)))} of {instrument.id}"
            for k in mine:
                out.ambiguous.setdefault(k, []).append(why)
            continue
        (item,) = mine
        clash = [
            f"item {k} of {foreign[s][0]}"
            for s, k, loose in _readings(col)
            if s in foreign and k in foreign[s][1] and not (strict and loose)
        ]
        if clash:
            out.ambiguous.setdefault(item, []).append(
                f"{col!r} reads as item {item} of {instrument.id} but also as {', '.join(clash)}; "
                "put a separator between prefix and number (e.g. "
                f"{default_column_name(instrument, item)})"
            )
            continue
        target = out.weak if _norm(col) in own else out.strong
        target.setdefault(item, []).append(col)
    return out


def default_column_name(instrument: Instrument, item: int) -> str:
    """The canonical column name of ``item``: ``<prefix>_<NN>`` (e.g. ``ECR_01``)."""
    width = max(2, len(str(max(instrument.item_numbers))))
    return f"{instrument.prefix}_{item:0{width}d}"


def match_columns(
    data: pd.DataFrame,
    instrument: Instrument,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    needed: Sequence[int] | None = None,
    *,
    known: Sequence[Instrument] | None = None,
) -> dict[int, str]:
    """Return ``{item number: column name}`` for the items in ``needed`` (default: all items).

    ``known`` are the instruments whose naming must not be mistaken for ``instrument``'s (default:
    every available instrument, :func:`sciplab.instruments.list_instruments`).

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
    ambiguous: dict[int, list[str]] = {}

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
        claims = _claims(present, instrument, list_instruments() if known is None else known)
        mapping = {}
        for item in instrument.item_numbers:
            cols = claims.strong.get(item) or claims.weak.get(item, [])
            if len(cols) > 1 and item in needed:
                raise DataError(
                    f"{where}duplicated item columns: item {item} of {instrument.id} matches "
                    f"{', '.join(repr(c) for c in cols)}; keep one or pass an explicit mapping"
                )
            if cols:
                mapping[item] = cols[0]
        duplicated = [why for i in needed for why in claims.duplicates.get(i, [])]
        if duplicated:
            raise DataError(f"{where}{instrument.id}: {duplicated[0]}")
        ambiguous = {i: claims.ambiguous[i] for i in needed if i in claims.ambiguous and i not in mapping}

    missing = [i for i in needed if i not in mapping]
    if missing:
        shown = ", ".join(default_column_name(instrument, i) for i in missing[:12])
        more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        why = sorted({w for i in missing for w in ambiguous.get(i, [])})
        not_taken = f" Ambiguous, not taken: {'; '.join(why[:5])}." if why else ""
        raise DataError(
            f"{where}{instrument.id}: {len(missing)} item column(s) not found: {shown}{more}. "
            f"Expected names like {default_column_name(instrument, instrument.item_numbers[0])} "
            f"(prefixes {', '.join(instrument.column_prefixes)}, case-insensitive, separators and leading "
            f"zeros optional) or an explicit mapping (columns=... / --map FILE).{not_taken}"
        )
    return {i: label_of[mapping[i]] for i in needed}
