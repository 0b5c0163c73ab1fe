"""Every page on a 390×844 phone: nothing wider than the screen, a top bar of one or two rows, the
fingerprint wrapped, History's rows as cards, buttons on one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_in,
    set_options,
    wait_finished,
)

WIDTH = 390


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        bypass_csp=True,
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        context.close()


def fits(page: Page, where: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{where}: the page is {width}px wide"
    top = page.locator(".topbar").bounding_box()
    assert top is not None and top["height"] <= 100, f"{where}: top bar {top}"
    for link in page.locator(".topbar .nav a").all():
        box = link.bounding_box()
        assert box is not None and box["height"] <= 40, f"{where}: a nav link wraps ({box})"


def one_line(page: Page, selector: str) -> None:
    for button in page.locator(selector).all():
        if button.is_visible():
            box = button.bounding_box()
            assert box is not None and box["height"] <= 44, f"{selector} wraps: {box}"


def test_every_page_fits_a_phone(
    phone: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    page = phone
    page.goto(live_service.url + "/login")
    fits(page, "login")
    log_in(page, live_service.url, live_service.username, live_service.password)
    fits(page, "wizard step 1")
    page.screenshot(path=str(artifacts / "phone-step1.png"))
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.click("section[data-step='3'] [data-next='2']")
    expect(page.locator("#report-fingerprint")).to_be_visible()
    fits(page, "wizard step 2 with the fingerprint")
    page.screenshot(path=str(artifacts / "phone-step2.png"), full_page=True)
    page.click("section[data-step='2'] [data-next='3']")
    set_options(page, packages="", script="echo phone-run\n")
    one_line(page, "section[data-step='4'] .actions button")
    fits(page, "wizard step 4")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    fits(page, "wizard after a run")
    one_line(page, "section[data-step='4'] .actions > *")
    page.screenshot(path=str(artifacts / "phone-run.png"), full_page=True)

    page.goto(live_service.url + "/history")
    rows = page.locator("#sessions tbody tr")
    expect(rows.first).to_be_visible()
    fits(page, "history")
    box = rows.first.bounding_box()
    assert box is not None and box["width"] <= WIDTH
    assert rows.first.evaluate("r => getComputedStyle(r).display") == "block"  # a card, not a table row
    rows.first.locator("button.open").click()
    expect(page.locator("#log-panel")).to_be_visible()
    fits(page, "history with a log open")
    page.click("#lang-switch")
    fits(page, "history in English")
    page.screenshot(path=str(artifacts / "phone-history-en.png"), full_page=True)
