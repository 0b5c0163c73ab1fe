"""The dark theme: it follows the system's prefers-color-scheme until the top bar's switch chooses, and the
choice is remembered; axe-core finds nothing serious or critical on any page in either theme, in either
language. The wizard after a run is photographed in both themes and both languages (docs/ui.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.short_run import run_short_setup
from tests.browser.test_accessibility import serious
from tests.browser.wizard_page import log_in

DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def luminance(page: Page, selector: str, prop: str = "backgroundColor") -> float:
    """The relative luminance (0 black … 1 white) of an element's computed colour."""
    value: str = page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")
    match = re.match(r"rgba?\((\d+), (\d+), (\d+)", value)
    assert match, value

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else float(((s + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(int(x)) for x in match.groups())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def theme(page: Page) -> str:
    return str(page.evaluate("() => document.documentElement.dataset.theme"))


@pytest.fixture
def dark_system(browser: Browser) -> Iterator[BrowserContext]:
    """A browser whose system asks for dark colours."""
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark", bypass_csp=True)
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


def test_theme_follows_the_system_until_the_switch_chooses_and_the_choice_is_remembered(
    dark_system: BrowserContext, live_service: LiveService
) -> None:
    page = dark_system.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_service.url + "/login")
    assert theme(page) == "dark"
    assert luminance(page, "html") < 0.05 and luminance(page, ".card") < 0.05
    assert luminance(page, "h1", "color") > 0.6  # light ink on the dark card
    switch = page.locator(".topbar #theme-switch")
    expect(switch).to_have_accessible_name("浅色")  # it names the theme it switches to
    # The system changes its mind while nothing is chosen: the page follows at once.
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert luminance(page, "html") > 0.8
    expect(switch).to_have_accessible_name("深色")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")

    # A person's choice wins over the system and is remembered: after a reload, and on the next page.
    switch.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert luminance(page, ".card") > 0.8
    page.click("#lang-switch")
    expect(switch).to_have_accessible_name("Dark")
    log_in(page, live_service.url, live_service.username, live_service.password, path="/history")
    assert theme(page) == "light"
    page.reload()
    assert theme(page) == "light"
    assert luminance(page, "main .card") > 0.8
    page.click("#theme-switch")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.goto(live_service.url + "/setup")
    assert theme(page) == "dark"
    assert luminance(page, "input[name=host]") < 0.05  # form controls too, not only the page
    assert luminance(page, ".topbar") < 0.05
    assert errors == []


@pytest.fixture(scope="module")
def finished_session(
    browser: Browser, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> str:
    """One finished setup; the wizard after it photographed in both themes and both languages."""

    def photograph(page: Page) -> None:
        page.screenshot(path=str(artifacts / "wizard-zh.png"), full_page=True)
        page.click("#lang-switch")
        expect(page.locator("#banner")).to_contain_text("Server setup finished")
        page.screenshot(path=str(artifacts / "wizard-en.png"), full_page=True)
        page.click("#theme-switch")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.screenshot(path=str(artifacts / "wizard-en-dark.png"), full_page=True)
        page.click("#lang-switch")
        expect(page.locator("#banner")).to_contain_text("服务器设置完成")
        page.screenshot(path=str(artifacts / "wizard-zh-dark.png"), full_page=True)

    return run_short_setup(browser, live_service, test_host, after=photograph, color_scheme="light")


def ready(page: Page, path: str) -> None:
    """Wait until the page shows what axe should see."""
    if path == "/setup":
        expect(page.locator("input[name=host]")).to_be_focused()
    elif path.startswith("/setup?session="):
        expect(page.locator("#run-panel")).to_have_attribute("data-state", "succeeded")
    elif path == "/history":
        page.locator("#sessions tbody tr button.open").first.click()
        expect(page.locator("#log-terminal .line").first).to_be_visible()
    elif path == "/servers":
        expect(page.locator("#servers tbody tr").first).to_be_visible()
    elif path == "/audit":
        expect(page.locator("#audit tbody tr").first).to_be_visible()
    elif path == "/fleets":
        expect(page.locator("#fleets-empty")).to_be_visible()  # this service ran no fleet
    elif path == "/fleets/new":
        expect(page.locator("#plan-status")).not_to_be_empty()  # the step choice and its preview are there


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_any_page_in_either_theme_and_language(
    browser: Browser,
    live_service: LiveService,
    finished_session: str,
    scheme: Literal["light", "dark"],
) -> None:
    context = browser.new_context(viewport=DESKTOP, color_scheme=scheme, bypass_csp=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: dict[str, object] = {}
    try:
        page.goto(live_service.url + "/login")
        for lang in ("中文", "English"):
            found[f"login {lang}"] = serious(page)
            page.click("#lang-switch")
        log_in(page, live_service.url, live_service.username, live_service.password)
        paths = [
            "/setup",
            f"/setup?session={finished_session}",
            "/history",
            "/servers",
            "/audit",
            "/fleets",
            "/fleets/new",
        ]
        for lang in ("zh", "en"):
            page.evaluate("(lang) => localStorage.setItem('setupwizard.lang', lang)", lang)
            for path in paths:
                page.goto(live_service.url + path)
                ready(page, path)
                assert theme(page) == scheme
                assert page.evaluate("() => document.documentElement.lang").startswith(lang)
                found[f"{path} {lang}"] = serious(page)
        assert errors == []
    finally:
        context.close()
    assert {where: v for where, v in found.items() if v} == {}
