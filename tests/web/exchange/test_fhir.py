"""FHIR R4: Questionnaire from the instrument library (licensed wording only), client export, bundle import."""

from __future__ import annotations

import copy
import hashlib
import json

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from sciplab.instruments import get_instrument
from sciplab.web.exchange import fhir
from sciplab.web.measures import service as measures
from sciplab.web.models import AuditEntry, Score

from .conftest import responses_of, signed


def test_questionnaires_follow_the_licence(app, caseload):
    http, _ = signed(app, "res")  # definitions are not clinical data: any signed-in user
    phq = http.get("/api/v1/fhir/Questionnaire/PHQ-9").json()
    assert phq["resourceType"] == "Questionnaire" and phq["url"] == "urn:sciplab:Questionnaire:PHQ-9"
    inst = get_instrument("PHQ-9")
    assert [i["text"] for i in phq["item"]] == [inst.item_text[n] for n in inst.item_numbers]
    assert phq["item"][0]["answerOption"][1]["valueCoding"] == {
        "system": "urn:sciplab:answers:PHQ-9",
        "code": "1",
        "display": "Several days",
    }
    every = http.get("/api/v1/fhir/Questionnaire").json()
    Bundle.model_validate(every)
    assert len(every["entry"]) == len(measures.scorable())
    unlicensed = [i for i in measures.scorable() if not i.licence.item_text]
    assert {"WAI-SR", "IIP-32"} <= {i.id for i in unlicensed}
    by_id = {e["resource"]["id"]: e["resource"] for e in every["entry"]}
    for inst in unlicensed:
        q = by_id[fhir._fhir_id(inst.id)]
        assert all("text" not in item for item in q["item"]), inst.id
        assert all("display" not in o["valueCoding"] for item in q["item"] for o in item["answerOption"])
        assert "not included" in q["copyright"]
    assert http.get("/api/v1/fhir/Questionnaire/NOPE").status_code == 404


def test_imported_licensed_wording_never_leaves(app, caseload):
    adm, csrf = signed(app, "adm")
    words = {"1": "LICENSED WORDING ONE", "2": "LICENSED WORDING TWO"}
    assert (
        adm.post(
            "/api/v1/instruments/WAI-SR/wording", json={"items": words}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 200
    )
    http, _ = signed(app, "t1")
    assert "LICENSED WORDING" not in http.get("/api/v1/fhir/Questionnaire/WAI-SR").text
    assert "LICENSED WORDING" not in http.get("/api/v1/fhir/Questionnaire").text


def test_client_export_is_valid_and_matches_the_record(app, caseload):
    jane = caseload["ids"]["jane"]
    http, _ = signed(app, "t1")
    r = http.get(f"/api/v1/clients/{jane}/fhir")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    Bundle.model_validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("QuestionnaireResponse") == responses_of(app, jane) == 7
    with app.state.clinic.tx() as db:
        stored = sorted(v for v in db.scalars(select(Score.value).join_from(Score, fhir.Response).where(
            fhir.Response.client_id == jane)) if v is not None)  # fmt: skip
    values = sorted(
        e["resource"]["valueQuantity"]["value"] for e in bundle["entry"] if "valueQuantity" in e["resource"]
    )
    assert values == stored
    assert "Jane" not in r.text and caseload["codes"]["jane"] in r.text
    for user in ("t2", "res", "adm"):
        other, _ = signed(app, user)
        assert other.get(f"/api/v1/clients/{jane}/fhir").status_code == 403, user
    with app.state.clinic.tx() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "fhir.export")).one()
    assert json.loads(entry.detail)["sha256"] == hashlib.sha256(r.content).hexdigest()


