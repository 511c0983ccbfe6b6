"""The demo clinic seeded from the SCIP simulation: a caseload a therapist can work with."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

import sciplab
from sciplab.web.auth.passwords import Hasher
from sciplab.web.demo import DEMO_PASSWORD, seed
from sciplab.web.models import Alert, Client, Response, ResponseItem, Score, TherapySession

from .conftest import sign_in


def test_demo_seed_scores_through_the_library(app):
    with app.state.clinic.tx() as db:
        info = seed(db, Hasher(1, 64), n_agents=80, years=0.5, seed=3)
    assert info.clients > 3 and info.sessions > info.clients and info.responses > info.sessions
    with app.state.clinic.tx() as db:
        assert db.scalar(select(func.count(Client.id))) == info.clients
        assert db.scalar(select(func.count(TherapySession.id))) == info.sessions
        ratings = db.scalars(select(TherapySession.distance_rating)).all()
        assert set(ratings) <= set(range(1, 8)) and len(set(ratings)) > 1
        # one stored CORE-10 response re-scored independently by the library gives the stored score
        resp = db.scalar(select(Response).where(Response.instrument_id == "CORE-10").limit(1))
        items = {i.item: i.value for i in db.scalars(select(ResponseItem).where(ResponseItem.response_id == resp.id))}
        stored = db.scalar(select(Score.value).where(Score.response_id == resp.id, Score.scale == "total"))
        open_alerts = db.scalar(select(func.count(Alert.id)).where(Alert.acknowledged_at.is_(None)))
    frame = pd.DataFrame([{f"CORE10_{k:02d}": v for k, v in items.items()}])
    assert stored == float(sciplab.score(frame, "CORE-10").scores["CORE-10_total"][0])
    assert open_alerts == info.alerts
    http, _ = sign_in(app, "therapist1", DEMO_PASSWORD)
    caseload = http.get("/api/v1/clients").json()
    assert caseload and all(c["therapist"] == "therapist1" for c in caseload)
    sup, _ = sign_in(app, "supervisor", DEMO_PASSWORD)
    assert len(sup.get("/api/v1/clients").json()) == info.clients
    res, _ = sign_in(app, "researcher", DEMO_PASSWORD)
    assert "(demo)" not in res.get("/research.csv").text
