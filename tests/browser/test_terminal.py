"""The log view in the browser, mounted on one of our pages and fed like a live stream: a virtualised
list of ALL lines (200,000 stay smooth), multi-line frames, a pause that holds, search, copy,
timestamps, line links, steps as collapsible groups, ANSI colours, message codes, "catching up"."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveService
from tests.browser.wizard_page import scroll_up

MOUNT = """async () => {
  const { Terminal } = await import('/static/terminal.js');
  const live = await import('/static/live.js');
  const codes = await import('/static/codes.js');
  await codes.ready;
  const box = document.createElement('div');
  box.id = 'under-test';
  document.querySelector('main').replaceChildren(box);
  window.term = new Terminal(box);
  window.newLines = live.newLines;
  // Count the DOM updates of the rows and the animation frames while feeding.
  window.domUpdates = 0;
  window.frames = 0;
  const tick = () => { window.frames += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new MutationObserver(() => { window.domUpdates += 1; })
    .observe(box.querySelector('.terminal-rows'), { childList: true, subtree: true });
  const ts = (i) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + i).toISOString().replace('Z', '');
  // Feed like a fast server: frames of `per` lines (first_seq..seq), `frames` of them per animation frame.
  window.feed = (from, to, per = 1, frames = 10) => new Promise((resolve) => {
    let i = from;
    let rafs = 0;
    const step = () => {
      for (let f = 0; f < frames && i <= to; f += 1) {
        const last = Math.min(i + per - 1, to);
        const lines = [];
        for (let k = i; k <= last; k += 1) lines.push(`line ${k}`);
        window.term.appendEvent({ type: 'log', level: 'info', message: lines.join('\\n'),
                                  first_seq: i, seq: last, timestamp: ts(last) });
        i = last + 1;
      }
      rafs += 1;
      if (i <= to) requestAnimationFrame(step);
      else requestAnimationFrame(() => requestAnimationFrame(() => resolve(rafs + 2)));
    };
    step();
  });
}"""

TOP_LINE = """() => {
  const s = document.querySelector('#under-test .terminal');
  const r = s.getBoundingClientRect();
  const row = document.elementFromPoint(r.left + 200, r.top + 12).closest('.line');
  return row ? row.dataset.seq : null;
}"""

GAP = "s => s.scrollHeight - s.scrollTop - s.clientHeight"


def open_terminal(page: Page, live_service: LiveService) -> None:
    page.goto(live_service.url + "/login")  # any page of ours: the modules come from /static
    page.evaluate(MOUNT)


def test_two_hundred_thousand_lines_are_all_kept_and_reachable_with_a_small_dom(
    page: Page, live_service: LiveService, artifacts: Path
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 200000, 500, 4)")
    expect(page.locator("#under-test .terminal-count")).to_have_text("200000 行")
    rows = page.locator("#under-test .line")
    assert rows.count() < 200  # only what is in sight (and a margin) is in the DOM
    expect(rows.last).to_have_text("200000line 200000")  # the line number, then the text
    assert page.eval_on_selector("#under-test .terminal", GAP) <= 24  # still following the end
    # One DOM update per animation frame, however many frames and lines arrived in it.
    updates, frames = page.evaluate("() => [window.domUpdates, window.frames]")
    assert updates <= frames
    # Every line is in memory, once, in order; the download has them all.
    seqs_ok = page.evaluate(
        "() => { const s = term.store; if (s.length !== 200000) return false;"
        " for (let i = 0; i < s.length; i += 1) if (s.seq(i) !== i + 1) return false; return true; }"
    )
    assert seqs_ok
    # The browser's find cannot reach line 50000 in a virtual list; the view's own search can.
    page.fill("#under-test .terminal-search", "line 50000")
    expect(page.locator("#under-test .terminal-matches")).to_have_text("1 / 1")
    expect(page.locator("#under-test .line.current-match")).to_have_attribute("data-seq", "50000")
    expect(page.locator("#under-test .line.current-match mark")).to_have_text("line 50000")
    page.screenshot(path=str(artifacts / "terminal-200k-search.png"))
    with page.expect_download() as download:
        page.click("#under-test .terminal-download")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines() == [f"line {i}" for i in range(1, 200001)]


def test_a_paused_view_holds_its_line_while_a_hundred_thousand_more_arrive(
    page: Page, live_service: LiveService
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 6000, 100)")
    scroll_up(page, "#under-test .terminal", 3000)
    expect(page.locator("#under-test .terminal-jump")).to_be_visible()
    expect(page.locator("#under-test .terminal-paused")).to_be_visible()
    before = page.evaluate(TOP_LINE)
    assert before is not None
    page.evaluate("() => window.feed(6001, 106000, 1000)")
    expect(page.locator("#under-test .terminal-count")).to_have_text("106000 行")
    assert page.evaluate(TOP_LINE) == before
    page.click("#under-test .terminal-jump")
    expect(page.locator("#under-test .terminal-jump")).to_be_hidden()
    expect(page.locator("#under-test .line").last).to_have_attribute("data-seq", "106000")

    # The pause button holds too, even at the very end.
    page.click("#under-test .terminal-pause")
    expect(page.locator("#under-test .terminal-pause")).to_have_attribute("aria-pressed", "true")
    held = page.evaluate(TOP_LINE)
    page.evaluate("() => window.feed(106001, 108000, 100)")
    assert page.evaluate(TOP_LINE) == held
    page.click("#under-test .terminal-pause")
    expect(page.locator("#under-test .line").last).to_have_attribute("data-seq", "108000")


def test_multi_line_frames_give_each_line_its_seq_and_a_resumed_frame_is_cut_exactly(
    page: Page, live_service: LiveService
) -> None:
    open_terminal(page, live_service)
    cut = page.evaluate(
        "() => newLines({type: 'log', message: 'a\\nb\\nc\\nd', first_seq: 10, seq: 13}, 11).lines"
    )
    assert cut == ["c", "d"]
    assert page.evaluate("() => newLines({type: 'log', message: 'x', first_seq: 5, seq: 5}, 5)") is None
    # One event whose own message has a line break (no first_seq): both lines carry its seq.
    page.evaluate(
        """() => {
          term.appendEvent({type: 'log', level: 'info', message: 'one\\ntwo\\nthree', first_seq: 1, seq: 3});
          term.appendEvent({type: 'log', level: 'error', message: 'an error\\nwith detail', seq: 4});
        }"""
    )
    rows = page.locator("#under-test .line")
    expect(rows).to_have_count(5)
    seqs = page.eval_on_selector_all("#under-test .line", "els => els.map(e => e.dataset.seq)")
    assert seqs == ["1", "2", "3", "4", "4"]
    texts = page.eval_on_selector_all("#under-test .line .text", "els => els.map(e => e.textContent)")
    assert texts == ["one", "two", "three", "an error", "with detail"]
    expect(page.locator("#under-test .terminal-catching")).to_be_visible()  # bulk frames: catching up
    expect(page.locator("#under-test .terminal-catching")).to_be_hidden(timeout=5000)


def test_search_steps_through_matches_both_ways_and_counts_new_lines(
    page: Page, live_service: LiveService
) -> None:
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 3000, 50)")
    page.fill("#under-test .terminal-search", "LINE 2")  # case-insensitive
    matches = page.locator("#under-test .terminal-matches")
    expect(matches).to_have_text("1 / 1111")  # 2, 20-29, 200-299, 2000-2999
    current = page.locator("#under-test .line.current-match")
    expect(current).to_have_attribute("data-seq", "2")
    page.click("#under-test .terminal-next")
    expect(matches).to_have_text("2 / 1111")
    expect(current).to_have_attribute("data-seq", "20")
    page.click("#under-test .terminal-prev")
    page.click("#under-test .terminal-prev")
    expect(matches).to_have_text("1111 / 1111")
    expect(current).to_have_attribute("data-seq", "2999")
    page.press("#under-test .terminal-search", "Enter")
    expect(current).to_have_attribute("data-seq", "2")
    page.evaluate("() => window.feed(20001, 20005, 1)")  # new lines are searched as they arrive
    expect(matches).to_have_text("1 / 1116")
    page.fill("#under-test .terminal-search", "nothing like this")
    expect(matches).to_have_text("无匹配")


def test_copy_timestamps_and_line_links(page: Page, live_service: LiveService) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_service.url)
    open_terminal(page, live_service)
    page.evaluate("() => window.feed(1, 500, 10)")
    page.click("#under-test .terminal-copy")
    expect(page.locator("#under-test .terminal-copy")).to_have_text("已复制")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.splitlines() == [f"line {i}" for i in range(1, 501)]

    expect(page.locator("#under-test .line .ts")).to_have_count(0)
    page.click("#under-test .terminal-times")
    expect(page.locator("#under-test .terminal-times")).to_have_attribute("aria-pressed", "true")
    # The server's timestamp (12:00:00.500 UTC for line 500), shown in local time.
    expected = page.evaluate(
        "() => new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 500)).toTimeString().slice(0, 8) + '.500'"
    )
    expect(page.locator("#under-test .line[data-seq='500'] .ts")).to_have_text(expected)

    page.locator("#under-test .line[data-seq='495'] a.ln").click()
    assert page.evaluate("() => location.hash") == "#L495"
    expect(page.locator("#under-test .line.target")).to_have_attribute("data-seq", "495")
    # A link to a line opens the view at that line, once it has arrived.
    page.goto(live_service.url + "/login#L4321")
    page.evaluate(MOUNT)
    page.evaluate("() => window.feed(1, 10000, 100)")
    target = page.locator("#under-test .line.target")
    expect(target).to_have_attribute("data-seq", "4321")
    expect(target).to_be_in_viewport()


STEPS = """() => {
  const step = (i, status, message, level = 'info') => ({
    type: 'step', level, message, step_id: ['connect', 'apt_update'][i - 1], step_index: i, step_total: 2,
    data: { status }, seq: 0 });
  let seq = 0;
  const add = (frame) => { seq += 1; term.appendEvent({ ...frame, seq, first_seq: seq }); };
  add(step(1, 'running', '[1/2] 连接服务器并识别系统 …'));
  add({ type: 'log', level: 'info', message: 'Debian 12' });
  add(step(1, 'succeeded', '✓ 连接服务器并识别系统: 已连接', 'success'));
  add(step(2, 'running', '[2/2] 更新软件源 (apt-get update) …'));
  for (let i = 1; i <= 30; i += 1) add({ type: 'log', level: 'info', message: `Get:${i} http://deb` });
  add({ type: 'log', level: 'info', message: '\\u001b[1;32mdone\\u001b[0m and \\u001b[31mred\\u001b[0m' });
  add({ type: 'log', level: 'info', message: 'coloured by the engine',
        spans: [[0, 8, '33'], [16, 22, '1;34']] });
  add({ type: 'log', level: 'success', message: '✓ 软件源已更新', code: 'test.coded', params: { n: 3 } });
}"""


def test_steps_fold_colours_show_and_codes_speak_the_chosen_language(
    page: Page, live_service: LiveService, artifacts: Path
) -> None:
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
    page.evaluate(STEPS)
    heads = page.locator("#under-test .line.group-head")
    expect(heads).to_have_count(2)
    expect(page.locator("#under-test .line")).to_have_count(37)
    heads.nth(1).locator(".fold").click()
    expect(page.locator("#under-test .line")).to_have_count(4)  # step 2 folded to its heading
    expect(heads.nth(1).locator(".fold")).to_have_attribute("aria-expanded", "false")
    heads.nth(1).locator(".fold").click()
    expect(page.locator("#under-test .line")).to_have_count(37)

    coloured = page.locator("#under-test .line[data-seq='35'] .text span")
    expect(coloured).to_have_count(2)
    assert coloured.first.get_attribute("class") == "ansi-green ansi-bold"
    assert coloured.nth(1).get_attribute("class") == "ansi-red"
    expect(page.locator("#under-test .line[data-seq='35'] .text")).to_have_text("done and red")
    spans = page.locator("#under-test .line[data-seq='36'] .text span")
    assert spans.all_inner_texts() == ["coloured", "engine"]
    assert spans.nth(1).get_attribute("class") == "ansi-blue ansi-bold"

    coded = page.locator("#under-test .line[data-seq='37'] .text")
    expect(coded).to_have_text("✓ 已更新 3 个源")
    page.click("#lang-switch")
    expect(coded).to_have_text("✓ Updated 3 sources")
    # A step line without a code still names its step in English; plain output stays as printed.
    expect(page.locator("#under-test .line[data-seq='4'] .text")).to_have_text(
        "[2/2] Update package lists (apt-get update) …"
    )
    expect(page.locator("#under-test .line[data-seq='2'] .text")).to_have_text("Debian 12")
    expect(page.locator("#under-test .terminal-count")).to_have_text("37 lines")
    page.click("#under-test .terminal-times")
    page.fill("#under-test .terminal-search", "deb")
    page.locator("#under-test .line[data-seq='1'] .fold").click()
    page.click("#under-test .terminal-jump")
    page.screenshot(path=str(artifacts / "terminal-groups-colours.png"))


def test_remote_text_is_text_never_markup(page: Page, live_service: LiveService) -> None:
    open_terminal(page, live_service)
    page.evaluate(
        "() => { term.append('<img src=x onerror=alert(1)>');"
        " term.append('Reading 0%\\rReading 50%\\rReading lists... Done'); term.append('✗ failed'); }"
    )
    texts = page.locator("#under-test .line .text")
    expect(texts.first).to_have_text("<img src=x onerror=alert(1)>")
    expect(texts.nth(1)).to_have_text("Reading lists... Done")
    expect(page.locator("#under-test .line").nth(2)).to_have_class("line level-error")
    assert page.locator("#under-test img").count() == 0
