"""Never lost on reload: the page comes back to the person's running session (replayed from the start
with ?since, then live), keeps its link (?session=), and takes elapsed time from the server's clock."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    event_seqs,
    fill_server,
    log_in,
    set_options,
    wait_finished,
)

SCRIPT = 'for i in $(seq 1 400); do echo "reattach line $i"; sleep 0.02; done\n'


def stored_events(page: Page, live_service: LiveService, session_id: str) -> list[dict[str, Any]]:
    answer = page.context.request.get(f"{live_service.url}/api/setup/sessions/{session_id}")
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def test_a_reload_mid_run_comes_back_to_the_running_session_with_every_line_once(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    set_options(page, script=SCRIPT)
    page.click("#auto-setup")
    page.wait_for_function(
        "() => setupWizard.terminal.store.texts.some((t) => t.includes('reattach line 20'))", timeout=300_000
    )
    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))
    assert page.url.endswith(f"/setup?session={session_id}")

    # Another tab opened on the plain wizard address finds the running session too.
    other = page.context.new_page()
    other.goto(live_service.url + "/setup")
    expect(other.locator("#run-panel")).to_have_attribute("data-session-id", session_id)
    expect(other.locator("#run-panel")).to_have_attribute("data-state", "running")
    expect(other.locator("#auto-setup")).to_be_hidden()
    expect(other.locator("input[name=host]")).to_have_value(test_host.address)

    page.reload()
    expect(page.locator("#run-panel")).to_be_visible()
    expect(page.locator("#run-panel")).to_have_attribute("data-session-id", session_id)
    expect(page.locator("section[data-step='4']")).to_be_visible()
    expect(page.locator("#cancel-run")).to_be_visible()
    assert wait_finished(page) == "succeeded"
    assert wait_finished(other) == "succeeded"
    other.close()

    events = stored_events(page, live_service, session_id)
    assert event_seqs(page) == [e["seq"] for e in events]
    expect(page.locator("#banner")).to_contain_text("✓ 服务器设置完成")
    expect(page.locator("#progress-step")).to_have_text(re.compile(r"^步骤 (\d) / \1$"))
    # Elapsed time is the server's: first event to the complete event, as the page reckons it (Date.parse
    # keeps milliseconds, Math.round rounds halves up), so a run of 19.4996 s is 20 s on both sides.
    first = datetime.fromisoformat(events[0]["timestamp"])
    last = datetime.fromisoformat(events[-1]["timestamp"])
    millis = (last.replace(microsecond=last.microsecond // 1000 * 1000)) - first.replace(
        microsecond=first.microsecond // 1000 * 1000
    )
    seconds = math.floor(millis.total_seconds() + 0.5)
    shown = f"{seconds // 60} 分 {seconds % 60} 秒" if seconds >= 60 else f"{seconds} 秒"
    expect(page.locator("#progress-elapsed")).to_have_text(f"用时 {shown}")


def test_a_finished_session_link_shows_its_log_and_result(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    set_options(page, packages="", script="echo finished-run-marker\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))

    page.goto(f"{live_service.url}/setup?session={session_id}")
    expect(page.locator("#run-panel")).to_have_attribute("data-session-id", session_id)
    assert wait_finished(page) == "succeeded"
    assert event_seqs(page) == [e["seq"] for e in stored_events(page, live_service, session_id)]
    expect(page.locator("#banner")).to_contain_text("✓ 服务器设置完成")
    # A plain visit while nothing runs starts a fresh wizard.
    page.goto(f"{live_service.url}/setup")
    expect(page.locator("section[data-step='1']")).to_be_visible()
    expect(page.locator("#run-panel")).to_be_hidden()
