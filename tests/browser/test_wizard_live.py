"""The original page's flow on the real test server: WebSocket first, lines live, progress, banner; the
terminal's follow/pause; a dropped socket resumed with ?since; a blocked socket falling back to the HTTP
answer."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response, WebSocketRoute, expect

from setupwizard.testbed.host import TestHost
from tests.browser.conftest import LiveService
from tests.browser.wizard_page import (
    Server,
    confirm_connection,
    event_seqs,
    fill_server,
    log_contains,
    log_in,
    scroll_up,
    set_options,
    terminal_texts,
    wait_finished,
    wait_log_contains,
)

PROGRESS_WS = re.compile(r"/api/setup/setup-progress/")
AUTO_SETUP = re.compile(r"/api/setup/auto-setup$")


def slow_script(lines: int, pause: str = "0.02") -> str:
    """A script that prints numbered lines at a steady pace (run by the setup, with sudo)."""
    return f'for i in $(seq 1 {lines}); do echo "progress line $i of {lines}"; sleep {pause}; done\n'


def open_wizard(page: Page, live_service: LiveService, host: TestHost) -> str:
    log_in(page, live_service.url, live_service.username, live_service.password)
    fill_server(page, Server(host.address, host.port, host.sudo_password))
    return confirm_connection(page)


def session_events(page: Page, live_service: LiveService, session_id: str) -> list[dict[str, Any]]:
    answer = page.context.request.get(f"{live_service.url}/api/setup/sessions/{session_id}")
    assert answer.ok, answer.status
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def stored_so_far(page: Page, live_service: LiveService, session_id: str) -> list[dict[str, Any]]:
    """The session's stored events, or none while the POST has not created the session yet."""
    answer = page.context.request.get(f"{live_service.url}/api/setup/sessions/{session_id}")
    if answer.status == 404:
        return []
    assert answer.ok, answer.status
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def at_bottom(page: Page) -> bool:
    gap: float = page.eval_on_selector(
        "#terminal .terminal", "s => s.scrollHeight - s.scrollTop - s.clientHeight"
    )
    return gap <= 24


