"""CSV import of historical sessions: saved mapping, preview, every rejection listed, all or nothing."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import func, select

import sciplab
from sciplab.web.models import AppSetting, AuditEntry, Response, Score, TherapySession

from .conftest import responses_of, signed

MAPPING = {
    "client": "Code",
    "session": "Nr",
    "date": "Datum",
    "distance_rating": "Distance",
    **{f"PHQ-9:{i}": f"phq{i}" for i in range(1, 10)},
}


def _csv(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_csv(index=False)


def _row(code: str, nr, datum: str, phq: list | None = None, distance=4) -> dict:
    phq = phq if phq is not None else [1] * 9
    return {
        "Code": code,
        "Nr": nr,
        "Datum": datum,
        "Distance": distance,
        **{f"phq{i + 1}": v for i, v in enumerate(phq)},
    }


def _sessions(app, client_id: int) -> int:
    from sciplab.web.models import Episode

    with app.state.clinic.tx() as db:
        return int(db.scalar(select(func.count(TherapySession.id)).join(Episode).where(Episode.client_id == client_id)))


def test_mapping_saved_preview_then_import(app, caseload):
    http, csrf = signed(app, "t1")
    h = {"X-CSRF-Token": csrf}
    assert "PHQ-9:9" in http.get("/api/v1/imports/csv/fields").json()["items"]["PHQ-9"]
    r = http.put("/api/v1/imports/csv/mappings/old-system", json={"columns": MAPPING}, headers=h)
    assert r.status_code == 200, r.text
    assert http.get("/api/v1/imports/csv/mappings").json()["old-system"]["columns"] == MAPPING
    with app.state.clinic.tx() as db:  # kept in the database (app_settings), not in a file
        assert db.get(AppSetting, "csv_mapping:old-system") is not None
    code = caseload["codes"]["jane"]
    jane = caseload["ids"]["jane"]
    text = _csv([_row(code, 10, "2024-01-08", [2] * 9), _row(code, 11, "2024-01-15", [1] * 8 + [None])])
    body = {"filename": "history.csv", "content": text, "mapping_name": "old-system"}
    before_r, before_s = responses_of(app, jane), _sessions(app, jane)
    p = http.post("/api/v1/imports/csv/preview", json=body, headers=h).json()
    assert p["rows"] == 2 and p["accepted"] == 2 and p["rejected"] == [] and p["responses"] == 2
    assert p["sample"][0] == {"row": 2, "client": code, "session": 10, "date": "2024-01-08", "attendance": "attended",
                              "therapist_alliance": None, "distance_rating": 4, "instruments": ["PHQ-9"]}  # fmt: skip
    assert responses_of(app, jane) == before_r  # preview writes nothing
    r = http.post("/api/v1/imports/csv", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["sessions"] == 2 and r.json()["responses"] == 2
    assert responses_of(app, jane) == before_r + 2 and _sessions(app, jane) == before_s + 2
    with app.state.clinic.tx() as db:
        scores = db.execute(
            select(Score.value, Score.status)
            .join(Response, Response.id == Score.response_id)
            .join(TherapySession, TherapySession.id == Response.session_id)
            .where(TherapySession.number.in_([10, 11]), Response.source == "csv")
            .order_by(TherapySession.number)
        ).all()
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "csv.import")).one()
    # scored by the library: 9 x 2 = 18; the second row misses item 9 -> PHQ-9 needs all 9: not scored
    expected = sciplab.score(pd.DataFrame([[2] * 9, [1] * 8 + [None]], columns=[f"PHQ9_{i}" for i in range(1, 10)]),
                             "PHQ-9").scores["PHQ-9_total"].tolist()  # fmt: skip
    assert [v for v, _ in scores][0] == expected[0] == 18.0
    assert scores[1][0] is None and pd.isna(expected[1]) and scores[1][1] != "complete"
    assert json.loads(entry.detail)["rows"] == 2 and json.loads(entry.detail)["mapping"] == "old-system"
    # importing the same file again: sessions 10 and 11 exist now -> every row rejected, nothing written
    r = http.post("/api/v1/imports/csv", json=body, headers=h)
    assert r.status_code == 400 and len(r.json()["rejected"]) == 2
    assert "already recorded" in r.json()["rejected"][0]["expected"]


def test_every_rejected_row_is_listed_and_nothing_is_half_imported(app, caseload):
    http, csrf = signed(app, "t1")
    h = {"X-CSRF-Token": csrf}
    jane, john = caseload["codes"]["jane"], caseload["codes"]["john"]
    rows = [
        _row(jane, 20, "2024-02-01"),  # fine
        _row(jane, 21, "01.02.2024"),  # date format
        _row(jane, 22, "2024-02-15", [1] * 8 + [5]),  # item 9 out of 0-3
        _row(john, 23, "2024-02-22"),  # another therapist's client
        _row("C-NOPE99", 24, "2024-03-01"),  # unknown client
        _row(jane, 0, "2024-03-08"),  # session number
        _row(jane, 20, "2024-03-15"),  # duplicate in the file
        _row(jane, 25, "2024-03-22", distance=9),  # distance outside 1-7
    ]
    body = {"filename": "bad.csv", "content": _csv(rows), "mapping": MAPPING}
    before = responses_of(app, caseload["ids"]["jane"])
    r = http.post("/api/v1/imports/csv", json=body, headers=h)
    assert r.status_code == 400, r.text
    out = r.json()
    assert "7 of 8 rows rejected; nothing was imported" in out["error"]
    got = {(x["row"], x["column"], x["value"]) for x in out["rejected"]}
    assert got == {
        (3, "Datum", "01.02.2024"),
        (4, "phq9", "5"),
        (5, "Code", john),
        (6, "Code", "C-NOPE99"),
        (7, "Nr", "0"),
        (8, "Nr", "20"),
        (9, "Distance", "9"),
    }
    assert all(x["file"] == "bad.csv" and x["expected"] for x in out["rejected"])
    assert next(x for x in out["rejected"] if x["row"] == 4)["expected"].startswith("an answer to PHQ-9 item 9")
    assert responses_of(app, caseload["ids"]["jane"]) == before  # row 2 was valid but not imported alone
    preview = http.post("/api/v1/imports/csv/preview", json=body, headers=h).json()
    assert preview["accepted"] == 1 and preview["rejected_rows"] == 7


def test_mapping_and_file_errors(app, caseload):
    http, csrf = signed(app, "t1")
    h = {"X-CSRF-Token": csrf}
    put = lambda name, cols: http.put(f"/api/v1/imports/csv/mappings/{name}", json={"columns": cols}, headers=h)  # noqa: E731
    assert "unknown" in put("x", {**MAPPING, "sesion": "Nr"}).json()["error"]
    assert "required" in put("x", {"client": "Code"}).json()["error"]
    assert "PHQ-9 has items 1-9" in put("x", {**MAPPING, "PHQ-9:10": "q"}).json()["error"]
    assert put("bad name!", MAPPING).status_code == 400
    base = {"filename": "f.csv", "content": "Code,Nr\nC-1,1\n", "mapping": MAPPING}
    r = http.post("/api/v1/imports/csv/preview", json=base, headers=h)
    assert r.status_code == 400 and "Datum" in r.json()["error"] and "its columns: Code, Nr" in r.json()["error"]
    r = http.post("/api/v1/imports/csv/preview", json={**base, "mapping": None, "mapping_name": "nope"}, headers=h)
    assert r.status_code == 404 and "no saved mapping 'nope'" in r.json()["error"]
    r = http.post("/api/v1/imports/csv/preview", json={**base, "content": "a,a\n1,2\n"}, headers=h)
    assert r.status_code == 400 and "duplicated column" in r.json()["error"] and "f.csv" in r.json()["error"]
    r = http.post("/api/v1/imports/csv/preview", json={**base, "filename": "f.xlsx"}, headers=h)
    assert r.status_code == 400 and ".csv" in r.json()["error"]
    r = http.post("/api/v1/imports/csv/preview", json={**base, "content": ""}, headers=h)
    assert r.status_code == 400 and "empty" in r.json()["error"]


def test_csv_import_access(app, caseload):
    for user in ("res", "adm"):
        http, csrf = signed(app, user)
        h = {"X-CSRF-Token": csrf}
        assert http.get("/api/v1/imports/csv/mappings").status_code == 403
        assert http.put("/api/v1/imports/csv/mappings/x", json={"columns": MAPPING}, headers=h).status_code == 403
        body = {"filename": "f.csv", "content": _csv([_row(caseload["codes"]["jane"], 30, "2024-01-01")]),
                "mapping": MAPPING}  # fmt: skip
        assert http.post("/api/v1/imports/csv", json=body, headers=h).status_code == 403
    sup, csrf = signed(app, "sup")  # t1's supervisor may import for t1's client
    body = {
        "filename": "f.csv",
        "content": _csv([_row(caseload["codes"]["jane"], 30, "2024-01-01")]),
        "mapping": MAPPING,
    }
    assert sup.post("/api/v1/imports/csv", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
