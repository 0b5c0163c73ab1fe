// Step groups in the log view, as GitHub Actions shows them: a step's header line gets ✓ ⚠ ✗ and how
// long the step took once it has ended; after the run the passed steps fold away and the failed step
// stays open, for the view to scroll to.

import { el } from "./log_line.js";
import { t } from "./i18n.js";

const MARKS = { succeeded: "✓", unchanged: "✓", warning: "⚠", cancelled: "⚠", failed: "✗", skipped: "–" };
const FOLDED_AFTER_RUN = new Set(["succeeded", "unchanged", "skipped"]);

/** "0.4s", "12s", "2m 5s": a step's time, tenths under ten seconds. */
export function stepTime(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  if (s < 10) return t("duration.s", { s: s.toFixed(1) });
  const whole = Math.round(s);
  return whole < 60 ? t("duration.s", { s: whole }) : t("duration.ms", { m: Math.floor(whole / 60), s: whole % 60 });
}

/** Whether the group's step has ended (its mark and time are known). */
export function ended(group) {
  return Boolean(group.status && MARKS[group.status]);
}

/** The fold button of a group's header row. */
export function foldButton(group) {
  const fold = el("button", "fold", {
    type: "button",
    "aria-expanded": String(!group.collapsed),
    "aria-label": t(group.collapsed ? "terminal.expand" : "terminal.collapse"),
  });
  fold.textContent = group.collapsed ? "▸" : "▾";
  return fold;
}

/** The ✓ ⚠ ✗ before a header's text, or null while the step runs. */
export function statusMark(group) {
  if (!ended(group)) return null;
  const mark = el("span", `step-mark step-${group.status}`, { title: t(`status.${group.status}`) });
  mark.textContent = MARKS[group.status];
  return mark;
}

/** The step's duration after a header's text, or null while it runs (or when it never ran). */
export function statusTime(group) {
  if (!ended(group) || group.status === "skipped" || group.duration == null) return null;
  const time = el("span", "step-time");
  time.textContent = stepTime(group.duration);
  return time;
}

/**
 * The run has ended: passed (and skipped) steps fold, the others open. Returns the group of the step
 * that failed (else one that warned or was cancelled), or null.
 */
export function foldAfterRun(store) {
  let failed = null;
  let warned = null;
  for (const group of store.groups) {
    if (!group.header) continue;
    store.setCollapsed(group, FOLDED_AFTER_RUN.has(group.status));
    if (group.status === "failed" && !failed) failed = group;
    if ((group.status === "warning" || group.status === "cancelled") && !warned) warned = group;
  }
  return failed || warned;
}
