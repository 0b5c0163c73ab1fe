"""Driving the pages like a person does: log in, fill the wizard, run, read the terminal."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from playwright.sync_api import Page, Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from setupwizard.testbed.accounts import Account

TERMINAL_LINES = "#terminal .line"
EVENT_LINES = "#terminal .line[data-seq]"


LOGIN_URL = re.compile(r"/login\?")


def open_until_login(page: Page, url: str, timeout: float = 30.0) -> None:
    """Open ``url`` and wait for the page to send us to /login.

    Once, the load is tried again: when Chromium aborted a request of this load with
    ``ERR_NETWORK_CHANGED``. Its network-change notifier fires when the testbed adds or removes a test
    host's interfaces on this machine (a module's first test starts right after its host), and a page
    whose module scripts were aborted never runs; a person would reload, and so does this.
    """
    changed: list[str] = []

    def on_failed(request: Request) -> None:
        if "ERR_NETWORK_CHANGED" in (request.failure or ""):
            changed.append(request.url)

    page.on("requestfailed", on_failed)
    try:
        reloads = 1
        page.goto(url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                page.wait_for_url(LOGIN_URL, timeout=1_000)
                return
            except PlaywrightTimeout:
                if changed and reloads:
                    print(f"Chromium aborted {changed} (ERR_NETWORK_CHANGED); loading {url} again")
                    changed.clear()
                    reloads -= 1
                    page.goto(url)
                    deadline = time.monotonic() + timeout
                elif time.monotonic() > deadline:
                    raise
    finally:
        page.remove_listener("requestfailed", on_failed)


def log_in(page: Page, base_url: str, username: str, password: str, path: str = "/setup") -> None:
    """Open ``path``; the page sends us to /login; log in there and come back."""
    open_until_login(page, base_url + path)
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


def fill_server_with_key(page: Page, address: str, port: int, username: str, private_key: str) -> None:
    """Step 1 with a private key (pasted) instead of a password."""
    page.fill("input[name=host]", address)
    page.fill("input[name=port]", str(port))
    page.fill("input[name=username]", username)
    page.check("input[name=auth_method][value=key]")
    page.fill("textarea[name=private_key]", private_key)
    page.click("section[data-step='1'] [data-next='2']")
    expect(page.locator("section[data-step='2']")).to_be_visible()


def confirm_connection(page: Page) -> str:
    """Step 2: test the connection, confirm the fingerprint; returns the fingerprint shown."""
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    fingerprint = page.locator("#report-fingerprint").inner_text()
    if not page.locator("#fingerprint-known").is_visible():  # a known key that matched: nothing to confirm
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


def event_seqs(page: Page, root: str = "#terminal") -> list[int]:
    """The seq of every event line the log view holds (not only those in the DOM), in order."""
    seqs: list[int] = page.evaluate(
        """(sel) => { const s = document.querySelector(sel).terminal.store; const out = [];
             for (let i = 0; i < s.length; i += 1) { const q = s.seq(i); if (q != null) out.push(q); }
             return out; }""",
        root,
    )
    return seqs


def terminal_texts(page: Page, root: str = "#terminal") -> list[str]:
    """Every line's text the log view holds, in order."""
    texts: list[str] = page.evaluate("(sel) => document.querySelector(sel).terminal.store.texts", root)
    return texts


def log_line_count(page: Page, root: str = "#terminal") -> int:
    """How many lines the log view holds."""
    count: int = page.evaluate("(sel) => document.querySelector(sel).terminal.store.length", root)
    return count


def wait_log_contains(page: Page, text: str, root: str = "#terminal", timeout: float = 30_000) -> None:
    """Wait until a line the log view holds contains ``text`` (in sight or not)."""
    page.wait_for_function(
        """([sel, text]) => { const el = document.querySelector(sel);
             return !!el && !!el.terminal && el.terminal.store.texts.some((t) => t.includes(text)); }""",
        arg=[root, text],
        timeout=timeout,
    )


def log_contains(page: Page, text: str, root: str = "#terminal") -> bool:
    """Whether a line the log view holds contains ``text``."""
    found: bool = page.evaluate(
        "([sel, text]) => document.querySelector(sel).terminal.store.texts.some((t) => t.includes(text))",
        [root, text],
    )
    return found


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
