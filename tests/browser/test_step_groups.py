"""Step groups in the log view: a step's header shows ✓ ⚠ ✗ and its duration once
the step has ended (none while it runs); after the run the passed steps fold and the failed one stays
open, scrolled into view, on the wizard and on History alike."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_in,
    set_options,
    wait_finished,
    wait_log_contains,
)

SCRIPT = (
    'echo started\nsleep 4\nfor i in $(seq 1 300); do echo "line $i"; done\necho "giving up" >&2\nexit 3\n'
)
DURATION = re.compile(r"^\d+\.\ds$")


def groups(page: Page, root: str) -> list[dict[str, object]]:
    """Each step group: its header's text, its status, whether it is folded."""
    found: list[dict[str, object]] = page.evaluate(
        """(sel) => { const t = document.querySelector(sel).terminal;
             return t.store.groups.filter((g) => g.header).map((g) => ({
               text: t.displayText(g.start), status: g.status, collapsed: g.collapsed })); }""",
        root,
    )
    return found


def header_row(page: Page, root: str, text: str) -> Locator:
    return page.locator(f"{root} .line.group-head").filter(has_text=text)


def in_screen(page: Page, root: str, text: str) -> bool:
    """Whether the header row of the step named `text` is drawn inside the log's visible area."""
    row = header_row(page, root, text)
    if row.count() == 0:
        return False
    box = row.first.bounding_box()
    screen = page.locator(f"{root} .terminal").bounding_box()
    assert screen is not None
    if box is None:
        return False
    return box["y"] >= screen["y"] and box["y"] + box["height"] <= screen["y"] + screen["height"]


def check_after_run(page: Page, root: str) -> None:
    steps = groups(page, root)
    assert [g["status"] for g in steps] == ["succeeded", "succeeded", "failed"], steps
    assert [g["collapsed"] for g in steps] == [True, True, False], steps
    failed = header_row(page, root, "Run the custom script")
    expect(failed.locator(".step-mark")).to_have_text("✗")
    expect(failed.locator(".step-time")).to_have_text(DURATION)
    assert in_screen(page, root, "Run the custom script"), "the failed step is out of view"
    connect = header_row(page, root, "Connect and identify")
    expect(connect.locator(".step-mark")).to_have_text("✓")
    expect(connect.locator(".fold")).to_have_attribute("aria-expanded", "false")


def test_step_headers_say_how_each_step_ended_and_the_failed_one_is_open(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    page.click("#lang-switch")
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script=SCRIPT)
    page.click("#auto-setup")

    root = "#terminal"
    wait_log_contains(page, "started")
    # Mid-run: the ended steps have their mark and time, the running one has neither, nothing is folded.
    connect = header_row(page, root, "Connect and identify")
    expect(connect.locator(".step-mark")).to_have_text("✓")
    expect(connect.locator(".step-time")).to_have_text(DURATION)
    running = groups(page, root)[-1]
    assert running["status"] == "running" and not running["collapsed"], running
    expect(header_row(page, root, "Run the custom script").locator(".step-mark")).to_have_count(0)

    assert wait_finished(page) == "failed"
    check_after_run(page, root)
    page.screenshot(path=str(artifacts / "step-groups-failed-en.png"))
    page.click("#theme-switch")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(artifacts / "step-groups-failed-en-dark.png"))
    page.click("#theme-switch")

    # History shows a finished session's log the same way.
    session = re.search(r"session=([0-9a-f-]+)", page.url)
    assert session, page.url
    page.goto(f"{live_service.url}/history?session={session.group(1)}")
    expect(page.locator("#log-panel")).to_be_visible()
    wait_log_contains(page, "giving up", root="#log-terminal")
    check_after_run(page, "#log-terminal")


def test_a_passed_runs_result_lines_stay_in_sight_after_its_steps_fold(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script="echo all-good\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    steps = groups(page, "#terminal")
    assert steps and all(g["collapsed"] for g in steps), steps  # every step passed: all folded
    # The run's own last lines (its summary and result) belong to no step: they stay in sight.
    last = page.locator("#terminal .line").last
    expect(last).to_contain_text("服务器设置完成")
    expect(last).to_be_in_viewport()
