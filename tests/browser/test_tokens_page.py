"""The tokens page in Chromium on the real service: a token is created and shown once, works as a bearer
token, shows when and from where it was last used, and is revoked; in Chinese and English, and on a phone."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import LiveService
from tests.browser.test_accessibility import serious
from tests.browser.wizard_page import log_in


def _me_status(page: Page, live_service: LiveService, token: str) -> int:
    answer = page.context.request.get(
        f"{live_service.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status


def test_tokens_page_creates_shows_once_lists_use_and_revokes(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/tokens")
    expect(page.locator("h1")).to_have_text("访问令牌")
    expect(page.locator(".topbar a[href='/tokens']")).to_have_attribute("aria-current", "page")

    page.fill("#token-name", "ci 部署")
    page.select_option("#token-scope", "setup")
    page.fill("#token-days", "30")
    page.click("#token-form button[type=submit]")
    value = page.locator("#token-value")
    expect(value).to_have_text(re.compile(r"^swp_\S{40,}$"))
    token = value.inner_text()
    row = page.locator("#tokens tbody tr[data-name='ci 部署']")
    expect(row).to_have_count(1)
    expect(row.locator(".name")).to_have_text(f"ci 部署 (…{token[-4:]})")
    expect(row.locator(".scope")).to_have_text("设置（启动和取消设置）")
    expect(row.locator(".last-used")).to_have_text("从未使用")
    assert serious(page) == [], "the tokens page with a new token"

    assert _me_status(page, live_service, token) == 200
    page.click("#token-done")
    expect(page.locator("#token-created")).to_be_hidden()
    page.reload()
    expect(row.locator(".last-used")).to_contain_text("来自 127.0.0.1")
    assert token not in page.content()  # shown once: never again

    page.once("dialog", lambda dialog: _accept(dialog, "ci 部署"))
    row.locator("button.revoke").click()
    expect(row).to_have_count(0)
    expect(page.locator("#tokens-empty")).to_be_visible()
    assert _me_status(page, live_service, token) == 401


def test_tokens_page_in_english_refuses_a_bad_lifetime(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/tokens")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Access tokens")
    page.fill("#token-name", "nightly")
    page.fill("#token-days", "400")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#tokens-error")).to_have_text("The lifetime is 1 to 366 days")
    page.fill("#token-days", "7")
    page.click("#token-form button[type=submit]")
    row = page.locator("#tokens tbody tr[data-name='nightly']")
    expect(row.locator(".scope")).to_have_text("Read (history, servers, metrics)")
    expect(row.locator(".last-used")).to_have_text("Never used")
    expect(page.locator("#token-created")).to_contain_text("shown only this once")
    assert serious(page) == [], "the tokens page in English"


def test_tokens_page_fits_a_phone(page: Page, live_service: LiveService) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_service.url, live_service.username, live_service.password, path="/tokens")
    page.fill("#token-name", "phone")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-value")).to_have_text(re.compile(r"^swp_"))
    expect(page.locator("#tokens tbody tr[data-name='phone']")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the tokens page is {width}px wide on a phone"
    box = page.locator("#token-value").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390


def _accept(dialog: Dialog, name: str) -> None:
    assert name in dialog.message
    dialog.accept()
