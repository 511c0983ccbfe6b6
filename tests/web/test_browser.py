"""Browser test (Playwright driving Debian's Chromium): first-run admin, sign-in with two factors, a new
client, a questionnaire link filled in on a phone-sized screen, the score and the risk alert.

Skips with the reason when the ``playwright`` package or ``/usr/bin/chromium`` is absent (``.ci/run``
installs Chromium with apt-get; never ``playwright install``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from sciplab.web import migrate
from sciplab.web.app import create_app
from sciplab.web.auth import totp

from .conftest import CHROMIUM, launch_chromium, serve_on_loopback, settings_for

PASSWORD = "correct horse battery"

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_api.expect  # waits for the page to settle (a click that navigates returns before it loads)
if not shutil.which(CHROMIUM):
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def live(tmp_path: Any) -> Iterator[tuple[str, Any]]:
    """The clinic on a fresh SQLite database with two factors required, served on a free port."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    migrate.upgrade(url)
    app = create_app(settings_for(url, require_2fa=True))
    try:
        with serve_on_loopback(app) as base:
            yield base, app
    finally:
        app.state.clinic.engine.dispose()


def _sign_in_and_enrol(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/account/2fa")
    secret = page.get_by_label("Key", exact=True).input_value()
    page.get_by_label("Code", exact=True).fill(totp.code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_url(f"{base}/dashboard")


def test_first_run_to_risk_alert(live):
    base, app = live
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            staff = browser.new_page()
            # first run: the setup token makes the first admin
            staff.goto(f"{base}/setup?token={app.state.clinic.setup_token}")
            staff.get_by_label("Username", exact=True).fill("boss")
            staff.get_by_label("Password (at least 8 characters; a passphrase is best)").fill(PASSWORD)
            staff.get_by_label("Password again").fill(PASSWORD)
            staff.get_by_role("button", name="Create administrator").click()
            staff.wait_for_url(f"{base}/login?created=1")
            # sign-in with two factors; the admin creates a therapist
            _sign_in_and_enrol(staff, base, "boss")
            staff.goto(f"{base}/admin/users")
            staff.get_by_label("Username", exact=True).fill("t1")
            staff.get_by_label("Role", exact=True).select_option("therapist")
            staff.get_by_label("Initial password (at least 8 characters)").fill(PASSWORD)
            staff.get_by_role("button", name="Create user").click()
            expect(staff.locator("td", has_text="t1")).to_have_count(1)
            staff.get_by_role("button", name="Sign out").click()
            staff.wait_for_url(f"{base}/login")
            # the therapist: two factors, a new client, a questionnaire link
            _sign_in_and_enrol(staff, base, "t1")
            staff.get_by_role("link", name="New client").first.click()
            staff.get_by_label("Name", exact=True).fill("Robin Example")
            staff.get_by_role("button", name="Create client").click()
            staff.wait_for_url(f"{base}/clients/*")
            client_url = staff.url
            staff.get_by_label("Instrument").first.select_option("PHQ-9")
            staff.get_by_role("button", name="Create").click()
            link = staff.get_by_role("textbox", name="Questionnaire link").input_value()
            assert "/q/" in link
            # the client, on a phone
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            q = phone.new_page()
            q.goto(link)
            assert q.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            for item in range(1, 10):
                value = "2" if item == 9 else "1"
                q.locator(f"input[name=item_{item}][value='{value}']").check()
            q.get_by_role("button", name="Submit answers").click()
            expect(q.get_by_text("Your answers were received")).to_be_visible()
            phone.close()
            # the therapist sees the risk alert first and the score
            staff.goto(f"{base}/dashboard")
            alerts = staff.locator("section.alerts")
            assert "Risk alerts (1)" in alerts.inner_text() and "Item 9" in alerts.inner_text()
            staff.goto(client_url)
            body = staff.locator("main").inner_text()
            assert "total 10.0 (moderate)" in body and "PHQ-9" in body
        finally:
            browser.close()
