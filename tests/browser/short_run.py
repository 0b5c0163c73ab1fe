"""A short real setup on the test server (connect, sudo, a one-line script), for tests that need a finished
session on record: History, Servers and the audit trail then have rows to show."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Browser, Page

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_in,
    set_options,
    wait_finished,
)


def run_short_setup(
    browser: Browser,
    service: LiveService,
    host: TestHost,
    *,
    after: Callable[[Page], None] | None = None,
    **context_options: object,
) -> str:
    """Log in, set up ``host`` with only a script, wait for success; ``after`` sees the finished page.

    Returns the session id.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        log_in(page, service.url, service.username, service.password)
        fill_server(page, Server(host.address, host.port, host.sudo_nopasswd))
        confirm_connection(page)
        page.uncheck("input[name=apt_update]")
        page.uncheck("input[name=firewall]")
        set_options(page, packages="", script="echo short-run-done\n")
        page.click("#auto-setup")
        assert wait_finished(page) == "succeeded"
        match = re.search(r"[?&]session=([0-9a-f-]+)", page.url)
        assert match, page.url
        if after is not None:
            after(page)
        return match.group(1)
    finally:
        context.close()