def test_seed_flow_streams_lines_before_the_post_returns(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    order: list[str] = []
    page.on("websocket", lambda ws: order.append(f"ws {ws.url}") if PROGRESS_WS.search(ws.url) else None)
    page.on("request", lambda r: order.append("post") if AUTO_SETUP.search(r.url) else None)
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if AUTO_SETUP.search(r.url) else None)

    fingerprint = open_wizard(page, live_service, test_host)
    assert fingerprint.startswith("SHA256:")
    expect(page.locator("#report-os")).to_contain_text("Debian")
    expect(page.locator("#report-sudo")).to_have_text("需要 sudo 密码")
    set_options(page, ports="80/tcp")
    expect(page.locator("#run-summary")).to_have_text(f"将设置 alice@{test_host.address}:22")
    page.click("#auto-setup")

    # Lines arrive while the POST is still open: wait for the apt output, then check the POST has
    # not answered yet.
    page.wait_for_function("() => setupWizard.terminal.store.length > 42", timeout=300_000)
    assert answers == [], "the POST answered before the live lines were checked"
    lines_mid_run = len(event_seqs(page))
    expect(page.locator("#progress-step")).to_have_text(re.compile(r"^步骤 \d / \d$"))
    page.screenshot(path=str(artifacts / "wizard-mid-run.png"))
    assert answers == [], "the screenshot is not mid-run"

    state = wait_finished(page)
    assert state == "succeeded"
    page.screenshot(path=str(artifacts / "wizard-finished.png"))

    # The original API's order: WebSocket opened first, then the POST carrying the same session id.
    assert len(order) == 2 and order[0].startswith("ws ") and order[1] == "post", order
    session_id = page.locator("#run-panel").get_attribute("data-session-id")
    assert session_id and order[0].endswith(f"/api/setup/setup-progress/{session_id}")
    post = answers[0].request.post_data_json
    assert isinstance(post, dict)
    assert post["session_id"] == session_id
    assert post["host_key_fingerprint"] == fingerprint
    assert post["firewall_ports"] == ["80/tcp"]
    assert "password" in post and "sudo_password" not in post

    texts = terminal_texts(page)
    assert texts[:2] == ["正在建立实时日志连接...", "✓ 实时日志连接已建立"]
    assert page.locator("#run-panel").get_attribute("data-via") == "ws"
    # Every event once, in order, none missing: the DOM against the stored session.
    events = session_events(page, live_service, session_id)
    assert event_seqs(page) == [e["seq"] for e in events]
    assert len(events) > lines_mid_run
    # ✓ ⚠ ✗ are coloured by level.
    successes = page.evaluate(
        "() => { const s = setupWizard.terminal.store; let n = 0;"
        " for (let i = 0; i < s.length; i += 1) if (s.level(i) === 'success') n += 1; return n; }"
    )
    assert successes >= 5
    expect(page.locator("#terminal .line.level-success").first).to_be_visible()
    colour = page.eval_on_selector("#terminal .line.level-success", "e => getComputedStyle(e).color")
    plain = page.eval_on_selector("#terminal .line.level-info", "e => getComputedStyle(e).color")
    assert colour != plain
    # Progress bar full, step n of N, elapsed time, banner.
    expect(page.locator("#progress-step")).to_have_text(re.compile(r"^步骤 (\d) / \1$"))
    assert page.eval_on_selector("#progress-fill", "e => e.style.width") == "100%"
    expect(page.locator("#progress-elapsed")).to_have_text(re.compile(r"^用时 "))
    expect(page.locator("#banner")).to_contain_text("✓ 服务器设置完成")
    expect(page.locator("#banner")).to_contain_text("sudo 用户：alice")
    # The download link is the session's full log.
    expect(page.locator("#terminal .terminal-download")).to_have_text("下载完整日志")
    with page.expect_download() as download:
        page.click("#terminal .terminal-download")
    log_text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"# Setup Wizard 设置会话 {session_id}" in log_text  # in the page's language (zh)
    assert test_host.sudo_password.password not in log_text
    assert test_host.sudo_password.password not in " ".join(texts)

    # The setup saved alice's sudo password: the next setup of this server says so, without showing it.
    page.click("#new-run")
    expect(page.locator("section[data-step='1']")).to_be_visible()
    assert page.input_value("input[name=host]") == ""  # another server: a cleared form
    fill_server(page, Server(test_host.address, test_host.port, test_host.sudo_password))
    confirm_connection(page)
    expect(page.locator("#sudo-saved")).to_have_text("已保存的 sudo 密码将被使用")
    assert page.input_value("input[name=sudo_password]") == ""
    assert test_host.sudo_password.password not in page.content()
    page.click("#lang-switch")
    expect(page.locator("#sudo-saved")).to_have_text("The saved sudo password will be used")


