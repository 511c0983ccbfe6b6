"""The Result base class every SCIP Lab analysis returns.

A result is frozen and carries a tidy ``.table`` (long DataFrame), ``.details`` (settings: n, B,
CI method, seed, missing-data rule, version, sources), a readable ``summary()`` (the only place that
rounds), ``to_dict()`` (JSON-safe) and ``_repr_html_`` for Jupyter — after lavaan's
``parameterEstimates`` and R circumplex's ``$results`` / ``$details``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import json
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas objects (recursively) into JSON-safe Python values; NaN becomes None."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(rec) for rec in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, _dt.date | _dt.datetime | pd.Timestamp):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    try:
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def package_version() -> str:
    """The version of sciplab (:data:`sciplab._version.__version__`, the one ``pyproject.toml`` declares)."""
    from sciplab._version import __version__

    return __version__


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class: a tidy table plus the settings that produced it."""

    table: pd.DataFrame
    details: Mapping[str, Any]

    title: ClassVar[str] = "Result"

    def summary(self) -> str:
        """Readable text summary (rounded for display only)."""
        lines = [self.title, "=" * len(self.title)]
        lines.append(self.table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append("")
        lines.extend(f"{k}: {v}" for k, v in self.details.items() if not isinstance(v, list | dict))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: ``{"table": [...], "details": {...}}`` plus other DataFrame fields.

        Every further DataFrame field of a result (``items``, ``scores``, ``curve``...) appears under
        its own name, so subclasses need not override this.
        """
        out = {"table": to_jsonable(self.table), "details": to_jsonable(self.details)}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name not in out and isinstance(value, pd.DataFrame):
                out[f.name] = to_jsonable(value)
        return out

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` serialised as JSON text."""
        return json.dumps(self.to_dict(), **kwargs)

    def _repr_html_(self) -> str:
        head = f"<h4>{html.escape(self.title)}</h4>"
        table = self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")
        items = "".join(
            f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
            for k, v in self.details.items()
            if not isinstance(v, list | dict)
        )
        return f"{head}{table}<ul>{items}</ul>"

    def __str__(self) -> str:
        return self.summary()
