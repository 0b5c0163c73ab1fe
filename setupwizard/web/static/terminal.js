// The log view: a virtualised list of ALL lines. Lines are kept compactly (log_store.js); the DOM
// holds only the rows in sight, redrawn in one update per animation frame however many lines arrived.
// It follows the end until the reader scrolls up or presses pause, and then holds still. Search with
// next/previous and a match count, copy, download, timestamps, line-number links (#L<seq>), steps as
// collapsible groups, ANSI colours, and a "catching up" hint while the server sends lines in bulk.

import { parseAnsi } from "./ansi.js";
import { eventText } from "./codes.js";
import { t } from "./i18n.js";
import { foldAfterRun } from "./log_groups.js";
import { cleanLine, el, levelOf, toMillis } from "./log_line.js";
import { copyLog, downloadLog, logText } from "./log_export.js";
import { LogSearch } from "./log_search.js";
import { renderRow } from "./log_row.js";
import { buildBar, labelPause, relabelBar, toggleFull } from "./log_bar.js";
import { toggleWrap, WrapLayout } from "./log_wrap.js";
import { LogStore } from "./log_store.js";

export const ROW_HEIGHT = 19; // px; app.css gives .terminal .line the same height
const OVERSCAN = 20;
const PAD = 6; // the scroller's top padding, px
const FOLLOW_SLACK_PX = 24;
const CATCHING_UP_MS = 1200;
const WRAP_KEY = "setupwizard.logWrap";

export class Terminal {
  constructor(root) {
    this.root = root;
    root.terminal = this; // the browser console (and the browser tests) read every line from here
    this.store = new LogStore();
    this.following = true;
    this.held = false; // paused with the button: stays paused even at the end
    this.showTimes = false;
    this.downloadUrl = null;
    this.scheduled = false;
    this.finder = new LogSearch((i) => this.displayText(i));
    this.target = -1; // the line a #L link points at
    this.wantSeq = null;
    this.catchingUntil = 0;
    this.catchingForced = false;
    this.painted = { lines: 0, at: 0 }; // for the benchmark: lines in the store at the last paint
    this.version = 0; // bumped by whatever changes how rows look (language, search, folds, times…)
    this.drawn = ""; // what the rows in the DOM show: skip the DOM when nothing changed
    this.catchingTimer = null;
    this.wrap = localStorage.getItem(WRAP_KEY) === "1"; // long lines wrap (remembered)
    this.layout = new WrapLayout(this);
    this.full = false; // the log fills the window
    this.rowHeight = ROW_HEIGHT; // for log_wrap.js
    this.pad = PAD;
    const hash = /^#L(\d+)$/.exec(window.location.hash);
    if (hash) this.wantSeq = Number(hash[1]);
    this.build();
  }

