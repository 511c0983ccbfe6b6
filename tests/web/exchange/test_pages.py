"""The pages of documents and exchange: client page links, CSV import forms, the research export page,
templates without inline script or style, and every route declaring its access."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sciplab.web import policy

from .conftest import responses_of, signed

TEMPLATES = Path(__file__).resolve().parents[3] / "src" / "sciplab" / "web" / "templates" / "exchange"


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, page
    return m.group(1)


def test_client_page_links_to_documents(app, caseload):
    http, _ = signed(app, "t1")
    jane = caseload["ids"]["jane"]
    page = http.get(f"/clients/{jane}").text
    for href in (f"/clients/{jane}/report.pdf", f"/clients/{jane}/report.html?purpose=referral",
                 f"/api/v1/clients/{jane}/fhir", "/imports/csv"):  # fmt: skip
        assert f'href="{href}"' in page
        assert http.get(href).status_code == 200, href


def test_csv_import_through_the_forms(app, caseload):
    http, _ = signed(app, "t1")
    form = http.get("/imports/csv")
    assert form.status_code == 200 and "PHQ-9" in form.text
    csrf = _csrf(form.text)
    code = caseload["codes"]["jane"]
    rows = [{"Code": code, "Nr": 40, "Datum": "2024-04-01", **{f"g{i}": 1 for i in range(1, 8)}},
            {"Code": code, "Nr": 41, "Datum": "2024-04-08", **{f"g{i}": 2 for i in range(1, 8)}}]  # fmt: skip
    mapping = "client = Code\nsession = Nr\ndate = Datum\n" + "".join(f"GAD-7:{i} = g{i}\n" for i in range(1, 8))
    bad = pd.DataFrame([*rows, {**rows[0], "Nr": 42, "g3": 9}]).to_csv(index=False)
    r = http.post(
        "/imports/csv/preview",
        data={"csrf_token": csrf, "mapping": mapping, "save_as": "gad-sheet"},
        files={"file": ("gad.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert "gad.csv" in r.text and "<td>4</td><td>g3</td><td>9</td>" in r.text and "/imports/csv/run" not in r.text
    assert "gad-sheet" in http.get("/imports/csv").text  # the mapping was saved and is offered next time
    good = pd.DataFrame(rows).to_csv(index=False)
    r = http.post(
        "/imports/csv/preview",
        data={"csrf_token": csrf, "mapping_name": "gad-sheet"},
        files={"file": ("gad.csv", good.encode(), "text/csv")},
    )
    assert r.status_code == 200 and "Import 2 sessions" in r.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    content = re.search(r'<textarea name="content" hidden aria-hidden="true">(.*?)</textarea>', r.text, re.S).group(1)
    import html

    before = responses_of(app, caseload["ids"]["jane"])
    r = http.post("/imports/csv/run", data={**{k: html.unescape(v) for k, v in hidden.items()},
                                           "content": html.unescape(content)})  # fmt: skip
    assert r.status_code == 201, r.text
    assert "Imported 2 sessions" in r.text and responses_of(app, caseload["ids"]["jane"]) == before + 2
    # the same form again: the sessions exist now, nothing is written, the rejections are shown
    r = http.post("/imports/csv/run", data={**{k: html.unescape(v) for k, v in hidden.items()},
                                           "content": html.unescape(content)})  # fmt: skip
    assert r.status_code == 400 and "already recorded" in r.text
    assert responses_of(app, caseload["ids"]["jane"]) == before + 2
    r = http.post("/imports/csv/run", data={"csrf_token": csrf, "mapping_json": "{broken", "content": "x"})
    assert r.status_code == 400 and "preview the file again" in r.text
    r = http.post("/imports/csv/preview", data={"csrf_token": "wrong", "mapping": mapping},
                  files={"file": ("gad.csv", good.encode(), "text/csv")})  # fmt: skip
    assert r.status_code == 403
    r = http.post("/imports/csv/preview", data={"csrf_token": csrf, "mapping": "client Code"},
                  files={"file": ("gad.csv", good.encode(), "text/csv")})  # fmt: skip
    assert r.status_code == 400 and "field = column" in r.text
    r = http.post("/imports/csv/preview", data={"csrf_token": csrf, "mapping": mapping},
                  files={"file": ("gad.csv", b"\xff\xfe\x00bad", "text/csv")})  # fmt: skip
    assert r.status_code == 400 and "UTF-8" in r.text


def test_pages_refuse_other_roles(app, caseload):
    res, _ = signed(app, "res")
    assert res.get("/imports/csv").status_code == 403
    assert "/research/exports" in res.get("/research").text
    t1, _ = signed(app, "t1")
    assert t1.get("/research/exports").status_code == 403


def test_templates_have_no_inline_script_style_or_handlers():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "<style" not in text and "style=" not in text, path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name


def test_every_exchange_route_declares_its_access(app):
    from sciplab.web.exchange import routes

    for router in (routes.api, routes.pages):
        for route in router.routes:
            access = (route.openapi_extra or {}).get("x-access")
            assert access in policy.ACTIONS or access in ("public", "link", "signed-in"), route.path
