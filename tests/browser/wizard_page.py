"""Driving the pages like a person does: log in, fill the wizard, run, read the terminal."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from setupwizard.testbed.accounts import Account

TERMINAL_LINES = "#terminal .line"
EVENT_LINES = "#terminal .line[data-seq]"


def log_in(page: Page, base_url: str, username: str, password: str, path: str = "/setup") -> None:
    """Open ``path``; the page sends us to /login; log in there and come back."""
    page.goto(base_url + path)
    page.wait_for_url(re.compile(r"/login\?"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path) + r"$"))


@dataclass(frozen=True)
class Server:
    """Where and how the wizard logs in."""

    address: str
    port: int
    account: Account


def fill_server(page: Page, server: Server) -> None:
    """Step 1: host, port, username, password."""
    page.fill("input[name=host]", server.address)
    page.fill("input[name=port]", str(server.port))
    page.fill("input[name=username]", server.account.username)
    page.fill("input[name=password]", server.account.password)
    page.click("section[data-step='1'] [data-next='2']")
    expect(page.locator("section[data-step='2']")).to_be_visible()


def confirm_connection(page: Page) -> str:
    """Step 2: test the connection, confirm the fingerprint; returns the fingerprint shown."""
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    fingerprint = page.locator("#report-fingerprint").inner_text()
    page.click("#confirm-fingerprint")
    expect(page.locator("#fingerprint-confirmed")).to_be_visible()
    page.click("section[data-step='2'] [data-next='3']")
    expect(page.locator("section[data-step='3']")).to_be_visible()
    return fingerprint


def set_options(
    page: Page, *, packages: str | None = None, ports: str | None = None, script: str | None = None
) -> None:
    """Step 3: change what was given, keep the rest; then go to step 4."""
    if packages is not None:
        page.fill("input[name=packages]", packages)
    if ports is not None:
        page.fill("input[name=firewall_ports]", ports)
    if script is not None:
        page.fill("textarea[name=script]", script)
    page.click("section[data-step='3'] [data-next='4']")
    expect(page.locator("#auto-setup")).to_be_visible()


def wait_finished(page: Page, timeout: float = 600_000) -> str:
    """Wait for the run to end; returns the run panel's final state (succeeded, failed…)."""
    panel = page.locator("#run-panel")
    expect(panel).not_to_have_attribute("data-state", "running", timeout=timeout)
    return str(panel.get_attribute("data-state"))


def event_seqs(page: Page) -> list[int]:
    """The seq of every event line in the terminal, in DOM order."""
    values: list[str] = page.eval_on_selector_all(EVENT_LINES, "els => els.map(e => e.dataset.seq)")
    return [int(v) for v in values]


def terminal_texts(page: Page) -> list[str]:
    """Every line's text in the terminal, in order."""
    texts: list[str] = page.eval_on_selector_all(TERMINAL_LINES, "els => els.map(e => e.textContent)")
    return texts


def scroll_up(page: Page, selector: str, pixels: int) -> None:
    """Scroll the element up with the mouse wheel, as a reader does.

    Chromium occasionally drops a synthetic wheel event sent while it is busy; the reader would just
    scroll again, so up to three tries are made until the element's scrollTop has changed.
    """
    box = page.locator(selector)
    box.hover()
    start = box.evaluate("s => s.scrollTop")
    for _ in range(3):
        page.mouse.wheel(0, -pixels)
        try:
            page.wait_for_function(
                "([sel, start]) => document.querySelector(sel).scrollTop < start",
                arg=[selector, start],
                timeout=2000,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"{selector} did not scroll")
