// One log line's small helpers: its level from ✓ ⚠ ✗, a carriage-return redraw, the server's time.

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
  let line = String(text ?? "");
  if (line.endsWith("\r")) line = line.slice(0, -1);
  const cr = line.lastIndexOf("\r");
  return cr >= 0 ? line.slice(cr + 1) : line;
}

export function toMillis(timestamp) {
  if (!timestamp) return null;
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(timestamp) ? timestamp : `${timestamp}Z`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function clock(ms) {
  if (Number.isNaN(ms)) return "";
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

export function el(tag, className, attrs = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}
