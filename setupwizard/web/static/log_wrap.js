// Line wrap for the log view. The view stays virtual: with wrap on, a line takes as many 19 px rows as
// its text needs at the view's width (the font is monospaced, so that is a count of characters, CJK
// counting two), and a prefix sum of those counts maps a scroll position to a line and back.

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/g;
const NON_ASCII = /[^\x00-\x7f]/;
const HEAD_EXTRA = 14; // a header's ✓ mark and duration, in characters

/** How many columns `text` takes in a monospaced font. */
export function columns(text) {
  if (!NON_ASCII.test(text)) return text.length;
  const wide = text.match(WIDE);
  return text.length + (wide ? wide.length : 0);
}

export class WrapLayout {
  /** `view`: the Terminal (its store, screen, rows element and displayText). */
  constructor(view) {
    this.view = view;
    this.cols = 80;
    this.prefix = new Uint32Array(1024); // prefix[r]: visual rows above row r
    this.rows = 0; // rows laid out
    this.key = "";
  }

  /** The text column's width in characters, measured with a probe row in the view's own styles. */
  measure() {
    const { rowsEl } = this.view;
    const probe = document.createElement("div");
    probe.className = "line probe";
    probe.style.visibility = "hidden";
    const ln = document.createElement("span");
    ln.className = "ln";
    ln.textContent = "000000";
    probe.append(ln);
    if (this.view.showTimes) {
      const ts = document.createElement("span");
      ts.className = "ts";
      ts.textContent = "00:00:00.000";
      probe.append(ts);
    }
    const text = document.createElement("span");
    text.className = "text";
    const sample = document.createElement("span");
    sample.textContent = "0".repeat(100);
    sample.style.whiteSpace = "pre";
    text.append(sample);
    probe.append(text);
    rowsEl.append(probe);
    const char = sample.getBoundingClientRect().width / 100 || 7.8;
    const width = text.getBoundingClientRect().width;
    probe.remove();
    this.cols = Math.max(10, Math.floor(width / char));
  }

  /** How many visual rows line `i` needs. */
  height(i, head) {
    const width = columns(this.view.displayText(i)) + (head ? HEAD_EXTRA : 0);
    return Math.max(1, Math.ceil(width / this.cols));
  }

  /** Bring the prefix sums up to date: whole after a change of look, only the new rows otherwise. */
  update() {
    const { store, screen, version, showTimes } = this.view;
    const key = `${screen.clientWidth}:${version}:${showTimes}`;
    if (key !== this.key) {
      this.measure();
      this.key = key;
      this.rows = 0;
    }
    const total = store.rowCount;
    if (this.rows > total) this.rows = 0;
    if (this.rows === total) return;
    if (this.prefix.length < total + 1) {
      const bigger = new Uint32Array(Math.max(total + 1, this.prefix.length * 2));
      bigger.set(this.prefix);
      this.prefix = bigger;
    }
    // Walk the groups to the first row not laid out, then lay out the rest.
    let base = 0;
    let r = this.rows;
    for (const group of store.groups) {
      const rows = store.rowsOf(group);
      for (let k = Math.max(0, r - base); k < rows; k += 1) {
        const i = group.start + k;
        this.prefix[r + 1] = this.prefix[r] + this.height(i, group.header && k === 0);
        r += 1;
      }
      base += rows;
      if (r >= total) break;
    }
    this.rows = r;
  }

  /** Visual rows in all. */
  total() {
    return this.prefix[this.rows];
  }

  /** The visual row row `r` starts at. */
  top(r) {
    return this.prefix[Math.min(r, this.rows)];
  }

  /** The row shown at visual row `v` (binary search). */
  rowAt(v) {
    let lo = 0;
    let hi = this.rows;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.prefix[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    return Math.min(lo, Math.max(0, this.rows - 1));
  }

  /** Visual rows row `r` takes. */
  span(r) {
    return this.prefix[r + 1] - this.prefix[r];
  }
}

/** Long lines wrap at the view's width (or scroll sideways again); the line at the top stays there. */
export function toggleWrap(view, storageKey) {
  const { store, screen } = view;
  const atTop = Math.floor(Math.max(0, screen.scrollTop - view.pad) / view.rowHeight);
  const top = store.lineAt(view.wrap ? (view.layout.update(), view.layout.rowAt(atTop)) : atTop);
  view.wrap = !view.wrap;
  localStorage.setItem(storageKey, view.wrap ? "1" : "0");
  screen.classList.toggle("wrap", view.wrap);
  view.relabel();
  view.sizer.style.height = `${view.visualRows() * view.rowHeight + 2 * view.pad}px`;
  if (view.following) screen.scrollTop = screen.scrollHeight;
  else if (top >= 0) screen.scrollTop = view.rowTop(store.rowOf(top)) * view.rowHeight + view.pad;
  view.schedule();
}
