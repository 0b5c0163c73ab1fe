"""The terminal component in the browser: 100,000 lines with a capped DOM, the full log downloadable,
a paused view that stays put while old lines leave, carriage-return redraws, ✓ ⚠ ✗ levels."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveService
from tests.browser.wizard_page import scroll_up

MOUNT = """async () => {
  const { Terminal } = await import('/static/terminal.js');
  const box = document.createElement('div');
  box.id = 'under-test';
  document.querySelector('main').replaceChildren(box);
  window.term = new Terminal(box);
  // Feed like a fast stream: 1,000 lines per animation frame.
  window.feed = (from, to) => new Promise((resolve) => {
    let i = from;
    const step = () => {
      const end = Math.min(i + 1000, to + 1);
      for (; i < end; i += 1) window.term.append(`line ${i}`, 'info', i);
      if (i <= to) requestAnimationFrame(step); else setTimeout(resolve, 200);
    };
    step();
  });
}"""


def open_terminal(page: Page, live_service: LiveService) -> None:
    page.goto(live_service.url + "/login")  # any page of ours: the module comes from /static
    page.evaluate(MOUNT)


def test_a_hundred_thousand_lines_keep_a_capped_dom_and_a_full_download(
    page: Page, live_service: LiveService, artifacts: Path
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 100000)")
    lines = page.locator("#under-test .line")
    expect(lines).to_have_count(5000)
    expect(lines.first).to_have_text("line 95001")
    expect(lines.last).to_have_text("line 100000")
    expect(page.locator("#under-test .terminal-count")).to_have_text("100000 行")
    expect(page.locator("#under-test .terminal-notice")).to_have_text(
        "为保持流畅，只显示最后 5000 行（共 100000 行）。完整日志请下载。"
    )
    gap = page.eval_on_selector("#under-test .terminal", "s => s.scrollHeight - s.scrollTop - s.clientHeight")
    assert gap <= 24  # still following the end
    page.screenshot(path=str(artifacts / "terminal-100k.png"))

    with page.expect_download() as download:
        page.click("#under-test .terminal-download")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines() == [f"line {i}" for i in range(1, 100001)]


def test_a_paused_view_stays_on_the_same_line_while_old_lines_leave_the_dom(
    page: Page, live_service: LiveService
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 6000)")
    expect(page.locator("#under-test .line").first).to_have_text("line 1001")
    scroll_up(page, "#under-test .terminal", 3000)
    expect(page.locator("#under-test .terminal-jump")).to_be_visible()
    top_line = """() => {
      const s = document.querySelector('#under-test .terminal');
      const r = s.getBoundingClientRect();
      return document.elementFromPoint(r.left + 20, r.top + 12).textContent;
    }"""
    before = page.evaluate(top_line)
    page.evaluate("() => window.feed(6001, 8000)")  # 2,000 lines leave from the top
    expect(page.locator("#under-test .line").first).to_have_text("line 3001")
    assert page.evaluate(top_line) == before
    page.click("#under-test .terminal-jump")
    expect(page.locator("#under-test .terminal-jump")).to_be_hidden()
    gap = page.eval_on_selector("#under-test .terminal", "s => s.scrollHeight - s.scrollTop - s.clientHeight")
    assert gap <= 24


def test_carriage_returns_redraw_and_marks_colour_lines(page: Page, live_service: LiveService) -> None:
    open_terminal(page, live_service)
    page.evaluate(
        """() => {
          term.append('Reading lists... 0%\\rReading lists... 50%\\rReading package lists... Done');
          term.append('Progress: [ 10%]', 'info', 2);
          term.replaceLast('Progress: [ 90%]', 'info', 3);
          term.append('\\u001b[1;32m✓ installed\\u001b[0m');
          term.append('⚠ firewall already active');
          term.append('✗ apt-get failed');
          term.append('plain text with an error level', 'error');
        }"""
    )
    lines = page.locator("#under-test .line")
    expect(lines).to_have_count(6)
    texts = lines.all_inner_texts()
    assert texts == [
        "Reading package lists... Done",
        "Progress: [ 90%]",
        "✓ installed",
        "⚠ firewall already active",
        "✗ apt-get failed",
        "plain text with an error level",
    ]
    classes = page.eval_on_selector_all("#under-test .line", "els => els.map(e => e.className)")
    assert classes == [
        "line level-info",
        "line level-info",
        "line level-success",
        "line level-warning",
        "line level-error",
        "line level-error",
    ]
    # Remote text is text, never markup.
    page.evaluate("() => term.append('<img src=x onerror=alert(1)>')")
    expect(lines.nth(6)).to_have_text("<img src=x onerror=alert(1)>")
    assert page.locator("#under-test img").count() == 0