def test_terminal_follows_pauses_when_scrolled_up_and_jumps_back(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    open_wizard(page, live_service, test_host)
    set_options(page, script=slow_script(1500))
    page.click("#auto-setup")
    count = "() => setupWizard.terminal.store.length"
    page.wait_for_function(
        "() => setupWizard.terminal.store.texts.filter((t) => t.includes('progress line')).length > 100",
        timeout=300_000,
    )
    assert at_bottom(page), "the terminal does not follow the output"
    jump = page.locator("#terminal .terminal-jump")
    expect(jump).to_be_hidden()

    scroll_up(page, "#terminal .terminal", 600)
    expect(jump).to_be_visible()
    expect(jump).to_have_text("↓ 跳到最新")
    expect(page.locator("#terminal .terminal-paused")).to_be_visible()
    held = page.eval_on_selector("#terminal .terminal", "s => s.scrollTop")
    before = page.evaluate(count)
    page.wait_for_function(f"() => setupWizard.terminal.store.length > {before + 50}")  # more output arrived…
    assert page.eval_on_selector("#terminal .terminal", "s => s.scrollTop") == held  # …and the view stayed
    assert not at_bottom(page)

    jump.click()
    expect(jump).to_be_hidden()
    assert at_bottom(page)
    before = page.evaluate(count)
    page.wait_for_function(f"() => setupWizard.terminal.store.length > {before + 50}")
    page.wait_for_function(
        "() => { const s = document.querySelector('#terminal .terminal');"
        " return s.scrollHeight - s.scrollTop - s.clientHeight <= 24; }"
    )
    assert wait_finished(page) == "succeeded"
    assert at_bottom(page)
    assert len([t for t in terminal_texts(page) if "progress line" in t]) == 1500


def test_a_dropped_socket_resumes_with_since_without_duplicates(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    """The page's socket is closed by a proxy (Playwright's WebSocket route) after event 15; the page
    must reconnect with ?since=15 to the real service and show every event exactly once. The proxy also
    delivers event 15 a second time on the new connection (as an at-least-once relay could): the page
    must drop it by its seq."""
    drop_after = 15
    urls: list[str] = []
    last_before_drop: list[str | bytes] = []

    def proxy(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        first = len(urls) == 1
        server = ws.connect_to_server()
        if not first and last_before_drop:
            ws.send(last_before_drop[0])

        def from_server(message: str | bytes) -> None:
            ws.send(message)
            if first and json.loads(message).get("seq") == drop_after:
                last_before_drop.append(message)
                ws.close(code=1012, reason="test: connection dropped")
                server.close()

        server.on_message(from_server)

    page.route_web_socket(PROGRESS_WS, proxy)
    open_wizard(page, live_service, test_host)
    set_options(page, script=slow_script(300))
    page.click("#auto-setup")
    assert wait_finished(page) == "succeeded"

    assert len(urls) >= 2, urls
    assert last_before_drop, "the connection was never dropped"
    assert "?" not in urls[0]
    assert urls[1].endswith(f"?since={drop_after}")
    assert log_contains(page, f"✓ 实时日志连接已恢复，从第 {drop_after} 条继续")
    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))
    events = session_events(page, live_service, session_id)
    seqs = event_seqs(page)
    assert len(seqs) == len(set(seqs)), "a line was shown twice"
    assert seqs == [e["seq"] for e in events], "a line is missing or out of order"
    assert page.locator("#run-panel").get_attribute("data-via") == "ws"
    page.screenshot(path=str(artifacts / "wizard-after-reconnect.png"))


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_blocked_socket_falls_back_to_the_logs_of_the_http_answer(
    page: Page, live_service: LiveService, test_host: TestHost, artifacts: Path
) -> None:
    """The progress socket is pointed at a loopback port where nothing listens, so Chromium's real
    connection fails (error + close 1006), as behind a proxy that refuses WebSockets."""
    dead = f"ws://127.0.0.1:{_closed_port()}/refused"
    page.add_init_script(
        f"""(() => {{
          const Real = window.WebSocket;
          window.WebSocket = class extends Real {{
            constructor(url, protocols) {{
              super(String(url).includes("/setup-progress/") ? {json.dumps(dead)} : url, protocols);
            }}
          }};
        }})();"""
    )
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if AUTO_SETUP.search(r.url) else None)
    open_wizard(page, live_service, test_host)
    set_options(page, script=slow_script(400))  # ~10 s: still running while the check below looks
    page.click("#auto-setup")
    wait_log_contains(page, "⚠ 实时日志连接出错，将在完成后显示所有日志")
    expect(page.locator("#terminal .line .text").nth(1)).to_have_text(
        "⚠ 实时日志连接出错，将在完成后显示所有日志"
    )

    # While the server is producing lines, the page shows none of them (nothing live)…
    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))
    deadline = time.monotonic() + 300
    while len(stored_so_far(page, live_service, session_id)) < 30:
        assert time.monotonic() < deadline, "the setup produced no events"
        page.wait_for_timeout(200)
    assert answers == []
    assert terminal_texts(page) == ["正在建立实时日志连接...", "⚠ 实时日志连接出错，将在完成后显示所有日志"]

    # …and all of them once the POST answers.
    assert wait_finished(page) == "succeeded"
    assert page.locator("#run-panel").get_attribute("data-via") == "http"
    logs = answers[0].json()["logs"]
    texts = terminal_texts(page)
    assert texts[2] == "以下为完成后返回的全部日志："
    assert texts[3:] == [line.rstrip("\r") for line in logs]
    assert len(logs) == len(session_events(page, live_service, session_id))
    expect(page.locator("#banner")).to_contain_text("✓ 服务器设置完成")
    page.screenshot(path=str(artifacts / "wizard-fallback.png"))


