"""The history page on the real service and test server: a running session followed live, refused
twice (409 on the wizard), cancelled from the list; a finished one read and downloaded."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    event_seqs,
    fill_server,
    log_in,
    log_line_count,
    set_options,
    wait_log_contains,
)

LONG_SCRIPT = 'for i in $(seq 1 600); do echo "still working $i"; sleep 0.5; done\n'


def start_in_background(page: Page, live_service: LiveService, host: TestHost) -> str:
    """Start a long setup through the API (wait=false), as another tab or the CLI would."""
    account = host.sudo_nopasswd
    answer = page.context.request.post(
        f"{live_service.url}/api/setup/auto-setup",
        data={
            "host": host.address,
            "port": host.port,
            "username": account.username,
            "password": account.password,
            "packages": [],
            "script": LONG_SCRIPT,
            "wait": False,
        },
    )
    assert answer.status == 202, answer.text()
    session_id: str = answer.json()["session_id"]
    return session_id


def test_history_follows_refuses_cancels_reads_and_downloads(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
    # The wizard is ready to start when another setup of the same server begins (another tab, the CLI).
    wizard = page.context.new_page()
    wizard.goto(live_service.url + "/setup")
    fill_server(wizard, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(wizard)
    set_options(wizard)
    session_id = start_in_background(page, live_service, test_host)

    # The wizard refuses a second setup of the same server while this one runs (409), in words, and
    # links to the session that holds the server.
    with wizard.expect_response(re.compile(r"/api/setup/auto-setup$")) as answer:
        wizard.click("#auto-setup")
    assert answer.value.status == 409
    expect(wizard.locator("#form-error")).to_contain_text(
        "这台服务器正在被设置，请等待完成或在历史记录中取消"
    )
    expect(wizard.locator("#run-panel")).to_have_attribute("data-state", "error")
    link = wizard.locator("#form-error a#conflict-link")
    expect(link).to_have_text("查看正在运行的设置")
    expect(link).to_have_attribute("href", f"/setup?session={session_id}")
    link.click()
    # The link opens that session in the wizard, followed live.
    expect(wizard.locator("#run-panel")).to_have_attribute("data-session-id", session_id)
    expect(wizard.locator("#run-panel")).to_have_attribute("data-state", "running")
    wait_log_contains(wizard, "still working", timeout=300_000)
    wizard.close()

    page.click("#refresh")
    row = page.locator(f"#sessions tbody tr[data-session-id='{session_id}']")
    expect(row.locator("td.status")).to_have_text("运行中")
    expect(row).to_contain_text(f"bob@{test_host.address}:{test_host.port}")

    # Reading a running session's log follows it live.
    row.locator("button.open").click()
    expect(page.locator("#log-live")).to_be_visible()
    expect(page.locator("#log-title")).to_have_text(
        re.compile(rf"^bob@{re.escape(test_host.address)} · .+ · 运行中$")
    )
    assert page.evaluate("() => document.querySelector('#log-panel').getBoundingClientRect().top") < 900
    wait_log_contains(page, "still working", root="#log-terminal", timeout=300_000)
    seen = log_line_count(page, "#log-terminal")
    page.wait_for_function(
        f"() => document.querySelector('#log-terminal').terminal.store.length > {seen + 2}"
    )  # new lines keep coming in
    page.screenshot(path=str(artifacts / "history-running.png"))

    row.locator("button.cancel").click()
    expect(row.locator("td.status")).to_have_text("已取消", timeout=60_000)
    expect(row.locator("button.cancel")).to_have_count(0)
    assert row.locator("td").nth(3).inner_text().strip() != ""  # a duration

    # The finished session's log: every stored event once, ending with the complete event.
    row.locator("button.open").click()
    expect(page.locator("#log-live")).to_be_hidden()
    stored = page.context.request.get(f"{live_service.url}/api/setup/sessions/{session_id}").json()["events"]
    # the log loads after the click: wait until the view holds as many lines as were stored, then compare
    page.wait_for_function(
        """(n) => { const s = document.querySelector('#log-terminal').terminal.store; let k = 0;
                    for (let i = 0; i < s.length; i += 1) { if (s.seq(i) != null) k += 1; }
                    return k >= n; }""",
        arg=len(stored),
    )
    assert event_seqs(page, "#log-terminal") == [e["seq"] for e in stored]
    expect(page.locator("#log-title")).to_contain_text("已取消")
    assert stored[-1]["type"] == "complete"
    with page.expect_download() as download:
        row.locator("a.download").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith(f"# Setup Wizard 设置会话 {session_id}")  # in the page's language (zh)
    assert "# 状态: 已取消" in text
    assert "still working 1\n" in text or "still working 1" in text
    assert test_host.sudo_nopasswd.password not in text

    page.click("#lang-switch")
    expect(row.locator("td.status")).to_have_text("Cancelled")  # a word, not the stored status
    expect(row.locator("td.message")).not_to_have_text(re.compile(r"[\u4e00-\u9fff]"))
    expect(page.locator("#log-title")).to_contain_text("Cancelled")
    expect(page.locator("#sessions thead")).to_contain_text("Duration")
    expect(row.locator("button.open")).to_have_text("Read log")
    page.screenshot(path=str(artifacts / "history-en.png"))
