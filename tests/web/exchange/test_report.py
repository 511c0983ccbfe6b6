"""The client report: content from the library, HTML and PDF, access by role, audited."""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import select

from sciplab.scip.formulate import formulate
from sciplab.scoring.change import reliable_change
from sciplab.web.exchange import report
from sciplab.web.models import AuditEntry

from .conftest import signed


def test_report_content_comes_from_the_library(app, caseload):
    with app.state.clinic.tx() as db:
        rep = report.build(db, caseload["t1"], caseload["ids"]["jane"])
    m = rep.measures.set_index(["instrument", "scale"])
    assert m.loc[("CORE-10", "total"), "first"] == 24 and m.loc[("CORE-10", "total"), "latest"] == 9
    assert m.loc[("CORE-10", "total"), "n"] == 3
    ch = rep.change.set_index(["instrument", "scale"])
    # CORE-10: 24 -> 9 is reliable (published 6 points) and crosses the cut-off 10: recovered
    expected = reliable_change([24], [9], instrument="CORE-10", scale="total").table.iloc[0]
    assert ch.loc[("CORE-10", "total"), "classification"] == expected["classification"] == "recovered"
    # PHQ-9 (18 -> 9) has no SD or reliability in its definition: not classified, with the reason
    assert ch.loc[("PHQ-9", "total"), "classification"] == "not classified"
    assert "reliability" in ch.loc[("PHQ-9", "total"), "criterion"]
    # the formulation is the library's on the latest scores
    latest = {f"{i}_{s}": v for (i, s), v in m["latest"].items()}
    f = formulate(latest)
    assert [h["text"] for h in rep.formulation.hypotheses] == [h["text"] for h in f.hypotheses]
    assert rep.formulation.attachment["most_probable"]["pattern"] == f.attachment["most_probable"]["pattern"]


def test_html_and_pdf_downloads_are_audited(app, caseload):
    http, _ = signed(app, "t1")
    jane = caseload["ids"]["jane"]
    r = http.get(f"/clients/{jane}/report.html")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "attachment" in r.headers["content-disposition"]
    page = r.text
    assert "Jane Doe" in page and caseload["codes"]["jane"] in page and "<svg" in page and "<style>" in page
    assert "recovered" in page and "<script" not in page and "Relationship plan" in page and "evidence: " in page
    assert "most probable pattern" in page and "probability 0." in page and "http://" not in page.split("<svg", 1)[0]
    r = http.get(f"/api/v1/clients/{jane}/report.pdf?purpose=referral")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-") and r.headers["content-type"] == "application/pdf"
    assert b"/Title (Referral report: " in r.content and _pages(r.content) >= 2
    with app.state.clinic.tx() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "report.create")).all()
    assert [e.record_id for e in entries] == [str(jane), str(jane)]
    assert all(len(__import__("json").loads(e.detail)["sha256"]) == 64 for e in entries)


def test_report_access_by_role(app, caseload):
    jane = caseload["ids"]["jane"]
    sup, _ = signed(app, "sup")  # t1's supervisor
    assert sup.get(f"/api/v1/clients/{jane}/report.html").status_code == 200
    for user in ("t2", "res", "adm"):
        http, _ = signed(app, user)
        r = http.get(f"/api/v1/clients/{jane}/report.html")
        assert r.status_code == 403, (user, r.text)
    http, _ = signed(app, "t1")
    assert http.get(f"/api/v1/clients/{jane}/report.doc").status_code == 400
    assert http.get(f"/api/v1/clients/{jane}/report.html?purpose=gossip").status_code == 400
    assert http.get("/api/v1/clients/999/report.html").status_code == 404
    assert http.get(f"/api/v1/clients/{jane}/report.html").status_code == 200


def test_report_of_a_client_without_scores(app, caseload):
    http, csrf = signed(app, "t1")
    r = http.post("/api/v1/clients", json={"name": "New Person"}, headers={"X-CSRF-Token": csrf})
    cid = r.json()["id"]
    page = http.get(f"/api/v1/clients/{cid}/report.html").text
    assert "No scored measures yet" in page and "No formulation" in page.replace(
        "No scored measure yet", "No formulation"
    )
    assert http.get(f"/api/v1/clients/{cid}/report.pdf").content.startswith(b"%PDF")


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page[^s]", pdf))


def test_pdf_flows_onto_new_pages_and_carries_its_title():
    def rep(note: str) -> report.ClientReport:
        return report.ClientReport(
            code="C-TEST01", name="Zoë Ærø", therapist="t", purpose="referral",
            generated=pd.Timestamp("2026-01-01").date(), episode_start=None, episode_end=None, sessions=0,
            measures=pd.DataFrame(columns=["instrument", "scale", "n", "first_date", "first", "latest_date", "latest",
                                           "band", "status"]),
            change=pd.DataFrame(columns=["instrument", "scale", "pre", "post", "change", "rc", "classification",
                                         "criterion"]),
            trajectories=pd.DataFrame(columns=["instrument", "scale", "date", "session", "score"]),
            formulation=None, formulation_note=note,
        )  # fmt: skip

    short, long = report.to_pdf(rep("No formulation.")), report.to_pdf(rep("word " * 4000))
    assert short.startswith(b"%PDF") and b"/Title (Referral report: C-TEST01)" in short
    assert _pages(short) == 2  # one text page, one chart page
    # 4000 words at ~17 per line and ~60 lines per page: the text needs 4 more pages
    assert _pages(long) >= _pages(short) + 3
