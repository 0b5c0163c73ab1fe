"""Fixtures for the browser suite: Debian's Chromium (Python Playwright) and the live service.

The service is the real app (``create_app``) on a free loopback port, in a thread of the test process,
with its own data directory (SQLite) and a known admin. The test server is the testbed's ``test_host``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr

from tests.support import missing_dependency

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
ADMIN_USER = "webadmin"
ADMIN_PASSWORD = "browser-suite-Pa55word!"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this folder needs Chromium."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True)
class LiveService:
    """The running service: its base URL and the admin who can log in."""

    url: str
    username: str
    password: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The real app served by uvicorn on 127.0.0.1 (SQLite in a temporary data directory)."""
    import uvicorn

    from setupwizard.app import create_app
    from setupwizard.config import Settings

    port = _free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path_factory.mktemp("browser-data"),
        admin_user=ADMIN_USER,
        admin_password=SecretStr(ADMIN_PASSWORD),
        log_level="warning",
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live service did not start")
        time.sleep(0.05)
    try:
        yield LiveService(url=f"http://127.0.0.1:{port}", username=ADMIN_USER, password=ADMIN_PASSWORD)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no `playwright install`: it cannot download)."""
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        missing_dependency(
            "Chromium (/usr/bin/chromium)", "install Debian's chromium (make test does it as root)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) and page; a screenshot is kept if the test fails."""
    # The pages' CSP forbids eval; Playwright's wait_for_function needs it, so the test context bypasses CSP.
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield new_page
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            new_page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
        context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/ (git-ignored): screenshots to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