def _responses_only(bundle: dict) -> dict:
    out = copy.deepcopy(bundle)
    out["entry"] = [e for e in out["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    for e in out["entry"]:
        e["resource"].pop("subject", None)
    return out


def _new_client(app, user: str = "t1") -> tuple:
    http, csrf = signed(app, user)
    r = http.post("/api/v1/clients", json={"name": "Imported Person"}, headers={"X-CSRF-Token": csrf})
    return http, csrf, r.json()["id"]


def test_round_trip_export_then_import(app, caseload):
    jane = caseload["ids"]["jane"]
    http, csrf, new = _new_client(app)
    bundle = _responses_only(http.get(f"/api/v1/clients/{jane}/fhir").json())
    posted = json.dumps(bundle).encode("utf-8")
    r = http.post(f"/api/v1/clients/{new}/fhir", content=posted, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 7
    again = http.get(f"/api/v1/clients/{new}/fhir").json()
    pick = lambda b: sorted(  # noqa: E731
        (e["resource"]["code"]["coding"][0]["code"], e["resource"].get("valueQuantity", {}).get("value"))
        for e in b["entry"] if e["resource"]["resourceType"] == "Observation"
    )  # fmt: skip
    assert pick(again) == pick(http.get(f"/api/v1/clients/{jane}/fhir").json())
    with app.state.clinic.tx() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "fhir.import")).one()
    assert json.loads(entry.detail)["responses"] == 7
    assert json.loads(entry.detail)["sha256"] == hashlib.sha256(posted).hexdigest()


def _qr(instrument: str = "PHQ-9", answers: dict | None = None, **extra) -> dict:
    answers = answers if answers is not None else {str(i): 1 for i in range(1, 10)}
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"urn:sciplab:Questionnaire:{instrument}",
        "status": "completed",
        "authored": "2024-05-01T10:00:00Z",
        "item": [{"linkId": k, "answer": [{"valueInteger": v}]} for k, v in answers.items()],
        **extra,
    }


def _bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_import_errors_name_entry_item_value_and_expectation(app, caseload):
    http, csrf, new = _new_client(app)
    post = lambda payload: http.post(  # noqa: E731
        f"/api/v1/clients/{new}/fhir", content=payload if isinstance(payload, str) else json.dumps(payload),
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    bad_answer = _qr(answers={**{str(i): 1 for i in range(1, 9)}, "9": 7})
    r = post(_bundle(_qr(), bad_answer))
    assert r.status_code == 400
    msg = r.json()["error"]
    assert "entry 2" in msg and "item 9" in msg and "7" in msg and "0-3" in msg and "nothing was imported" in msg
    assert responses_of(app, new) == 0  # all or nothing: the valid first entry was not stored either
    r = post(_bundle(_qr(), {**_qr(), "questionnaire": "http://loinc.org/q/44249-1-unknown"}))
    assert (
        r.status_code == 400
        and "entry 2" in r.json()["error"]
        and "not an instrument of this clinic" in r.json()["error"]
    )
    r = post(_bundle({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}))
    assert r.status_code == 400 and "resourceType 'Observation'" in r.json()["error"]
    r = post({"resourceType": "Patient"})
    assert r.status_code == 400 and "expected resourceType Bundle" in r.json()["error"]
    r = post("{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = post(_bundle(_qr(answers={"1": 1, "phq-x": 2})))
    assert r.status_code == 400 and "linkId 'phq-x'" in r.json()["error"]
    r = post(_bundle({**_qr(), "item": [{"linkId": "1", "answer": [{"valueInteger": "two"}]}]}))
    assert r.status_code == 400 and "not a valid FHIR R4" in r.json()["error"] and "valueInteger" in r.json()["error"]
    r = post(_bundle({**_qr(), "subject": {"identifier": {"system": fhir.CLIENT_CODE, "value": "C-OTHER1"}}}))
    assert r.status_code == 400 and "C-OTHER1" in r.json()["error"]
    assert responses_of(app, new) == 0
    r = post(_qr(answers={str(i): 3 for i in range(1, 10)}))  # one resource alone is accepted; item 9 raises an alert
    assert r.status_code == 201 and r.json()["alerts"] == 1 and responses_of(app, new) == 1


def test_import_access(app, caseload):
    jane = caseload["ids"]["jane"]
    for user in ("t2", "res", "adm"):
        http, csrf = signed(app, user)
        r = http.post(
            f"/api/v1/clients/{jane}/fhir", content=json.dumps(_bundle(_qr())), headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 403, user
    http, _ = signed(app, "t1")
    assert http.post(f"/api/v1/clients/{jane}/fhir", content=json.dumps(_bundle(_qr()))).status_code == 403  # no CSRF
    assert responses_of(app, jane) == 7
