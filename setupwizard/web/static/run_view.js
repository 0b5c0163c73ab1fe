// Where a run is read: when it starts, the plan folds to one line ("11 steps · show") and the log comes
// into view; when it ends, the result does. On a phone and on a 900 px desktop alike, the live log is
// never below the fold.

import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

function render() {
  const section = $("plan-section");
  if (!section) return;
  const folded = section.classList.contains("folded");
  const open = $("plan-show").getAttribute("aria-expanded") === "true";
  const count = $("plan-preview").dataset.steps; // set by the plan preview (step_choice.js)
  $("plan-folded-count").textContent = count ? t("plan.count", { count }) : t("plan.heading");
  $("plan-show").textContent = t(open ? "plan.hide" : "plan.show");
  $("plan-folded").hidden = !folded;
  for (const part of [$("plan-heading"), $("plan-status"), $("plan-preview")]) part.hidden = folded && !open;
}

/** The plan folds to its one-line summary ("11 steps · show"). */
export function foldPlan() {
  $("plan-section").classList.add("folded");
  $("plan-show").setAttribute("aria-expanded", "false");
  render();
}

/** The plan is whole again (a new run is being prepared). */
export function unfoldPlan() {
  $("plan-section").classList.remove("folded");
  $("plan-show").setAttribute("aria-expanded", "false");
  render();
}

/** Scroll `el` to the top of the window (or as far as the page goes), without smooth scrolling. */
export function bringToTop(el) {
  if (el && !el.hidden) el.scrollIntoView({ block: "start", behavior: "instant" });
}

/**
 * Scroll only if some of `el` is out of sight: `anchor` (else `el`) goes to the top of the window, so
 * what follows it (the log, under the result) is in sight too.
 */
export function bringIntoSight(el, anchor = null) {
  if (!el || el.hidden) return;
  const box = el.getBoundingClientRect();
  if (box.top >= 0 && box.bottom <= window.innerHeight) return;
  (anchor || el).scrollIntoView({ block: anchor ? "start" : "nearest", behavior: "instant" });
}

export function initRunView() {
  $("plan-show").addEventListener("click", () => {
    const open = $("plan-show").getAttribute("aria-expanded") === "true";
    $("plan-show").setAttribute("aria-expanded", String(!open));
    render();
  });
  document.addEventListener("langchange", render);
  document.addEventListener("planready", render); // the count arrives after a quick "Set up"
}
