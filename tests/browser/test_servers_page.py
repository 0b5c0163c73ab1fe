"""The servers page in Chromium on the real service and test server: a server set up once is listed
(login, sudo mode, host key, last setup), its history opens, it can be set up again with a preset, and
forgetting it removes its sudo row and known host (the history stays)."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import log_in


def set_up_once(page: Page, live_service: LiveService, host: TestHost) -> str:
    """One quick setup through the API (only the script), as the wizard or the CLI would run it."""
    account = host.sudo_nopasswd
    answer = page.context.request.post(
        f"{live_service.url}/api/setup/auto-setup",
        data={
            "host": host.address,
            "port": host.port,
            "username": account.username,
            "password": account.password,
            "apt_update": False,
            "packages": [],
            "firewall": False,
            "script": "echo servers-page-run\n",
        },
        timeout=300_000,
    )
    assert answer.status == 200, answer.text()
    assert answer.json()["status"] == "succeeded", answer.text()
    session_id: str = answer.json()["session_id"]
    return session_id


def test_servers_page_lists_reruns_opens_history_and_forgets(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/servers")
    expect(page.locator("#servers-empty")).to_be_visible()
    session_id = set_up_once(page, live_service, test_host)

    page.reload()
    row = page.locator(f"#servers tbody tr[data-host='{test_host.address}']")
    expect(row).to_have_count(1)
    expect(row.locator(".server")).to_have_text(f"{test_host.address}:{test_host.port}")
    expect(row.locator(".login")).to_have_text(test_host.sudo_nopasswd.username)
    expect(row.locator(".sudo")).to_contain_text("免密码")
    expect(row.locator(".fingerprint")).to_have_text(re.compile(r"^SHA256:"))
    expect(row.locator(".last")).to_contain_text("成功")

    # a phone: rows become cards, the fingerprint wraps, nothing widens the page
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the servers page is {width}px wide on a phone"
    page.set_viewport_size({"width": 1200, "height": 900})

    # its history: the last session's log opens on the history page
    row.locator("a.history").click()
    page.wait_for_url(re.compile(r"/history\?session="))
    expect(page.locator("#log-panel")).to_be_visible()
    expect(page.locator("#log-panel")).to_have_attribute("data-session-id", session_id)
    expect(page.locator("#log-terminal")).to_contain_text("servers-page-run")

    # set it up again with another preset: the wizard comes filled in
    page.goto(f"{live_service.url}/servers")
    page.locator("#rerun-preset").select_option("web")
    row.locator("a.run-again").click()
    page.wait_for_url(re.compile(r"/setup\?.*preset=web"))
    expect(page.locator("input[name=host]")).to_have_value(test_host.address)
    expect(page.locator("input[name=port]")).to_have_value(str(test_host.port))
    expect(page.locator("input[name=username]")).to_have_value(test_host.sudo_nopasswd.username)
    expect(page.locator("select[name=preset]")).to_have_value("web")
    expect(page.locator("input[name=fail2ban]")).to_be_checked()

    # forget it: asked first; the row, its sudo row and its known host go, the history stays
    page.goto(f"{live_service.url}/servers")
    messages: list[str] = []

    def accept(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.locator("button.forget").click()
    expect(page.locator("#servers-note")).to_contain_text(test_host.address)
    expect(row).to_have_count(0)
    assert test_host.address in messages[0]
    api = page.context.request
    assert api.get(f"{live_service.url}/api/servers").json() == []
    assert api.get(f"{live_service.url}/api/servers/sudo").json() == []
    assert api.get(f"{live_service.url}/api/servers/known-hosts").json() == []
    sessions = api.get(f"{live_service.url}/api/setup/sessions").json()
    assert [s["session_id"] for s in sessions] == [session_id]
