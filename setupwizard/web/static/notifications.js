// The notifications page: one's apprise targets (/api/notifications/targets). The URL goes in once and
// is shown back only as a hint (scheme and last characters); rules and "send test" act on each row.

import { apiJson } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDateTime } from "./dates.js";
import { t } from "./i18n.js";
import { cell } from "./table_cell.js";

const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#targets tbody");
const API = "/api/notifications/targets";
let targets = [];

function ruleBox(target, field, labelKey) {
  const label = document.createElement("label");
  label.className = "inline";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.className = field;
  box.checked = target[field];
  box.addEventListener("change", () => setRules(target, field, box.checked));
  const text = document.createElement("span");
  text.textContent = t(labelKey);
  label.append(box, text);
  return label;
}

function button(text, className, onClick) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = className;
  el.textContent = text;
  el.addEventListener("click", onClick);
  return el;
}

function render() {
  tbody.textContent = "";
  $("targets-empty").hidden = targets.length > 0;
  for (const target of targets) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(target.id);
    tr.dataset.name = target.name;
    let last = t("notify.never");
    if (target.last_sent_at) {
      const key = target.last_error ? "notify.sent_failed" : "notify.sent_ok";
      last = t(key, { at: formatDateTime(target.last_sent_at) });
    }
    const rules = cell("", "rules", "notify.rules");
    rules.append(ruleBox(target, "on_failed", "notify.on_failed"), ruleBox(target, "on_succeeded", "notify.on_succeeded"));
    const actions = cell("", "actions", "notify.actions");
    actions.append(
      button(t("notify.test"), "test", () => sendTest(target)),
      button(t("notify.delete"), "danger delete", () => deleteTarget(target)),
    );
    tr.append(
      cell(target.name, "name", "notify.name"),
      cell(target.hint, "hint key-text", "notify.address"),
      rules,
      cell(last, target.last_error ? "last status status-failed" : "last", "notify.last"),
      actions,
    );
    tbody.append(tr);
  }
}

async function load() {
  try {
    targets = await apiJson(API);
    render();
  } catch (error) {
    showMessage($("notify-error"), error.message);
  }
}

function say(error, status = "") {
  showMessage($("notify-error"), error);
  showMessage($("notify-status"), status);
}

async function saveTarget(event) {
  event.preventDefault();
  const name = $("notify-name").value.trim();
  const url = $("notify-url").value.trim();
  if (!name) return say(t("notify.name_required"));
  if (!url) return say(t("notify.url_required"));
  const body = { name, url, on_failed: $("notify-on-failed").checked, on_succeeded: $("notify-on-succeeded").checked };
  try {
    await apiJson(API, { method: "POST", body });
    $("notify-form").reset(); // the URL leaves the page once it is saved
    say("");
    await load();
  } catch (error) {
    say(error.message);
  }
}

async function setRules(target, field, value) {
  const body = { on_failed: target.on_failed, on_succeeded: target.on_succeeded, [field]: value };
  try {
    Object.assign(target, await apiJson(`${API}/${target.id}/rules`, { method: "PUT", body }));
    say("");
  } catch (error) {
    say(error.message);
    render();
  }
}

async function sendTest(target) {
  try {
    await apiJson(`${API}/${target.id}/test`, { method: "POST" });
    say("", t("notify.test_sent", { name: target.name }));
  } catch (error) {
    say(error.message);
  }
  await load();
}

async function deleteTarget(target) {
  if (!confirm(t("notify.confirm_delete", { name: target.name }))) return;
  try {
    await apiJson(`${API}/${target.id}`, { method: "DELETE" });
    say("");
    await load();
  } catch (error) {
    say(error.message);
  }
}

document.addEventListener("langchange", render);
$("notify-form").addEventListener("submit", saveTarget);

initChrome()
  .then(load)
  .catch((err) => console.warn(err));
