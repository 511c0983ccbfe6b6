"""The de-identified research export: construction (pseudonyms, shifted dates, suppression), formats, roles, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from sciplab._core.io import read_data
from sciplab.web.exchange import research
from sciplab.web.models import AuditEntry, Client
from sciplab.web.policy import Actor

from .conftest import NOTE, SECRET_WORDS, START, signed


def _unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _data(files: dict[str, bytes], fmt: str) -> pd.DataFrame:
    name = f"scores{research.FORMATS[fmt]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(files[name])
        return read_data(path)


@pytest.mark.parametrize("fmt", ["csv", "sav", "parquet"])
def test_no_identifier_in_any_format(app, caseload, fmt):
    http, _ = signed(app, "res")
    r = http.get(f"/api/v1/research/export?format={fmt}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-export-sha256"] == hashlib.sha256(r.content).hexdigest()
    files = _unzip(r.content)
    assert set(files) == {f"scores{research.FORMATS[fmt]}", "codebook.csv", "codebook.md"}
    codes = list(caseload["codes"].values())
    words = [w for w in SECRET_WORDS if not w.isdigit()]  # a birth year could match hex digits of a pseudonym
    for name, blob in files.items():
        for word in (*words, *codes, NOTE, "Roe family"):
            for enc in ("utf-8", "utf-16-le"):
                assert word.encode(enc) not in blob, (fmt, name, word)
    frame = _data(files, fmt)
    assert list(frame.columns) == list(research.COLUMNS)
    assert len(frame) == int(r.headers["x-export-rows"]) > 0
    assert frame["pid"].nunique() == 2 and frame["pid"].str.match(r"^R-[0-9a-f]{12}$").all()
    # Jane's CORE-10 rows (24, 18, 9 at sessions 1-3, a week apart): every date moved, intervals exact
    core = frame[(frame["instrument"] == "CORE-10") & frame["score"].isin([24, 18, 9])].sort_values("session")
    dates = [pd.Timestamp(d).date() for d in core["date"]]
    assert len(dates) == 3 and all(d != START + dt.timedelta(weeks=k + 1) for k, d in enumerate(dates))
    assert [(b - a).days for a, b in zip(dates, dates[1:], strict=False)] == [7, 7]
    assert "birth_year" not in frame.columns and not frame["age_band"].astype(str).str.contains("19").any()
    if fmt == "sav":  # variable and value labels reach SPSS
        assert frame.attrs["value_labels"]["gender"] == {1.0: "female", 2.0: "male", 3.0: "other or not stated"}
        assert frame.attrs["column_labels"]["pid"].startswith("Pseudonymous client id")
    book = pd.read_csv(io.BytesIO(files["codebook.csv"]))
    assert set(research.COLUMNS) <= set(book["name"]) and {"CORE-10", "PHQ-9"} <= set(book["name"])
    assert "Barkham" in " ".join(book["source"].fillna(""))


def test_construction_pseudonyms_shifts_and_suppression(app, caseload):
    jane, john = caseload["ids"]["jane"], caseload["ids"]["john"]
    secret = b"k" * 32
    offsets = {jane: 40, john: -9}
    actor = Actor(caseload["ids"]["res"], "res", "researcher")
    with app.state.clinic.tx() as db:
        frame, suppressed = research.deidentified_frame(db, secret=secret, offsets=offsets, min_cell=5)
        small, _ = research.deidentified_frame(db, secret=secret, offsets=offsets, min_cell=2)
        out = research.export(db, actor, "csv", secret=secret, offsets=offsets)
    pid = research.pseudonym(secret, jane)
    assert pid != research.pseudonym(b"x" * 32, jane)  # keyed: another export's key gives another id
    mine = frame[frame["pid"] == pid].sort_values("date")
    # Jane's first session (START + 1 week) moves by exactly 40 days; intervals stay
    core = mine[mine["instrument"] == "CORE-10"]
    assert [d.date() for d in core["date"]] == [START + dt.timedelta(weeks=k + 1, days=40) for k in range(3)]
    assert core["days"].tolist() == [0, 7, 14] and core["session"].tolist() == [1, 2, 3]
    assert core["score"].tolist() == [24.0, 18.0, 9.0]
    # two clients: each is alone in a gender x age cell under 5 -> both blanked; at min_cell 2 still alone
    assert suppressed == 2 and frame["gender"].isna().all() and (frame["age_band"] == "").all()
    assert small["gender"].isna().all()
    assert out.rows == len(frame) and out.clients == 2 and out.suppressed == 2
    # the secret is nowhere in the file
    assert secret not in out.content and secret.hex().encode() not in out.content


def test_quasi_identifiers_kept_in_cells_of_five(app, caseload):
    t1 = caseload["t1"]
    from sciplab.web.clients import service as clients
    from sciplab.web.measures import service as measures

    with app.state.clinic.tx() as db:
        for k in range(5):
            c = clients.create_client(db, t1, name=f"P{k}", gender="female", birth_year=dt.date.today().year - 45)
            measures.manual_entry(db, t1, c.id, "PHQ-9", {str(i): 1 for i in range(1, 10)})
        frame, suppressed = research.deidentified_frame(db, secret=b"s" * 32)
    kept = frame[frame["gender"].notna()]
    assert kept["pid"].nunique() == 5 and set(kept["gender"]) == {1} and set(kept["age_band"]) == {"40-49"}
    assert suppressed == 2


def test_export_roles_and_audit(app, caseload):
    for user in ("t1", "sup", "adm"):
        http, _ = signed(app, user)
        assert http.get("/api/v1/research/export").status_code == 403, user
    http, _ = signed(app, "res")
    assert http.get("/api/v1/research/export?format=xlsx").status_code == 400
    assert http.get("/api/v1/research/export?format=csv&min_cell=4").status_code == 400  # never weaker than 5
    assert http.get("/api/v1/research/export?format=csv&min_cell=6").status_code == 200
    r = http.get("/research/export?format=parquet")
    assert r.status_code == 200
    page = http.get("/research/exports")
    assert page.status_code == 200 and "format=sav" in page.text
    with app.state.clinic.tx() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "research.export")).all()
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    detail = json.loads(entries[-1].detail)
    assert entries[-1].username == "res" and detail["format"] == "parquet"
    assert detail["sha256"] == hashlib.sha256(r.content).hexdigest() and detail["rows"] == int(
        r.headers["x-export-rows"]
    )
    assert len(denied) >= 3


def test_export_query_never_touches_identities(app, caseload):
    statements: list[str] = []
    from sqlalchemy import event

    engine = app.state.clinic.engine

    def grab(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with app.state.clinic.tx() as db:
            research.export(db, Actor(caseload["ids"]["res"], "res", "researcher"), "csv")
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert statements and not any("client_identities" in s or "note" in s.lower() for s in statements)
    with app.state.clinic.tx() as db:
        assert db.scalar(select(Client.code).limit(1))
