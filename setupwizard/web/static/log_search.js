// Search in the log view: case-insensitive, over what the view shows (codes rendered), kept up to
// date as lines arrive; the matching lines' indices, which one is current, and <mark> highlighting.

import { t } from "./i18n.js";

export class LogSearch {
  /** `textOf(i)` is line i as shown. */
  constructor(textOf) {
    this.textOf = textOf;
    this.set("");
  }

  set(query) {
    this.query = query.trim().toLowerCase();
    this.matches = []; // line indices
    this.searchedUpTo = 0;
    this.current = -1; // index into matches
  }

  /** Look through the lines added since the last call (there are `length` lines now). */
  extend(length) {
    if (!this.query) return;
    for (let i = this.searchedUpTo; i < length; i += 1) {
      if (this.textOf(i).toLowerCase().includes(this.query)) this.matches.push(i);
    }
    this.searchedUpTo = length;
  }

  /** Move to the next (1) or previous (-1) match; returns its line, or -1 when nothing matches. */
  step(direction) {
    const n = this.matches.length;
    if (!n) return -1;
    this.current = this.current < 0 ? (direction > 0 ? 0 : n - 1) : (this.current + direction + n) % n;
    return this.matches[this.current];
  }

  hits(text) {
    return this.query !== "" && text.toLowerCase().includes(this.query);
  }

  isCurrent(i) {
    return this.current >= 0 && this.matches[this.current] === i;
  }

  /** "3 / 120", "no matches", or nothing without a query. */
  label() {
    if (!this.query) return "";
    return this.matches.length
      ? t("terminal.matches", { n: this.current + 1, total: this.matches.length })
      : t("terminal.no_matches");
  }

  /** Fill `el` with `text`, each occurrence of the query in a <mark>. */
  mark(el, text) {
    const lower = text.toLowerCase();
    let at = 0;
    for (let k = lower.indexOf(this.query); k >= 0; k = lower.indexOf(this.query, at)) {
      if (k > at) el.append(text.slice(at, k));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(k, k + this.query.length);
      el.append(mark);
      at = k + this.query.length;
    }
    if (at < text.length) el.append(text.slice(at));
  }
}
