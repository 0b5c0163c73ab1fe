"""Keyboard and screen-reader use of the pages: focus follows the wizard's steps and the start, Enter
submits a step, the stepper is reachable with aria-current, the progress bar is a progressbar, and
axe-core (the axe-playwright-python package ships it) finds nothing serious or critical on any page."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import Server, log_in, wait_finished

AXE = Axe()


def serious(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    results = AXE.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def focused(page: Page) -> str:
    selector: str = page.evaluate(
        "() => { const e = document.activeElement; const s = e.closest('[data-step]');"
        " return e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}${s ? `@${s.dataset.step}` : ''}`; }"
    )
    return selector


def test_keyboard_only_through_the_wizard_with_focus_following_each_step(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    assert serious(page) == [], "login → wizard step 1"
    server = Server(test_host.address, test_host.port, test_host.sudo_nopasswd)
    page.fill("input[name=host]", server.address)
    page.fill("input[name=port]", str(server.port))
    page.fill("input[name=username]", server.account.username)
    page.fill("input[name=password]", server.account.password)
    # The stepper: buttons a keyboard reaches, the current step marked for screen readers.
    steps = page.locator("#stepper [data-goto]")
    expect(steps).to_have_count(4)
    expect(steps.nth(0)).to_have_attribute("aria-current", "step")
    assert steps.nth(1).evaluate("b => b.tagName") == "BUTTON"

    # Enter in a field submits the step; focus moves to the new step's heading.
    page.press("input[name=password]", "Enter")
    expect(page.locator("section[data-step='2']")).to_be_visible()
    assert focused(page) == "h2@2"
    expect(steps.nth(1)).to_have_attribute("aria-current", "step")
    expect(steps.nth(0)).not_to_have_attribute("aria-current", "step")
    page.keyboard.press("Tab")
    assert focused(page) == "#test-connection"
    page.keyboard.press("Enter")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    assert serious(page) == [], "wizard step 2 with the report"
    page.locator("#confirm-fingerprint").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#fingerprint-confirmed")).to_be_visible()
    page.locator("section[data-step='2'] [data-next='3']").focus()
    page.keyboard.press("Enter")
    assert focused(page) == "h2@3"
    page.fill("input[name=packages]", "")
    page.fill("textarea[name=script]", "echo keyboard-run\n")
    page.press("input[name=packages]", "Enter")
    expect(page.locator("section[data-step='4']")).to_be_visible()
    assert focused(page) == "h2@4"
    assert serious(page) == [], "wizard step 4"

    page.locator("#auto-setup").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#run-panel")).to_be_visible()
    assert focused(page) == "#run-heading"  # after start, focus is on the run, not on <body>
    bar = page.locator("[role=progressbar]")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "100")
    assert wait_finished(page) == "succeeded"
    expect(bar).to_have_attribute("aria-valuenow", "100")
    assert serious(page) == [], "wizard after a run"

    page.goto(live_service.url + "/history")
    expect(page.locator("#sessions tbody tr").first).to_be_visible()
    page.locator("#sessions tbody tr button.open").first.click()
    expect(page.locator("#log-panel")).to_be_visible()
    assert serious(page) == [], "history with a log open"
    page.click("#lang-switch")
    assert serious(page) == [], "history in English"
