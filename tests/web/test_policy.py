"""One policy layer: therapists see their own clients, supervisors their supervisees', admins none unless
granted, researchers de-identified data only. Every refusal is a 403 and an audit entry."""

from __future__ import annotations

from sqlalchemy import select

from sciplab.web.models import AuditEntry
from sciplab.web.policy import ACTIONS, Actor, allowed

from .conftest import add_user, new_client, new_link, sign_in


def test_therapist_opening_anothers_client_is_403_and_audited(app):
    add_user(app, "t1")
    add_user(app, "t2")
    h1, c1 = sign_in(app, "t1")
    h2, _ = sign_in(app, "t2")
    cid = new_client(h1, c1, "Private Person")
    for path in (f"/clients/{cid}", f"/api/v1/clients/{cid}"):
        r = h2.get(path)
        assert r.status_code == 403, path
        assert "Private Person" not in r.text
    r = h2.post(
        f"/api/v1/clients/{cid}/links", json={"instrument": "PHQ-9"}, headers={"X-CSRF-Token": sign_in(app, "t2")[1]}
    )
    assert r.status_code == 403
    with app.state.clinic.tx() as db:
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert {(e.username, e.record_id) for e in denied} >= {("t2", f"/clients/{cid}"), ("t2", f"/api/v1/clients/{cid}")}
    assert h2.get("/api/v1/clients").json() == []


def test_supervisor_sees_supervisees_clients_only(app):
    add_user(app, "sup", "supervisor")
    add_user(app, "t1", supervisor="sup")
    add_user(app, "t2")
    h1, c1 = sign_in(app, "t1")
    h2, c2 = sign_in(app, "t2")
    mine = new_client(h1, c1)
    other = new_client(h2, c2)
    hs, _ = sign_in(app, "sup")
    assert [c["id"] for c in hs.get("/api/v1/clients").json()] == [mine]
    assert hs.get(f"/api/v1/clients/{mine}").status_code == 200
    assert hs.get(f"/api/v1/clients/{other}").status_code == 403


def test_admin_sees_no_clinical_data_unless_granted(app):
    add_user(app, "t1")
    add_user(app, "boss", "admin")
    add_user(app, "granted", "admin", clinical_access=True)
    h1, c1 = sign_in(app, "t1")
    cid = new_client(h1, c1, "Jane Doe")
    hb, _ = sign_in(app, "boss")
    assert hb.get(f"/api/v1/clients/{cid}").status_code == 403
    assert hb.get("/api/v1/clients").status_code == 403
    hg, cg = sign_in(app, "granted")
    assert hg.get(f"/api/v1/clients/{cid}").json()["name"] == "Jane Doe"
    # granted read access, not the therapist's work
    assert hg.post("/api/v1/clients", json={"name": "X"}, headers={"X-CSRF-Token": cg}).status_code == 403


def test_researcher_gets_deidentified_data_only(app):
    add_user(app, "t1")
    add_user(app, "res", "researcher")
    h1, c1 = sign_in(app, "t1")
    cid = new_client(h1, c1, "Identifiable Name")
    r = h1.post(
        f"/api/v1/clients/{cid}/responses",
        json={"instrument": "GAD-7", "answers": {str(i): 1 for i in range(1, 8)}},
        headers={"X-CSRF-Token": c1},
    )
    assert r.status_code == 201
    hr, _ = sign_in(app, "res")
    for path in (
        f"/api/v1/clients/{cid}",
        "/api/v1/clients",
        f"/clients/{cid}",
        "/api/v1/alerts",
        f"/api/v1/responses/{r.json()['response_id']}",
    ):
        assert hr.get(path).status_code == 403, path
    rows = hr.get("/api/v1/research/scores").json()
    assert rows and set(rows[0]) == {
        "client",
        "gender",
        "age_band",
        "instrument",
        "session",
        "scale",
        "score",
        "status",
        "band",
    }
    assert rows[0]["score"] == 7.0 and rows[0]["age_band"].endswith("9")
    text = hr.get("/research.csv").text + hr.get("/research").text
    assert "Identifiable Name" not in text and "1990" not in text
    # the therapist is not a researcher
    assert h1.get("/api/v1/research/scores").status_code == 403


def test_research_query_never_touches_identities(app):
    from sqlalchemy import event

    from sciplab.web.clients.service import research_rows

    add_user(app, "res", "researcher")
    statements: list[str] = []
    engine = app.state.clinic.engine

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with app.state.clinic.tx() as db:
            research_rows(db, Actor(1, "res", "researcher"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().startswith("select")]
    assert selects and not any("client_identities" in s for s in selects)


def test_policy_table_is_least_privilege():
    researcher = Actor(1, "r", "researcher")
    admin = Actor(2, "a", "admin")
    # de-identified rows and exports, and the clinic's aggregate outcome report (no client record), nothing else
    assert [a for a in ACTIONS if allowed(researcher, a)] == ["research.view", "research.export", "reports.clinic"]
    assert not allowed(admin, "reports.clinic")
    assert not allowed(admin, "clients.view") and not allowed(admin, "measures.deliver")
    assert allowed(Actor(3, "g", "admin", clinical_access=True), "clients.view")


def test_links_are_scoped_too(app):
    add_user(app, "t1")
    add_user(app, "t2")
    h1, c1 = sign_in(app, "t1")
    cid = new_client(h1, c1)
    assert new_link(h1, c1, cid)
    h2, c2 = sign_in(app, "t2")
    r = h2.post(f"/clients/{cid}/links", data={"csrf_token": c2, "instrument": "PHQ-9"})
    assert r.status_code == 403
