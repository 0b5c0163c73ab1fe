"""How a run's end reads: a failed run's header names the step that failed (not the last one), an
English page is English all the way (banner, progress, step lines), cancel asks first and sits away
from Back, re-running the same server asks first."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Route, expect

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

CJK = re.compile(r"[\u4e00-\u9fff]")


def open_wizard(page: Page, live_service: LiveService, host: TestHost) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(host.address, host.port, host.sudo_nopasswd))
    confirm_connection(page)


def test_a_failed_run_names_the_step_that_failed(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    open_wizard(page, live_service, test_host)
    set_options(page, packages="no-such-package-swtb", script="echo never\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "failed"
    step = page.locator("#progress-step")
    expect(step).to_have_text(re.compile(r"^步骤 (\d) / (\d) 失败$"))
    n, total = re.findall(r"\d+", step.inner_text())
    assert int(n) < int(total), "the header names the last step, not the failed one"
    expect(page.locator("#progress-message")).to_contain_text("安装软件包")
    expect(page.locator("#progress-message")).to_contain_text("✗")
    expect(page.locator("#banner")).to_contain_text("✗ 服务器设置失败")


def test_an_english_page_is_english_all_the_way(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    open_wizard(page, live_service, test_host)
    page.click("#lang-switch")
    set_options(page, packages="", script="echo english-run\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    banner = page.locator("#banner")
    expect(banner).to_contain_text("✓ Server setup finished")
    expect(banner).not_to_have_text(CJK)
    expect(page.locator("#progress-step")).to_have_text(re.compile(r"^Step (\d) of \1$"))
    expect(page.locator("#progress-message")).not_to_have_text(CJK)
    expect(page.locator("#progress-elapsed")).to_have_text(re.compile(r"^Elapsed \d+s$"))
    # Step lines name their step in English; the script's own output stays as printed.
    heads = page.evaluate(
        "() => { const t = setupWizard.terminal; return t.store.groups.filter((g) => g.header)"
        ".map((g) => t.displayText(g.start)); }"
    )
    assert heads and all(not CJK.search(h) for h in heads), heads
    assert any("Run the custom script" in h for h in heads), heads
    page.screenshot(path=str(artifacts / "wizard-finished-en.png"))
    page.click("#lang-switch")
    expect(banner).to_contain_text("✓ 服务器设置完成")


def test_cancel_asks_first_and_does_not_sit_where_back_was(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    open_wizard(page, live_service, test_host)
    set_options(page, packages="", script='for i in $(seq 1 600); do echo "tick $i"; sleep 0.1; done\n')
    back = page.locator("#run-back").bounding_box()
    page.click("#auto-setup")
    wait_log_contains(page, "tick 3", timeout=300_000)
    cancel = page.locator("#cancel-run")
    box = cancel.bounding_box()
    assert back is not None and box is not None
    assert abs(box["x"] - back["x"]) > 40 or abs(box["y"] - back["y"]) > 40, (back, box)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/cancel") else None)
    page.once("dialog", lambda dialog: dialog.dismiss())
    cancel.click()
    expect(page.locator("#run-panel")).to_have_attribute("data-state", "running")
    assert requests == []
    page.once("dialog", lambda dialog: dialog.accept())
    cancel.click()
    assert wait_finished(page) == "cancelled"
    assert len(requests) == 1

    # The same server again: the page asks first; "set up another server" is the main action now.
    expect(page.locator("#new-run")).to_have_class(re.compile(r"\bprimary\b"))
    expect(page.locator("#auto-setup")).not_to_have_class(re.compile(r"\bprimary\b"))
    asked: list[str] = []

    def decline(dialog: object) -> None:
        asked.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.once("dialog", decline)
    page.click("#auto-setup")
    expect(page.locator("#run-panel")).to_have_attribute("data-state", "cancelled")
    assert asked and test_host.address in asked[0]


def test_the_test_step_says_what_to_do_about_what_it_found(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    # A closed port: the error says what to check next.
    fill_server(page, Server(test_host.address, 2, test_host.no_sudo))

    def slow(route: Route) -> None:  # hold the request 2 s, so the wait is seen whatever the port does
        page.wait_for_timeout(2000)
        route.continue_()

    page.route(re.compile(r"/api/setup/test-connection$"), slow)
    page.click("#test-connection")
    # While it waits: a spinner and the seconds waited, against the connection's time limit.
    expect(page.locator("#test-running")).to_be_visible()
    limit = round(live_service.settings.ssh_connect_timeout)  # the service's own limit, not a constant
    expect(page.locator("#test-waited")).to_contain_text(f"SSH 连接最长等待 {limit} 秒")
    error = page.locator("#test-error")
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text(re.compile(r"请核对.*端口"))
    expect(page.locator("#test-running")).to_be_hidden()
    page.unroute(re.compile(r"/api/setup/test-connection$"))

    # A user outside the sudo group: the advice says to add it there from a login that can become root,
    # and the sudo password is not asked for.
    page.click("section[data-step='2'] [data-next='1']")
    page.fill("input[name=port]", str(test_host.port))
    page.click("section[data-step='1'] [data-next='2']")
    page.click("#test-connection")
    advice = page.locator("#test-advice")
    expect(advice).to_be_visible(timeout=60_000)
    expect(advice).to_contain_text("root")
    expect(advice).to_contain_text(f"usermod -aG sudo {test_host.no_sudo.username}")
    if not page.locator("#fingerprint-known").is_visible():  # the key is on record after this module's runs
        page.click("#confirm-fingerprint")
    page.click("section[data-step='2'] [data-next='3']")
    expect(page.locator("input[name=sudo_password]")).to_be_hidden()
