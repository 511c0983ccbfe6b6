"""Main flows end to end in Debian's Chromium (Playwright), beyond tests/web/test_browser.py: sign-in with a
two-factor code after enrolment, lockout after repeated failures, a client filling a questionnaire on a
phone with save-and-resume, then the therapist acknowledging the risk alert it raised; formulation review
(accept, edit, reject, kept after a reload and in the audit log); the researcher's de-identified export;
a CSV import through the pages (a rejected row shown with its reason, nothing written, then fixed and
imported); the client report downloaded as HTML and PDF.

The later flows share one clinic and one browser per module (module-scoped fixtures). Skips with the
reason when playwright or /usr/bin/chromium is absent.
"""

from __future__ import annotations

import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sciplab.web.auth import totp
from sciplab.web.auth.service import token_hash
from sciplab.web.clinic import COOKIE
from sciplab.web.models import AuditEntry, AuthSession, Client, FormulationReview, Response, User

from .conftest import add_user, launch_chromium, staffed_clinic
from .test_browser import PASSWORD, live, playwright_api  # noqa: F401 - the live fixture
from .test_views import ECRS_PREOCCUPIED, answer, build

expect = playwright_api.expect


def _launch(p: Any) -> Any:
    return launch_chromium(p)


def _sign_in(page: Any, base: str, username: str, password: str, code: str = "") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    if code:
        page.get_by_label("Authenticator code (if two-factor sign-in is set up)").fill(code)
    page.get_by_role("button", name="Sign in").click()


def test_two_factor_login_and_lockout(live):  # noqa: F811 - the imported fixture
    base, app = live
    add_user(app, "t1")
    add_user(app, "t2")
    with playwright_api.sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page()
            # enrol the second factor at the first sign-in
            _sign_in(page, base, "t1", PASSWORD)
            page.wait_for_url(f"{base}/account/2fa")
            secret = page.get_by_label("Key", exact=True).input_value()
            page.get_by_label("Code", exact=True).fill(totp.code(secret))
            page.get_by_role("button", name="Turn on two-factor sign-in").click()
            page.wait_for_url(f"{base}/dashboard")
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{base}/login")
            # the password alone no longer signs in; with the next code it does
            _sign_in(page, base, "t1", PASSWORD)
            expect(page.get_by_role("alert")).to_contain_text("wrong username, password or code")
            with app.state.clinic.tx() as db:  # the enrolment code was used: the next time step's code
                step = db.scalar(select(User.totp_last_step).where(User.username == "t1"))
            _sign_in(page, base, "t1", PASSWORD, totp.code(secret, at=(step + 1) * 30))
            page.wait_for_url(f"{base}/dashboard")
            expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
            # lockout: five wrong passwords lock the account, even the right one is refused then
            other = browser.new_page()
            for _ in range(5):
                _sign_in(other, base, "t2", "not the password at all")
                expect(other.get_by_role("alert")).to_be_visible()
            _sign_in(other, base, "t2", PASSWORD)
            expect(other.get_by_role("alert")).to_contain_text("locked after 5 failed logins")
            assert other.url.startswith(f"{base}/login")
        finally:
            browser.close()


def _session_cookie(app: Any, base: str, username: str) -> dict[str, str]:
    token = secrets.token_urlsafe(32)
    with app.state.clinic.tx() as db:
        uid = db.scalar(select(User.id).where(User.username == username))
        db.add(AuthSession(id=token_hash(token), user_id=uid, csrf_token=secrets.token_urlsafe(16), stage="full"))
    return {"name": COOKIE, "value": token, "url": base}


