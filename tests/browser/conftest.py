"""Fixtures for the browser suite: Debian's Chromium (Python Playwright) and the live service.

The service is the real app (``create_app``) served by the platform's live-server class
(:class:`tests.integration.web.live.ThreadServer`) on a free loopback port, with its own data directory
(SQLite) and the test admin. The test server is the testbed's ``test_host``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr

from setupwizard.config import Settings
from tests.integration.web.live import ADMIN_PASSWORD, ADMIN_USER, ThreadServer
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
    settings: Settings


@contextmanager
def serve(data_dir: Path, **overrides: Any) -> Iterator[LiveService]:
    """The real service on a free loopback port, its SQLite database in ``data_dir``, until the block ends
    (``overrides``: more settings)."""
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'setupwizard.db'}",
        admin_user=ADMIN_USER,
        admin_password=SecretStr(ADMIN_PASSWORD),
        redis_url="",
        secret_key=None,
        allowed_origins=[],
        log_level="warning",
        ssh_connect_timeout=7.0,  # not the default, so the page is seen to show the service's own limit
        **overrides,
    )
    server = ThreadServer(settings)
    server.start()
    try:
        yield LiveService(
            url=server.base_url, username=ADMIN_USER, password=ADMIN_PASSWORD, settings=settings
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The real service for one test module (SQLite in a temporary data directory).

    Module scope, like ``test_host``: each module's fresh test host may reuse an address whose old host
    key an earlier module's service recorded (the service then rightly refuses it). Pages need no fresh
    database per test, and the SQLite/PostgreSQL matrix is covered by the API integration tests, so this
    is a module-scoped ThreadServer rather than the per-test ``live_server``.
    """
    with serve(tmp_path_factory.mktemp("browser-data")) as service:
        yield service


@pytest.fixture
def own_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """A service of the test's own: for tests that start fresh hosts of their own (``make_systemd_host``),
    whose addresses an earlier test's host had, with another host key, and that list servers."""
    with serve(tmp_path_factory.mktemp("browser-data")) as service:
        yield service


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no `playwright install`: it cannot download).

    Module scope on purpose: Playwright's sync API keeps an event loop running in this thread while it is
    open, and every asyncio test after it would fail with "cannot be called from a running event loop".
    """
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
    # What the browser saw, printed when the test fails (a page that "never got there" says why).
    seen: list[str] = []
    new_page.on("console", lambda msg: seen.append(f"console {msg.type}: {msg.text}"))
    new_page.on("requestfailed", lambda req: seen.append(f"request failed: {req.url} {req.failure}"))
    try:
        yield new_page
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            new_page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
            print("What the browser saw:", *seen[-60:], sep="\n  ")
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
