"""Browser tests of the clinician views (Playwright driving Debian's Chromium): the caseload by attention,
the client page with its charts and data tables, acknowledging a flag, the formulation review, the
supervisor's view and the clinic report -- with JavaScript switched off, as the views need none.

Skips with the reason when the ``playwright`` package or ``/usr/bin/chromium`` is absent (``.ci/run``
installs Chromium with apt-get; never ``playwright install``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import CHROMIUM, PASSWORD, launch_chromium, staffed_clinic
from .test_views import ECRS_PREOCCUPIED, UNREPAIRED, answer, build

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect
if not shutil.which(CHROMIUM):
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def _clients(http: Any, csrf: str) -> dict[str, int]:
    ids = {
        "worse": build(http, csrf, "Worse Client", core=[20, 22, 25, 28, 31, 34], distance=[4, 4, 4, 6, 5]),
        "better": build(http, csrf, "Better Client", core=[20, 16, 13, 11, 9, 8]),
        "rupture": build(http, csrf, "Rupture Client", alliance=UNREPAIRED, therapist=[8] * 9),
    }
    answer(http, csrf, ids["worse"], "ECR-S", ECRS_PREOCCUPIED)
    assert http.post(f"/api/v1/clients/{ids['better']}/episode/end", headers={"X-CSRF-Token": csrf}).status_code == 200
    return ids


@pytest.fixture(scope="module")
def live(tmp_path_factory: Any) -> Iterator[tuple[str, dict[str, int]]]:
    """A clinic with a supervisor, a therapist, a researcher and hand-made clients, served on a free port."""
    with staffed_clinic(tmp_path_factory.mktemp("views"), _clients) as (base, _, ids):
        yield base, ids


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, base: str, username: str) -> Any:
    """A signed-in page with JavaScript off (the views are server-rendered)."""
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard")
    return page


def test_caseload_sorted_by_attention(live, browser):
    base, ids = live
    page = _page(browser, base, "t1")
    rows = page.locator("table.caseload tbody tr")
    expect(rows).to_have_count(3)
    first = rows.nth(0).inner_text()
    assert "Worse Client" in first and "not on track: red" in first
    assert "Rupture Client" in rows.nth(1).inner_text() and "1 unrepaired" in rows.nth(1).inner_text()
    assert "episode ended" in rows.nth(2).inner_text()
    page.context.close()


def test_client_page_charts_tables_and_acknowledgement(live, browser):
    base, ids = live
    page = _page(browser, base, "t1")
    page.goto(f"{base}/clients/{ids['worse']}")
    main = page.locator("main")
    expect(main.get_by_text("not on track: red").first).to_be_visible()
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 4
    for i in range(charts.count()):
        label = charts.nth(i).get_attribute("aria-labelledby").split()
        assert page.locator(f"#{label[0]}").text_content() and page.locator(f"#{label[1]}").text_content()
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100  # drawn, with the CSS from static/
    table = page.locator("details", has_text="Data behind the chart").first
    table.locator("summary").click()
    expect(table.locator("table")).to_be_visible()
    assert "34" in table.locator("table").inner_text()
    form = page.locator("form.ack", has=page.locator("input[value=not_on_track]"))
    form.get_by_label("What was done").fill("Reviewed the plan with the client")
    form.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Reviewed the plan with the client")).to_be_visible()
    assert "preoccupied" in main.inner_text() and "growing autonomy" in main.inner_text()
    page.context.close()


def test_formulation_review_in_the_browser(live, browser):
    base, ids = live
    page = _page(browser, base, "t1")
    page.goto(f"{base}/clients/{ids['worse']}/formulation")
    card = page.locator("article#s-hyperactivating-engage")
    expect(card).to_contain_text("not reviewed")
    card.get_by_role("button", name="Accept").click()
    expect(page.locator("article#s-hyperactivating-engage")).to_contain_text("accepted by t1")
    card = page.locator("article#s-hyperactivating-correct")
    card.get_by_label("Edited wording (for Edit)").fill("Step back a little each session")
    card.get_by_role("button", name="Edit").click()
    expect(page.locator("article#s-hyperactivating-correct")).to_contain_text("Step back a little each session")
    page.context.close()


def test_supervision_and_clinic_report(live, browser):
    base, _ = live
    page = _page(browser, base, "sup")
    page.get_by_role("link", name="Supervision").first.click()
    expect(page.get_by_role("heading", name="Supervision", exact=True)).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("rowheader", name="t1")).first
    assert "<5" in row.inner_text()
    page.context.close()
    res = _page(browser, base, "res")
    res.get_by_role("link", name="Clinic report").first.click()
    expect(res.get_by_role("heading", name="Clinic outcome report")).to_be_visible()
    assert "CORE-10_total" in res.locator("main").inner_text() and "suppressed" in res.locator("main").inner_text()
    res.context.close()
