"""Shared session handling of the change analyses: validated long data, first and last scores.

Every analysis of :mod:`sciplab.stats.change` takes long data (one row per client and session) and
names its columns. :func:`_long` checks the columns, the session numbers (numbers >= 0, each once
per client), the scores (numbers or missing) and, when given, that dates do not go backwards as
sessions go up; it returns the data sorted by client and session with the columns renamed
``client``/``session``. :func:`first_last` gives each client's first and last scored session, the
comparison reliable change is made on (Jacobson & Truax 1991).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, suggest
from sciplab._core.validation import require_frame

__all__ = ["first_last"]


def _check_columns(data: Any, columns: Mapping[str, str | None]) -> None:
    require_frame(data)
    source = data.attrs.get("source")
    where = f"{source}: " if source else ""
    for arg, col in columns.items():
        if col is None:
            continue
        if not isinstance(col, str):
            raise InvalidParameterError(f"{arg} must be a column name (str), got {col!r}")
        if col not in data.columns:
            note = "" if arg.startswith("column ") else f" (argument {arg})"
            raise DataError(
                f"{where}column {col!r}{note} not found{suggest(col, data.columns)}; "
                f"columns are: {', '.join(map(str, data.columns))}"
            )


def _numeric(frame: pd.DataFrame, col: str, *, allow_missing: bool = True) -> pd.Series:
    raw = frame[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna()
    if bad.any():
        idx = raw.index[bad.to_numpy()][0]
        raise DataError(f"column {col!r}, row index {idx!r}: {raw.loc[idx]!r} is not a number")
    inf = np.isinf(num.to_numpy(float))
    if inf.any():
        idx = num.index[inf][0]
        raise DataError(f"column {col!r}, row index {idx!r}: {raw.loc[idx]!r} is not a finite number")
    if not allow_missing and num.isna().any():
        idx = num.index[num.isna().to_numpy()][0]
        raise DataError(f"column {col!r}, row index {idx!r}: missing value (needed here)")
    return num.astype(float)


def _long(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    values: Sequence[str],
    date: str | None = None,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Validated long data sorted by client and session, columns renamed ``client``/``session``."""
    cols: dict[str, str | None] = {"client": client, "session": session, "date": date}
    cols.update({f"column {v!r}": v for v in values})
    cols.update({f"column {v!r}": v for v in extra})
    _check_columns(data, cols)
    keep = list(dict.fromkeys([client, session, *values, *extra, *([date] if date else [])]))
    frame = data.loc[:, keep].copy()
    if frame[client].isna().any():
        idx = frame.index[frame[client].isna().to_numpy()][0]
        raise DataError(f"column {client!r} (client), row index {idx!r}: missing client id")
    sess = _numeric(frame, session, allow_missing=False)
    if (sess < 0).any():
        idx = sess.index[(sess < 0).to_numpy()][0]
        raise DataError(f"column {session!r} (session), row index {idx!r}: session {sess.loc[idx]:g} is negative")
    for v in values:
        frame[v] = _numeric(frame, v)
    out = pd.DataFrame({"client": frame[client], "session": sess}, index=frame.index)
    for v in dict.fromkeys([*values, *extra]):
        if v not in (client, session):
            out[v] = frame[v]
    dup = out.duplicated(["client", "session"], keep=False)
    if dup.any():
        cid, sess_dup = _py(out.loc[dup, "client"].iloc[0]), out.loc[dup, "session"].iloc[0]
        rows = out.index[(dup & (out["client"] == cid) & (out["session"] == sess_dup)).to_numpy()]
        raise DataError(
            f"client {cid!r} has session {sess_dup:g} more than once "
            f"(row indexes {', '.join(map(repr, map(_py, rows.tolist())))}); "
            "each session number must occur once per client"
        )
    if date is not None:
        with warnings.catch_warnings():
            # pandas warns when it cannot infer one format; unparseable cells are reported below
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(frame[date], errors="coerce")
        bad = frame[date].notna() & parsed.isna()
        if bad.any():
            idx = frame.index[bad.to_numpy()][0]
            raise DataError(f"column {date!r} (date), row index {idx!r}: {frame[date].loc[idx]!r} is not a date")
        out["date"] = parsed
    out = out.sort_values(["client", "session"], kind="mergesort")
    if date is not None:
        for cid, grp in out.groupby("client", sort=False):
            d = grp["date"].dropna()
            back = d.diff().dt.total_seconds() < 0
            if back.any():
                pos = int(np.flatnonzero(back.to_numpy())[0])
                s_prev, s_now = grp.loc[d.index[pos - 1], "session"], grp.loc[d.index[pos], "session"]
                raise DataError(
                    f"client {_py(cid)!r}: dates are not in session order: session {s_now:g} is dated "
                    f"{d.iloc[pos].date()} but earlier session {s_prev:g} is dated {d.iloc[pos - 1].date()}"
                )
    return out


def _py(value: Any) -> Any:
    """Plain Python scalar for messages (numpy 2 reprs read ``np.int64(1)``)."""
    return value.item() if isinstance(value, np.generic) else value


def first_last(data: pd.DataFrame, *, client: str, session: str, measure: str, date: str | None = None) -> pd.DataFrame:
    """First and last observed score of every client (missing scores skipped).

    Parameters
    ----------
    data
        Long data: one row per client and session.
    client, session, measure
        Column names.
    date
        Optional date column; dates must not go backwards as sessions go up.

    Returns
    -------
    pandas.DataFrame
        One row per client: ``client, n_sessions, first_session, last_session, pre, post``
        (``post`` and ``last_session`` are NaN for clients with one scored session).

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2], "s": [1, 2, 3, 1], "y": [20.0, 15, 9, 30]})
    >>> first_last(df, client="id", session="s", measure="y")[["client", "pre", "post"]].to_numpy().tolist()
    [[1.0, 20.0, 9.0], [2.0, 30.0, nan]]
    """
    long = _long(data, client=client, session=session, values=[measure], date=date)
    long = long.dropna(subset=[measure])
    rows = []
    for cid, grp in long.groupby("client", sort=False):
        n = len(grp)
        rows.append(
            {
                "client": cid,
                "n_sessions": n,
                "first_session": grp["session"].iloc[0],
                "last_session": grp["session"].iloc[-1] if n > 1 else np.nan,
                "pre": grp[measure].iloc[0],
                "post": grp[measure].iloc[-1] if n > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["client", "n_sessions", "first_session", "last_session", "pre", "post"])


def _time(session: np.ndarray | pd.Series, kind: str) -> np.ndarray:
    s = np.asarray(session, float)
    return np.log(s + 1.0) if kind == "log" else s
