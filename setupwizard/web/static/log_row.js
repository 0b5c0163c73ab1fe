// One row of the log view (terminal.js): a step's fold button and status, the line number (a #L<seq>
// link), the time when shown, and the text with its search marks or ANSI colours.

import { renderSpans } from "./ansi.js";
import { foldButton, statusMark, statusTime } from "./log_groups.js";
import { clock, el } from "./log_line.js";

/** The row of line `i` of `view` (the Terminal: its store, finder, showTimes, target, displayText). */
export function renderRow(view, i) {
  const store = view.store;
  const row = el("div", `line level-${store.level(i)}`);
  row.dataset.line = i;
  const seq = store.seq(i);
  const group = store.groupOf(i);
  const head = group.header && group.start === i;
  if (head) {
    row.classList.add("group-head");
    row.append(foldButton(group));
  } else if (group.header) {
    row.classList.add("in-group");
  }
  if (seq != null) {
    row.dataset.seq = seq;
    const link = el("a", "ln", { href: `#L${seq}`, tabindex: "-1" });
    link.textContent = seq;
    row.append(link);
  } else {
    row.append(el("span", "ln"));
  }
  if (view.showTimes) {
    const ts = el("span", "ts");
    ts.textContent = clock(store.times[i]);
    row.append(ts);
  }
  const text = el("span", "text");
  const shown = view.displayText(i);
  const extra = store.extras.get(i);
  if (view.finder.hits(shown)) {
    view.finder.mark(text, shown);
    row.classList.add("match");
    if (view.finder.isCurrent(i)) row.classList.add("current-match");
  } else if (extra && extra.spans && !extra.code) {
    renderSpans(text, shown, extra.spans);
  } else {
    text.textContent = shown || "\u00a0";
  }
  if (i === view.target) row.classList.add("target");
  const mark = head ? statusMark(group) : null;
  const time = head ? statusTime(group) : null;
  row.append(...[mark, text, time].filter(Boolean));
  return row;
}
