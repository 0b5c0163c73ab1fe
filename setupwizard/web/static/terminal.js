// The log terminal: appends lines in batches (one DOM write per frame), keeps only the last
// `maxDom` lines in the DOM so 100,000 lines stay smooth (all lines stay in memory for the
// download), follows the end until the person scrolls up, and then shows "jump to latest".

import { t } from "./i18n.js";

const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
const FOLLOW_SLACK_PX = 24;

export function levelOf(text, level) {
  if (level === "success" || level === "warning" || level === "error") return level;
  const head = text.trimStart().charAt(0);
  if (head === "✓") return "success";
  if (head === "⚠") return "warning";
  if (head === "✗") return "error";
  return "info";
}

/** A carriage return redraws the line: only what follows the last \r is visible. */
export function cleanLine(text) {
  let line = String(text ?? "").replace(ANSI, "");
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const cr = line.lastIndexOf("\r");
  return cr >= 0 ? line.slice(cr + 1) : line;
}

export class Terminal {
  constructor(root, { maxDom = 5000 } = {}) {
    this.root = root;
    this.maxDom = Number(root.dataset.maxDom || maxDom);
    this.lines = []; // {text, level, seq}
    this.pending = [];
    this.following = true;
    this.downloadUrl = null;
    this.scheduled = false;
    this.build();
  }

  build() {
    this.root.classList.add("terminal-wrap");
    this.root.innerHTML = "";
    const bar = document.createElement("div");
    bar.className = "terminal-bar";
    this.countEl = document.createElement("span");
    this.countEl.className = "terminal-count";
    this.pausedEl = document.createElement("span");
    this.pausedEl.className = "terminal-paused";
    this.pausedEl.hidden = true;
    this.downloadEl = document.createElement("a");
    this.downloadEl.className = "terminal-download";
    this.downloadEl.href = "#";
    this.downloadEl.addEventListener("click", (e) => this.onDownload(e));
    bar.append(this.countEl, this.pausedEl, this.downloadEl);
    this.noticeEl = document.createElement("div");
    this.noticeEl.className = "terminal-notice";
    this.noticeEl.hidden = true;
    this.screen = document.createElement("div");
    this.screen.className = "terminal";
    this.screen.setAttribute("role", "log");
    this.screen.tabIndex = 0;
    this.screen.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.jumpEl = document.createElement("button");
    this.jumpEl.type = "button";
    this.jumpEl.className = "terminal-jump";
    this.jumpEl.hidden = true;
    this.jumpEl.addEventListener("click", () => this.jumpToLatest());
    this.root.append(bar, this.noticeEl, this.screen, this.jumpEl);
    this.relabel();
    document.addEventListener("langchange", () => this.relabel());
  }

  relabel() {
    this.countEl.textContent = t("run.lines", { n: this.lines.length });
    this.pausedEl.textContent = t("terminal.paused");
    this.downloadEl.textContent = t("terminal.download");
    this.jumpEl.textContent = t("terminal.jump");
    this.updateNotice();
  }

  clear() {
    this.lines = [];
    this.pending = [];
    this.screen.textContent = "";
    this.following = true;
    this.downloadUrl = null;
    this.relabel();
    this.updatePaused();
  }

  setDownloadUrl(url) {
    this.downloadUrl = url;
  }

  append(text, level, seq = null) {
    const line = { text: cleanLine(text), level: null, seq };
    line.level = levelOf(line.text, level);
    this.lines.push(line);
    this.pending.push(line);
    this.schedule();
  }

  /** Redraw the last line in place (a progress counter updated with \r). */
  replaceLast(text, level, seq = null) {
    const last = this.lines[this.lines.length - 1];
    if (!last) return this.append(text, level, seq);
    last.text = cleanLine(text);
    last.level = levelOf(last.text, level);
    last.seq = seq ?? last.seq;
    if (!this.pending.includes(last) && this.screen.lastChild) this.paint(this.screen.lastChild, last);
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

  paint(el, line) {
    el.textContent = line.text || "\u00a0";
    el.className = `line level-${line.level}`;
    if (line.seq != null) el.dataset.seq = line.seq;
  }

  flush() {
    if (this.pending.length === 0) return;
    const batch = this.pending.length > this.maxDom ? this.pending.slice(-this.maxDom) : this.pending;
    this.pending = [];
    const fragment = document.createDocumentFragment();
    for (const line of batch) {
      const el = document.createElement("div");
      this.paint(el, line);
      fragment.append(el);
    }
    this.screen.append(fragment);
    const excess = this.screen.childElementCount - this.maxDom;
    if (excess > 0) {
      const before = this.screen.scrollHeight;
      if (excess > this.maxDom / 2) {
        const keep = Array.from(this.screen.children).slice(excess);
        this.screen.replaceChildren(...keep);
      } else {
        for (let i = 0; i < excess; i += 1) this.screen.firstElementChild.remove();
      }
      // Keep what the reader is looking at in place when lines leave from the top.
      if (!this.following) this.screen.scrollTop -= before - this.screen.scrollHeight;
    }
    this.countEl.textContent = t("run.lines", { n: this.lines.length });
    this.updateNotice();
    if (this.following) this.scrollToEnd();
    else this.updatePaused();
  }

  scrollToEnd() {
    this.screen.scrollTop = this.screen.scrollHeight;
  }

  onScroll() {
    const s = this.screen;
    const atEnd = s.scrollHeight - s.scrollTop - s.clientHeight <= FOLLOW_SLACK_PX;
    this.following = atEnd;
    this.updatePaused();
  }

  updatePaused() {
    const paused = !this.following;
    this.pausedEl.hidden = !paused;
    this.jumpEl.hidden = !paused;
    this.root.classList.toggle("is-paused", paused);
  }

  updateNotice() {
    const shown = Math.min(this.lines.length, this.maxDom);
    const truncated = this.lines.length > this.maxDom;
    this.noticeEl.hidden = !truncated;
    if (truncated) this.noticeEl.textContent = t("terminal.truncated", { shown, total: this.lines.length });
  }

  jumpToLatest() {
    this.following = true;
    this.flush();
    this.scrollToEnd();
    this.updatePaused();
    this.screen.focus({ preventScroll: true });
  }

  text() {
    return this.lines.map((l) => l.text).join("\n") + "\n";
  }

  onDownload(event) {
    if (this.downloadUrl) {
      this.downloadEl.href = this.downloadUrl;
      this.downloadEl.setAttribute("download", "");
      return; // the browser follows the link, with the session cookie
    }
    event.preventDefault();
    const blob = new Blob([this.text()], { type: "text/plain;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = "setup-log.txt";
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}
