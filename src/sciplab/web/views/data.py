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

import pandas as pd
from sqlalchemy import select
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


def load(db: Session, episodes: Sequence[Episode]) -> EpisodeData:
    """Sessions and stored scores of ``episodes`` (two queries whatever their number)."""
    ids = [e.id for e in episodes]
    client_of = {e.id: e.client_id for e in episodes}
    srows = db.execute(
        select(
            TherapySession.episode_id,
            TherapySession.id,
            TherapySession.number,
            TherapySession.date,
            TherapySession.attendance,
            TherapySession.therapist_alliance,
            TherapySession.distance_rating,
        )
        .where(TherapySession.episode_id.in_(ids))
        .order_by(TherapySession.episode_id, TherapySession.number)
    ).all()
    sessions = pd.DataFrame(
        [(client_of[r[0]], *r) for r in srows],
        columns=["client", "episode", "session_id", "session", "date", "attendance", "therapist_alliance", "distance"],
    )
    rrows = db.execute(
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
        .where(Response.episode_id.in_(ids))
        .order_by(Response.submitted_at, Response.id)
    ).all()
    first_date = sessions.groupby("episode")["date"].min().to_dict() if len(sessions) else {}
    last_number = sessions.groupby("episode")["session"].max().to_dict() if len(sessions) else {}
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
    scores = pd.DataFrame(out, columns=SCORE_COLUMNS, dtype=object)  # plain Python strings: fast row access
    scores = scores.astype({"client": "int64", "episode": "int64", "response": "int64", "value": "float64",
                            "session": "float64"})  # fmt: skip
    sessions = sessions.astype({"client": "int64", "episode": "int64", "session": "float64",
                                "therapist_alliance": "float64", "distance": "float64"})  # fmt: skip
    return EpisodeData(sessions, scores)


def series(scores: pd.DataFrame, column: str, *, end: bool = False) -> pd.DataFrame:
    """``client, session, <column>`` of one scale at intake and in sessions (``end``: and at the end).

    The latest score counts when a session has two.
    """
    keep = scores["timing"].isin(("intake", "session", "end") if end else ("intake", "session"))
    sub = scores[(scores["column"].to_numpy() == column) & keep.to_numpy() & scores["value"].notna().to_numpy()]
    sub = sub.drop_duplicates(["client", "session"], keep="last")
    return (
        sub[["client", "session", "value"]]
        .rename(columns={"value": column})
        .sort_values(["client", "session"], kind="mergesort")
        .reset_index(drop=True)
    )


def first_latest(ep: EpisodeData) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per score column: its first and its latest stored score (time order); computed once per episode data."""
    return ep.first_latest


def values_at(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """``{column: value}`` of score rows."""
    return {str(r["column"]): float(r["value"]) for r in rows}


def pomp(values: Any, low: float, high: float) -> Any:
    """Percent of maximum possible (Cohen, Cohen, Aiken & West 1999): puts two rating scales on 0-100."""
    return (values - low) / (high - low) * 100.0