  build() {
    const root = this.root;
    root.classList.add("terminal-wrap");
    root.replaceChildren();
    const bar = buildBar(this);
    this.screen = el("div", "terminal", { role: "log", "aria-live": "off", tabindex: "0" });
    this.screen.classList.toggle("wrap", this.wrap);
    this.sizer = el("div", "terminal-sizer");
    this.rowsEl = el("div", "terminal-rows");
    this.sizer.append(this.rowsEl);
    this.screen.append(this.sizer);
    this.screen.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.screen.addEventListener("click", (e) => this.onClick(e));
    new ResizeObserver(() => this.schedule()).observe(this.screen);
    root.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.full) this.toggleFull();
    });
    root.append(bar, this.screen, this.jumpEl);
    this.relabel();
    document.addEventListener("langchange", () => this.relabel());
    document.addEventListener("codesready", () => this.repaint());
  }

  relabel() {
    relabelBar(this);
    this.updateMatches();
    this.repaint();
  }

  clear() {
    this.store.clear();
    this.following = true;
    this.held = false;
    this.downloadUrl = null;
    this.finder.set(this.searchEl.value);
    this.target = -1;
    this.catchingUntil = 0;
    this.catchingForced = false;
    this.painted = { lines: 0, at: 0 };
    this.version += 1;
    this.screen.scrollTop = 0;
    this.relabel();
    this.updatePaused();
  }

  setDownloadUrl(url) {
    this.downloadUrl = url;
  }

  /** One line of the page's own (a notice), or a line with its event fields in `meta`. */
  append(text, level, seq = null, meta = null) {
    const parsed = parseAnsi(cleanLine(text));
    let extra = null;
    if (meta && (meta.code || meta.type === "step" || meta.spans || meta.notice || parsed.spans)) {
      extra = { ...meta, spans: meta.spans || parsed.spans };
    } else if (parsed.spans) {
      extra = { spans: parsed.spans };
    }
    const time = meta && meta.timestamp ? toMillis(meta.timestamp) : Date.now();
    const shown = extra && extra.code ? eventText(extra) : parsed.text;
    const stepIndex = meta && meta.type === "step" ? meta.step_index : null;
    this.store.push(parsed.text, levelOf(shown, level), seq, time, extra, stepIndex);
    this.schedule();
  }

  /** A line of the page's own (connecting, reattached…): shown, never copied or saved as the log. */
  notice(text, level) {
    this.append(text, level, null, { notice: true });
  }

  /**
   * A frame of the session: one line, or several consecutive lines of one step and level
   * (`message` joined by "\n", `first_seq`..`seq`). `frame.lines`, when set, are the lines still to
   * show (a resumed stream drops those it already had). Returns how many lines were added.
   */
  appendEvent(frame) {
    const lines = frame.lines || String(frame.message ?? "").split("\n");
    const last = frame.seq ?? null;
    const first = frame.first_seq ?? last;
    const perLine = last != null && last - first + 1 === lines.length; // else one event, line breaks inside
    const spans = Array.isArray(frame.spans) && lines.length > 1 ? frame.spans : null;
    for (let k = 0; k < lines.length; k += 1) {
      const meta = { ...frame, spans: spans ? spans[k] || null : frame.spans || null };
      delete meta.lines;
      if (k > 0 && meta.type === "step") meta.type = "log";
      this.append(lines[k], frame.level, perLine ? first + k : last, meta);
    }
    if (lines.length > 1) this.catchingUntil = performance.now() + CATCHING_UP_MS;
    return lines.length;
  }

  /** Show the "catching up" hint while `on` (for instance while a resumed stream replays). */
  setCatchingUp(on) {
    this.catchingForced = on;
    if (!on) this.catchingUntil = 0;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      if (!this.scheduled) return;
      this.scheduled = false;
      this.flush();
    };
    requestAnimationFrame(run);
    setTimeout(run, 100); // rAF does not fire in a hidden tab
  }

  /** The one DOM update of an animation frame. */
  flush() {
    const store = this.store;
    this.sizer.style.height = `${this.visualRows() * ROW_HEIGHT + 2 * PAD}px`;
    this.countEl.textContent = t("run.lines", { n: store.length });
    if (this.finder.query && this.finder.searchedUpTo < store.length) {
      this.finder.extend(store.length);
      this.updateMatches();
    }
    if (this.wantSeq != null) {
      const i = store.indexOfSeq(this.wantSeq);
      if (i >= 0) {
        this.wantSeq = null;
        this.target = i;
        this.version += 1;
        this.goTo(i);
      }
    }
    if (this.following) this.screen.scrollTop = this.screen.scrollHeight;
    const catching = this.catchingForced || performance.now() < this.catchingUntil;
    this.catchingEl.hidden = !catching;
    if (catching && !this.catchingForced && !this.catchingTimer) {
      this.catchingTimer = setTimeout(() => {
        this.catchingTimer = null;
        this.schedule();
      }, CATCHING_UP_MS);
    }
    this.renderRows();
    this.painted = { lines: store.length, at: performance.now() };
  }

  repaint() {
    this.version += 1;
    this.schedule();
  }

  /** Visual rows in all: one a line, or with wrap on as many as each line needs (log_wrap.js). */
  visualRows() {
    if (!this.wrap) return this.store.rowCount;
    this.layout.update();
    return this.layout.total();
  }

  /** The visual row that row `r` starts at. */
  rowTop(r) {
    return this.wrap ? this.layout.top(r) : r;
  }

  renderRows() {
    const store = this.store;
    const top = Math.max(0, this.screen.scrollTop - PAD);
    const atTop = Math.floor(top / ROW_HEIGHT);
    if (this.wrap) this.layout.update();
    const first = Math.max(0, (this.wrap ? this.layout.rowAt(atTop) : atTop) - OVERSCAN);
    const visible = Math.ceil((this.screen.clientHeight || 400) / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(store.rowCount, first + visible);
    const key = `${first}:${last}:${store.rowCount}:${this.version}:${this.wrap && this.layout.key}`;
    if (key === this.drawn) return;
    this.drawn = key;
    this.rowsEl.style.transform = `translateY(${this.rowTop(first) * ROW_HEIGHT + PAD}px)`;
    const rows = [];
    for (let r = first; r < last; r += 1) {
      const row = renderRow(this, store.lineAt(r));
      if (this.wrap) row.style.height = `${this.layout.span(r) * ROW_HEIGHT}px`;
      rows.push(row);
    }
    this.rowsEl.replaceChildren(...rows);
  }

  displayText(i) {
    const extra = this.store.extras.get(i);
    return extra && (extra.code || extra.type === "step") ? eventText(extra) : this.store.texts[i];
  }

  // --- search -----------------------------------------------------------------------------

  search(query) {
    this.finder.set(query);
    this.finder.extend(this.store.length);
    this.nextMatch(1);
    this.updateMatches();
    this.repaint();
  }

  updateMatches() {
    this.matchEl.textContent = this.finder.label();
  }

  nextMatch(direction) {
    const line = this.finder.step(direction);
    if (line < 0) return;
    this.updateMatches();
    this.version += 1;
    this.goTo(line);
  }

  /**
   * Scroll line `i` into the middle of the view (`atTop`: to its top) and the view into the window;
   * stop following the end.
   */
  goTo(i, atTop = false) {
    const row = this.store.rowOf(i);
    if (row < 0) return;
    this.following = false;
    this.version += 1; // rowOf may have opened a folded group
    this.sizer.style.height = `${this.visualRows() * ROW_HEIGHT + 2 * PAD}px`;
    const above = atTop ? ROW_HEIGHT : this.screen.clientHeight / 2; // a line of context above the header
    this.screen.scrollTop = Math.max(0, this.rowTop(row) * ROW_HEIGHT + PAD - above);
    this.screen.scrollIntoView({ block: "nearest" }); // a found line is of no use below the fold
    this.updatePaused();
    this.schedule();
  }

  /** The run has ended: passed steps fold, the failed one stays open and is scrolled to. */
  finishRun() {
    const failed = foldAfterRun(this.store);
    this.version += 1;
    if (failed) this.goTo(failed.start, true);
    else if (this.following) this.screen.scrollTop = this.screen.scrollHeight;
    this.schedule();
  }

  // --- reading ----------------------------------------------------------------------------

  onClick(event) {
    const fold = event.target.closest(".fold");
    const link = event.target.closest("a.ln");
    const row = event.target.closest(".line");
    if (fold && row) {
      const group = this.store.groupOf(Number(row.dataset.line));
      this.store.setCollapsed(group, !group.collapsed);
      this.version += 1;
      this.schedule();
    } else if (link && row) {
      event.preventDefault();
      this.target = Number(row.dataset.line);
      this.version += 1;
      history.replaceState(null, "", `${location.pathname}${location.search}#L${row.dataset.seq}`);
      this.following = false;
      this.updatePaused();
      this.schedule();
    }
  }

  onScroll() {
    const s = this.screen;
    const atEnd = s.scrollHeight - s.scrollTop - s.clientHeight <= FOLLOW_SLACK_PX;
    this.following = atEnd && !this.held;
    this.updatePaused();
    this.schedule();
  }

  /** Pause holds the view; when it is paused (by the button or by scrolling up), the button resumes. */
  togglePause() {
    if (!this.following) {
      this.jumpToLatest();
      return;
    }
    this.held = true;
    this.following = false;
    this.updatePaused();
  }

  toggleWrap() {
    toggleWrap(this, WRAP_KEY);
  }

  toggleFull() {
    toggleFull(this);
  }

  toggleTimes() {
    this.showTimes = !this.showTimes;
    this.relabel();
  }

  updatePaused() {
    const paused = !this.following;
    this.pausedEl.hidden = !paused;
    this.jumpEl.hidden = !paused;
    this.root.classList.toggle("is-paused", paused);
    labelPause(this);
  }

  jumpToLatest() {
    this.held = false;
    this.following = true;
    this.screen.scrollTop = this.screen.scrollHeight;
    this.updatePaused();
    this.schedule();
    this.screen.focus({ preventScroll: true });
  }

  text() {
    return logText(this);
  }

  copy() {
    return copyLog(this);
  }

  onDownload(event) {
    downloadLog(this, event);
  }
}
