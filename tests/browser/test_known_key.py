"""A server on record whose key matches needs no "fingerprint is right" again: the
first test of a new server asks for the confirmation; after a setup has recorded its key, the test says
"known key, matches" and step 3 is open at once."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import Server, fill_server, log_in, set_options, wait_finished


def test_a_known_matching_key_is_said_and_needs_no_confirming(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    page.click("#lang-switch")
    server = Server(test_host.address, test_host.port, test_host.sudo_nopasswd)
    fill_server(page, server)
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    expect(page.locator("#report-known")).to_have_text("(first connection to this host)")
    expect(page.locator("#fingerprint-known")).to_be_hidden()
    page.click("section[data-step='2'] [data-next='3']")  # not yet: a new key must be confirmed
    expect(page.locator("section[data-step='2']")).to_be_visible()
    page.click("#confirm-fingerprint")
    page.click("section[data-step='2'] [data-next='3']")
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script="echo recorded\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"  # the key is on record now

    page.click("#new-run")
    fill_server(page, server)
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    known = page.locator("#fingerprint-known")
    expect(known).to_have_text(
        "✓ Known key, matches the one on record: nothing to confirm, the setup will accept only this host key"
    )
    expect(page.locator("#confirm-fingerprint")).to_be_hidden()
    page.click("section[data-step='2'] [data-next='3']")
    expect(page.locator("section[data-step='3']")).to_be_visible()
    page.click("#lang-switch")
    expect(known).to_contain_text("已记录的主机密钥，与此次一致")
