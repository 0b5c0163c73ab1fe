"""Step 3 says when the sudo password will be saved: with sudo asking for a password
and the sudo field empty, the SSH password is used and saved for the server; step 3 says so, and
unticking "save" runs the setup without saving anything."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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


def saved(page: Page, url: str, host: TestHost) -> dict[str, object]:
    """What the service has saved for this server and login (the password itself never comes back)."""
    token = page.evaluate("() => sessionStorage.getItem('setupwizard.token')")
    answer = page.request.get(
        f"{url}/api/servers/sudo/prefill?host={host.address}&port={host.port}"
        f"&username={host.sudo_password.username}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.ok, answer.text()
    found: dict[str, object] = answer.json()
    return found


def test_step_three_says_the_ssh_password_is_saved_and_offers_not_to(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    url = live_service.url
    log_in(page, url, live_service.username, live_service.password)
    page.click("#lang-switch")
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_password))
    confirm_connection(page)
    expect(page.locator("input[name=sudo_password]")).to_be_visible()  # sudo asks for a password
    note = page.locator("#sudo-save-note")
    expect(note).to_have_text(
        "The sudo field is empty: the SSH password will be used as the sudo password and, after the run,"
        " saved for this server (encrypted)."
    )
    keep = page.locator("input[name=save_sudo_password]")
    expect(keep).to_be_checked()
    page.fill("input[name=sudo_password]", "typed")
    expect(note).to_contain_text("This sudo password will be saved")
    page.fill("input[name=sudo_password]", "")
    keep.uncheck()
    expect(note).to_contain_text("Nothing will be saved")
    page.click("#lang-switch")
    expect(note).to_contain_text("不保存")
    page.click("#lang-switch")

    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script="echo not-saved\n")
    with page.expect_request(lambda r: r.url.endswith("/api/setup/auto-setup")) as sent:
        page.click("#auto-setup")
    assert (sent.value.post_data_json or {}).get("save_sudo_password") is False
    assert wait_finished(page) == "succeeded"
    assert saved(page, url, test_host)["has_password"] is False  # nothing was kept

    # Ticked (the default), the same run keeps the SSH password as the sudo password.
    page.click("#new-run")
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_password))
    confirm_connection(page)
    expect(page.locator("input[name=save_sudo_password]")).to_be_checked()
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script="echo saved\n")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    after = saved(page, url, test_host)
    assert after["has_password"] is True and after["sudo_user"] == test_host.sudo_password.username, after
