// Dates as the page shows them: ISO 8601 in the browser's time zone, "2026-12-05 06:35", the same in
// every language (en-GB's 05/12/2026 reads as May 12th to many). The zone is named once per page
// (chrome.js fills the element marked data-time-zone with timeZoneLabel()).

/** A Date from the API's timestamp (one without an offset is UTC, the API's convention), or null. */
export function toDate(value) {
  if (!value) return null;
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

const two = (n) => String(n).padStart(2, "0");

/** "2026-12-05 06:35" (with `seconds`, "2026-12-05 06:35:09") in local time; "" for no date. */
export function formatDateTime(value, { seconds = false } = {}) {
  const d = value instanceof Date ? value : toDate(value);
  if (!d) return "";
  const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const time = `${two(d.getHours())}:${two(d.getMinutes())}${seconds ? `:${two(d.getSeconds())}` : ""}`;
  return `${day} ${time}`;
}

/** A <time> element showing formatDateTime(value), its machine-readable UTC instant in `datetime`. */
export function timeElement(value, options = {}) {
  const node = document.createElement("time");
  const d = toDate(value);
  if (!d) return node;
  node.dateTime = d.toISOString();
  node.textContent = formatDateTime(d, options);
  return node;
}

/** The browser's zone as "UTC+08:00 (Asia/Shanghai)", or "UTC". */
export function timeZoneLabel(now = new Date()) {
  const minutes = -now.getTimezoneOffset();
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  if (minutes === 0 && /^(Etc\/)?(UTC|GMT|UCT|Zulu|Universal)$/i.test(name)) return "UTC";
  const sign = minutes < 0 ? "-" : "+";
  const offset = `UTC${sign}${two(Math.floor(Math.abs(minutes) / 60))}:${two(Math.abs(minutes) % 60)}`;
  return name ? `${offset} (${name})` : offset;
}
