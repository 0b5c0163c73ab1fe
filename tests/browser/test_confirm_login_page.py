"""Confirm-or-revert on the page, in Chromium, on a systemd test server. Root logs in with
its key; deploy gets the person's own public key (whose private half the service never sees), and root
and password login go off. Without the option the service refuses (422) and the answer names
``confirm_login``; with it, the page shows the ssh line, a countdown and the "keep it" button; the
person logs in from outside with their key, confirms, and the hardening is kept."""

from __future__ import annotations

from collections.abc import Callable

import asyncssh
import pytest
from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.test_hardening_run import run_as
from tests.browser.test_lockout_page import choose_deploy_without_sudo
from tests.browser.wizard_page import confirm_connection, fill_server_with_key, log_in, wait_finished
from tests.integration.systemd.support import root


@pytest.mark.parametrize("release", ["bookworm"])
def test_the_page_shows_the_ssh_line_and_keeps_the_hardening_once_confirmed(
    page: Page,
    own_service: LiveService,
    make_systemd_host: Callable[[str], TestHost],
    release: str,
) -> None:
    host = make_systemd_host(release)
    root_key = asyncssh.generate_private_key("ssh-ed25519", comment="root@service")
    root(host, "install -d -m 700 /root/.ssh")
    root(host, f"echo '{root_key.export_public_key().decode().strip()}' >> /root/.ssh/authorized_keys")
    persons = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")

    log_in(page, own_service.url, own_service.username, own_service.password)
    fill_server_with_key(page, host.address, 22, "root", root_key.export_private_key().decode())
    confirm_connection(page)
    choose_deploy_without_sudo(page, persons.export_public_key().decode().strip())
    page.locator("input[name='admin.nopasswd']").check()

    # the service cannot prove deploy's login: refused, and the answer names the way forward
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    error = page.locator("[data-field-error='ssh_hardening.permit_root_login']")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("confirm_login")
    assert host.run_root("id deploy").returncode != 0

    page.locator("input[name='ssh_hardening.confirm_login']").check()
    expect(page.locator("input[name='ssh_hardening.confirm_timeout']")).to_have_value("300")
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    panel = page.locator("#confirm-login")
    expect(panel).to_be_visible(timeout=300_000)
    expect(page.locator("#confirm-login-command")).to_have_text(f"ssh -p 22 deploy@{host.address}")
    expect(page.locator("#confirm-login-countdown")).to_contain_text("剩余")
    page.click("#lang-switch")
    expect(page.locator("#confirm-login-keep")).to_have_text("I could log in — keep it")
    # the person, from their own terminal, with their own key
    assert run_as(host, 22, "deploy", "sudo -n id -un", client_keys=[persons]) == "root"
    page.click("#confirm-login-keep")
    assert wait_finished(page) == "succeeded"
    expect(panel).to_be_hidden()
    # from outside, brand-new logins: deploy with the person's key becomes root; root is refused
    assert run_as(host, 22, "deploy", "sudo -n id -un", client_keys=[persons]) == "root"
    with pytest.raises(asyncssh.PermissionDenied):
        run_as(host, 22, "root", "true", client_keys=[root_key])
