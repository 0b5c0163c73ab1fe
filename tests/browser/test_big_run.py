"""A real run that prints 100,000 lines: every event reaches the page once, all of them stay readable
(search reaches the first script line), and the DOM holds only what is in sight."""

from __future__ import annotations

from pathlib import Path
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

IN_MEMORY = """() => {
  const s = setupWizard.terminal.store;
  const seqs = [];
  const notices = [];
  for (let i = 0; i < s.length; i += 1) {
    if (s.seq(i) == null) notices.push(s.texts[i]); else seqs.push(s.seq(i));
  }
  const ordered = seqs.every((seq, i) => seq === i + 1);
  return { n: seqs.length, ordered, notices };
}"""


def test_a_hundred_thousand_line_run_arrives_whole(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    set_options(page, script="seq -f 'output line %06g' 1 100000\n")
    page.click("#auto-setup")
    assert wait_finished(page, timeout=1_800_000) == "succeeded"
    page.screenshot(path=str(artifacts / "wizard-100k-run.png"))

    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))
    summary = page.context.request.get(f"{live_service.url}/api/setup/sessions").json()
    last_seq = next(s["last_seq"] for s in summary if s["session_id"] == session_id)
    assert last_seq > 100_000
    # The DOM holds only the rows in sight, ending with the last event.
    assert page.locator("#terminal .line").count() < 200
    expect(page.locator("#terminal .line").last).to_have_attribute("data-seq", str(last_seq))
    assert event_seqs(page) == list(range(1, last_seq + 1))
    # In memory: every event exactly once, in order; the line count says so too.
    memory: dict[str, Any] = page.evaluate(IN_MEMORY)
    assert memory["n"] == last_seq and memory["ordered"]
    assert memory["notices"][:2] == ["正在建立实时日志连接...", "✓ 实时日志连接已建立"]
    total = last_seq + len(memory["notices"])
    expect(page.locator("#terminal .terminal-count")).to_have_text(f"{total} 行")
    # The first script line, ~100,000 lines up, is one search away.
    page.fill("#terminal .terminal-search", "output line 000001")
    expect(page.locator("#terminal .terminal-matches")).to_have_text("1 / 1")
    expect(page.locator("#terminal .line.current-match")).to_be_in_viewport()
