"""Property tests of the two import parsers (hypothesis): hostile input never gives a 5xx or a traceback;
valid input round-trips into the record exactly.

Runs on SQLite only (the API tests of each feature cover PostgreSQL); TestClient re-raises any
server exception, so an unhandled error fails the test with its traceback.
"""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sciplab.web.models import Response, ResponseItem

from .conftest import signed

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUND_TRIP = settings(SETTINGS, max_examples=10)
INSTRUMENTS = {"PHQ-9": (9, 0, 3), "GAD-7": (7, 0, 3), "CORE-10": (10, 0, 4)}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _sqlite_only(app) -> None:
    if app.state.clinic.engine.dialect.name != "sqlite":
        pytest.skip("property tests run on SQLite; the feature tests cover PostgreSQL")


def _qr(instrument: str, answers: list[int]) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"urn:sciplab:Questionnaire:{instrument}",
        "status": "completed",
        "authored": "2024-05-01T10:00:00Z",
        "item": [{"linkId": str(i + 1), "answer": [{"valueInteger": v}]} for i, v in enumerate(answers)],
    }


FIELDS = ["resourceType", "questionnaire", "status", "authored", "item", "subject", "id"]


@SETTINGS
@given(data=st.data())
def test_fhir_import_never_fails_badly(app, caseload, data):
    _sqlite_only(app)
    http, csrf = signed(app, "t1")
    jane = caseload["ids"]["jane"]
    valid = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _qr("PHQ-9", [1] * 9)}]}
    kind = data.draw(st.sampled_from(["random", "mutated", "text"]))
    if kind == "random":
        body = json.dumps(data.draw(json_values))
    elif kind == "text":
        body = data.draw(st.text(max_size=200))
    else:
        payload = json.loads(json.dumps(valid))
        target = payload["entry"][0]["resource"]
        where = data.draw(st.sampled_from([*FIELDS, "answer", "linkId"]))
        value = data.draw(json_values)
        if where == "answer":
            target["item"][data.draw(st.integers(0, 8))]["answer"] = [{"valueInteger": value}]
        elif where == "linkId":
            target["item"][data.draw(st.integers(0, 8))]["linkId"] = value
        else:
            target[where] = value
        body = json.dumps(payload)
    before = _count(app, jane)
    r = http.post(f"/api/v1/clients/{jane}/fhir", content=body.encode("utf-8"), headers={"X-CSRF-Token": csrf})
    assert r.status_code in (201, 400), r.text
    assert r.headers["content-type"].startswith("application/json")
    if r.status_code == 400:
        assert r.json()["error"] and _count(app, jane) == before
    else:
        assert _count(app, jane) == before + r.json()["imported"]


