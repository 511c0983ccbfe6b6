"""Reading a client's episode out of the clinic database into the long tables the library's engines take.

Nothing here computes a score or a statistic: scores are those :func:`sciplab.score` stored; this
module only gathers them, with the session they belong to, into pandas frames.

Session numbers: a questionnaire linked to a session carries that session's number; one without a
session counts as intake (session 0) when it was submitted on or before the first session's date
(or before any session), and as the end of the episode otherwise (it then appears in first-vs-latest
comparisons, at the last session's number plus one, but not in the session-by-session trajectory).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sciplab.web.models import Episode, Response, Score, TherapySession

#: Client-rated alliance scale (per session) and the therapist's own 0-10 item.
CLIENT_ALLIANCE = "WAI-SR_total"
THERAPIST_ALLIANCE_RANGE = (0.0, 10.0)

SCORE_COLUMNS = ["client", "episode", "response", "instrument", "scale", "column", "value", "session", "at", "timing"]


@dataclasses.dataclass(frozen=True)
class EpisodeData:
    """The sessions and scores of some episodes (one client's, or a caseload's)."""

    sessions: pd.DataFrame  # client, episode, session_id, session, date, attendance, therapist_alliance, distance
    scores: pd.DataFrame  # SCORE_COLUMNS; timing: "intake", "session" or "end"

    @functools.cached_property
    def first_latest(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """Per score column: its first and latest stored score (time order), as dicts of the score columns."""
        scored = self.scores[self.scores["value"].notna()]
        out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for row in zip(*(scored[c].tolist() for c in SCORE_COLUMNS), strict=True):
            rec = dict(zip(SCORE_COLUMNS, row, strict=True))
            col = rec["column"]
            out[col] = (out[col][0], rec) if col in out else (rec, rec)
        return out

    def of(self, episode: int) -> EpisodeData:
        """The part of one episode."""
        return EpisodeData(
            self.sessions[self.sessions["episode"] == episode], self.scores[self.scores["episode"] == episode]
        )


_EPISODES = bindparam("ids", expanding=True)
#: The two statements of :func:`load` (built once: SQLAlchemy reuses their cache key and compiled form).
_SESSIONS = (
    select(
        TherapySession.episode_id,
        TherapySession.id,
        TherapySession.number,
        TherapySession.date,
        TherapySession.attendance,
        TherapySession.therapist_alliance,
        TherapySession.distance_rating,
    )
    .where(TherapySession.episode_id.in_(_EPISODES))
    .order_by(TherapySession.episode_id, TherapySession.number)
)
_SCORES = (
    select(
        Response.client_id,
        Response.episode_id,
        Response.id,
        Response.instrument_id,
        Score.scale,
        Score.value,
        TherapySession.number,
        Response.submitted_at,
    )
    .join(Score, Score.response_id == Response.id)
    .outerjoin(TherapySession, TherapySession.id == Response.session_id)
    .where(Response.episode_id.in_(_EPISODES))
    .order_by(Response.submitted_at, Response.id)
)


def load(db: Session, episodes: Sequence[Episode]) -> EpisodeData:
    """Sessions and stored scores of ``episodes`` (two queries whatever their number)."""
    ids = [e.id for e in episodes]
    client_of = {e.id: e.client_id for e in episodes}
    srows = db.execute(_SESSIONS, {"ids": ids}).all()
    sessions = _sessions_frame(srows, client_of)
    rrows = db.execute(_SCORES, {"ids": ids}).all()
    first_date: dict[int, Any] = {}
    last_number: dict[int, int] = {}
    for r in srows:  # ordered by episode and number
        first_date[r[0]] = min(first_date.get(r[0], r[3]), r[3])
        last_number[r[0]] = max(last_number.get(r[0], r[2]), r[2])
    out = []
    for client, episode, rid, inst, scale, value, number, at in rrows:
        if number is not None:
            timing, session = "session", float(number)
        else:
            first = first_date.get(episode)
            at_date = at.date() if isinstance(at, dt.datetime) else at
            if first is None or at_date <= first:
                timing, session = "intake", 0.0
            else:
                timing, session = "end", float(last_number.get(episode, 0)) + 1.0
        out.append((client, episode, rid, inst, scale, f"{inst}_{scale}", value, session, at, timing))
    return EpisodeData(sessions, _scores_frame(out))


def _column(values: Sequence[Any], dtype: Any) -> np.ndarray:
    return np.asarray(values, dtype=dtype) if len(values) else np.empty(0, dtype=dtype)


def _floats(values: Sequence[Any]) -> np.ndarray:
    return _column([np.nan if v is None else v for v in values], np.float64)


def _sessions_frame(srows: Sequence[Any], client_of: dict[int, int]) -> pd.DataFrame:
    """The sessions frame, column by column (one DataFrame call: pandas' per-call overhead was its cost)."""
    cols = list(zip(*srows, strict=True)) if srows else [()] * 7
    episode, sid, number, date, attendance, alliance, distance = cols
    if not srows:  # the dtypes pandas gives an empty frame of these columns
        return pd.DataFrame(
            {
                "client": _column([], np.int64),
                "episode": _column([], np.int64),
                "session_id": _column([], object),
                "session": _column([], np.float64),
                "date": _column([], object),
                "attendance": _column([], object),
                "therapist_alliance": _column([], np.float64),
                "distance": _column([], np.float64),
            }
        )
    return pd.DataFrame(
        {
            "client": _column([client_of[e] for e in episode], np.int64),
            "episode": _column(episode, np.int64),
            "session_id": _column(sid, np.int64),
            "session": _column(number, np.float64),
            "date": _column(date, object),
            "attendance": pd.Series(attendance).to_numpy() if attendance else _column([], object),
            "therapist_alliance": _floats(alliance),
            "distance": _floats(distance),
        }
    )


def _scores_frame(out: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The scores frame (SCORE_COLUMNS): numbers as numbers, text as plain Python strings (fast row access)."""
    cols = list(zip(*out, strict=True)) if out else [()] * len(SCORE_COLUMNS)
    dtypes = {"client": np.int64, "episode": np.int64, "response": np.int64, "value": np.float64,
              "session": np.float64}  # fmt: skip
    data = {}
    for name, values in zip(SCORE_COLUMNS, cols, strict=True):
        if name == "value":
            data[name] = _floats(values)
        elif name in dtypes:
            data[name] = _column(values, dtypes[name])
        else:  # object dtype kept (pandas would infer its string dtype from an array of str)
            data[name] = pd.Series(_column(values, object), dtype=object, copy=False)
    return pd.DataFrame(data, copy=False)


def series(scores: pd.DataFrame, column: str, *, end: bool = False) -> pd.DataFrame:
    """``client, session, <column>`` of one scale at intake and in sessions (``end``: and at the end).

    The latest score counts when a session has two. Plain numpy and a dict on the few rows of one
    scale (a page's series has tens of rows: pandas' per-call overhead was most of its cost); the
    same frame as ``drop_duplicates(["client", "session"], keep="last")`` then a stable sort.
    """
    timing = scores["timing"].to_numpy()
    keep = (timing == "intake") | (timing == "session")
    if end:
        keep |= timing == "end"
    values = scores["value"].to_numpy(dtype=float)
    mask = (scores["column"].to_numpy() == column) & keep & ~np.isnan(values)
    clients = scores["client"].to_numpy()[mask]
    sessions = scores["session"].to_numpy()[mask]
    last: dict[tuple[Any, Any], int] = {}
    for i, key in enumerate(zip(clients.tolist(), sessions.tolist(), strict=True)):
        last[key] = i
    idx = np.asarray([last[k] for k in sorted(last)], dtype=np.intp)
    return pd.DataFrame({"client": clients[idx], "session": sessions[idx], column: values[mask][idx]})


def first_latest(ep: EpisodeData) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per score column: its first and its latest stored score (time order); computed once per episode data."""
    return ep.first_latest


def values_at(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """``{column: value}`` of score rows."""
    return {str(r["column"]): float(r["value"]) for r in rows}


def pomp(values: Any, low: float, high: float) -> Any:
    """Percent of maximum possible (Cohen, Cohen, Aiken & West 1999): puts two rating scales on 0-100."""
    return (values - low) / (high - low) * 100.0
