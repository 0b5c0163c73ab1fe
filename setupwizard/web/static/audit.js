// The audit page (admins): who logged in, started or cancelled setups, changed users, saved sudo rows,
// downloaded a one-time admin key. Read from GET /api/audit, newest first by the time of each event;
// "older" pages back with before_id. Filtered by user and action on the server (?actor=, ?action=).
// Actions and outcomes are shown in words; a setup's start reads "started", not "ok": its outcome is
// the session's, one click away.

import { apiJson, newestOnly, STALE } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { timeElement } from "./dates.js";
import { has, t } from "./i18n.js";

const PAGE_SIZE = 100;
const ACTIONS = [
  "login", "logout", "password.change", "user.create", "setup.start", "setup.test_connection",
  "setup.cancel", "setup.delete", "admin_key.download", "sudo.save", "sudo.delete", "known_host.delete",
  "token.create", "token.use", "token.revoke",
];
const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#audit tbody");
const filters = $("audit-filter");
let events = [];

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** "started a setup" for `setup.start`; an action the page does not know stays as its code. */
export function actionText(action) {
  return has(`audit.do.${action}`) ? t(`audit.do.${action}`) : action;
}

/** The outcome in words: a setup's start is "started" (its own outcome is the session's). */
export function outcomeText(e) {
  if (e.outcome === "ok" && e.action === "setup.start") return t("audit.result.started");
  if (has(`audit.result.${e.outcome}`)) return t(`audit.result.${e.outcome}`);
  return t("audit.result.refused", { code: e.outcome });
}

function targetCell(e) {
  const td = cell(e.target || "", "target");
  const id = e.detail && e.detail.session_id;
  if (id) {
    const link = document.createElement("a");
    link.href = `/history?session=${encodeURIComponent(id)}`;
    link.className = "session-link";
    link.textContent = t("audit.session", { id: id.slice(0, 8) });
    link.title = id;
    if (e.target) td.append(" ");
    td.append(link);
  }
  return td;
}

function render() {
  tbody.textContent = "";
  $("audit-empty").hidden = events.length > 0;
  for (const e of events) {
    const tr = document.createElement("tr");
    tr.dataset.action = e.action;
    tr.dataset.at = e.at;
    const at = cell("");
    at.append(timeElement(e.at, { seconds: true })); // who did what when: to the second
    const fine = e.outcome === "ok";
    tr.append(
      at,
      cell(e.actor || t("audit.unknown_user"), "actor"),
      cell(actionText(e.action), "action"),
      targetCell(e),
      cell(outcomeText(e), fine ? "outcome" : "outcome status status-failed"),
      cell(e.address),
    );
    tbody.append(tr);
  }
}

function renderFilter() {
  const select = filters.elements.action;
  const chosen = select.value;
  select.replaceChildren();
  const all = document.createElement("option");
  all.value = "";
  all.textContent = t("audit.filter_all");
  select.append(all);
  for (const action of ACTIONS) {
    const option = document.createElement("option");
    option.value = action;
    option.textContent = actionText(action);
    select.append(option);
  }
  select.value = chosen;
}

const fetchAudit = newestOnly(apiJson);

async function load({ older = false } = {}) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const actor = filters.elements.actor.value.trim();
  const action = filters.elements.action.value;
  if (actor) params.set("actor", actor);
  if (action) params.set("action", action);
  if (older && events.length) params.set("before_id", String(events[events.length - 1].id));
  try {
    const page = await fetchAudit(`/api/audit?${params}`);
    if (page === STALE) return; // the filter changed meanwhile: the newer answer is shown
    events = older ? events.concat(page) : page;
    $("older").hidden = page.length < PAGE_SIZE;
    showMessage($("audit-error"), "");
    render();
  } catch (error) {
    showMessage($("audit-error"), error.status === 403 ? t("audit.admins_only") : error.message);
  }
}

/** The filter in the address too (/audit?actor=…&action=…), so a filtered trail can be linked to. */
function keepInAddress() {
  const query = new URLSearchParams();
  const actor = filters.elements.actor.value.trim();
  if (actor) query.set("actor", actor);
  if (filters.elements.action.value) query.set("action", filters.elements.action.value);
  history.replaceState(null, "", `/audit${query.size ? `?${query}` : ""}`);
}

initChrome().then(() => {
  renderFilter();
  const asked = new URLSearchParams(location.search);
  filters.elements.actor.value = asked.get("actor") || "";
  filters.elements.action.value = ACTIONS.includes(asked.get("action")) ? asked.get("action") : "";
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    keepInAddress();
    load();
  });
  filters.elements.action.addEventListener("change", () => filters.requestSubmit());
  $("filter-clear").addEventListener("click", () => {
    filters.reset();
    filters.requestSubmit();
  });
  $("refresh").addEventListener("click", () => load());
  $("older").addEventListener("click", () => load({ older: true }));
  document.addEventListener("langchange", () => {
    renderFilter();
    render();
  });
  load();
});
