"""Every word the page shows or downloads follows the chosen language, mid-run too: a switch during a run
describes the plan again (its step count, "on failure: abort", its comments), and "Download full log"
gives the service's own lines in the page's language (log.txt?lang=) with the server's output as printed."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    fill_server,
    log_in,
    set_options,
    wait_finished,
    wait_log_contains,
)

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def shown(locator: Locator) -> str:
    """The element's text, folded or not."""
    return locator.text_content() or ""


def test_a_switch_mid_run_describes_the_plan_again_and_the_download_follows_the_language(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)  # Chinese, the default
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script='for i in $(seq 1 40); do echo "tick $i"; sleep 0.25; done\n')
    status, preview = page.locator("#plan-status"), page.locator("#plan-preview")
    expect(status).to_have_text(re.compile(r"^共 \d+ 个步骤$"))
    expect(preview).to_contain_text("失败时: 中止")
    expect(preview).to_contain_text("# 以 root 运行；输出实时写入日志")  # the plan's comments in Chinese
    assert "streamed into the log" not in shown(preview)
    page.click("#auto-setup")
    wait_log_contains(page, "tick 3")

    page.click("#lang-switch")  # English, mid-run
    expect(status).to_have_text(re.compile(r"^\d+ steps$"))
    assert "失败时" not in shown(preview)
    assert "on failure: abort" in shown(preview)
    assert "# as root; its output is streamed into the log" in shown(preview)
    assert not CJK.search(shown(preview).split("--- begin uploaded text ---")[0])
    expect(page.locator("#plan-folded-count")).to_have_text(re.compile(r"^\d+ steps$"))

    assert wait_finished(page) == "succeeded"
    with page.expect_download() as download:
        page.click("#terminal .terminal-download")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "# status: succeeded" in text
    assert re.search(r"\] Setting up \S+@\S+: \d+ steps$", text, re.MULTILINE), text[:600]
    assert "开始设置" not in text
    assert not CJK.search(text), [line for line in text.splitlines() if CJK.search(line)][:5]
    assert "tick 40" in text  # the server's output, as printed

    page.click("#lang-switch")  # and Chinese again
    with page.expect_download() as download:
        page.click("#terminal .terminal-download")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "# 状态: 成功" in text and "开始设置" in text and "tick 40" in text


def test_copy_after_a_reattach_is_the_log_in_english_without_the_pages_own_line(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    log_in(page, live_service.url, live_service.username, live_service.password)
    page.click("#lang-switch")  # English
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_nopasswd))
    confirm_connection(page)
    page.uncheck("input[name=apt_update]")
    page.uncheck("input[name=firewall]")
    set_options(page, packages="", script='for i in $(seq 1 30); do echo "tock $i"; sleep 0.25; done\n')
    page.click("#auto-setup")
    wait_log_contains(page, "tock 2")

    page.reload()  # back to the running setup: the page says so in its log view
    wait_log_contains(page, "Back to the running setup")
    assert wait_finished(page) == "succeeded"
    page.click("#terminal .terminal-copy")
    expect(page.locator("#terminal .terminal-copy")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "Back to the running setup" not in copied and "已回到" not in copied
    assert re.search(r"^Setting up \S+@\S+: \d+ steps$", copied, re.MULTILINE), copied[:400]
    assert "tock 30" in copied
    assert not CJK.search(copied), [line for line in copied.splitlines() if CJK.search(line)][:5]
