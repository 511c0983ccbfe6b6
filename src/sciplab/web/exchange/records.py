"""The scored measures of clients as one long table (the shared input of reports and exports).

One row per stored scale score: client id, episode, response, instrument, session number, the
date of the administration (the session's date, else the day it was submitted), scale, score,
validity status and band, exactly as :func:`sciplab.score` stored them. Never selects from
``client_identities``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sciplab.web.models import Response, Score, TherapySession

SCORE_COLUMNS = (
    "client_id",
    "episode_id",
    "response_id",
    "instrument",
    "session",
    "date",
    "submitted_at",
    "scale",
    "score",
    "status",
    "band",
)


def score_table(db: Session, client_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Long table of stored scores (all clients when ``client_ids`` is None), in administration order."""
    query = (
        select(
            Response.client_id,
            Response.episode_id,
            Response.id,
            Response.instrument_id,
            TherapySession.number,
            TherapySession.date,
            Response.submitted_at,
            Score.scale,
            Score.value,
            Score.status,
            Score.band,
        )
        .join(Score, Score.response_id == Response.id)
        .outerjoin(TherapySession, TherapySession.id == Response.session_id)
        .order_by(Response.client_id, Response.submitted_at, Response.id, Score.scale)
    )
    if client_ids is not None:
        query = query.where(Response.client_id.in_(list(client_ids)))
    rows = db.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(SCORE_COLUMNS))
    if frame.empty:
        return frame
    submitted = pd.to_datetime(frame["submitted_at"], utc=True).dt.date
    frame["date"] = [d if isinstance(d, dt.date) else s for d, s in zip(frame["date"], submitted, strict=True)]
    frame["session"] = frame["session"].astype("Int64")
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return frame
