// Every line of a log, held compactly: the texts in one array, level / seq / server time in typed
// arrays, and the rare extras (message code, colour spans) in a sparse map. Lines fall into groups:
// the lines before the first step, then one group per step, headed by the step's first line.
// A group can be collapsed; "rows" are the lines a reader can see, in order.

export const LEVELS = ["info", "success", "warning", "error"];
const ENDED = new Set(["succeeded", "unchanged", "warning", "failed", "skipped", "cancelled"]);

function grow(array, size) {
  if (size <= array.length) return array;
  const bigger = new array.constructor(Math.max(size, array.length * 2));
  bigger.set(array);
  return bigger;
}

export class LogStore {
  constructor() {
    this.clear();
  }

  clear() {
    this.texts = [];
    this.levels = new Uint8Array(1024);
    this.seqs = new Float64Array(1024); // NaN: a page notice, not a session event
    this.times = new Float64Array(1024); // ms since the epoch; NaN when unknown
    this.extras = new Map(); // line index → {code, params, type, step_id, step_index, step_total, data, spans}
    // {start, end, header, collapsed, stepIndex, status, duration}; the first group has no header line
    this.groups = [{ start: 0, end: 0, header: false, collapsed: false, stepIndex: null, status: null, duration: null }];
    this.rowCount = 0;
  }

  get length() {
    return this.texts.length;
  }

  /** Add one line; `stepIndex` (when given) opens a new group if it names a new step. */
  push(text, level, seq, time, extra, stepIndex = null) {
    const i = this.texts.length;
    let group = this.groups[this.groups.length - 1];
    if (stepIndex != null && stepIndex !== group.stepIndex) {
      group = { start: i, end: i, header: true, collapsed: false, stepIndex, status: null, duration: null };
      this.groups.push(group);
    } else if (stepIndex == null && group.header && ENDED.has(group.status)) {
      // after a step's end line: the run's own lines (its summary, the result), in no step's group
      group = { start: i, end: i, header: false, collapsed: false, stepIndex: null, status: null, duration: null };
      this.groups.push(group);
    }
    this.levels = grow(this.levels, i + 1);
    this.seqs = grow(this.seqs, i + 1);
    this.times = grow(this.times, i + 1);
    this.texts.push(text);
    this.levels[i] = Math.max(0, LEVELS.indexOf(level));
    this.seqs[i] = seq == null ? NaN : seq;
    this.times[i] = time == null ? NaN : time;
    if (extra) this.extras.set(i, extra);
    group.end = i + 1;
    if (extra && extra.data && extra.data.status) {
      group.status = extra.data.status; // a step's end line says how it ended and how long it took
      if (extra.data.duration != null) group.duration = extra.data.duration;
    }
    if (!group.collapsed || i === group.start) this.rowCount += 1;
    return i;
  }

  level(i) {
    return LEVELS[this.levels[i]];
  }

  seq(i) {
    const seq = this.seqs[i];
    return Number.isNaN(seq) ? null : seq;
  }

  /** The index of the line with `seq`, or -1. */
  indexOfSeq(seq) {
    for (let i = 0; i < this.texts.length; i += 1) if (this.seqs[i] === seq) return i;
    return -1;
  }

  groupOf(i) {
    for (let g = this.groups.length - 1; g >= 0; g -= 1) if (this.groups[g].start <= i) return this.groups[g];
    return this.groups[0];
  }

  rowsOf(group) {
    const n = group.end - group.start;
    return group.header && group.collapsed ? Math.min(1, n) : n;
  }

  setCollapsed(group, collapsed) {
    if (!group.header || group.collapsed === collapsed) return;
    const before = this.rowsOf(group);
    group.collapsed = collapsed;
    this.rowCount += this.rowsOf(group) - before;
  }

  /** The line shown at row `r`. */
  lineAt(r) {
    let base = 0;
    for (const group of this.groups) {
      const rows = this.rowsOf(group);
      if (r < base + rows) return group.start + (r - base);
      base += rows;
    }
    return -1;
  }

  /** The row of line `i` (opening its group if it is folded away). */
  rowOf(i) {
    let base = 0;
    for (const group of this.groups) {
      if (i >= group.start && i < group.end) {
        if (group.collapsed && i !== group.start) this.setCollapsed(group, false);
        return base + (i - group.start);
      }
      base += this.rowsOf(group);
    }
    return -1;
  }
}
