"""Accessibility of every page: axe-core (the copy bundled by the axe-playwright-python test dependency,
MPL-2.0) run in Debian's Chromium on each page of the clinic, desktop and phone; zero serious or critical
violations. The same visits check that the Content-Security-Policy blocks nothing the pages need (no
"Refused to ..." console message: no inline script or style anywhere). The pages include the SCIP views
(client page with charts, formulation review, supervision, clinic report), the research export page and the
CSV import form and a preview listing a rejected cell; each page must load (no HTTP error) unless it is one
of the error pages under check.

Skips with the reason when playwright, axe-playwright-python or /usr/bin/chromium is absent.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from sciplab.web.auth.service import token_hash
from sciplab.web.clinic import COOKIE
from sciplab.web.models import AuthSession, User

from .conftest import add_user, launch_chromium, new_client, new_link
from .test_browser import live, playwright_api  # noqa: F401 - the live fixture
from .test_views import ECRS_PREOCCUPIED, answer, build

axe_api = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed")

SERIOUS = {"serious", "critical"}
#: (path, user) of the error pages under check: a bad setup token, a forged link, no such page, a refusal
REFUSED = {("/setup?token=x", None), ("/q/1.forged.token", None), ("/no/such/page", None), ("/admin/users", "t1")}


def _session(app: Any, username: str, stage: str = "full") -> str:
    token = secrets.token_urlsafe(32)
    with app.state.clinic.tx() as db:
        from sqlalchemy import select

        uid = db.scalar(select(User.id).where(User.username == username))
        db.add(AuthSession(id=token_hash(token), user_id=uid, csrf_token=secrets.token_urlsafe(16), stage=stage))
    return token


def test_every_page_has_no_serious_accessibility_violation(live):  # noqa: F811 - the imported fixture
    base, app = live
    add_user(app, "boss", "admin")
    add_user(app, "sup", "supervisor")
    add_user(app, "t1", supervisor="sup")
    add_user(app, "newbie")
    add_user(app, "res", "researcher")
    # data through the API as t1 (two factors are required on this server: a full session is made directly)
    from fastapi.testclient import TestClient

    api = TestClient(app, follow_redirects=False)
    api.cookies.set(COOKIE, _session(app, "t1"))
    csrf = api.get("/api/v1/me").json()["csrf_token"]
    cid = new_client(api, csrf, "Robin Example")
    done = new_link(api, csrf, cid)
    answers = {str(i): 1 for i in range(1, 9)} | {"9": 2}
    assert api.post(f"/api/v1/questionnaires/{done}", json={"answers": answers}).status_code == 200
    fresh = new_link(api, csrf, cid)
    saved = new_link(api, csrf, cid, "GAD-7")
    # a client with the SCIP views: CORE-10 over sessions, distance ratings, attachment (a formulation)
    scip = build(api, csrf, "Sky Views", core=[20, 22, 25, 28, 31, 34], distance=[4, 4, 4, 6, 5], therapist=[7] * 5)
    answer(api, csrf, scip, "ECR-S", ECRS_PREOCCUPIED)
    pages: list[tuple[str, str | None, str]] = [  # (path, user, viewport)
        ("/login", None, "desktop"),
        ("/setup?token=x", None, "desktop"),
        ("/account/2fa", "newbie:enroll", "desktop"),
        ("/dashboard", "t1", "desktop"),
        ("/dashboard", "t1", "phone"),
        ("/clients/new", "t1", "desktop"),
        (f"/clients/{cid}", "t1", "desktop"),
        (f"/clients/{cid}", "t1", "phone"),
        (f"/clients/{cid}/manual?instrument=PHQ-9", "t1", "desktop"),
        (f"/q/{fresh}", None, "phone"),
        (f"/q/{fresh}", None, "desktop"),
        (f"/q/{done}", None, "phone"),  # thanks page (already submitted)
        ("/q/1.forged.token", None, "phone"),  # link error page
        ("/admin/users", "boss", "desktop"),
        ("/admin/audit", "boss", "desktop"),
        ("/research", "res", "desktop"),
        ("/research/exports", "res", "desktop"),
        ("/reports/clinic", "res", "desktop"),
        ("/supervision", "sup", "desktop"),
        (f"/clients/{scip}", "t1", "desktop"),
        (f"/clients/{scip}", "t1", "phone"),
        (f"/clients/{scip}/formulation", "t1", "desktop"),
        (f"/clients/{scip}/formulation", "t1", "phone"),
        ("/imports/csv", "t1", "desktop"),
        ("/no/such/page", None, "desktop"),
        ("/admin/users", "t1", "desktop"),  # refusal page
    ]
    problems: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            axe = axe_api.Axe()
            # the checker itself finds a serious violation (an image without text, an unlabelled field)
            probe = browser.new_page()
            probe.set_content('<html lang="en"><title>t</title><main><img src="a.png"><input></main></html>')
            found = {v["id"] for v in axe.run(probe).response["violations"] if v["impact"] in SERIOUS}
            assert {"image-alt", "label"} <= found, found
            probe.close()
            extra = [(f"/q/{saved}", None, "save"), ("/imports/csv", "t1", "csv-errors")]
            for path, user, viewport in [*pages, *extra]:
                small = viewport in ("phone", "save")
                size = {"width": 390, "height": 844} if small else {"width": 1280, "height": 900}
                context = browser.new_context(viewport=size, is_mobile=small)
                if user:
                    name, _, stage = user.partition(":")
                    context.add_cookies([{"name": COOKIE, "value": _session(app, name, stage or "full"), "url": base}])
                page = context.new_page()
                refused: list[str] = []
                page.on("console", lambda m, r=refused: r.append(m.text) if "Refused to" in m.text else None)
                status = page.goto(base + path).status
                if status >= 400 and (path, user) not in REFUSED:
                    problems.append(f"{path} as {user}: HTTP {status}, not the page to check")
                if viewport == "save":  # the saved-answers page of save-and-resume
                    page.get_by_role("button", name="Save and continue later").click()
                    playwright_api.expect(page.get_by_role("heading", name="Answers saved")).to_be_visible()
                if path == f"/clients/{scip}":  # the SCIP views are on the page: charts with their text
                    assert page.locator("svg[role=img]").count() >= 4, path
                if viewport == "csv-errors":  # the preview of a file with a rejected cell
                    csv = b"Code,Nr,Datum,g1\nC-404,1,2024-04-01,9\n"
                    page.get_by_label("CSV file").set_input_files(
                        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": csv}]
                    )
                    page.get_by_label("Mapping (field = column per line)", exact=True).fill(
                        "client = Code\nsession = Nr\ndate = Datum\nGAD-7:1 = g1"
                    )
                    page.get_by_role("button", name="Preview").click()
                    playwright_api.expect(page.get_by_role("heading", name="Preview of bad.csv")).to_be_visible()
                    playwright_api.expect(page.locator("#rej-h")).to_be_visible()
                results = axe.run(page)
                for v in results.response["violations"]:
                    if v["impact"] in SERIOUS:
                        targets = [n["target"] for n in v["nodes"]][:3]
                        problems.append(f"{path} ({viewport}): {v['impact']} {v['id']}: {v['help']} at {targets}")
                problems += [f"{path}: CSP {text}" for text in refused]
                context.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
