// ANSI SGR colours: parse escape sequences in a line into plain text plus colour spans, and turn
// spans into DOM. Only SGR (ESC [ … m) is kept; every other escape sequence is dropped.

const ESCAPES = /\x1b\[([0-9;?]*)([ -\/]*[@-~])/g;
const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

/** "1;32" → a style object, starting from `base` (the style before the sequence). */
export function applySgr(base, sgr) {
  const style = { ...base };
  const codes = sgr === "" ? [0] : sgr.split(";").map((c) => Number(c || 0));
  for (let i = 0; i < codes.length; i += 1) {
    const c = codes[i];
    if (c === 0) for (const key of Object.keys(style)) delete style[key];
    else if (c === 1) style.bold = true;
    else if (c === 3) style.italic = true;
    else if (c === 4) style.underline = true;
    else if (c === 22) delete style.bold;
    else if (c === 23) delete style.italic;
    else if (c === 24) delete style.underline;
    else if (c >= 30 && c <= 37) style.fg = `ansi-${BASIC[c - 30]}`;
    else if (c >= 90 && c <= 97) style.fg = `ansi-bright-${BASIC[c - 90]}`;
    else if (c >= 40 && c <= 47) style.bg = `ansi-bg-${BASIC[c - 40]}`;
    else if (c === 39) delete style.fg;
    else if (c === 49) delete style.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      style[c === 38 ? "fgColor" : "bgColor"] = xterm256(codes[i + 2]);
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
      style[c === 38 ? "fgColor" : "bgColor"] = `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})`;
      i += 4;
    }
  }
  return style;
}

function xterm256(n) {
  if (n < 16) return `var(--ansi-${n})`;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const step = (x) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${step(Math.floor(i / 36))},${step(Math.floor(i / 6) % 6)},${step(i % 6)})`;
}

/** Text with escapes → {text, spans: [[start, end, sgr]]}; spans null when the line has no colour. */
export function parseAnsi(raw) {
  if (!raw.includes("\x1b")) return { text: raw, spans: null };
  let text = "";
  let last = 0;
  let sgr = "";
  let start = 0;
  const spans = [];
  const close = () => {
    if (sgr && sgr !== "0" && text.length > start) spans.push([start, text.length, sgr]);
    start = text.length;
  };
  for (const m of raw.matchAll(ESCAPES)) {
    text += raw.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[2] !== "m") continue;
    close();
    sgr = m[1] === "" || m[1] === "0" ? "" : sgr ? `${sgr};${m[1]}` : m[1];
  }
  text += raw.slice(last).replace(/\x1b/g, "");
  close();
  return { text, spans: spans.length ? spans : null };
}

/** Fill `el` with `text`, coloured by spans [[start, end, sgr]] (text stays text, never markup). */
export function renderSpans(el, text, spans) {
  let at = 0;
  for (const [start, end, sgr] of spans) {
    if (start > at) el.append(text.slice(at, start));
    const span = document.createElement("span");
    const style = applySgr({}, sgr);
    span.className = [style.fg, style.bg, style.bold && "ansi-bold", style.italic && "ansi-italic",
      style.underline && "ansi-underline"].filter(Boolean).join(" ");
    if (style.fgColor) span.style.color = style.fgColor;
    if (style.bgColor) span.style.backgroundColor = style.bgColor;
    span.textContent = text.slice(start, end);
    el.append(span);
    at = Math.max(at, end);
  }
  if (at < text.length) el.append(text.slice(at));
}