def test_a_private_key_picked_from_a_file_logs_in(
    page: Page, live_service: LiveService, test_host: TestHost, tmp_path: Path
) -> None:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519", comment="browser-test")
    public = key.export_public_key().decode().strip()
    done = test_host.run_root(
        "install -d -m 700 -o bob -g bob /home/bob/.ssh && "
        f"echo '{public}' >> /home/bob/.ssh/authorized_keys && "
        "chown bob:bob /home/bob/.ssh/authorized_keys && chmod 600 /home/bob/.ssh/authorized_keys"
    )
    assert done.returncode == 0, done.stderr
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(key.export_private_key())

    log_in(page, live_service.url, live_service.username, live_service.password)
    page.fill("input[name=host]", test_host.address)
    page.fill("input[name=username]", "bob")
    page.check("input[name=auth_method][value=key]")
    expect(page.locator("input[name=password]")).to_be_hidden()
    page.set_input_files("#private-key-file", str(key_file))
    expect(page.locator("#private-key-file-note")).to_have_text("已读取私钥文件：id_ed25519")
    assert page.input_value("textarea[name=private_key]").startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    page.click("section[data-step='1'] [data-next='2']")
    with page.expect_request(re.compile(r"/api/setup/test-connection$")) as sent:
        page.click("#test-connection")
    body = sent.value.post_data_json
    assert isinstance(body, dict)
    assert body["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "password" not in body
    expect(page.locator("#test-report")).to_be_visible(timeout=60_000)
    expect(page.locator("#report-sudo")).to_have_text("免密码 sudo")


def test_a_field_rejected_by_auto_setup_is_marked_on_its_step_and_nothing_runs(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    open_wizard(page, live_service, test_host)
    set_options(page, packages="curl bad;name")
    with page.expect_response(AUTO_SETUP) as answer:
        page.click("#auto-setup")
    assert answer.value.status == 422
    assert answer.value.json()["field"] == "packages"
    expect(page.locator("section[data-step='3']")).to_be_visible()
    expect(page.locator("[data-field-error='packages']")).to_have_text("软件包名无效")
    expect(page.locator("#run-panel")).to_have_attribute("data-state", "error")
    session_id = str(page.locator("#run-panel").get_attribute("data-session-id"))
    # Nothing ran: the service knows no session with the page's id.
    assert page.context.request.get(f"{live_service.url}/api/setup/sessions/{session_id}").status == 404
    page.click("#lang-switch")
    page.click("section[data-step='3'] [data-next='4']")
    with page.expect_response(AUTO_SETUP):
        page.click("#auto-setup")
    expect(page.locator("[data-field-error='packages']")).to_have_text("Invalid package name")


def test_the_cancel_button_stops_a_running_setup(
    page: Page, live_service: LiveService, test_host: TestHost
) -> None:
    open_wizard(page, live_service, test_host)
    set_options(page, script=slow_script(2000, pause="0.1"))
    page.click("#auto-setup")
    wait_log_contains(page, "progress line 5 of 2000", timeout=300_000)
    cancel = page.locator("#cancel-run")
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel the running setup?"
    expect(cancel).to_have_text("取消")
    with page.expect_response(re.compile(r"/api/setup/sessions/[0-9a-f-]+/cancel$")) as answer:
        cancel.click()
    assert answer.value.status == 202
    assert wait_finished(page) == "cancelled"
    expect(page.locator("#banner")).to_contain_text("⚠ 设置已取消")
    assert not log_contains(page, "progress line 2000 of 2000")
    expect(cancel).to_be_hidden()
