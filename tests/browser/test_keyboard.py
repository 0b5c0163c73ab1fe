"""Keyboard use beyond the wizard's steps: a skip link as the first Tab stop, the cursor in step 1's first
field at load, and focus on what "Test connection" found once it has finished (not dropped to <body>).
Step 2 on a phone is photographed in both themes (docs/ui.md)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from setupwizard.testbed.accounts import Account
from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.test_phone import fits
from tests.browser.wizard_page import Server, fill_server, log_in


def active(page: Page) -> str:
    """The focused element as `tag#id` or `tag[name]`."""
    described: str = page.evaluate(
        "() => { const e = document.activeElement; const t = e.tagName.toLowerCase();"
        " return e.id ? `${t}#${e.id}` : e.name ? `${t}[${e.name}]` : t; }"
    )
    return described


def test_the_first_tab_reaches_a_skip_link_that_lands_on_the_main_content(
    page: Page, live_service: LiveService
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
    skip = page.locator("a.skip-link")
    assert skip.bounding_box() is None or skip.bounding_box()["y"] < 0  # type: ignore[index]  # unseen until focused
    page.keyboard.press("Tab")
    assert active(page) == "a"
    expect(skip).to_be_focused()
    expect(skip).to_have_text("跳到主要内容")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, box  # seen now
    page.keyboard.press("Enter")
    assert active(page) == "main#main"
    page.keyboard.press("Tab")  # the next stop is inside the page's content, past the top bar
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    page.click("#lang-switch")
    expect(skip).to_have_text("Skip to main content")


def test_the_wizard_opens_with_the_cursor_in_the_host_field(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    expect(page.locator("input[name=host]")).to_be_focused()
    page.keyboard.type("198.18.0.99")
    expect(page.locator("input[name=host]")).to_have_value("198.18.0.99")
    page.reload()  # already logged in: the same at a plain load
    expect(page.locator("input[name=host]")).to_be_focused()


def test_focus_goes_to_the_test_result_when_the_connection_test_ends(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    account = test_host.sudo_nopasswd
    wrong = Account(account.username, "not-the-password")
    fill_server(page, Server(test_host.address, test_host.port, wrong))
    page.locator("#test-connection").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#test-error")).to_be_visible(timeout=60_000)
    expect(page.locator("#test-error")).to_be_focused()  # the error is where the person is
    page.click("section[data-step='2'] [data-next='1']")
    page.fill("input[name=password]", account.password)
    page.click("section[data-step='1'] [data-next='2']")
    page.locator("#test-connection").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    expect(page.locator("#test-report")).to_be_focused()
    page.keyboard.press("Tab")  # and the next Tab reaches the confirmation
    expect(page.locator("#confirm-fingerprint")).to_be_focused()


def test_step_two_on_a_phone_in_both_themes(
    browser: Browser, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        log_in(page, live_service.url, live_service.username, live_service.password)
        fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
        page.click("#test-connection")
        expect(page.locator("#test-report")).to_be_focused(timeout=60_000)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / "phone-step2-zh.png"), full_page=True)
        fits(page, "step 2, light, 中文")
        page.click("#theme-switch")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.screenshot(path=str(artifacts / "phone-step2-zh-dark.png"), full_page=True)
        fits(page, "step 2, dark, 中文")  # the theme switch keeps the top bar to two rows
        page.click("#lang-switch")
        fits(page, "step 2, dark, English")
    finally:
        context.close()
