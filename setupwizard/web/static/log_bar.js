// The log view's bar: line count, "catching up", "paused", search, and the buttons (pause, timestamps,
// wrap, full screen, copy, download), labelled in the page's language.

import { t } from "./i18n.js";
import { el } from "./log_line.js";

function button(className, onClick) {
  const b = el("button", className, { type: "button" });
  b.addEventListener("click", onClick);
  return b;
}

/** Build the bar's elements onto `view` (a Terminal) and return the bar. */
export function buildBar(view) {
  const bar = el("div", "terminal-bar");
  view.countEl = el("span", "terminal-count");
  view.catchingEl = el("span", "terminal-catching", { role: "status" });
  view.catchingEl.hidden = true;
  view.pausedEl = el("span", "terminal-paused");
  view.pausedEl.hidden = true;
  view.searchEl = el("input", "terminal-search", { type: "search", spellcheck: "false" });
  view.searchEl.addEventListener("input", () => view.search(view.searchEl.value));
  view.searchEl.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      view.nextMatch(e.shiftKey ? -1 : 1);
    }
  });
  view.matchEl = el("span", "terminal-matches", { "aria-live": "polite" });
  view.prevEl = button("terminal-prev", () => view.nextMatch(-1));
  view.nextEl = button("terminal-next", () => view.nextMatch(1));
  view.pauseEl = button("terminal-pause", () => view.togglePause());
  view.timesEl = button("terminal-times", () => view.toggleTimes());
  view.wrapEl = button("terminal-wrap-lines", () => view.toggleWrap());
  view.fullEl = button("terminal-full-screen", () => view.toggleFull());
  view.copyEl = button("terminal-copy", () => view.copy());
  view.downloadEl = el("a", "terminal-download", { href: "#" });
  view.downloadEl.addEventListener("click", (e) => view.onDownload(e));
  view.jumpEl = button("terminal-jump", () => view.jumpToLatest());
  view.jumpEl.hidden = true;
  const find = el("span", "terminal-find");
  find.append(view.searchEl, view.matchEl, view.prevEl, view.nextEl);
  bar.append(view.countEl, view.catchingEl, view.pausedEl, find, view.pauseEl, view.timesEl, view.wrapEl,
    view.fullEl, view.copyEl, view.downloadEl);
  return bar;
}

/** The Pause button says "Resume" whenever the view is not following the end (held or scrolled up). */
export function labelPause(view) {
  const paused = !view.following;
  view.pauseEl.textContent = t(paused ? "terminal.resume" : "terminal.pause");
  view.pauseEl.setAttribute("aria-pressed", String(paused));
}

export function relabelBar(view) {
  view.countEl.textContent = t("run.lines", { n: view.store.length });
  view.catchingEl.textContent = t("terminal.catching_up");
  view.pausedEl.textContent = t("terminal.paused");
  view.searchEl.placeholder = t("terminal.search");
  view.searchEl.setAttribute("aria-label", t("terminal.search"));
  view.prevEl.textContent = "↑";
  view.prevEl.setAttribute("aria-label", t("terminal.prev"));
  view.nextEl.textContent = "↓";
  view.nextEl.setAttribute("aria-label", t("terminal.next"));
  labelPause(view);
  view.timesEl.textContent = t("terminal.times");
  view.timesEl.setAttribute("aria-pressed", String(view.showTimes));
  view.wrapEl.textContent = t("terminal.wrap");
  view.wrapEl.setAttribute("aria-pressed", String(view.wrap));
  view.fullEl.textContent = t(view.full ? "terminal.full_exit" : "terminal.full");
  view.fullEl.setAttribute("aria-pressed", String(view.full));
  view.copyEl.textContent = t("terminal.copy");
  view.downloadEl.textContent = t("terminal.download");
  view.jumpEl.textContent = t("terminal.jump");
}

/** The log fills the window (Escape or the button again: back in the page). */
export function toggleFull(view) {
  view.full = !view.full;
  view.root.classList.toggle("terminal-full", view.full);
  document.body.classList.toggle("log-full", view.full);
  view.relabel();
  if (view.following) view.screen.scrollTop = view.screen.scrollHeight;
  view.screen.focus({ preventScroll: true });
  view.schedule();
}
