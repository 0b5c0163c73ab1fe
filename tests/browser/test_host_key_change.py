"""A changed host key leaves a way out: step 2 shows, on the page and in the chosen language, the trusted
and the new fingerprint and the command to check the server's key on its console; "Trust the new key for
this server" asks first, then the test finds the new key on record. Forget says it deletes the sudo data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Dialog, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.test_accessibility import serious
from tests.browser.wizard_page import Server, fill_server, log_in

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def console(host: TestHost, command: str) -> str:
    """What ``command`` prints on the server itself: the fingerprint in it."""
    found = re.search(r"SHA256:[A-Za-z0-9+/]{43}", host.run_root(command).stdout)
    assert found
    return found.group(0)


def test_a_changed_key_shows_both_fingerprints_and_the_check_and_can_be_trusted(
    page: Page, own_service: LiveService, make_test_host: Callable[[], TestHost], artifacts: Path
) -> None:
    host = make_test_host()
    log_in(page, own_service.url, own_service.username, own_service.password)
    page.click("#lang-switch")  # English
    fill_server(page, Server(host.address, host.port, host.sudo_nopasswd))
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    old = page.locator("#report-fingerprint").inner_text()

    host.regenerate_host_keys()
    page.click("#test-connection")
    panel = page.locator("#key-change")
    expect(panel).to_be_visible(timeout=60_000)
    expect(page.locator("#key-change-heading")).to_have_text(
        "The server shows another host key than the one you trust"
    )
    expect(page.locator("#key-change-old")).to_have_text(old)
    command = page.locator("#key-change-command").inner_text()
    assert re.fullmatch(r"ssh-keygen -lf /etc/ssh/ssh_host_(ed25519|ecdsa|rsa)_key\.pub", command), command
    new = console(host, command)  # the command names the key the server shows: it prints the new one
    assert new != old
    expect(page.locator("#key-change-new")).to_have_text(new)
    shown = panel.inner_text()
    assert not CJK.search(shown), shown  # all in English, on the page (not a tooltip)
    assert "已知主机密钥" not in page.locator("body").inner_text()
    assert not CJK.search(
        page.locator("#test-error").inner_text() + (page.locator("#test-error").get_attribute("title") or "")
    )

    assert serious(page) == [], "the changed key, English, light"
    panel.screenshot(path=str(artifacts / "host-key-changed-en.png"))
    page.click("#theme-switch")
    assert serious(page) == [], "the changed key, English, dark"
    page.click("#theme-switch")

    page.click("#lang-switch")  # and in Chinese after a switch
    expect(page.locator("#key-change-heading")).to_have_text("服务器出示的主机密钥与你信任的不同")
    expect(page.locator("#key-change-new")).to_have_text(new)
    assert serious(page) == [], "the changed key, Chinese"
    page.click("#theme-switch")
    panel.screenshot(path=str(artifacts / "host-key-changed-zh-dark.png"))
    page.click("#theme-switch")
    page.click("#lang-switch")

    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#trust-new-key")
    expect(panel).to_be_visible()  # nothing happens without the confirmation
    assert asked and new in asked[0] and old in asked[0] and "sudo data stays" in asked[0], asked

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#trust-new-key")
    expect(page.locator("#key-trusted")).to_contain_text(f"Trusted the new key {new}", timeout=60_000)
    expect(panel).to_be_hidden()
    # the test ran again and found the new key on record
    expect(page.locator("#fingerprint-known")).to_be_visible(timeout=60_000)
    expect(page.locator("#report-fingerprint")).to_have_text(new)
    expect(page.locator("#confirm-fingerprint")).to_be_hidden()

    # The other way out, Forget on the servers page, says first that it deletes the saved sudo data too.
    page.goto(f"{own_service.url}/servers")
    forget = page.locator("button.forget").first
    expect(forget).to_be_visible()
    page.once("dialog", dismiss)
    forget.click()
    expect(forget).to_be_visible()
    said = asked[-1]
    assert "sudo password" in said and "Trust the new key for this server" in said, said
