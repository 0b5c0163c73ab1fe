"""The audit page: actions and outcomes in words in both languages, a setup's start
reading "started" (not an "ok" that looks like success), session ids as links, rows in time order (a
setup's start is written when its request answers, after what happened during the run), the one-time
admin key download in the trail (the refused second try too), and a filter by user and action that the
server applies."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Locator, Page, Route, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_in,
    wait_finished,
    wait_log_contains,
)


def run_with_key_download(page: Page, live_service: LiveService, host: TestHost) -> str:
    """A setup that makes an admin key, with a login while it runs; the key downloaded, then tried again."""
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(host.address, host.port, host.sudo_nopasswd))
    confirm_connection(page)
    page.locator("input[name=apt_update]").uncheck()
    page.fill("input[name=packages]", "")
    page.locator("input[name=firewall]").uncheck()
    page.locator("input[name=admin_enabled]").check()
    page.fill("input[name='admin.username']", "auditkey")
    page.locator("input[name='admin.generate_key']").check()
    page.locator("input[name='admin.nopasswd']").check()
    page.fill("textarea[name=script]", "echo waiting\nsleep 3\n")
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    wait_log_contains(page, "waiting")
    # Something the trail records while the setup runs (its start row is written when the run ends).
    answer = page.request.post(
        f"{live_service.url}/api/auth/login",
        data={"username": live_service.username, "password": live_service.password},
    )
    assert answer.ok, answer.status
    assert wait_finished(page) == "succeeded"
    session = page.locator("#run-panel").get_attribute("data-session-id")
    assert session
    with page.expect_download():
        page.click("#admin-key-download")
    expect(page.locator("#admin-key-download")).to_be_hidden()
    assert page.request.get(f"{live_service.url}/api/setup/sessions/{session}/admin-key").status == 410
    return session


def row(page: Page, action: str, outcome: str | None = None) -> Locator:
    rows = page.locator(f"#audit tbody tr[data-action='{action}']")
    return rows.filter(has_text=outcome) if outcome else rows


def test_the_trail_reads_in_words_in_time_order_and_filters_on_the_server(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    session = run_with_key_download(page, live_service, test_host)
    page.goto(live_service.url + "/audit")
    page.click("#lang-switch")
    start = row(page, "setup.start")
    expect(start).to_have_count(1)
    expect(start.locator("td.action")).to_have_text("started a setup")
    expect(start.locator("td.outcome")).to_have_text("started (the outcome is in History)")
    expect(start.locator("a.session-link")).to_have_attribute("href", f"/history?session={session}")
    expect(start.locator("a.session-link")).to_have_text(f"session {session[:8]}")
    downloaded = row(page, "admin_key.download")
    expect(downloaded).to_have_count(2)
    expect(row(page, "admin_key.download", "ok").locator("td.action")).to_have_text(
        "downloaded the one-time admin key"
    )
    expect(row(page, "admin_key.download", "already downloaded or expired")).to_have_count(1)
    expect(downloaded.first.locator("a.session-link")).to_have_attribute(
        "href", f"/history?session={session}"
    )
    expect(row(page, "login").first.locator("td.action")).to_have_text("logged in")

    # Newest first by time: the setup's start (written at its end) sits below the login made during it.
    times = [
        datetime.fromisoformat(at)
        for at in page.locator("#audit tbody tr").evaluate_all("rows => rows.map((r) => r.dataset.at)")
    ]
    assert times == sorted(times, reverse=True), times
    page.screenshot(path=str(artifacts / "audit-en.png"), full_page=True)

    # The filter is the server's: the request carries it, and only those rows come back.
    with page.expect_request(re.compile(r"/api/audit\?.*action=admin_key\.download")):
        page.select_option("#audit-filter select[name=action]", "admin_key.download")
    expect(page.locator("#audit tbody tr")).to_have_count(2)
    assert set(page.locator("#audit tbody tr").evaluate_all("rs => rs.map((r) => r.dataset.action)")) == {
        "admin_key.download"
    }
    assert "action=admin_key.download" in page.url
    page.fill("#audit-filter input[name=actor]", "nobody-here")
    with page.expect_request(re.compile(r"/api/audit\?.*actor=nobody-here")):
        page.press("#audit-filter input[name=actor]", "Enter")
    expect(page.locator("#audit-empty")).to_be_visible()
    # A slow answer to an earlier filter (nobody's rows) never replaces the newer filter's answer.
    held: list[Route] = []
    earlier = re.compile(r"/api/audit\?.*actor=nobody-else")

    def hold(route: Route) -> None:
        held.append(route)

    page.route(earlier, hold)
    page.fill("#audit-filter input[name=actor]", "nobody-else")
    page.press("#audit-filter input[name=actor]", "Enter")
    while not held:
        page.wait_for_timeout(20)
    page.fill("#audit-filter input[name=actor]", live_service.username)
    page.press("#audit-filter input[name=actor]", "Enter")
    expect(page.locator("#audit tbody tr")).to_have_count(2)
    with page.expect_response(earlier):
        held[0].continue_()
    page.wait_for_timeout(300)  # the stale answer (no rows) has been read by now: it must not show
    expect(page.locator("#audit tbody tr")).to_have_count(2)
    page.unroute(earlier)
    page.click("#filter-clear")
    expect(row(page, "setup.start")).to_have_count(1)

    page.click("#lang-switch")
    expect(row(page, "setup.start").locator("td.action")).to_have_text("开始了一次设置")
    expect(row(page, "setup.start").locator("td.outcome")).to_have_text("已开始（结果见历史记录）")
    expect(row(page, "admin_key.download", "已下载过或已过期")).to_have_count(1)
    page.screenshot(path=str(artifacts / "audit-zh.png"), full_page=True)
    page.click("#theme-switch")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "audit-zh-dark.png"), full_page=True)
    page.click("#theme-switch")