def test_phone_save_resume_submit_then_alert_acknowledged(live):  # noqa: F811 - the imported fixture
    base, app = live
    add_user(app, "t1")
    with playwright_api.sync_playwright() as p:
        browser = _launch(p)
        try:
            staff_ctx = browser.new_context()
            staff_ctx.add_cookies([_session_cookie(app, base, "t1")])
            staff = staff_ctx.new_page()
            staff.goto(f"{base}/clients/new")
            staff.get_by_label("Name", exact=True).fill("Sam Phone")
            staff.get_by_role("button", name="Create client").click()
            staff.wait_for_url(f"{base}/clients/*")
            client_url = staff.url
            staff.get_by_label("Instrument").first.select_option("PHQ-9")
            staff.get_by_role("button", name="Create").click()
            link = staff.get_by_role("textbox", name="Questionnaire link").input_value()
            # the client, on a phone: five answers, save, come back later, finish
            phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
            q = phone.new_page()
            q.goto(link)
            assert q.evaluate("document.documentElement.scrollWidth") <= 360
            for item in range(1, 6):
                q.locator(f"input[name=item_{item}][value='1']").check()
            q.get_by_role("button", name="Save and continue later").click()
            expect(q.get_by_role("heading", name="Answers saved")).to_be_visible()
            q.close()
            q = phone.new_page()
            q.goto(link)
            for item in range(1, 6):
                expect(q.locator(f"input[name=item_{item}][value='1']")).to_be_checked()
            for item in range(6, 10):
                q.locator(f"input[name=item_{item}][value='{3 if item == 9 else 0}']").check()
            q.get_by_role("button", name="Submit answers").click()
            expect(q.get_by_text("Your answers were received")).to_be_visible()
            q.goto(link)  # the link is spent: a thank-you, no form
            expect(q.get_by_role("button", name="Submit answers")).to_have_count(0)
            phone.close()
            # the therapist: the alert first on the dashboard, acknowledged on the client's page
            staff.goto(f"{base}/dashboard")
            expect(staff.locator("section.alerts")).to_contain_text("Risk alerts (1)")
            staff.goto(client_url)
            expect(staff.locator("main")).to_contain_text("total 8.0")
            staff.get_by_role("button", name="Acknowledge").click()
            staff.wait_for_url(client_url)
            expect(staff.get_by_role("button", name="Acknowledge")).to_have_count(0)
            staff.goto(f"{base}/dashboard")
            expect(staff.locator("main")).not_to_contain_text("Risk alerts (1)")
        finally:
            browser.close()


# -- formulation, exports, CSV import, reports: one clinic and one browser for the module ----------------------


def _clients(http: Any, csrf: str) -> dict[str, int]:
    ids = {
        "formulated": build(http, csrf, "Fiona Formulated", core=[20, 22, 25, 28, 31, 34], distance=[4, 4, 4, 6, 5]),
        "imported": build(http, csrf, "Ivan Imported"),
    }
    answer(http, csrf, ids["formulated"], "ECR-S", ECRS_PREOCCUPIED)
    return ids


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> Iterator[tuple[str, Any, dict[str, int]]]:
    """A clinic (one-factor sign-in) with a therapist, a supervisor, a researcher and two clients, on a free port."""
    with staffed_clinic(tmp_path_factory.mktemp("flows"), _clients) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = _launch(p)
        try:
            yield b
        finally:
            b.close()


def _signed_page(browser: Any, app: Any, base: str, username: str) -> Any:
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 900})
    ctx.add_cookies([_session_cookie(app, base, username)])
    return ctx.new_page()


def test_formulation_accept_edit_reject_persist_and_audited(served, browser):
    base, app, ids = served
    cid = ids["formulated"]
    page = _signed_page(browser, app, base, "t1")
    page.goto(f"{base}/clients/{cid}")
    page.get_by_role("link", name="Formulation and relationship plan").click()
    page.wait_for_url(f"{base}/clients/{cid}/formulation")
    cards = page.locator("article.statement")
    assert cards.count() >= 3
    first, second, third = (cards.nth(i).get_attribute("id") for i in range(3))
    page.locator(f"article#{first}").get_by_role("button", name="Accept").click()
    expect(page.locator(f"article#{first}")).to_contain_text("accepted by t1")
    card = page.locator(f"article#{second}")
    card.get_by_label("Edited wording (for Edit)").fill("Slow down together when the client reaches out")
    card.get_by_role("button", name="Edit").click()
    expect(page.locator(f"article#{second}")).to_contain_text("edited by t1")
    page.locator(f"article#{third}").get_by_role("button", name="Reject").click()
    expect(page.locator(f"article#{third}")).to_contain_text("rejected by t1")
    page.reload()  # the decisions are kept with the record, not in the page
    expect(page.locator(f"article#{first} .decision")).to_contain_text("accepted by t1")
    expect(page.locator(f"article#{second}")).to_contain_text("Slow down together when the client reaches out")
    expect(page.locator(f"article#{second} .decision")).to_contain_text("edited by t1")
    expect(page.locator(f"article#{third} .decision")).to_contain_text("rejected by t1")
    expect(page.locator(f"article#{third} del")).to_have_count(1)
    for other in range(3, cards.count()):
        expect(cards.nth(other).locator(".decision")).to_have_text("not reviewed")
    with app.state.clinic.tx() as db:
        reviews = db.scalars(select(FormulationReview)).all()
        audited = db.scalars(select(AuditEntry).where(AuditEntry.action == "formulation.review")).all()
    assert sorted(r.decision for r in reviews) == ["accepted", "edited", "rejected"]
    assert len(audited) == 3 and {a.record_id for a in audited} == {str(cid)}
    assert {a.username for a in audited} == {"t1"}
    page.context.close()


