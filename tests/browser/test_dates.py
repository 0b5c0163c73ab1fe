"""Dates read the same in both languages: ISO 8601 (`2026-12-05 14:35`) in the browser's time zone, and
the zone said once on the page. The browser here is in Asia/Shanghai (UTC+08:00), so a page that showed
the API's UTC, or a locale's 05/12/2026, fails. History on a phone is photographed in both themes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.short_run import run_short_setup
from tests.browser.test_phone import fits
from tests.browser.wizard_page import log_in

ZONE = "Asia/Shanghai"
ZONE_NOTE = {"zh": "时间均为 UTC+08:00 (Asia/Shanghai)", "en": "Times are in UTC+08:00 (Asia/Shanghai)"}


def local(timestamp: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """The API's timestamp (UTC when it names no offset) as the page should show it in Shanghai."""
    at = datetime.fromisoformat(timestamp)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(ZONE)).strftime(fmt)


@pytest.fixture(scope="module")
def session_id(browser: Browser, live_service: LiveService, test_host: TestHost) -> str:
    return run_short_setup(browser, live_service, test_host)


@pytest.fixture
def shanghai(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE, bypass_csp=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        assert errors == [], errors
    finally:
        context.close()


def api(page: Page, path: str) -> Any:
    """GET ``path`` from the API as the page does (its bearer token)."""
    return page.evaluate(
        """async (path) => { const token = sessionStorage.getItem("setupwizard.token");
             const r = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
             return r.json(); }""",
        path,
    )


def zone_said_once(page: Page, lang: str) -> None:
    notes = page.locator("[data-time-zone]")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text(ZONE_NOTE[lang])
    expect(notes).to_be_visible()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_history_servers_and_audit_show_iso_dates_in_the_browsers_zone_named_once(
    shanghai: Page, live_service: LiveService, session_id: str, lang: str
) -> None:
    page = shanghai
    log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
    page.evaluate("(lang) => localStorage.setItem('setupwizard.lang', lang)", lang)

    sessions = api(page, "/api/setup/sessions")
    page.reload()
    ours = next(s for s in sessions if (s.get("session_id") or s.get("id")) == session_id)
    row = page.locator(f"#sessions tbody tr[data-session-id='{session_id}']")
    started = local(ours["created_at"])
    expect(row.locator("td.started")).to_have_text(started)
    assert row.locator("td.started time").get_attribute("datetime")
    zone_said_once(page, lang)
    row.locator("button.open").click()
    expect(page.locator("#log-title")).to_contain_text(f" · {started} · ")

    servers = api(page, "/api/servers")
    page.goto(live_service.url + "/servers")
    server = next(s for s in servers if s.get("last_setup_at"))
    expect(page.locator("#servers tbody tr").first).to_contain_text(local(server["last_setup_at"]) + " · ")
    zone_said_once(page, lang)

    page.goto(live_service.url + "/audit")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    events = api(page, "/api/audit?limit=100")
    first = page.locator("#audit tbody tr").first.locator("td").first
    expect(first).to_have_text(local(events[0]["at"], "%Y-%m-%d %H:%M:%S"))  # the audit trail: to the second
    zone_said_once(page, lang)
    for text in page.locator("#audit tbody tr td:first-child").all_inner_texts():
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text), text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tokens_keys_and_notifications_show_iso_dates_with_the_zone_named_once(
    shanghai: Page, live_service: LiveService, lang: str
) -> None:
    page = shanghai
    log_in(page, live_service.url, live_service.username, live_service.password, path="/tokens")
    page.evaluate("(lang) => localStorage.setItem('setupwizard.lang', lang)", lang)
    name = f"dates-{lang}"
    created = page.evaluate(
        """async (name) => { const token = sessionStorage.getItem("setupwizard.token");
             const r = await fetch("/api/tokens", { method: "POST", headers: {
               Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
               body: JSON.stringify({ name }) });
             return r.json(); }""",
        name,
    )
    page.reload()
    row = page.locator("#tokens tbody tr", has_text=name)
    expect(row.locator("td.created")).to_have_text(local(created["created_at"]))
    zone_said_once(page, lang)
    for path in ("/keys", "/notifications"):
        page.goto(live_service.url + path)
        zone_said_once(page, lang)


def test_history_on_a_phone_in_both_themes(
    browser: Browser, live_service: LiveService, session_id: str, artifacts: Path
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
        page.click("#lang-switch")
        page.locator(f"#sessions tbody tr[data-session-id='{session_id}'] button.open").click()
        expect(page.locator("#log-terminal .line").first).to_be_visible()
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / "phone-history-en.png"), full_page=True)
        fits(page, "history, light, English")
        page.click("#theme-switch")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.screenshot(path=str(artifacts / "phone-history-en-dark.png"), full_page=True)
        fits(page, "history, dark, English")  # the theme switch keeps the top bar to two rows
        page.click("#lang-switch")
        fits(page, "history, dark, 中文")
    finally:
        context.close()
