// The audit page (admins): who logged in, started or cancelled setups, changed users, saved sudo rows.
// Read from GET /api/audit, newest first; "older" pages back with before_id.

import { apiJson } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { timeElement } from "./dates.js";
import { t } from "./i18n.js";

const PAGE_SIZE = 100;
const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#audit tbody");
let events = [];

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render() {
  tbody.textContent = "";
  $("audit-empty").hidden = events.length > 0;
  for (const e of events) {
    const tr = document.createElement("tr");
    tr.dataset.action = e.action;
    const at = cell("");
    at.append(timeElement(e.at, { seconds: true })); // who did what when: to the second
    const session = e.detail && e.detail.session_id ? ` (${e.detail.session_id.slice(0, 8)})` : "";
    tr.append(
      at,
      cell(e.actor || t("audit.unknown_user")),
      cell(e.action),
      cell(`${e.target}${session}`),
      cell(e.outcome, e.outcome === "ok" ? "" : "status status-failed"),
      cell(e.address),
    );
    tbody.append(tr);
  }
}

async function load({ older = false } = {}) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (older && events.length) params.set("before_id", String(events[events.length - 1].id));
  try {
    const page = await apiJson(`/api/audit?${params}`);
    events = older ? events.concat(page) : page;
    $("older").hidden = page.length < PAGE_SIZE;
    showMessage($("audit-error"), "");
    render();
  } catch (error) {
    showMessage($("audit-error"), error.status === 403 ? t("audit.admins_only") : error.message);
  }
}

initChrome().then(() => {
  $("refresh").addEventListener("click", () => load());
  $("older").addEventListener("click", () => load({ older: true }));
  load();
});
