"""A hardening run from the page, in Chromium, on a systemd test server (Debian 12 and 13): root logs
in with the person's key, the admin user ``deploy`` gets that key, SSH hardening turns root and password
logins off and moves sshd to port 2222. The run ends with the login switched, and the page says so
plainly, in Chinese and in English, apart from the log. Then the switch is proven outside the page: a
brand-new login as deploy with the key on port 2222 works, root is refused, and the servers page
lists the server with its new login (its "run again" logs in the new way)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest
from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import RELEASES
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import confirm_connection, fill_server_with_key, log_in, wait_finished
from tests.integration.systemd.support import root

NEW_PORT = 2222
T = TypeVar("T")


def in_thread(coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run asyncssh beside Playwright (its sync API holds this thread's event loop while it is open)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine()).result()


def run_as(host: TestHost, port: int, username: str, command: str, **auth: Any) -> str:
    """A brand-new SSH login (no agent, no key but the one given) that runs ``command``; its output."""

    options: dict[str, Any] = {"client_keys": None, **auth}

    async def go() -> str:
        async with asyncssh.connect(
            host.address,
            port=port,
            username=username,
            known_hosts=None,
            agent_path=None,
            connect_timeout=15,
            **options,
        ) as conn:
            result = await conn.run(command, check=True)
            return str(result.stdout).strip()

    return in_thread(go)


def choose_admin_and_hardening(page: Page, public_key: str) -> None:
    """Step 3: ufw only (the new port's rule goes in before sshd moves), deploy with the key, hardening."""
    page.fill("input[name=packages]", "ufw")
    page.locator("input[name=firewall]").check()
    page.locator("input[name=fail2ban]").uncheck()
    page.locator("input[name=auto_updates]").uncheck()
    page.locator("input[name=admin_enabled]").check()
    page.fill("input[name='admin.username']", "deploy")
    page.fill("textarea[name='admin.public_key']", public_key)
    page.locator("input[name='admin.nopasswd']").check()
    page.locator("input[name=hardening_enabled]").check()
    page.locator("select[name='ssh_hardening.permit_root_login']").select_option("no")
    page.locator("input[name='ssh_hardening.password_authentication']").uncheck()  # keys only
    page.fill("input[name='ssh_hardening.port']", str(NEW_PORT))
    page.click("section[data-step='3'] [data-next='4']")
    expect(page.locator("#auto-setup")).to_be_visible()


@pytest.mark.parametrize("release", RELEASES)
def test_a_hardening_run_ends_with_the_login_switched(
    page: Page,
    own_service: LiveService,
    make_systemd_host: Callable[[str], TestHost],
    release: str,
    artifacts: Path,
) -> None:
    host = make_systemd_host(release)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="person@laptop")
    private_key = key.export_private_key().decode()
    public_key = key.export_public_key().decode().strip()
    # a fresh VPS: root logs in with the person's key (the provider put it there)
    root(host, "install -d -m 700 /root/.ssh")
    root(host, f"echo '{public_key}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys")
    where = f"deploy@{host.address}:{NEW_PORT}"
    said_zh = f"root 登录已关闭，请使用 {where} 和密钥登录"
    said_en = f"root login is off; log in as {where} with a key"

    log_in(page, own_service.url, own_service.username, own_service.password)
    fill_server_with_key(page, host.address, 22, "root", private_key)
    confirm_connection(page)
    choose_admin_and_hardening(page, public_key)
    notice = page.locator("#login-notice")
    expect(notice).to_be_hidden()
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"

    # the page says what changed, apart from the log, in the page's language
    expect(page.locator("#banner")).to_contain_text("服务器设置完成")
    expect(notice).to_be_visible()
    expect(notice.locator("strong")).to_have_text("SSH 登录方式已更改")
    expect(page.locator("#login-notice-text")).to_have_text(said_zh)
    notice.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"hardening-notice-{release}.png"))
    page.click("#lang-switch")
    expect(notice.locator("strong")).to_have_text("The SSH login has changed")
    expect(page.locator("#login-notice-text")).to_have_text(said_en)
    page.click("#lang-switch")
    expect(page.locator("#login-notice-text")).to_have_text(said_zh)
    # coming back to the run (a reload replays its lines) says it again
    page.reload()
    expect(page.locator("#run-panel")).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(page.locator("#login-notice-text")).to_have_text(said_zh)

    # the switch is real: a brand-new login as deploy with the key on the new port, sudo without a password
    assert run_as(host, NEW_PORT, "deploy", "id -un; sudo -n id -un", client_keys=[key]) == "deploy\nroot"
    with pytest.raises(asyncssh.PermissionDenied):  # root, even with its key
        run_as(host, NEW_PORT, "root", "true", client_keys=[key])
    with pytest.raises(asyncssh.PermissionDenied):  # and no password logins at all
        run_as(host, NEW_PORT, "root", "true", password=host.root.password)
    with pytest.raises(OSError):  # sshd left port 22
        run_as(host, 22, "deploy", "true", client_keys=[key])

    # the servers page lists the server with its new login, and "run again" logs in the new way
    page.click("#login-notice a[href='/servers']")
    page.wait_for_url(re.compile(r"/servers$"))
    # (the row of the setup; the proof login's host key may add a second row for the new port)
    rows = page.locator(f"#servers tbody tr[data-host='{host.address}']")
    row = rows.filter(has=page.locator(".login", has_text=where))
    expect(row).to_have_count(1)
    expect(row.locator(".login")).to_have_text(f"{where}（密钥登录；SSH 已加固）")
    expect(row.locator(".last")).to_contain_text("成功")
    row.locator("a.run-again").click()
    page.wait_for_url(re.compile(r"/setup\?"))
    expect(page.locator("input[name=port]")).to_have_value(str(NEW_PORT))
    expect(page.locator("input[name=username]")).to_have_value("deploy")
