"""The keys page in Chromium on the real service: a key is uploaded from a file (or pasted), listed with
its fingerprint and public half and never its private lines, refused with the field named when it is
encrypted and no passphrase is given, and deleted; in Chinese and English and on a phone. The wizard's
step 1 then offers the saved key, and a real test connection to a test server logs in with it."""

from __future__ import annotations

from pathlib import Path

import asyncssh
from playwright.sync_api import Dialog, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.test_accessibility import serious
from tests.browser.test_phone import fits
from tests.browser.wizard_page import Server, confirm_connection, fill_server, log_in, wait_finished


def new_key(passphrase: str | None = None) -> tuple[str, str, str]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    private = key.export_private_key("openssh", passphrase=passphrase).decode()
    return private, key.export_public_key("openssh").decode().strip(), key.get_fingerprint("sha256")


def key_lines(private: str) -> list[str]:
    return [line for line in private.splitlines() if len(line) > 16 and "-----" not in line]


def test_keys_page_uploads_lists_and_deletes_a_key(
    page: Page, live_service: LiveService, tmp_path: Path
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/keys")
    expect(page.locator("h1")).to_have_text("私钥保管库")
    expect(page.locator(".topbar a[href='/keys']")).to_have_attribute("aria-current", "page")
    private, public, fingerprint = new_key()
    key_file = tmp_path / "id_ed25519_deploy"
    key_file.write_text(private)
    page.set_input_files("#key-file", str(key_file))
    expect(page.locator("#key-name")).to_have_value("id_ed25519_deploy")
    page.fill("#key-name", "部署密钥")
    page.click("#key-form button[type=submit]")
    row = page.locator("#keys tbody tr[data-name='部署密钥']")
    expect(row).to_have_count(1)
    expect(row.locator(".fingerprint")).to_have_text(fingerprint)
    expect(row.locator(".public")).to_have_text(public)
    expect(page.locator("#keys-status")).to_have_text("已保存“部署密钥”")
    expect(page.locator("#key-private")).to_have_value("")
    assert serious(page) == [], "the keys page with a saved key"
    page.reload()
    expect(row).to_have_count(1)
    assert not any(line in page.content() for line in key_lines(private))

    page.once("dialog", lambda dialog: _accept(dialog, "部署密钥"))
    row.locator("button.delete").click()
    expect(row).to_have_count(0)
    expect(page.locator("#keys-empty")).to_be_visible()


def test_keys_page_in_english_names_a_missing_passphrase(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password, path="/keys")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Key vault")
    locked, _public, fingerprint = new_key(passphrase="a passphrase for the page")
    page.fill("#key-name", "locked")
    page.fill("#key-private", locked)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#keys-error")).to_contain_text("give its passphrase")
    page.fill("#key-passphrase", "a passphrase for the page")
    page.click("#key-form button[type=submit]")
    row = page.locator("#keys tbody tr[data-name='locked']")
    # Opening a locked key runs its bcrypt KDF (by design slow): on a loaded machine that takes seconds.
    expect(row.locator(".fingerprint")).to_have_text(fingerprint, timeout=30_000)
    expect(page.locator("#keys-status")).to_have_text("Saved “locked”")
    expect(page.locator("#keys-error")).to_be_hidden()
    assert serious(page) == [], "the keys page in English"


def test_keys_page_fits_a_phone(page: Page, live_service: LiveService) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_service.url, live_service.username, live_service.password, path="/keys")
    page.fill("#key-name", "phone key")
    page.fill("#key-private", new_key()[0])
    page.click("#key-form button[type=submit]")
    expect(page.locator("#keys tbody tr[data-name='phone key']")).to_have_count(1)
    fits(page, "keys")  # no wider than the screen, a top bar of at most two rows
    card = page.locator("#keys tbody tr[data-name='phone key']")
    assert card.evaluate("r => getComputedStyle(r).display") == "block"  # a card, not a table row


def test_the_wizard_offers_a_saved_key_and_logs_in_with_it(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    private, public, _ = new_key()
    added = test_host.run_root(
        "mkdir -p /root/.ssh && cat >> /root/.ssh/authorized_keys", input=public + "\n"
    )
    assert added.returncode == 0, added.stderr
    log_in(page, live_service.url, live_service.username, live_service.password, path="/keys")
    page.fill("#key-name", "root on the test server")
    page.fill("#key-private", private)
    page.click("#key-form button[type=submit]")
    expect(page.locator("#keys tbody tr[data-name='root on the test server']")).to_have_count(1)

    page.goto(live_service.url + "/setup")
    page.fill("input[name=host]", test_host.address)
    page.fill("input[name=username]", "root")
    page.check("input[name=auth_method][value=key]")
    expect(page.locator("#saved-key-field")).to_be_visible()
    page.select_option(
        "select[name=key_id]",
        label=page.locator("select[name=key_id] option", has_text="root on the test server").inner_text(),
    )
    expect(page.locator("textarea[name=private_key]")).to_be_hidden()
    page.click("section[data-step='1'] [data-next='2']")
    page.click("#test-connection")
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    expect(page.locator("#report-fingerprint")).to_contain_text("SHA256:")
    assert not any(line in page.content() for line in key_lines(private))


def _accept(dialog: Dialog, name: str) -> None:
    assert name in dialog.message
    dialog.accept()


def test_a_generated_admin_key_can_be_kept_in_the_vault(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.locator("input[name=apt_update]").uncheck()
    page.fill("input[name=packages]", "")
    page.locator("input[name=firewall]").uncheck()
    page.locator("input[name=admin_enabled]").check()
    page.fill("input[name='admin.username']", "vaulted")
    page.locator("input[name='admin.generate_key']").check()
    page.locator("input[name='admin.keep_in_vault']").check()
    page.locator("input[name='admin.nopasswd']").check()
    page.click("section[data-step='3'] [data-next='4']")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    name = f"admin key for vaulted@{test_host.address} ("
    expect(page.locator("#admin-key-kept")).to_contain_text(f"“{name}")

    page.goto(live_service.url + "/keys")
    row = page.locator("#keys tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator(".public")).to_contain_text("ssh-ed25519 ")
