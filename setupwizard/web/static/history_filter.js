// History's filter and pages: status, a part of the host name, a date range (the browser's days), one
// server (from the servers page's link, /history?host=&port=), and for admins everyone's sessions.
// The server filters and pages (GET /api/setup/sessions?…, the total in X-Total-Count); the filter is
// kept in the page's address.

import { t } from "./i18n.js";

export const PAGE_SIZE = 50;
const STATUSES = [
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "interrupted",
  "log_incomplete",
  "skipped",
];
const $ = (id) => document.getElementById(id);

/** The start of a local day ("2026-12-05") as a UTC instant, `days` days later. */
function dayStart(day, days = 0) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

export class HistoryFilter {
  constructor(form, { onChange, isAdmin }) {
    this.form = form;
    this.offset = 0;
    this.server = null; // {host, port} from the servers page
    const asked = new URLSearchParams(location.search);
    const perPage = Number(asked.get("per_page")); // ?per_page=N (1–500): rows a page
    this.pageSize = Number.isInteger(perPage) && perPage >= 1 && perPage <= 500 ? perPage : PAGE_SIZE;
    if (asked.get("host")) this.server = { host: asked.get("host"), port: asked.get("port") || "" };
    this.renderStatuses();
    const f = form.elements;
    f.status.value = STATUSES.includes(asked.get("status")) ? asked.get("status") : "";
    f.q.value = asked.get("q") || "";
    f.from.value = asked.get("from") || "";
    f.to.value = asked.get("to") || "";
    $("everyone-field").hidden = !isAdmin;
    f.everyone.checked = isAdmin && asked.get("everyone") === "1";
    const changed = () => {
      this.offset = 0;
      this.keepInAddress();
      onChange();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      changed();
    });
    for (const name of ["status", "from", "to", "everyone"]) f[name].addEventListener("change", changed);
    $("filter-clear").addEventListener("click", () => {
      form.reset();
      this.server = null;
      changed();
    });
    $("server-filter-clear").addEventListener("click", () => {
      this.server = null;
      changed();
    });
    $("page-newer").addEventListener("click", () => this.turn(-1, onChange));
    $("page-older").addEventListener("click", () => this.turn(1, onChange));
    document.addEventListener("langchange", () => this.renderStatuses());
  }

  get everyone() {
    return this.form.elements.everyone.checked;
  }

  renderStatuses() {
    const select = this.form.elements.status;
    const chosen = select.value;
    select.replaceChildren(new Option(t("history.filter_any_status"), ""));
    for (const status of STATUSES) select.append(new Option(t(`status.${status}`), status));
    select.value = chosen;
  }

  turn(direction, onChange) {
    this.offset = Math.max(0, this.offset + direction * this.pageSize);
    onChange();
  }

  /** The API query of the filter and the page. */
  query() {
    const f = this.form.elements;
    const params = new URLSearchParams({ limit: String(this.pageSize), offset: String(this.offset) });
    if (f.status.value) params.set("status", f.status.value);
    if (f.q.value.trim()) params.set("q", f.q.value.trim());
    if (f.from.value) params.set("started_from", dayStart(f.from.value));
    if (f.to.value) params.set("started_before", dayStart(f.to.value, 1)); // the whole last day
    if (this.server) {
      params.set("host", this.server.host);
      if (this.server.port) params.set("port", this.server.port);
    }
    if (this.everyone) params.set("everyone", "true");
    return params;
  }

  keepInAddress() {
    const f = this.form.elements;
    const query = new URLSearchParams();
    if (this.server) {
      query.set("host", this.server.host);
      if (this.server.port) query.set("port", this.server.port);
    }
    for (const name of ["status", "q", "from", "to"]) if (f[name].value.trim()) query.set(name, f[name].value.trim());
    if (this.everyone) query.set("everyone", "1");
    if (this.pageSize !== PAGE_SIZE) query.set("per_page", String(this.pageSize));
    history.replaceState(null, "", `/history${query.size ? `?${query}` : ""}`);
  }

  /** The server chip and the pager ("1–50 of 123"). */
  render(shown, total) {
    const chip = $("server-filter");
    chip.hidden = !this.server;
    if (this.server) {
      const where = `${this.server.host}${this.server.port ? `:${this.server.port}` : ""}`;
      $("server-filter-text").textContent = t("history.filter_server", { server: where });
    }
    $("pager").hidden = total <= this.pageSize && this.offset === 0;
    $("page-info").textContent = shown
      ? t("history.page", { from: this.offset + 1, to: this.offset + shown, total })
      : "";
    $("page-newer").disabled = this.offset === 0;
    $("page-older").disabled = this.offset + shown >= total;
  }
}
