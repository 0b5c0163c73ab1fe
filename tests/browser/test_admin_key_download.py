"""The generated admin key in Chromium: the run makes a new key pair for the admin user, the page offers
the private key once with a warning, the download is a key that logs in as the new user on the test
server, and the button is gone afterwards (the service answers 410 to a second try)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import Server, confirm_connection, fill_server, log_in, wait_finished
from tests.integration.web.fixtures import run_sync
from tests.support import whoami_with_key


def test_the_generated_key_is_offered_once_and_logs_in(
    page: Page, live_service: LiveService, test_host: TestHost, tmp_path: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.locator("input[name=apt_update]").uncheck()
    page.fill("input[name=packages]", "")
    page.locator("input[name=firewall]").uncheck()
    page.locator("input[name=admin_enabled]").check()
    page.fill("input[name='admin.username']", "keyholder")
    page.locator("input[name='admin.generate_key']").check()
    page.locator("input[name='admin.nopasswd']").check()
    page.click("section[data-step='3'] [data-next='4']")
    # the preview shows the key the service will make as a placeholder, and that the service makes it
    preview = page.locator("#plan-preview")
    expect(preview).to_contain_text("'ssh-ed25519 NEW_PUBLIC_KEY keyholder@setupwizard'")
    expect(preview).to_contain_text("服务每次运行都会生成一对新的 ed25519 密钥")  # the page is in Chinese
    expect(page.locator("#admin-key")).to_be_hidden()
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"

    box = page.locator("#admin-key")
    expect(box).to_be_visible()
    expect(box).to_contain_text("只能下载一次")
    expect(box).to_contain_text("keyholder")
    button = page.locator("#admin-key-download")
    expect(button).to_have_text("下载私钥（仅一次）")
    with page.expect_download() as waiting:
        button.click()
    download = waiting.value
    assert download.suggested_filename == "id_ed25519_keyholder"
    key_file = tmp_path / "id_ed25519_keyholder"
    download.save_as(key_file)
    key_file.chmod(0o600)
    assert key_file.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    expect(button).to_be_hidden()
    expect(page.locator("#admin-key-status")).to_contain_text("私钥已下载")

    assert (
        run_sync(
            lambda: whoami_with_key(test_host.address, test_host.port, "keyholder", key_file.read_text())
        )
        == "keyholder"
    )
    session = page.locator("#run-panel").get_attribute("data-session-id")
    again = page.request.get(f"{live_service.url}/api/setup/sessions/{session}/admin-key")
    assert again.status == 410
    assert key_file.read_text() not in page.content()
