"""Every clinician view on the demo caseload (seeded from the SCIP simulation): content, access, audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.auth.passwords import Hasher
from sciplab.web.demo import DEMO_PASSWORD, seed
from sciplab.web.models import AuditEntry, Episode, TherapySession

from .conftest import settings_for, sign_in


@pytest.fixture
def demo(tmp_path_factory: Any) -> Iterator[Any]:
    """A small demo clinic (80 agents, one year, seed 5: red, yellow and green clients, ruptures both ways)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url))
    with app.state.clinic.tx() as db:
        seed(db, Hasher(1, 64), n_agents=80, years=1.0, seed=5)
    yield app
    app.state.clinic.engine.dispose()


def test_every_view_has_content_on_the_demo(demo):
    # the demo holds both alliance perspectives and the distance rating at every session, and closed episodes
    with demo.state.clinic.tx() as db:
        rated = db.scalar(
            select(func.count(TherapySession.id)).where(
                TherapySession.therapist_alliance.is_not(None), TherapySession.distance_rating.is_not(None)
            )
        )
        total = db.scalar(select(func.count(TherapySession.id)))
        closed = db.scalar(select(func.count(Episode.id)).where(Episode.ended_on.is_not(None)))
        episodes = db.scalar(select(func.count(Episode.id)))
    assert rated == total > 0
    assert 0 < closed < episodes
    sup, _ = sign_in(demo, "supervisor", DEMO_PASSWORD)
    rows = sup.get("/api/v1/caseload/attention").json()
    open_rows = [r for r in rows if r["episode_open"]]
    assert {"red", "yellow", "green"} <= {r["status"] for r in open_rows}
    assert sum(r["repaired"] for r in rows) > 0 and sum(len(r["unrepaired"]) for r in rows) > 0
    # sorted by attention: every client needing attention comes before every one that does not
    flags = [r["needs_attention"] for r in rows]
    assert flags == sorted(flags, reverse=True)
    t1, _ = sign_in(demo, "therapist1", DEMO_PASSWORD)
    mine = t1.get("/api/v1/caseload/attention").json()
    assert mine and all(r["therapist"] == "therapist1" for r in mine)
    for r in mine[:3]:
        page = t1.get(f"/clients/{r['id']}")
        assert page.status_code == 200 and "The SCIP chain over the episode" in page.text
    o = t1.get(f"/api/v1/clients/{mine[0]['id']}/overview").json()
    columns = {c["column"] for c in o["chain"]}
    assert {"ECR-S_anxiety", "PSSE_total", "MSPSS_total", "IIP-SC_total", "CORE-10_total"} <= columns
    assert o["attachment"]["available"] and o["interpersonal"]["amplitude"] >= 0
    assert o["plan"]["n_rated"] > 0 and o["alliance"]
    form = t1.get(f"/clients/{mine[0]['id']}/formulation")
    assert form.status_code == 200 and "Relationship plan" in form.text and "Accept" in form.text
    sv = sup.get("/api/v1/supervision").json()
    assert {r["therapist"] for r in sv["rows"]} >= {"therapist1", "therapist2", "all supervisees"}
    assert sup.get("/supervision").status_code == 200
    for user in ("researcher", "admin"):  # the demo grants the admin clinical access
        http, _ = sign_in(demo, user, DEMO_PASSWORD)
        rep = http.get("/api/v1/reports/clinic").json()
        assert rep["episodes"] > 0 and rep["tables"][0]["rows"][-1]["period"] == "all periods"
        assert http.get("/reports/clinic").status_code == 200
    with demo.state.clinic.tx() as db:
        actions = set(db.scalars(select(AuditEntry.action)))
    assert {"caseload.view", "client.view", "formulation.view", "supervision.view", "report.clinic"} <= actions
