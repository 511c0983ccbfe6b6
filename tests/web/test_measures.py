"""Questionnaires by link, kiosk and manual entry; scoring through sciplab.score; risk alerts; bad links."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select, update

import sciplab
from sciplab.web.models import Alert, QuestionnaireLink, Response, ResponseItem, Score

from .conftest import client_for, new_client, new_link, sign_in

PHQ_RISK = {f"item_{i}": "1" for i in range(1, 10)} | {"item_9": "2"}


def _count(app, model):
    with app.state.clinic.tx() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_link_fill_score_and_alert_first_on_dashboard(app, therapist):
    http, csrf = therapist
    calm = new_client(http, csrf, "Calm Client")
    risky = new_client(http, csrf, "Risky Client")
    token = new_link(http, csrf, risky)
    anon = client_for(app)
    page = anon.get(f"/q/{token}")
    assert page.status_code == 200
    assert "Thoughts that you would be better off dead" in page.text  # PHQ-9 wording ships (public domain)
    assert '<label class="choice"><input type="radio" name="item_1"' in page.text
    r = anon.post(f"/q/{token}", data={**PHQ_RISK, "action": "submit"})
    assert r.status_code == 200 and "received" in r.text
    record = http.get(f"/api/v1/clients/{risky}").json()
    (resp,) = record["responses"]
    expected = sciplab.score(pd.DataFrame([{f"PHQ9_{i}": int(PHQ_RISK[f"item_{i}"]) for i in range(1, 10)}]), "PHQ-9")
    assert resp["scores"] == [
        {
            "scale": "total",
            "value": float(expected.scores["PHQ-9_total"][0]),
            "status": "complete",
            "band": expected.bands["PHQ-9_total_band"][0],
        }
    ]
    assert record["alerts"][0]["flag"] == "PHQ-9_self_harm"
    items = http.get(f"/api/v1/responses/{resp['id']}").json()["items"]
    assert items == {str(i): float(PHQ_RISK[f"item_{i}"]) for i in range(1, 10)}
    dash = http.get("/dashboard").text
    assert dash.index("Risky Client") < dash.index("Calm Client")
    assert dash.index("Risk alerts") < dash.index("Caseload")
    assert "Item 9" in dash
    caseload = http.get("/api/v1/clients").json()
    assert caseload[0]["id"] == risky and caseload[0]["open_alerts"] == 1
    alert_id = http.get("/api/v1/alerts").json()[0]["id"]
    ack = http.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json={"action": "Safety plan made"}, headers={"X-CSRF-Token": csrf}
    )
    assert ack.status_code == 200 and ack.json()["action_taken"] == "Safety plan made"
    assert http.get("/api/v1/alerts").json() == []
    too_long = http.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"action": "x" * 2001},
                         headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert too_long.status_code in (400, 422) and "2000" in too_long.text
    assert calm


def test_core10_risk_item_raises_an_alert(app, therapist):
    http, csrf = therapist
    cid = new_client(http, csrf)
    token = new_link(http, csrf, cid, "CORE-10")
    answers = {str(i): 0 for i in range(1, 11)} | {"6": 1}
    assert client_for(app).post(f"/api/v1/questionnaires/{token}", json={"answers": answers}).status_code == 200
    assert [a["flag"] for a in http.get("/api/v1/alerts").json()] == ["CORE-10_risk"]


def test_double_submission_is_idempotent(app, therapist):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf))
    anon = client_for(app)
    first = anon.post(f"/q/{token}", data={**PHQ_RISK, "action": "submit"})
    second = anon.post(f"/q/{token}", data={**PHQ_RISK, "action": "submit"})
    assert first.status_code == second.status_code == 200 and "already received" in second.text
    api = anon.post(f"/api/v1/questionnaires/{token}", json={"answers": {"1": 3}}).json()
    assert api["repeated"] is True
    assert _count(app, Response) == 1 and _count(app, ResponseItem) == 9 and _count(app, Alert) == 1


def test_expired_link_gives_a_clear_page_and_stores_nothing(app, therapist):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf))
    with app.state.clinic.tx() as db:
        db.execute(update(QuestionnaireLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    anon = client_for(app)
    for r in (anon.get(f"/q/{token}"), anon.post(f"/q/{token}", data={**PHQ_RISK, "action": "submit"})):
        assert r.status_code == 410 and "expired" in r.text
    assert _count(app, Response) == 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.replace(t.split(".")[1], "x" * len(t.split(".")[1])),  # nonce
        lambda t: "9" + t,  # id
        lambda t: "garbage",
        lambda t: t + ".extra",
    ],
)
def test_tampered_links_are_refused(app, therapist, mangle):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf))
    anon = client_for(app)
    bad = mangle(token)
    for r in (
        anon.get(f"/q/{bad}"),
        anon.post(f"/q/{bad}", data={**PHQ_RISK, "action": "submit"}),
        anon.post(f"/api/v1/questionnaires/{bad}", json={"answers": {"1": 1}}),
    ):
        assert r.status_code == 410
        assert "not valid" in r.text
    assert _count(app, Response) == 0


def test_out_of_range_answers_are_refused_naming_the_item(app, therapist):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf))
    anon = client_for(app)
    r = anon.post(f"/q/{token}", data={**PHQ_RISK, "item_4": "7", "action": "submit"})
    assert r.status_code == 400 and "item 4" in r.text and "0-3" in r.text
    r = anon.post(f"/api/v1/questionnaires/{token}", json={"answers": {"2": "lots", "12": 1}})
    assert r.status_code == 400
    assert "item 2" in r.json()["error"] and "no item '12'" in r.json()["error"]
    assert _count(app, Response) == 0
    # the link still works after a refused submission
    assert anon.post(f"/q/{token}", data={**PHQ_RISK, "action": "submit"}).status_code == 200


def test_missing_items_follow_the_library_rule(app, therapist):
    http, csrf = therapist
    cid = new_client(http, csrf)
    token = new_link(http, csrf, cid)
    answers = {k: v for k, v in PHQ_RISK.items() if k != "item_3"}
    assert client_for(app).post(f"/q/{token}", data={**answers, "action": "submit"}).status_code == 200
    (resp,) = http.get(f"/api/v1/clients/{cid}").json()["responses"]
    assert resp["scores"][0]["value"] is None and resp["scores"][0]["status"] == "too_few_items"


def test_save_and_resume(app, therapist):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf))
    anon = client_for(app)
    r = anon.post(f"/q/{token}", data={"item_1": "2", "item_2": "3", "action": "save"})
    assert r.status_code == 200 and "Answers saved" in r.text
    page = anon.get(f"/q/{token}").text
    assert page.count(" checked") == 2
    assert anon.get(f"/api/v1/questionnaires/{token}").json()["draft"] == {"1": 2, "2": 3}
    assert _count(app, Response) == 0


def test_unlicensed_wording_is_never_shown(app, therapist):
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf), "WAI-SR")
    page = client_for(app).get(f"/q/{token}").text
    assert "Item 1" in page and "answer by item number" in page
    form = client_for(app).get(f"/api/v1/questionnaires/{token}").json()
    assert form["wording"] == "numbers" and all(i["text"] is None for i in form["items"])
    assert [s["value"] for s in form["scale"]] == [1, 2, 3, 4, 5]


def test_admin_imported_wording_is_shown(app, therapist):
    from sciplab.web.measures.service import import_wording
    from sciplab.web.policy import Actor

    with app.state.clinic.tx() as db:
        import_wording(db, Actor(99, "boss", "admin"), "WAI-SR", {1: "Licensed wording one"})
    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf), "WAI-SR")
    assert "Licensed wording one" in client_for(app).get(f"/q/{token}").text


def test_kiosk_and_manual_entry(app, therapist):
    http, csrf = therapist
    cid = new_client(http, csrf)
    r = http.post(f"/clients/{cid}/links", data={"csrf_token": csrf, "instrument": "GAD-7", "mode": "kiosk"})
    assert r.status_code == 303 and r.headers["location"].startswith("/q/")
    page = http.get(r.headers["location"])
    assert "Save and continue later" not in page.text
    done = http.post(r.headers["location"], data={**{f"item_{i}": "0" for i in range(1, 8)}, "action": "submit"})
    assert "hand the device back" in done.text
    r = http.post(
        f"/clients/{cid}/responses",
        data={"csrf_token": csrf, "instrument": "CORE-10", **{f"item_{i}": "1" for i in range(1, 11)}},
    )
    assert r.status_code == 303
    sources = sorted(x["source"] for x in http.get(f"/api/v1/clients/{cid}").json()["responses"])
    assert sources == ["kiosk", "manual"]


def test_sessions_assignments_and_ratings(app, therapist):
    http, csrf = therapist
    cid = new_client(http, csrf)
    h = {"X-CSRF-Token": csrf}
    s1 = http.post(f"/api/v1/clients/{cid}/sessions", json={"therapist_alliance": 7, "distance_rating": 4}, headers=h)
    assert s1.status_code == 201 and s1.json()["number"] == 1
    bad = http.post(f"/api/v1/clients/{cid}/sessions", json={"distance_rating": 9}, headers=h)
    assert bad.status_code == 400 and "distance_rating must be a whole number from 1 to 7" in bad.json()["error"]
    r = http.post(f"/clients/{cid}/sessions", data={"csrf_token": csrf, "attendance": "did_not_attend"})
    assert r.status_code == 303
    a = http.post(
        f"/api/v1/clients/{cid}/assignments",
        json={"instrument": "core-10", "schedule": "every_n", "every_n": 3},
        headers=h,
    )
    assert a.status_code == 201 and a.json()["instrument"] == "CORE-10"
    bad = http.post(f"/api/v1/clients/{cid}/assignments", json={"instrument": "PHQ9X", "schedule": "intake"}, headers=h)
    assert bad.status_code == 400 and "did you mean" in bad.json()["error"]
    bad = http.post(f"/api/v1/clients/{cid}/assignments", json={"instrument": "PHQ-9", "schedule": "weekly"}, headers=h)
    assert bad.status_code == 400 and "schedule must be one of" in bad.json()["error"]
    link = http.post(
        f"/api/v1/clients/{cid}/links", json={"instrument": "WAI-SR", "session_id": s1.json()["id"]}, headers=h
    )
    assert link.status_code == 201
    rec = http.get(f"/api/v1/clients/{cid}").json()
    assert [(s["number"], s["attendance"], s["distance_rating"]) for s in rec["sessions"]] == [
        (1, "attended", 4),
        (2, "did_not_attend", None),
    ]


def test_schedule_rules():
    from sciplab.web.measures.service import is_due
    from sciplab.web.models import Assignment

    every3 = Assignment(schedule="every_n", every_n=3)
    assert [n for n in range(1, 10) if is_due(every3, n)] == [1, 4, 7]
    assert is_due(Assignment(schedule="intake"), None) and not is_due(Assignment(schedule="intake"), 2)
    assert is_due(Assignment(schedule="end"), 5, ending=True) and not is_due(Assignment(schedule="end"), 5)
    assert all(is_due(Assignment(schedule="every_session"), n) for n in range(1, 5))


def test_concurrent_submissions_are_all_stored(app, therapist):
    http, csrf = therapist
    tokens = [new_link(http, csrf, new_client(http, csrf, f"Client {i}")) for i in range(12)]

    def fill(token: str) -> int:
        return (
            client_for(app)
            .post(f"/api/v1/questionnaires/{token}", json={"answers": {str(i): 1 for i in range(1, 10)}})
            .status_code
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(fill, tokens + tokens))  # every link twice, at the same time
    assert codes.count(200) == len(codes)
    assert _count(app, Response) == 12 and _count(app, Score) == 12
    with app.state.clinic.tx() as db:
        from sciplab.web.audit.service import verify

        assert verify(db).ok


def test_due_measures_episode_end_and_imported_wording_api(app, therapist):
    from .conftest import add_user

    http, csrf = therapist
    h = {"X-CSRF-Token": csrf}
    cid = new_client(http, csrf)
    for inst, schedule in (("PHQ-9", "intake"), ("CORE-10", "every_session"), ("GAD-7", "end")):
        assert (
            http.post(
                f"/api/v1/clients/{cid}/assignments", json={"instrument": inst, "schedule": schedule}, headers=h
            ).status_code
            == 201
        )
    page = http.get(f"/clients/{cid}").text
    assert "Due now (before session 1):</strong> PHQ-9, CORE-10" in page
    http.post(f"/api/v1/clients/{cid}/sessions", json={}, headers=h)
    assert "Due now (before session 2):</strong> CORE-10</p>" in http.get(f"/clients/{cid}").text
    r = http.post(f"/api/v1/clients/{cid}/episode/end", headers=h)
    assert r.status_code == 200 and r.json()["ended_on"]
    assert "GAD-7</p>" in http.get(f"/clients/{cid}").text
    again = http.post(f"/api/v1/clients/{cid}/episode/end", headers=h)
    assert again.status_code == 400 and "already ended" in again.json()["error"]
    # licensed wording: admins only, stored in the database
    assert http.post("/api/v1/instruments/WAI-SR/wording", json={"items": {"1": "x"}}, headers=h).status_code == 403
    add_user(app, "boss", "admin")
    admin, acsrf = sign_in(app, "boss")
    r = admin.post(
        "/api/v1/instruments/WAI-SR/wording",
        json={"items": {"1": "Our licensed item one"}},
        headers={"X-CSRF-Token": acsrf},
    )
    assert r.status_code == 200 and r.json()["items"] == 1
    bad = admin.post("/api/v1/instruments/WAI-SR/wording", json={"items": {"13": "x"}}, headers={"X-CSRF-Token": acsrf})
    assert bad.status_code == 400 and "13" in bad.json()["error"]
    token = new_link(http, csrf, cid, "WAI-SR")
    assert client_for(app).get(f"/api/v1/questionnaires/{token}").json()["wording"] == "imported"


@pytest.mark.parametrize("instrument", ["PHQ-9", "CORE-10"])
def test_questionnaire_page_with_its_items_rendered_once_is_the_page_rendered_whole(app, therapist, monkeypatch,
                                                                                   instrument):  # fmt: skip
    from sciplab.web import pages

    http, csrf = therapist
    token = new_link(http, csrf, new_client(http, csrf), instrument)
    anon = client_for(app)
    cached = [anon.get(f"/q/{token}").text for _ in range(2)]
    monkeypatch.setattr(pages, "_blank_items", lambda env, form: None)  # the include in the template instead
    whole = anon.get(f"/q/{token}").text
    assert cached == [whole, whole] and whole.count('type="radio"') >= 9 * 4
    anon.post(f"/api/v1/questionnaires/{token}/draft", json={"answers": {"2": 1}})  # a draft: never the blank form
    monkeypatch.undo()
    drafted = anon.get(f"/q/{token}").text
    assert drafted != whole and drafted.count("checked") == 1