@ROUND_TRIP
@given(
    responses=st.lists(
        st.sampled_from(sorted(INSTRUMENTS)).flatmap(
            lambda i: st.tuples(
                st.just(i),
                st.lists(
                    st.integers(INSTRUMENTS[i][1], INSTRUMENTS[i][2]),
                    min_size=INSTRUMENTS[i][0],
                    max_size=INSTRUMENTS[i][0],
                ),
            )  # fmt: skip
        ),
        min_size=1,
        max_size=4,
    )
)
def test_valid_fhir_round_trips(app, caseload, responses):
    _sqlite_only(app)
    http, csrf = signed(app, "t1")
    jane = caseload["ids"]["jane"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _qr(i, a)} for i, a in responses]}
    r = http.post(f"/api/v1/clients/{jane}/fhir", content=json.dumps(bundle), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    ids = r.json()["response_ids"]
    with app.state.clinic.tx() as db:
        stored = []
        for rid in ids:
            resp = db.get(Response, rid)
            items = db.scalars(select(ResponseItem).where(ResponseItem.response_id == rid).order_by(ResponseItem.item))
            stored.append((resp.instrument_id, [int(i.value) for i in items]))
    assert sorted(stored) == sorted((i, list(a)) for i, a in responses)
    # and out again: the export carries the same answers
    out = http.get(f"/api/v1/clients/{jane}/fhir").json()
    exported = {
        e["resource"]["id"]: [int(x["answer"][0]["valueCoding"]["code"]) for x in e["resource"].get("item", [])]
        for e in out["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    assert [exported[f"response-{rid}"] for rid in ids] == [a for _, a in stored]


_session = itertools.count(100)
cells = st.one_of(
    st.none(),
    st.integers(-5, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
    st.sampled_from(["2024-01-01", "C-NOPE99", "attended", "", " ", "1.5", "3.0", "NaN", '"', "\n", ",", "1e9"]),
)
MAPPING = {"client": "code", "session": "nr", "date": "day", "attendance": "att", "therapist_alliance": "all",
           "distance_rating": "dist", **{f"GAD-7:{i}": f"g{i}" for i in range(1, 8)}}  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_csv_import_never_fails_badly(app, caseload, data):
    _sqlite_only(app)
    http, csrf = signed(app, "t1")
    h = {"X-CSRF-Token": csrf}
    code = caseload["codes"]["jane"]
    kind = data.draw(st.sampled_from(["text", "mutated"]))
    if kind == "text":
        content = data.draw(st.text(max_size=300))
    else:
        n = data.draw(st.integers(1, 4))
        rows = [{"code": code, "nr": next(_session), "day": "2024-01-02", "att": "attended", "all": 5, "dist": 4,
                 **{f"g{i}": 1 for i in range(1, 8)}} for _ in range(n)]  # fmt: skip
        for _ in range(data.draw(st.integers(0, 3))):
            row = data.draw(st.integers(0, n - 1))
            rows[row][data.draw(st.sampled_from(sorted(rows[0])))] = data.draw(cells)
        content = pd.DataFrame(rows).to_csv(index=False)
    body = {"filename": "fuzz.csv", "content": content, "mapping": MAPPING}
    p = http.post("/api/v1/imports/csv/preview", json=body, headers=h)
    assert p.status_code in (200, 400), p.text
    before = _count(app, caseload["ids"]["jane"])
    r = http.post("/api/v1/imports/csv", json=body, headers=h)
    assert r.status_code in (201, 400), r.text
    if r.status_code == 201:
        assert p.status_code == 200 and p.json()["rejected"] == [] and r.json()["rows"] == p.json()["accepted"]
        assert _count(app, caseload["ids"]["jane"]) == before + r.json()["responses"]
    else:
        assert _count(app, caseload["ids"]["jane"]) == before
        if p.status_code == 200 and p.json()["rejected"]:
            assert r.json()["rejected"] == p.json()["rejected"]
            assert all(set(x) >= {"file", "row", "column", "value", "expected"} for x in r.json()["rejected"])


@ROUND_TRIP
@given(answers=st.lists(st.lists(st.integers(0, 3), min_size=7, max_size=7), min_size=1, max_size=4))
def test_valid_csv_round_trips(app, caseload, answers):
    _sqlite_only(app)
    http, csrf = signed(app, "t1")
    code = caseload["codes"]["jane"]
    numbers = [next(_session) for _ in answers]
    rows = [{"code": code, "nr": nr, "day": "2023-06-01", "att": "attended", "all": 7, "dist": 3,
             **{f"g{i + 1}": v for i, v in enumerate(a)}} for nr, a in zip(numbers, answers, strict=True)]  # fmt: skip
    body = {"filename": "ok.csv", "content": pd.DataFrame(rows).to_csv(index=False), "mapping": MAPPING}
    r = http.post("/api/v1/imports/csv", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    from sciplab.web.models import TherapySession

    with app.state.clinic.tx() as db:
        got = []
        for nr in numbers:
            sess = db.scalar(select(TherapySession).where(TherapySession.number == nr))
            resp = db.scalar(select(Response).where(Response.session_id == sess.id))
            items = db.scalars(
                select(ResponseItem.value).where(ResponseItem.response_id == resp.id).order_by(ResponseItem.item)
            )
            got.append([int(v) for v in items])
            assert (sess.therapist_alliance, sess.distance_rating, str(sess.date)) == (7, 3, "2023-06-01")
    assert got == answers


def _count(app, client_id: int) -> int:
    from sqlalchemy import func

    with app.state.clinic.tx() as db:
        return int(db.scalar(select(func.count(Response.id)).where(Response.client_id == client_id)) or 0)
