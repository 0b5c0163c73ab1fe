"""No lock-out of root on the page, in Chromium, on a systemd test server (Debian 12 and 13): with root login
turned off, the page asks for the admin's way to root (its sudo password, or NOPASSWD); a plan without
one is refused with the error at the admin's sudo password field and nothing runs; with the password,
the run succeeds and a brand-new login as deploy becomes root with it, while root is refused."""

from __future__ import annotations

from collections.abc import Callable

import asyncssh
import pytest
from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.browser.conftest import LiveService
from tests.browser.test_hardening_run import in_thread, run_as
from tests.browser.wizard_page import confirm_connection, fill_server_with_key, log_in, wait_finished
from tests.integration.systemd.support import root

ADMIN_SUDO_PASSWORD = "page-canary-Kd73pQ"


def sudo_as(host: TestHost, key: asyncssh.SSHKey, password: str) -> str:
    """A brand-new login as deploy with the key, then ``sudo -S`` with ``password`` on stdin: ``id -un``."""

    async def go() -> str:
        async with asyncssh.connect(
            host.address, username="deploy", client_keys=[key], known_hosts=None, agent_path=None
        ) as conn:
            done = await conn.run("sudo -k -S -p '' id -un", input=password + "\n")
            return str(done.stdout).strip()

    return in_thread(go)


def choose_deploy_without_sudo(page: Page, public_key: str) -> None:
    page.fill("input[name=packages]", "")
    page.locator("input[name=apt_update]").uncheck()
    page.locator("input[name=firewall]").uncheck()
    page.locator("input[name=fail2ban]").uncheck()
    page.locator("input[name=auto_updates]").uncheck()
    page.locator("input[name=admin_enabled]").check()
    page.fill("input[name='admin.username']", "deploy")
    page.fill("textarea[name='admin.public_key']", public_key)
    page.locator("input[name=hardening_enabled]").check()
    page.locator("select[name='ssh_hardening.permit_root_login']").select_option("no")
    page.locator("input[name='ssh_hardening.password_authentication']").uncheck()


@pytest.mark.parametrize("release", RELEASES)
def test_the_page_asks_for_a_way_to_root_when_root_login_goes_off(
    page: Page,
    own_service: LiveService,
    make_systemd_host: Callable[[str], TestHost],
    release: str,
) -> None:
    host = make_systemd_host(release)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    private_key = key.export_private_key().decode()
    public_key = key.export_public_key().decode().strip()
    root(host, "install -d -m 700 /root/.ssh")
    root(host, f"echo '{public_key}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys")

    log_in(page, own_service.url, own_service.username, own_service.password)
    fill_server_with_key(page, host.address, 22, "root", private_key)
    confirm_connection(page)
    choose_deploy_without_sudo(page, public_key)
    hint = page.locator("#root-way-hint")
    password = page.locator("input[name='admin.sudo_password']")
    expect(hint).to_be_visible()
    expect(password).to_be_visible()
    page.locator("input[name='admin.nopasswd']").check()  # NOPASSWD is a way to root: no password asked
    expect(hint).to_be_hidden()
    expect(password).to_be_hidden()
    page.locator("input[name='admin.nopasswd']").uncheck()
    expect(hint).to_be_visible()

    # without a way to root the service refuses (422) and the page shows it at the field; nothing ran
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    error = page.locator("[data-field-error='admin.sudo_password']")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("sudo")
    assert host.run_root("id deploy").returncode != 0

    password.fill(ADMIN_SUDO_PASSWORD)
    expect(hint).to_be_hidden()
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    assert ADMIN_SUDO_PASSWORD not in page.locator("#terminal").inner_text()
    # from outside: deploy with the key becomes root with the password; root is refused
    assert sudo_as(host, key, ADMIN_SUDO_PASSWORD) == "root"
    with pytest.raises(asyncssh.PermissionDenied):
        run_as(host, 22, "root", "true", client_keys=[key])


@pytest.mark.parametrize("release", RELEASES)
def test_the_no_sudo_advice_for_an_admin_in_the_sudo_group_asks_for_its_password(
    page: Page,
    own_service: LiveService,
    make_systemd_host: Callable[[str], TestHost],
    release: str,
) -> None:
    """deploy is in group sudo with no password set (made before the pre-flight rule): its sudo asks for a
    password. The advice must not say "log in as root" (root login may be off) or "usermod -aG sudo"."""
    host = make_systemd_host(release)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    public_key = key.export_public_key().decode().strip()
    root(
        host,
        "useradd --create-home --shell /bin/bash --groups sudo deploy && install -d -m 700 -o deploy "
        f"/home/deploy/.ssh && echo '{public_key}' > /home/deploy/.ssh/authorized_keys && "
        "chown deploy /home/deploy/.ssh/authorized_keys",
    )
    log_in(page, own_service.url, own_service.username, own_service.password)
    fill_server_with_key(page, host.address, 22, "deploy", key.export_private_key().decode())
    page.click("#test-connection")
    advice = page.locator("#test-advice")
    expect(advice).to_be_visible(timeout=60_000)
    expect(advice).to_contain_text("sudo 密码")
    for wrong in ("usermod", "改用 root 登录"):
        expect(advice).not_to_contain_text(wrong)
    page.click("#lang-switch")
    expect(advice).to_contain_text("sudo password")
    for wrong in ("usermod", "Log in as root"):
        expect(advice).not_to_contain_text(wrong)
