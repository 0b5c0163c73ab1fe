"""The log view's controls: the Pause button says "Resume" whenever scrolling has
paused the view, long lines wrap at the view's width (still a virtual list), and the log can fill the
window."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveService
from tests.browser.test_terminal import GAP, MOUNT, STEPS, open_terminal
from tests.browser.wizard_page import scroll_up

VIEW = "#under-test .terminal"
LONG = """(n) => { window.term.appendEvent({ type: 'log', level: 'info', seq: n,
  message: 'x'.repeat(150) + ' 中文宽字符 ' + 'y'.repeat(150) + ' END-OF-LONG-LINE' }); }"""


def test_pause_says_resume_whenever_scrolling_has_paused_the_view(
    page: Page, live_service: LiveService
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 3000, 100)")
    pause = page.locator("#under-test .terminal-pause")
    expect(pause).to_have_text("暂停")
    expect(pause).to_have_attribute("aria-pressed", "false")
    scroll_up(page, VIEW, 2000)
    expect(page.locator("#under-test .terminal-paused")).to_be_visible()
    expect(pause).to_have_text("继续")  # scrolling paused the view: the button resumes it
    expect(pause).to_have_attribute("aria-pressed", "true")
    pause.click()
    expect(pause).to_have_text("暂停")
    expect(page.locator("#under-test .terminal-paused")).to_be_hidden()
    page.evaluate("() => window.feed(3001, 3100, 10)")
    assert page.eval_on_selector(VIEW, GAP) <= 24  # following the end again
    pause.click()  # the button's own pause still holds
    expect(pause).to_have_text("继续")
    page.click("#lang-switch")
    expect(pause).to_have_text("Resume")


def test_long_lines_wrap_in_a_virtual_list(page: Page, live_service: LiveService, artifacts: Path) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 50, 10)")
    page.evaluate(LONG, 51)
    page.evaluate("() => window.feed(52, 60, 1)")
    screen = page.locator(VIEW)
    assert screen.evaluate("s => s.scrollWidth > s.clientWidth")  # no wrap: a long line scrolls sideways
    wrap = page.locator("#under-test .terminal-wrap-lines")
    expect(wrap).to_have_attribute("aria-pressed", "false")
    wrap.click()
    expect(wrap).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "(sel) => { const s = document.querySelector(sel); return s.scrollWidth <= s.clientWidth; }", arg=VIEW
    )
    long_row = page.locator('#under-test .line[data-seq="51"]')
    expect(long_row).to_be_visible()
    row = long_row.bounding_box()
    view = screen.bounding_box()
    assert row is not None and view is not None
    assert row["height"] >= 3 * 19, row  # 330 characters on several rows
    end = long_row.locator(".text").bounding_box()
    assert end is not None and end["x"] + end["width"] <= view["x"] + view["width"], (end, view)
    # The next line starts under the wrapped one, not on top of it.
    after = page.locator('#under-test .line[data-seq="52"]').bounding_box()
    assert after is not None and after["y"] >= row["y"] + row["height"] - 1, (row, after)
    # Still following the end, still a small DOM with many lines.
    page.evaluate("() => window.feed(61, 100000, 1000)")
    expect(page.locator("#under-test .line").last).to_have_attribute("data-seq", "100000")
    assert page.eval_on_selector(VIEW, GAP) <= 24
    assert page.locator("#under-test .line").count() < 200
    # Search reaches the wrapped line and shows it.
    page.fill("#under-test .terminal-search", "END-OF-LONG-LINE")
    expect(page.locator('#under-test .line.current-match[data-seq="51"]')).to_be_visible()
    page.screenshot(path=str(artifacts / "log-wrapped.png"))
    # The choice is remembered; off again, the line is one row.
    page.reload()
    page.evaluate(MOUNT)
    expect(page.locator("#under-test .terminal-wrap-lines")).to_have_attribute("aria-pressed", "true")
    page.click("#under-test .terminal-wrap-lines")
    page.evaluate(LONG, 1)
    box = page.locator('#under-test .line[data-seq="1"]').bounding_box()
    assert box is not None and box["height"] == 19


def test_the_log_fills_the_window_and_escape_brings_it_back(page: Page, live_service: LiveService) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 500, 50)")
    full = page.locator("#under-test .terminal-full-screen")
    expect(full).to_have_text("全屏")
    full.click()
    expect(full).to_have_attribute("aria-pressed", "true")
    expect(full).to_have_text("退出全屏")
    box = page.locator("#under-test").bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, size["width"], size["height"]), box
    screen = page.locator(VIEW).bounding_box()
    assert screen is not None and screen["height"] > size["height"] - 120, screen
    expect(page.locator('#under-test .line[data-seq="500"]')).to_be_visible()  # still at the end
    page.keyboard.press("Escape")
    expect(full).to_have_attribute("aria-pressed", "false")
    box = page.locator("#under-test").bounding_box()
    assert box is not None and box["height"] < size["height"], box


def test_copy_is_in_the_chosen_language_without_the_pages_own_notices(
    page: Page, live_service: LiveService
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    open_terminal(page, live_service)
    page.evaluate(
        """async () => {
          const codes = await import('/static/codes.js');
          const real = await (await fetch('/messages.json')).json();
          real.zh['test.coded'] = '✓ 已更新 {n} 个源';
          real.en['test.coded'] = '✓ Updated {n} sources';
          codes.setCatalogue(real);
        }"""
    )
    page.evaluate("() => term.notice('已回到正在进行的设置，正在载入已有日志…', 'info')")
    page.evaluate(STEPS)
    page.click("#lang-switch")
    page.click("#under-test .terminal-copy")
    expect(page.locator("#under-test .terminal-copy")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()").splitlines()
    assert "已回到正在进行的设置，正在载入已有日志…" not in copied  # the page's own notice is not the log
    assert copied[0] == "[1/2] Connect and identify the system …", copied[:3]
    assert copied[1] == "Debian 12"  # the server's output stays as printed
    assert copied[-1] == "✓ Updated 3 sources"
    assert len(copied) == 37
