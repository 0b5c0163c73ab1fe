"""The notifications page in Chromium on the real service: a target is added with its apprise URL (shown
back only as a hint), "send test" reaches a real webhook receiver, its rules change from the list, a bad
URL is refused with the reason, and the target is deleted; in Chinese and English and on a phone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import LiveService, serve
from tests.browser.test_accessibility import serious
from tests.browser.test_phone import fits
from tests.browser.wizard_page import log_in
from tests.integration.notify.receivers import RECEIVERS_ALLOWED, webhook

SECRET_PATH = "page-hook-Canary-41d9e0"


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The real service, letting notifications reach the receivers on loopback (the metadata service and
    link-local stay denied)."""
    with serve(tmp_path_factory.mktemp("notify-page"), **RECEIVERS_ALLOWED) as service:
        yield service


def _targets(page: Page, live_service: LiveService) -> list[dict[str, object]]:
    token = page.evaluate("sessionStorage.getItem('setupwizard.token')")
    answer = httpx.get(
        f"{live_service.url}/api/notifications/targets", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, object]] = answer.json()
    return rows


def test_notifications_page_adds_tests_changes_rules_and_deletes(
    page: Page, live_service: LiveService
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/notifications")
    expect(page.locator("h1")).to_have_text("通知")
    expect(page.locator(".topbar a[href='/notifications']")).to_have_attribute("aria-current", "page")
    with webhook() as hook:
        page.fill("#notify-name", "运维 webhook")
        page.fill("#notify-url", hook.url(SECRET_PATH))
        page.check("#notify-on-succeeded")
        page.click("#notify-form button[type=submit]")
        row = page.locator("#targets tbody tr[data-name='运维 webhook']")
        expect(row.locator(".hint")).to_have_text(f"json://…{SECRET_PATH[-4:]}")
        expect(row.locator(".last")).to_have_text("从未发送")
        expect(page.locator("#notify-url")).to_have_value("")
        row.locator("button.test").click()
        expect(page.locator("#notify-status")).to_have_text("测试通知已发送到“运维 webhook”")
        expect(row.locator(".last")).to_contain_text("已送达")
        posts = hook.wait_for(1)
    assert posts[0]["path"] == f"/{SECRET_PATH}" and "运维 webhook" in posts[0]["message"]
    assert SECRET_PATH not in page.content()
    assert serious(page) == [], "the notifications page with a target"

    with page.expect_response(lambda answer: answer.url.endswith("/rules")) as changed:
        row.locator("input.on_failed").uncheck()
    assert changed.value.status == 200
    expect(row.locator("input.on_failed")).not_to_be_checked()
    page.reload()
    expect(row.locator("input.on_failed")).not_to_be_checked()
    expect(row.locator("input.on_succeeded")).to_be_checked()
    assert [(t["on_failed"], t["on_succeeded"]) for t in _targets(page, live_service)] == [(False, True)]

    page.once("dialog", lambda dialog: _accept(dialog, "运维 webhook"))
    row.locator("button.delete").click()
    expect(row).to_have_count(0)
    expect(page.locator("#targets-empty")).to_be_visible()


def test_notifications_page_in_english_refuses_an_unknown_url(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/notifications")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Notifications")
    page.fill("#notify-name", "chat")
    page.fill("#notify-url", "nosuchservice://abc-token")
    page.click("#notify-form button[type=submit]")
    expect(page.locator("#notify-error")).to_contain_text("not an apprise URL")
    page.fill("#notify-url", "json://169.254.169.254/latest/meta-data")  # the cloud metadata service
    page.click("#notify-form button[type=submit]")
    expect(page.locator("#notify-error")).to_contain_text("the URL reaches a denied network")
    page.fill("#notify-url", "json://127.0.0.1:9/unused-in-this-test")
    page.click("#notify-form button[type=submit]")
    row = page.locator("#targets tbody tr[data-name='chat']")
    expect(row.locator(".last")).to_have_text("Never sent")
    expect(row.locator("input.on_failed")).to_be_checked()
    expect(page.locator("#notify-error")).to_be_hidden()
    assert serious(page) == [], "the notifications page in English"
    page.once("dialog", lambda dialog: _accept(dialog, "chat"))
    row.locator("button.delete").click()
    expect(row).to_have_count(0)


def test_notifications_page_fits_a_phone(page: Page, live_service: LiveService) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_service.url, live_service.username, live_service.password, path="/notifications")
    page.fill("#notify-name", "phone")
    page.fill("#notify-url", "mailto://127.0.0.1:2525?from=wizard@example.com&to=ops@example.com")
    page.click("#notify-form button[type=submit]")
    expect(page.locator("#targets tbody tr[data-name='phone']")).to_have_count(1)
    fits(page, "notifications")  # no wider than the screen, a top bar of at most two rows
    card = page.locator("#targets tbody tr[data-name='phone']")
    assert card.evaluate("r => getComputedStyle(r).display") == "block"  # a card, not a table row


def _accept(dialog: Dialog, name: str) -> None:
    assert name in dialog.message
    dialog.accept()
