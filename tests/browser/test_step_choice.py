"""The options step in Chromium: presets fill the step choice, changing a step makes it 自定义, the
exact commands are shown before 自动设置服务器, a bad choice points at its field, a person's own preset is
saved and offered again, and a run does only the chosen steps (no firewall) on the test server. The preview
shows the chosen port and packages in the very commands, and follows a changed choice."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_contains,
    log_in,
    wait_finished,
)

PREVIEW = "#plan-preview"


def to_preview(page: Page) -> None:
    page.click("section[data-step='3'] [data-next='4']")
    expect(page.locator("#auto-setup")).to_be_visible()


def test_presets_preview_and_a_run_of_only_the_chosen_steps(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)

    preset = page.locator("select[name=preset]")
    expect(preset).to_have_value("custom")
    preset.select_option("web")
    expect(page.locator("input[name=fail2ban]")).to_be_checked()
    expect(page.locator("input[name=auto_updates]")).to_be_checked()
    expect(page.locator("input[name=firewall]")).to_be_checked()
    expect(page.locator("input[name=firewall_ports]")).to_have_value("80/tcp 443/tcp")
    to_preview(page)
    preview = page.locator(PREVIEW)
    expect(preview).to_contain_text("[fail2ban,")
    expect(preview).to_contain_text("[auto_updates,")
    expect(preview).to_contain_text("ufw allow")
    expect(preview).to_contain_text("配置防火墙 (ufw)")
    # In English the preview names the steps in English too.
    page.click("#lang-switch")
    page.click("section[data-step='4'] [data-next='3']")
    to_preview(page)
    expect(preview).to_contain_text("Configure the firewall (ufw) [firewall, on failure: abort]")
    expect(preview).not_to_contain_text("配置防火墙")
    page.click("#lang-switch")

    # the preview shows the chosen values, exactly as the steps will run them, and follows a changed choice
    page.click("section[data-step='4'] [data-next='3']")
    page.fill("input[name=packages]", "nginx jq")
    page.fill("input[name=firewall_ports]", "8443/tcp")
    to_preview(page)
    port, user = test_host.port, test_host.sudo_nopasswd.username
    expect(preview).to_contain_text(f"ufw allow {port}/tcp && ufw allow 8443/tcp && {{")
    expect(preview).to_contain_text("|| ufw default deny incoming; } && ufw --force enable")
    expect(preview).to_contain_text(" install -- nginx jq")
    expect(preview).to_contain_text(f"ssh {user}@{test_host.address} -p {port}")
    expect(preview).to_contain_text("# 只安装 dpkg-query 没有列为已安装 (ii) 的软件包")  # comments in Chinese
    page.click("section[data-step='4'] [data-next='3']")
    page.fill("input[name=firewall_ports]", "9443/udp")
    to_preview(page)
    expect(preview).to_contain_text(f"ufw allow {port}/tcp && ufw allow 9443/udp && {{")
    expect(preview).not_to_contain_text("8443")

    # a server behind a cloud firewall: no ufw; changing a step by hand makes the preset 自定义
    page.click("section[data-step='4'] [data-next='3']")
    page.locator("input[name=firewall]").uncheck()
    expect(preset).to_have_value("custom")
    expect(page.locator("input[name=firewall_ports]")).to_be_hidden()
    to_preview(page)
    expect(preview).to_contain_text("[fail2ban,")
    expect(preview).not_to_contain_text("[firewall,")
    expect(preview).not_to_contain_text("ufw")

    # a bad choice is named under the preview; 自动设置服务器 then sends the person back to the field
    page.click("section[data-step='4'] [data-next='3']")
    page.fill("input[name=hostname]", "-bad-")
    to_preview(page)
    expect(page.locator("#plan-status")).to_contain_text("hostname")
    page.click("#auto-setup")
    expect(page.locator("section[data-step='3']")).to_be_visible()
    expect(page.locator("input[name=hostname]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field-error=hostname]")).to_be_visible()
    page.fill("input[name=hostname]", "")

    # the person's own preset: only the fast steps, saved and offered again after a reload
    page.locator("input[name=apt_update]").uncheck()
    page.fill("input[name=packages]", "")
    page.locator("input[name=fail2ban]").uncheck()
    page.locator("input[name=auto_updates]").uncheck()
    page.fill("textarea[name=script]", "echo chosen-steps-only\n")
    page.fill("input[name=preset_name]", "只跑脚本")
    page.click("#save-preset")
    expect(page.locator("#preset-note")).to_contain_text("只跑脚本")
    expect(preset.locator("option", has_text="只跑脚本")).to_have_count(1)

    to_preview(page)
    expect(page.locator("#plan-status")).to_contain_text("3")  # connect, sudo, script
    expect(preview).not_to_contain_text("apt-get")
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"
    # every line the log holds (passed steps fold after the run, their output out of the DOM)
    assert log_contains(page, "chosen-steps-only")
    assert not log_contains(page, "ufw")
    assert not log_contains(page, "apt-get update")

    # next time: the saved preset is there and fills the steps in
    page.goto(f"{live_service.url}/setup")
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.locator("select[name=preset]").select_option(label="只跑脚本")
    expect(page.locator("input[name=apt_update]")).not_to_be_checked()
    expect(page.locator("input[name=firewall]")).not_to_be_checked()
    expect(page.locator("textarea[name=script]")).to_have_value("echo chosen-steps-only\n")
