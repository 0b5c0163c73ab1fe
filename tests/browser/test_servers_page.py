"""The servers page in Chromium on the real service and test server: a server set up once is listed
(login, sudo mode, host key, last setup), its history opens, it can be set up again with a preset, and
forgetting it removes its sudo row and known host (the history stays)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from setupwizard.db.database import Database
from setupwizard.db.models import User
from setupwizard.servers.repository import KnownHostRepository
from setupwizard.setup import repository
from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import log_in, wait_log_contains
from tests.integration.web.fixtures import run_sync


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
    page.wait_for_url(re.compile(r"/history\?host=.*&session="))
    expect(page.locator("#log-panel")).to_be_visible()
    expect(page.locator("#log-panel")).to_have_attribute("data-session-id", session_id)
    wait_log_contains(page, "servers-page-run", root="#log-terminal")  # in its step, folded after the run

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


FINGERPRINT = "SHA256:n3xTn6a9JYb0QnqOi4J5FMmkxAzHrIbrGhvZgRsLwOk"


async def _hardened_then_failed(service: LiveService, host: str) -> str:
    """What a run leaves that moved sshd to 2222 (its rows moved with it), then failed in a later step."""
    db = Database(service.settings)
    try:
        async with db.session() as session:
            owner = (
                await session.execute(select(User).where(User.username == service.username))
            ).scalar_one()
            await KnownHostRepository(session).put(owner.id, host, 2222, FINGERPRINT)
            row = await repository.insert_session(
                session,
                session_id=str(uuid.uuid4()),
                owner_id=owner.id,
                host=host,
                port=22,
                username="root",
            )
            login_after = {"username": "deploy", "port": 2222, "auth": "key", "root_login": "no"}
            await repository.finish_session(
                session,
                row.id,
                status="failed",
                message="第 8 步「运行自定义脚本」失败",
                result={"error_code": "command_failed", "login_after": login_after},
            )
            return row.id
    finally:
        await db.dispose()


def test_a_hardening_followed_by_a_failed_step_shows_the_moved_entrys_last_setup(
    page: Page, own_service: LiveService
) -> None:
    """sshd moved (the hardening step succeeded), then the script failed: the entry now
    at port 2222 was set up by that run, not "never"."""
    host = "198.18.0.77"  # only rows in the database: nothing connects to it
    session_id = run_sync(lambda: _hardened_then_failed(own_service, host))
    log_in(page, own_service.url, own_service.username, own_service.password, path="/servers")
    row = page.locator(f"#servers tbody tr[data-host='{host}']")
    expect(row).to_have_count(1)
    expect(row.locator(".server")).to_have_text(f"{host}:2222")
    expect(row.locator(".login")).to_contain_text("deploy")
    expect(row.locator(".last")).to_contain_text("失败")
    expect(row.locator(".last")).not_to_contain_text("从未")
    expect(row.locator("a.history")).to_have_attribute("href", re.compile(session_id))
