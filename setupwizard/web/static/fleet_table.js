// The fleet view's table of hosts: ✓ ⚠ ✗ or "running n/N", the current step, the duration and the last
// line; failed hosts first, then running, queued, the ones that did not run, and the succeeded ones.
// A host that has a session opens its live log in the wizard's log view (/setup?session=…).

import { renderCode, stepName } from "./codes.js";
import { toDate } from "./dates.js";
import { formatDuration, has, t } from "./i18n.js";
import { statusText } from "./session_status.js";
import { cell } from "./table_cell.js";

const FAILED = new Set(["failed", "interrupted", "log_incomplete"]);
const NOT_RUN = new Set(["cancelled", "skipped"]);

/** Where a status sorts: failed first, succeeded last. */
export function rank(status) {
  if (FAILED.has(status)) return 0;
  if (status === "running") return 1;
  if (status === "queued") return 2;
  if (NOT_RUN.has(status)) return 3;
  return 4;
}

export const isFailed = (status) => FAILED.has(status);

/** The status cell's words: the sign and the word, or "running 3/7". */
export function statusLabel(host) {
  if (host.status === "running") {
    return host.step_total ? t("fleet.running_n", { n: host.step_index, total: host.step_total }) : t("fleet.running");
  }
  if (host.status === "queued") return t("fleet.queued");
  const sign = host.status === "succeeded" ? "✓" : FAILED.has(host.status) ? "✗" : "⚠";
  return `${sign} ${statusText(host.status)}`;
}

function durationOf(host) {
  if (host.status === "running" && host.started_at) {
    const start = toDate(host.started_at);
    if (start) return formatDuration((Date.now() - start) / 1000);
  }
  return host.duration == null ? "" : formatDuration(host.duration);
}

/** The step column: the step's name in the page's language (running n/N is the status's), or why it never ran. */
function stepText(host) {
  if (!host.step_index) return has(`fleet.reason.${host.reason}`) ? t(`fleet.reason.${host.reason}`) : host.reason || "";
  const name = stepName(host.step_id) ?? stepName(host.step_name) ?? host.step_name ?? "";
  return host.status === "running" ? name : `${host.step_index}/${host.step_total} ${name}`.trim();
}

/**
 * The last line in the page's language: a line of the service's own (it has a code) rendered from the
 * catalogue, its last line as `last_line` is; a line the server printed as printed.
 */
export function lastLineText(host) {
  const rendered = renderCode(host.last_line_code, host.last_line_params, null);
  return rendered == null ? host.last_line || "" : rendered.split("\n").pop();
}

/** The host column: a link to its live log once it has a session row (a queued host has none yet). */
function hostCell(host) {
  const td = cell("", "server", "fleet.col_host");
  const name = `${host.host}:${host.port}`;
  if (host.status === "queued") {
    td.textContent = name;
    return td;
  }
  const a = document.createElement("a");
  a.href = `/setup?session=${encodeURIComponent(host.session_id)}`;
  a.className = "open-log";
  a.textContent = name;
  a.title = t("fleet.open_log", { host: name });
  td.append(a);
  return td;
}

/** Fill `tbody` with a row per host, in the table's order. */
export function renderHosts(tbody, hosts) {
  const rows = [...hosts].sort((a, b) => rank(a.status) - rank(b.status) || a.position - b.position);
  tbody.textContent = "";
  for (const host of rows) {
    const tr = document.createElement("tr");
    tr.dataset.host = host.host;
    tr.dataset.status = host.status;
    tr.dataset.session = host.session_id;
    const status = cell(statusLabel(host), `status status-${host.status}`, "fleet.col_status");
    tr.append(
      hostCell(host),
      status,
      cell(stepText(host), "step", "fleet.col_step"),
      cell(durationOf(host), "duration", "fleet.col_duration"),
      cell(lastLineText(host), "message last-line", "fleet.col_last"),
    );
    tr.lastChild.title = tr.lastChild.textContent;
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      tr.querySelector("a.open-log")?.click(); // the whole row opens the log, the link is the keyboard's way
    });
    tbody.append(tr);
  }
}
