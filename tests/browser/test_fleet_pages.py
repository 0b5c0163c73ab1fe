"""The Fleets section in Chromium on the real service and two real test hosts: a fleet made from pasted
lines and an INI inventory, its new host keys confirmed in one action, run to the end in the live table
(the failed host first), a host's log opened in the session view, retry of the failed host, cancel, both
languages (the service's own last lines too), the phone layout, the dark theme, and axe finds nothing
serious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.testbed import Testbed
from tests.browser.conftest import LiveService, serve
from tests.browser.test_accessibility import serious
from tests.browser.wizard_page import log_in, wait_log_contains

# The first run fails once on a host without the marker (and leaves the marker), so a retry succeeds.
SCRIPT = (
    "test -e /tmp/fleetpage-ok || { touch /tmp/fleetpage-ok; echo first-try-fails; exit 3; }\n"
    "echo fleet-page-ok\n"
)
FLEET_URL = re.compile(r"/fleets/[0-9a-f-]{36}$")
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1200, "height": 900}


@pytest.fixture(scope="module")
def hosts(testbed: Testbed) -> Iterator[list[TestHost]]:
    """Two fresh hosts for the module; the first already has the marker, so only the second fails once."""
    made = [testbed.new_host() for _ in range(2)]
    try:
        made[0].run_root("touch /tmp/fleetpage-ok")
        yield made
    finally:
        for host in made:
            host.stop()


def line(host: TestHost) -> str:
    return f"{host.address}:{host.port}"


def rows(page: Page) -> list[tuple[str, str]]:
    """The fleet table as (host, status) in its order."""
    found: list[list[str]] = page.eval_on_selector_all(
        "#fleet-hosts tbody tr", "trs => trs.map(tr => [tr.dataset.host, tr.dataset.status])"
    )
    return [(host, status) for host, status in found]


def wait_fleet_status(page: Page, status: str, timeout: float = 300_000) -> None:
    expect(page.locator("#fleet-panel")).to_have_attribute("data-status", status, timeout=timeout)


def phone_fits(page: Page) -> None:
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a phone"


def light_plan(page: Page, password: str, script: str) -> None:
    """The shared password and a plan of only the connect, sudo and script steps."""
    page.fill("input[name=password]", password)
    page.uncheck("input[name=apt_update]")
    page.fill("input[name=packages]", "")
    page.uncheck("input[name=firewall]")
    page.fill("textarea[name=script]", script)
    page.locator("textarea[name=script]").dispatch_event("change")


def known_to_the_service(page: Page, live_service: LiveService, hosts: list[TestHost]) -> None:
    """A quick fleet through the API that records the hosts' keys and puts them in the servers list (so a
    test does not depend on an earlier one having run)."""
    body = {
        "name": "first contact",
        "plan": {"apt_update": False, "packages": [], "firewall": False, "script": "true\n"},
        "targets": [{"host": h.address, "port": h.port, "username": "bob"} for h in hosts],
        "defaults": {"password": hosts[0].sudo_nopasswd.password},
        "accept_new_host_keys": True,
    }
    answer = page.context.request.post(f"{live_service.url}/api/fleets", data=body)
    assert answer.status == 202, answer.text()
    page.goto(f"{live_service.url}/fleets/{answer.json()['fleet_id']}")
    wait_fleet_status(page, "done")
    assert {status for _, status in rows(page)} == {"succeeded"}


def test_new_fleet_from_pasted_lines_runs_live_and_retries_the_failed_host(
    page: Page, live_service: LiveService, hosts: list[TestHost], artifacts: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/fleets")
    expect(page.locator("nav a[href='/fleets']")).to_have_attribute("aria-current", "page")
    expect(page.locator("#fleets-empty")).to_be_visible()
    assert serious(page) == [], "the empty fleets list"
    page.click("#new-fleet")
    page.wait_for_url(re.compile(r"/fleets/new$"))

    # An INI inventory with a bad line: the line is named, the good host is read.
    first, second = hosts
    page.fill(
        "#inventory",
        f"[web]\nweb-1 ansible_host={first.address} ansible_port={first.port} ansible_user=bob\n"
        "not a host line\n",
    )
    page.click("#add-pasted")
    expect(page.locator("#inventory-problems")).to_contain_text("第 3 行")
    expect(page.locator("#targets tbody tr")).to_have_count(1)
    # user@host:port lines, one repeating the first host (not listed twice)
    page.fill("#inventory", f"bob@{line(first)}\nbob@{line(second)}\n")
    page.click("#add-pasted")
    expect(page.locator("#targets tbody tr")).to_have_count(2)
    expect(page.locator("#inventory-problems")).to_be_hidden()

    light_plan(page, first.sudo_nopasswd.password, SCRIPT)
    # the wizard's own plan preview, the first server as the example
    expect(page.locator("#plan-preview")).to_contain_text("fleet-page-ok")
    expect(page.locator("#plan-for")).to_contain_text(line(first))
    expect(page.locator("#plan-preview")).to_contain_text(f"ssh bob@{first.address}")  # its own user
    expect(page.locator("#start-fleet")).to_be_disabled()  # no key confirmed yet: nothing may run

    page.click("#test-all")
    expect(page.locator("#targets tbody tr[data-key='new']")).to_have_count(2, timeout=120_000)
    expect(page.locator("#trust-new")).to_contain_text("2")
    assert serious(page) == [], "a new fleet with its fingerprint table"
    page.screenshot(path=str(artifacts / "fleet-new-zh.png"), full_page=True)
    page.click("#trust-new")  # every new key at once
    expect(page.locator("#trust-new")).to_be_hidden()
    expect(page.locator("#targets td.key").first).to_contain_text("已确认")
    expect(page.locator("#start-summary")).to_contain_text("2")
    page.fill("input[name=name]", "fleet page")
    page.fill("input[name=parallel]", "2")
    page.click("#start-fleet")
    page.wait_for_url(FLEET_URL)
    fleet_url = page.url

    # Live: the socket's frames drive the table to the end; the host that failed comes first.
    wait_fleet_status(page, "done")
    assert page.evaluate("() => window.setupWizardFleet.frames") > 0, "no frame came over the fleet socket"
    assert rows(page) == [(second.address, "failed"), (first.address, "succeeded")]
    failed_row = page.locator(f"#fleet-hosts tr[data-host='{second.address}']")
    expect(failed_row.locator(".status")).to_have_text(re.compile("^✗"))
    expect(failed_row.locator(".last-line")).to_contain_text("first-try-fails")
    ok_row = page.locator(f"#fleet-hosts tr[data-host='{first.address}']")
    expect(ok_row.locator(".status")).to_have_text(re.compile("^✓"))
    expect(ok_row.locator(".step")).to_have_text(re.compile(r"^\d+/\d+ "))
    expect(ok_row.locator(".duration")).not_to_be_empty()
    expect(page.locator("#fleet-counts")).to_contain_text("成功 1")
    expect(page.locator("#fleet-logs")).to_have_attribute("href", re.compile(r"/logs\.zip$"))
    with page.expect_download() as download:
        page.click("#fleet-logs")
    assert download.value.suggested_filename.endswith("-logs.zip")
    assert serious(page) == [], "the fleet view after a run"
    page.screenshot(path=str(artifacts / "fleet-view-zh.png"), full_page=True)

    # Retry the failed one: only it runs again, and succeeds (its marker is there now).
    page.click("#fleet-retry")
    expect(page.locator("#fleet-hosts tr[data-status='succeeded']")).to_have_count(2, timeout=300_000)
    wait_fleet_status(page, "done")
    expect(page.locator("#fleet-retry")).to_be_hidden()

    # A host's row opens its log in the session view.
    ok_row.locator(".last-line").click()
    page.wait_for_url(re.compile(r"/setup\?session="))
    wait_log_contains(page, "fleet-page-ok")

    # English, the phone, the dark theme
    page.goto(fleet_url)
    page.click("#lang-switch")
    expect(page.locator("#fleet-status")).to_have_text("Finished")
    expect(page.locator("nav a[href='/fleets']")).to_have_text("Fleets")
    expect(page.locator("#fleet-hosts tbody tr").first.locator(".status")).to_have_text(
        re.compile("^✓ Succeeded")
    )
    # the bar is whole once its width's transition is over (the screenshot is taken after it)
    page.wait_for_function(
        "() => { const box = (id) => document.getElementById(id).getBoundingClientRect();"
        " return box('fleet-fill').width >= box('fleet-bar').width - 1; }"
    )
    page.screenshot(path=str(artifacts / "fleet-view-en.png"), full_page=True)
    phone_fits(page)
    assert serious(page) == [], "the fleet view on a phone, English"
    page.screenshot(path=str(artifacts / "fleet-view-phone-en.png"), full_page=True)
    page.click("#theme-switch")
    page.screenshot(path=str(artifacts / "fleet-view-phone-en-dark.png"), full_page=True)
    assert serious(page) == [], "the fleet view on a phone, dark"
    page.click("#lang-switch")
    page.screenshot(path=str(artifacts / "fleet-view-phone-zh-dark.png"), full_page=True)
    page.click("#theme-switch")
    page.goto(live_service.url + "/fleets/new")
    phone_fits(page)
    page.screenshot(path=str(artifacts / "fleet-new-phone-zh.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    page.goto(live_service.url + "/fleets")
    row = page.locator("#fleets tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("已结束")
    expect(row.locator(".counts")).to_contain_text("成功 2")
    assert serious(page) == [], "the fleets list"
    row.locator("a").click()
    page.wait_for_url(fleet_url)


def test_cancel_all_stops_the_running_host_and_the_queued_one_never_starts(
    page: Page, live_service: LiveService, hosts: list[TestHost], artifacts: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
    known_to_the_service(page, live_service, hosts)
    page.goto(f"{live_service.url}/history")
    page.click("nav a[href='/fleets']")  # in every page's navigation
    page.click("#new-fleet")
    # The servers list: both hosts are there since the first fleet; pick them.
    choices = page.locator("#server-choices input")
    expect(choices).to_have_count(2)
    choices.nth(0).check()
    choices.nth(1).check()
    page.click("#add-servers")
    expect(page.locator("#targets tbody tr")).to_have_count(2)
    light_plan(page, hosts[0].sudo_nopasswd.password, "echo started\nsleep 120\n")
    page.click("#test-all")
    expect(page.locator("#targets tbody tr[data-key='known']")).to_have_count(2, timeout=120_000)
    expect(page.locator("#trust-new")).to_be_hidden()  # nothing new to confirm: the keys are trusted
    page.fill("input[name=parallel]", "1")
    page.click("#start-fleet")
    page.wait_for_url(FLEET_URL)
    running = page.locator("#fleet-hosts tr[data-status='running']")
    expect(running).to_have_count(1, timeout=120_000)
    expect(running.locator(".status")).to_have_text(re.compile(r"运行中 \d+/\d+"), timeout=60_000)
    expect(running.locator(".step")).to_have_text("运行自定义脚本", timeout=60_000)  # the step's name
    expect(page.locator("#fleet-hosts tr[data-status='queued']")).to_have_count(1)
    expect(running.locator(".last-line")).to_contain_text("started", timeout=60_000)
    page.screenshot(path=str(artifacts / "fleet-running-zh.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fleet-cancel")
    wait_fleet_status(page, "cancelled", timeout=120_000)
    expect(page.locator("#fleet-hosts tr[data-status='cancelled']")).to_have_count(2)
    # the queued one never started, and says why
    expect(page.locator("#fleet-hosts td.step", has_text="批量设置已取消，未开始")).to_have_count(1)
    expect(
        page.locator("#fleet-hosts td.last-line", has_text="已取消：该主机在批量任务取消前尚未开始")
    ).to_have_count(1)
    expect(page.locator("#fleet-hosts tr .status").first).to_have_text(re.compile("^⚠"))
    expect(page.locator("#fleet-cancel")).to_be_hidden()
    expect(page.locator("#fleet-retry")).to_be_visible()
    assert serious(page) == [], "a cancelled fleet"


def test_a_changed_host_key_leaves_that_host_out_and_the_fleet_runs_the_other(
    page: Page, live_service: LiveService, hosts: list[TestHost], artifacts: Path
) -> None:
    changed, kept = hosts
    log_in(page, live_service.url, live_service.username, live_service.password, path="/fleets")
    known_to_the_service(page, live_service, hosts)
    changed.regenerate_host_keys()
    page.goto(f"{live_service.url}/fleets/new")
    page.fill("#inventory", f"bob@{line(changed)}\nbob@{line(kept)}\n")
    page.click("#add-pasted")
    light_plan(page, kept.sudo_nopasswd.password, "echo after-key-change\n")
    page.click("#test-all")
    changed_row = page.locator(f"#targets tbody tr[data-host='{changed.address}']")
    expect(changed_row).to_have_attribute("data-key", "changed", timeout=120_000)
    expect(changed_row.locator(".key")).to_contain_text("密钥已改变")
    expect(page.locator(f"#targets tbody tr[data-host='{kept.address}']")).to_have_attribute(
        "data-key", "known"
    )
    expect(page.locator("#start-summary")).to_contain_text(line(changed))  # named as left out
    assert serious(page) == [], "a changed key in the fingerprint table"
    page.click("#lang-switch")
    expect(changed_row.locator(".key")).to_contain_text("Key changed")
    expect(page.locator("#start-summary")).to_contain_text("Left out")
    page.locator("#targets").screenshot(path=str(artifacts / "fleet-keys-en.png"))
    page.set_viewport_size(PHONE)
    page.locator("#targets").screenshot(path=str(artifacts / "fleet-keys-phone-en.png"))
    page.set_viewport_size(DESKTOP)
    page.click("#lang-switch")
    page.click("#start-fleet")
    page.wait_for_url(FLEET_URL)
    wait_fleet_status(page, "done")
    assert rows(page) == [(kept.address, "succeeded")]


def test_the_services_own_last_lines_read_in_the_pages_language(
    page: Page, live_service: LiveService, hosts: list[TestHost], artifacts: Path
) -> None:
    """A host that failed to log in (its last line the run's final line) and one skipped after it (the
    service's reason): Chinese on the Chinese page, English on the English one, and back."""
    failing, skipped = hosts
    log_in(page, live_service.url, live_service.username, live_service.password, path="/fleets")
    body = {
        "name": "languages",
        "plan": {"apt_update": False, "packages": [], "firewall": False, "script": "true\n"},
        "targets": [
            {"host": failing.address, "port": failing.port, "username": "bob", "password": "not-it"},
            {"host": skipped.address, "port": skipped.port, "username": "bob"},
        ],
        "defaults": {"password": skipped.sudo_nopasswd.password},
        "parallel": 1,
        "stop_after_failures": 1,
        "accept_new_host_keys": True,
    }
    answer = page.context.request.post(f"{live_service.url}/api/fleets", data=body)
    assert answer.status == 202, answer.text()
    page.goto(f"{live_service.url}/fleets/{answer.json()['fleet_id']}")
    wait_fleet_status(page, "done")
    assert rows(page) == [(failing.address, "failed"), (skipped.address, "skipped")]
    failed_line = page.locator(f"#fleet-hosts tr[data-host='{failing.address}'] .last-line")
    skipped_line = page.locator(f"#fleet-hosts tr[data-host='{skipped.address}'] .last-line")
    expect(skipped_line).to_have_text("已跳过：批量任务失败次数已达上限，该主机未开始")
    expect(failed_line).to_have_text(re.compile(r"^✗ .*[\u4e00-\u9fff]"))  # the run's final line, Chinese

    page.click("#lang-switch")
    expect(skipped_line).to_have_text("Skipped: the fleet reached its failure limit before this host started")
    expect(failed_line).to_have_text(re.compile(r"^✗ Step 1 .+ failed: "))
    expect(failed_line).not_to_have_text(re.compile(r"[\u3000-\u9fff\uff00-\uffef]"))
    expect(skipped_line).to_have_attribute("title", re.compile("^Skipped: "))
    page.screenshot(path=str(artifacts / "fleet-last-lines-en.png"), full_page=True)
    page.reload()  # the English page loads English from the start
    expect(skipped_line).to_have_text(re.compile("^Skipped: "))
    page.click("#lang-switch")
    expect(skipped_line).to_have_text("已跳过：批量任务失败次数已达上限，该主机未开始")
    expect(failed_line).to_have_text(re.compile(r"^✗ .*[\u4e00-\u9fff]"))


def test_retry_after_a_restart_asks_for_the_login_again(
    page: Page, hosts: list[TestHost], tmp_path_factory: pytest.TempPathFactory
) -> None:
    host = hosts[1]
    password = host.sudo_nopasswd.password
    data_dir = tmp_path_factory.mktemp("fleet-restart")
    body = {
        "name": "wrong password",
        "plan": {"apt_update": False, "packages": [], "firewall": False, "script": "echo retried-ok\n"},
        "targets": [{"host": host.address, "port": host.port, "username": "bob", "password": "not-it"}],
        "defaults": {"password": password},
        "accept_new_host_keys": True,
    }
    with serve(data_dir) as first:
        log_in(page, first.url, first.username, first.password, path="/fleets")
        answer = page.context.request.post(f"{first.url}/api/fleets", data=body)
        assert answer.status == 202, answer.text()
        fleet_id = answer.json()["fleet_id"]
        page.goto(f"{first.url}/fleets/{fleet_id}")
        wait_fleet_status(page, "done")
        assert rows(page) == [(host.address, "failed")]
    # Another service on the same data: the fleet's login was held only by the first one.
    with serve(data_dir) as second:
        # still logged in: the cookie (per host, not per port) names a session the shared database holds
        page.goto(f"{second.url}/fleets/{fleet_id}")
        expect(page.locator("#fleet-hosts tbody tr[data-status='failed']")).to_have_count(1)
        page.click("#fleet-retry")
        form = page.locator("#retry-login")
        expect(form).to_be_visible()
        expect(form.locator("input[name=password]")).to_be_focused()
        assert serious(page) == [], "the retry's login form"
        form.locator("input[name=username]").fill("bob")
        form.locator("input[name=password]").fill(password)
        page.click("#retry-with-login")
        expect(form).to_be_hidden()
        # (the fleet was "done" before the retry too: wait for the host's new end, not the fleet's status)
        expect(page.locator("#fleet-hosts tbody tr[data-status='succeeded']")).to_have_count(
            1, timeout=300_000
        )
        wait_fleet_status(page, "done")
        assert rows(page) == [(host.address, "succeeded")]
        expect(form.locator("input[name=password]")).to_have_value("")  # not kept in the page