def test_research_export_zip_from_the_page(served, browser):
    base, app, _ = served
    page = _signed_page(browser, app, base, "res")
    page.goto(f"{base}/research")
    page.get_by_role("link", name="De-identified export with codebook").click()
    page.wait_for_url(f"{base}/research/exports")
    expect(page.get_by_role("heading", name="De-identified research export")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.path()) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    assert {"scores.csv", "codebook.csv", "codebook.md"} <= set(files)
    rows = files["scores.csv"].decode().splitlines()
    assert len(rows) > 5 and "pid" in rows[0]
    with app.state.clinic.tx() as db:
        codes = list(db.scalars(select(Client.code)))
        exported = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.username == "res"))
    blob = b"\n".join(files.values()).decode()
    for secret in ["Fiona", "Formulated", "Ivan", "Imported", *codes]:
        assert secret not in blob, secret
    assert exported >= 1
    page.context.close()


def test_csv_import_through_the_pages(served, browser):
    base, app, ids = served
    cid = ids["imported"]
    with app.state.clinic.tx() as db:
        code = db.scalar(select(Client.code).where(Client.id == cid))

    def responses() -> int:
        with app.state.clinic.tx() as db:
            return db.scalar(select(func.count()).select_from(Response).where(Response.client_id == cid)) or 0

    header = "Code,Nr,Datum," + ",".join(f"g{i}" for i in range(1, 8))
    good = [f"{code},1,2024-04-01," + ",".join(["1"] * 7), f"{code},2,2024-04-08," + ",".join(["2"] * 7)]
    bad = [good[0], good[1].replace(",2,2,2,2,2,2,2", ",2,2,9,2,2,2,2")]  # item 3 of row 3 out of range
    mapping = "client = Code\nsession = Nr\ndate = Datum\n" + "".join(f"GAD-7:{i} = g{i}\n" for i in range(1, 8))
    page = _signed_page(browser, app, base, "t1")
    page.goto(f"{base}/clients/{cid}")
    page.get_by_role("link", name="CSV import").click()
    page.wait_for_url(f"{base}/imports/csv")
    before = responses()

    def upload(lines: list[str], **form: str) -> None:
        page.goto(f"{base}/imports/csv")
        data = "\n".join([header, *lines]).encode()
        chosen = {"name": "old.csv", "mimeType": "text/csv", "buffer": data}
        page.get_by_label("CSV file").set_input_files(files=[chosen])
        for label, value in form.items():
            field = page.get_by_label(label, exact=True)
            field.select_option(value) if label == "Saved mapping" else field.fill(value)
        page.get_by_role("button", name="Preview").click()
        page.wait_for_url(f"{base}/imports/csv/preview")

    upload(bad, **{"Mapping (field = column per line)": mapping, "Save this mapping as": "old-system"})
    expect(page.get_by_role("heading", name="Preview of old.csv")).to_be_visible()
    rejected = page.locator("section", has=page.get_by_role("heading", name="Rejected (1 cells)"))
    cells = rejected.locator("tbody tr").first.locator("td")
    expect(cells.nth(1)).to_have_text("3")  # file row 3 (the header is row 1)
    assert [cells.nth(i).inner_text() for i in (0, 2, 3)] == ["old.csv", "g3", "9"]
    assert "3" in cells.nth(4).inner_text()  # what was expected: a GAD-7 answer 0-3
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert responses() == before  # the preview writes nothing, not even the good row
    upload(good, **{"Saved mapping": "old-system"})  # the corrected file, with the mapping saved last time
    expect(page.locator("main")).to_contain_text("2 rows: 2 accepted, 0 rejected")
    page.get_by_role("button", name="Import 2 sessions").click()
    expect(page.get_by_role("heading", name="Imported 2 sessions")).to_be_visible()
    assert responses() == before + 2
    page.context.close()


def test_client_report_downloads_html_and_pdf(served, browser):
    base, app, ids = served
    page = _signed_page(browser, app, base, "t1")
    page.goto(f"{base}/clients/{ids['formulated']}")
    docs = page.locator("section", has=page.get_by_role("heading", name="Documents"))
    got = {}
    for name in ("HTML", "PDF"):
        with page.expect_download() as info:
            docs.get_by_role("link", name=name, exact=True).first.click()
        got[name] = (info.value.suggested_filename, Path(info.value.path()).read_bytes())
    assert got["PDF"][0].endswith(".pdf") and got["PDF"][1].startswith(b"%PDF")
    assert got["HTML"][0].endswith(".html") and b"CORE-10" in got["HTML"][1]
    with app.state.clinic.tx() as db:
        code = db.scalar(select(Client.code).where(Client.id == ids["formulated"]))
    assert code.encode() in got["HTML"][1]
    page.context.close()
