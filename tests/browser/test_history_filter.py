"""History, searchable: filter by status, server and date, search by host, a "run by"
column for admins listing everyone's setups, each row's duration and failed step, pages served by the
server (X-Total-Count), and the servers page's "History" opening that server's whole list."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import APIRequestContext, Browser, Page, Route, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import log_in

ROWS = "#sessions tbody tr"


def run(api: APIRequestContext, url: str, host: TestHost, script: str) -> str:
    """A setup through the API that waits for its end; returns the session id."""
    account = host.sudo_nopasswd
    answer = api.post(
        f"{url}/api/setup/auto-setup",
        data={
            "host": host.address,
            "port": host.port,
            "username": account.username,
            "password": account.password,
            "packages": [],
            "apt_update": False,
            "firewall": False,
            "script": script,
            "wait": True,
        },
        timeout=300_000,
    )
    assert answer.ok, answer.text()
    session_id: str = answer.json()["session_id"]
    return session_id


def test_history_filters_pages_and_shows_who_ran_what(
    browser: Browser, page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    url = live_service.url
    log_in(page, url, live_service.username, live_service.password, path="/history")
    api = page.context.request
    token = page.evaluate("() => sessionStorage.getItem('setupwizard.token')")
    admin = {"Authorization": f"Bearer {token}"}
    run(api, url, test_host, "echo first\n")
    failed = run(api, url, test_host, 'echo "giving up" >&2\nexit 3\n')
    run(api, url, test_host, "echo third\n")
    made = api.post(
        f"{url}/api/users", data={"username": "carol", "password": "carol-password-1"}, headers=admin
    )
    assert made.ok, made.text()
    carol_context = browser.new_context()
    carol = carol_context.request
    logged = carol.post(f"{url}/api/auth/login", data={"username": "carol", "password": "carol-password-1"})
    assert logged.ok, logged.text()
    run(carol, url, test_host, "echo carol\n")

    # Paged by the server: the total in a header, the rows of one page.
    first = api.get(f"{url}/api/setup/sessions?limit=2&offset=0", headers=admin)
    assert first.headers["x-total-count"] == "3" and len(first.json()) == 2
    assert len(api.get(f"{url}/api/setup/sessions?limit=2&offset=2", headers=admin).json()) == 1
    bad = api.get(f"{url}/api/setup/sessions?status=exploded", headers=admin)
    assert bad.status == 422 and "status" in bad.text()

    page.reload()
    page.click("#lang-switch")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(3)
    expect(page.locator("#sessions th.run-by")).to_be_hidden()
    failed_row = page.locator(f"{ROWS}[data-session-id='{failed}']")
    expect(failed_row.locator("td.failed-step")).to_have_text("3. Run the custom script")
    expect(failed_row.locator("td.duration")).to_have_text(re.compile(r"^\d+s$"))

    with page.expect_request(re.compile(r"/api/setup/sessions\?.*status=failed")):
        page.select_option("#history-filter select[name=status]", "failed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-session-id", failed)
    assert "status=failed" in page.url
    page.select_option("#history-filter select[name=status]", "")
    expect(rows).to_have_count(3)

    part = test_host.address.rsplit(".", 1)[0]  # "198.18.0": a part of the host name
    page.fill("#history-filter input[name=q]", part)
    with page.expect_request(re.compile(r"/api/setup/sessions\?.*q=")):
        page.press("#history-filter input[name=q]", "Enter")
    expect(rows).to_have_count(3)
    page.fill("#history-filter input[name=q]", "no-such-host")
    page.press("#history-filter input[name=q]", "Enter")
    expect(rows).to_have_count(0)
    expect(page.locator("#history-empty")).to_have_text("No setups match the filter")
    page.fill("#history-filter input[name=q]", "")
    page.press("#history-filter input[name=q]", "Enter")

    expect(rows).to_have_count(3)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    page.fill("#history-filter input[name=from]", tomorrow)
    expect(rows).to_have_count(0)
    page.fill("#history-filter input[name=from]", (date.today() - timedelta(days=1)).isoformat())
    expect(rows).to_have_count(3)

    # A slow answer to an earlier filter never replaces the newer filter's answer.
    page.fill("#history-filter input[name=from]", tomorrow)
    expect(rows).to_have_count(0)
    held: list[Route] = []
    earlier = re.compile(r"/api/setup/sessions\?.*status=failed.*started_from=")

    def hold(route: Route) -> None:
        held.append(route)

    page.route(earlier, hold)
    page.select_option("#history-filter select[name=status]", "failed")  # tomorrow's failed: none
    while not held:
        page.wait_for_timeout(20)
    page.fill("#history-filter input[name=from]", "")  # every day's failed: one
    expect(rows).to_have_count(1)
    with page.expect_response(earlier):
        held[0].continue_()
    page.wait_for_timeout(300)  # the stale answer (no rows) has been read by now: it must not show
    expect(rows).to_have_count(1)
    page.unroute(earlier)
    page.select_option("#history-filter select[name=status]", "")
    expect(rows).to_have_count(3)

    # An admin may list everyone's setups, with who ran each.
    page.check("#history-filter input[name=everyone]")
    expect(rows).to_have_count(4)
    expect(page.locator("#sessions th.run-by")).to_be_visible()
    expect(page.locator(f"{ROWS} td.run-by", has_text="carol")).to_have_count(1)
    expect(page.locator(f"{ROWS} td.run-by", has_text=live_service.username)).to_have_count(3)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1200, f"History is {width}px wide"  # the added columns still fit the window
    page.screenshot(path=str(artifacts / "history-filter-en.png"), full_page=True)
    page.click("#theme-switch")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "history-filter-en-dark.png"), full_page=True)
    page.click("#theme-switch")

    # Pages from the server: two a page.
    page.goto(f"{url}/history?per_page=2")
    expect(rows).to_have_count(2)
    expect(page.locator("#page-info")).to_have_text(re.compile(r"1–2 (of|共) 3|第 1–2 条，共 3 条"))
    page.click("#page-older")
    expect(rows).to_have_count(1)
    expect(page.locator("#page-older")).to_be_disabled()
    page.click("#page-newer")
    expect(rows).to_have_count(2)

    # The servers page's History: that server's whole list, its last run's log open.
    page.goto(f"{url}/servers")
    page.locator("#servers a.history").first.click()
    page.wait_for_url(re.compile(r"/history\?host="))
    expect(page.locator("#server-filter")).to_be_visible()
    expect(page.locator("#server-filter-text")).to_contain_text(test_host.address)
    expect(rows).to_have_count(3)
    expect(page.locator("#log-panel")).to_be_visible()
    page.click("#server-filter-clear")
    expect(page.locator("#server-filter")).to_be_hidden()

    # A non-admin cannot ask for everyone's.
    refused = carol.get(f"{url}/api/setup/sessions?everyone=true")
    assert refused.status == 403, refused.text()
    carol_context.close()
