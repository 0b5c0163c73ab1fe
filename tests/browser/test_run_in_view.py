"""A run is read where it happens: when it starts, the plan folds to one line
("3 steps · show") and the live log comes into view; when it ends, the result is in view. On a 1280×900
desktop and on a 390×844 phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

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

SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(params=sorted(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(bypass_csp=True, **SCREENS[request.param])  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        context.close()


def in_view(page: Page, selector: str) -> None:
    """The whole element is inside the window."""
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]  # type: ignore[index]
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} is out of view: {box}"


def test_the_log_and_then_the_result_are_in_view(
    screen: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    page = screen
    name = "phone" if page.viewport_size["width"] < 500 else "desktop"  # type: ignore[index]
    log_in(page, live_service.url, live_service.username, live_service.password)
    page.click("#lang-switch")
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script='for i in $(seq 1 40); do echo "tick $i"; sleep 0.25; done\n')
    expect(page.locator("#plan-status")).to_have_text(re.compile(r"^\d+ steps$"))
    expect(page.locator("#plan-preview")).to_be_visible()
    expect(page.locator("#plan-folded")).to_be_hidden()
    page.click("#auto-setup")

    wait_log_contains(page, "tick 3")
    folded = page.locator("#plan-folded")
    expect(folded).to_have_text(re.compile(r"^\d+ steps · show$"))
    expect(page.locator("#plan-preview")).to_be_hidden()
    in_view(page, "#run-heading")
    in_view(page, "#terminal .terminal")  # the whole live log, not one line of it
    page.screenshot(path=str(artifacts / f"run-in-view-{name}.png"))
    page.emulate_media(color_scheme="dark")  # the system's dark theme (the switch would scroll to the top)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    in_view(page, "#terminal .terminal")
    page.screenshot(path=str(artifacts / f"run-in-view-{name}-dark.png"))
    page.emulate_media(color_scheme="light")

    # The plan can still be read, and folded again.
    page.click("#plan-show")
    expect(page.locator("#plan-preview")).to_be_visible()
    expect(page.locator("#plan-show")).to_have_text("hide")
    page.click("#plan-show")
    expect(page.locator("#plan-preview")).to_be_hidden()

    page.evaluate("() => window.scrollTo(0, 0)")  # the reader wandered off to the top
    assert wait_finished(page) == "succeeded"
    expect(page.locator("#banner")).to_contain_text("Server setup finished")
    in_view(page, "#banner")
    page.screenshot(path=str(artifacts / f"run-result-in-view-{name}.png"))
