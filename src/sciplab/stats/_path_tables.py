"""The result frames of :func:`sciplab.stats.paths.paths`: parameter table, effects table, empty fit table.

Each result gets frames of its own, built from the model's text columns (made once per compiled
model) and one ``(12, rows)`` float array of statistics. Where pandas offers it
(``pandas.api.internals.create_dataframe_from_blocks``, pandas >= 3), a frame is assembled from its
blocks directly: the very blocks the ``DataFrame`` constructor makes from the same columns (text
columns one block each, then the ``user`` flags, then one consolidated float block), without the
constructor's per-column inference, checks and consolidation copy, which dominated the set-up and
result building of a 5,000-replicate call (about half its Python calls). Elsewhere the constructor
is used. Both give equal frames, down to their pickled bytes (tested).

Split from ``paths.py`` so each module stays readable; only :mod:`sciplab.stats.paths` uses it.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

try:  # pandas >= 3
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - older pandas: the DataFrame constructor
    _from_blocks = None

TABLE_COLUMNS = [
    "lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper",
    "std_all", "std_ci_lower", "std_ci_upper", "boot_p", "ci_lower_mcse", "ci_upper_mcse",
]  # fmt: skip
STAT_COLUMNS = TABLE_COLUMNS[4:]
EFFECT_KEYS = ("effect", "from", "to", "path", "name")
INDIRECT_COLUMNS = list(EFFECT_KEYS) + STAT_COLUMNS
FIT_COLUMNS = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"]


def table_text(spec: Any) -> dict[str, Any]:
    """The text columns of the parameter table and of the effects table, built once per compiled model.

    Arrays as the frame constructor would infer them from the lists of names; each result's
    frames hold copies, so no result shares them.
    """
    text = spec.__dict__.get("_text")
    if text is None:
        rows = [(prm.lhs, prm.op, prm.rhs, prm.label, prm.user) for prm in spec.params]
        rows += [(eq.y, "r2", eq.y, "", False) for eq in spec.equations]
        rows += [(name, ":=", expr.text, name, True) for name, expr, _ in spec.user_defined]
        rows += [(e["name"], ":=", e["expr"], e["name"], False) for e in spec.effects]
        cols = list(zip(*rows, strict=True))
        table: dict[str, Any] = {c: pd.Series(list(cols[i])).array for i, c in enumerate(TABLE_COLUMNS[:4])}
        table["user"] = np.array(cols[4], dtype=bool)
        indirect: dict[str, Any] = {key: [e[key] for e in spec.effects] for key in EFFECT_KEYS}
        if spec.effects:  # (empty lists stay lists: the constructor's choice of dtype for them)
            indirect = {key: pd.Series(v).array for key, v in indirect.items()}
        text = {"table": table, "indirect": indirect, "blocks": None}
        if _from_blocks is not None and spec.effects:
            text["blocks"] = _layouts(text)
        spec.__dict__["_text"] = text
    return text


def _layouts(text: Mapping[str, Any]) -> dict[str, Any] | None:
    """Each frame's block layout for :func:`_assemble`, or None when it would not equal the constructor's.

    The constructor keeps each text column (a string extension array) as a block of its own, the
    ``user`` flags as one boolean block and consolidates the statistics into one float block, in
    that order. Checked once per compiled model on a trial frame: the assembled and the constructed
    frames must pickle to the same bytes (blocks, dtypes, labels, values), else the constructor is used.
    """
    out: dict[str, Any] = {}
    for key in ("table", "indirect"):
        arrays = list(text[key].values())
        k = len(arrays)
        names = pd.Index([*text[key], *STAT_COLUMNS])
        out[key] = (names, arrays, [np.array([j]) for j in range(k)], np.arange(k, k + len(STAT_COLUMNS)))
    rows = len(text["table"]["user"])
    trial = np.arange(len(STAT_COLUMNS) * rows, dtype=float).reshape(len(STAT_COLUMNS), rows)
    stats = dict(zip(STAT_COLUMNS, trial, strict=True))
    start = rows - len(text["indirect"]["name"])  # the effects are the last rows
    fast = frames({**text, "blocks": out}, stats, start)
    slow = frames({**text, "blocks": None}, stats, start)
    same = all(pickle.dumps(a) == pickle.dumps(b) for a, b in zip(fast, slow, strict=True))
    return out if same else None


def frames(text: Mapping[str, Any], stats: Mapping[str, Any], start: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parameter table and the effects table (rows from ``start`` on) of ``stats`` (keys :data:`STAT_COLUMNS`)."""
    values = np.array([stats[c] for c in STAT_COLUMNS], dtype=float)  # the frames' float block, (12, rows)
    blocks = text["blocks"]
    if blocks is not None:
        return _assemble(*blocks["table"], values), _assemble(*blocks["indirect"], values[:, start:].copy())
    columns = {c: values[i] for i, c in enumerate(STAT_COLUMNS)}
    # one constructor call per frame (column-by-column insertion dominated the run time)
    table = pd.DataFrame({**text["table"], **columns})
    indirect = pd.DataFrame({**text["indirect"], **{k: v[start:] for k, v in columns.items()}})
    return table, indirect


def empty_frames(text: Mapping[str, Any], rows: int, start: int) -> tuple[Any, ...] | None:
    """Both frames, their float blocks still to be filled by :func:`fill_frames`; None without blocks.

    Built while the bootstrap runs: the blocks are arrays the frames own and nothing else holds, so
    writing the statistics into them later gives the frames :func:`frames` builds (pickled bytes
    included); without the block route, :func:`frames` is called at the end instead.
    """
    blocks = text["blocks"]
    if blocks is None:
        return None
    values, effects = np.empty((len(STAT_COLUMNS), rows)), np.empty((len(STAT_COLUMNS), rows - start))
    return _assemble(*blocks["table"], values), _assemble(*blocks["indirect"], effects), values, effects


def fill_frames(made: tuple[Any, ...], stats: Mapping[str, Any], start: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames of :func:`empty_frames` with ``stats`` written into their blocks (as :func:`frames`)."""
    table, indirect, values, effects = made
    for i, c in enumerate(STAT_COLUMNS):
        values[i] = stats[c]
    effects[:] = values[:, start:]
    return table, indirect


def _assemble(
    names: pd.Index, arrays: list[Any], places: list[np.ndarray], value_places: np.ndarray, values: np.ndarray
) -> pd.DataFrame:
    """The frame of the text/flag columns ``arrays`` (copied) and the float rows ``values`` (given to the frame)."""
    assert _from_blocks is not None  # only called when table_text found it
    blocks: list[tuple[Any, np.ndarray]] = [
        (a[None, :].copy() if isinstance(a, np.ndarray) else a.copy(), place)
        for a, place in zip(arrays, places, strict=True)
    ]
    blocks.append((values, value_places))
    return _from_blocks(blocks, index=pd.RangeIndex(values.shape[1]), columns=names.copy())


@functools.cache
def _empty_fit() -> pd.DataFrame:
    return pd.DataFrame(columns=FIT_COLUMNS)


def no_fit() -> pd.DataFrame:
    """The empty fit table (a copy of one built once: 40x cheaper than a new frame)."""
    return _empty_fit().copy()
