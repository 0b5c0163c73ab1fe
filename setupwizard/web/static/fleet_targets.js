// A new fleet's servers: picked from the person's servers (GET /api/servers) or pasted as user@host:port
// lines or an Ansible INI inventory (read by the service, POST /api/fleets/inventory: the CLI's reader),
// shown as one table with each server's host key and connection test (fleet_keys.js fills those in).

import { apiJson, ApiError } from "./api.js";
import { showMessage } from "./chrome.js";
import { has, t } from "./i18n.js";
import { cell } from "./table_cell.js";

const $ = (id) => document.getElementById(id);

/** The fleet's servers in order: {host, port, username|null, scan|null, fingerprint|null (confirmed)}. */
export const targets = [];
let servers = [];

const keyOf = (host, port) => `${host.toLowerCase()}:${port}`;
export const label = (target) => `${target.host}:${target.port}`;

/** Add servers not listed yet; answers how many were new. */
export function addTargets(list) {
  const seen = new Set(targets.map((x) => keyOf(x.host, x.port)));
  let added = 0;
  for (const item of list) {
    const port = Number(item.port) || 22;
    if (seen.has(keyOf(item.host, port))) continue;
    seen.add(keyOf(item.host, port));
    targets.push({ host: item.host, port, username: item.username || null, scan: null, fingerprint: null });
    added += 1;
  }
  renderTargets();
  document.dispatchEvent(new CustomEvent("targetschange"));
  return added;
}

function removeTarget(index) {
  targets.splice(index, 1);
  renderTargets();
  document.dispatchEvent(new CustomEvent("targetschange"));
}

/** The key column: what the connection test saw, and whether the person confirmed it. */
function keyText(target) {
  const scan = target.scan;
  if (!scan) return t("fleet_new.key_untested");
  if (scan.host_key === "known") return t("fleet_new.key_known");
  if (scan.host_key === "changed") return t("fleet_new.key_changed");
  if (scan.host_key === "new") return t(target.fingerprint ? "fleet_new.key_confirmed" : "fleet_new.key_new");
  return t("fleet_new.key_none");
}

function testText(target) {
  const scan = target.scan;
  if (!scan) return "";
  // our sentence for a known code in the page's language; the service's own words are the cell's tooltip
  if (!scan.ok) return scan.code && has(`error.code.${scan.code}`) ? t(`error.code.${scan.code}`) : scan.detail || t("fleet_new.test_failed");
  const sudo = scan.sudo_mode ? ` · sudo: ${scan.sudo_mode}` : "";
  return `${scan.os || ""}${sudo}`;
}

/** Whether the fleet may run this server: its key is known or confirmed (or the person accepts new keys). */
export function runnable(target, acceptNew) {
  const key = target.scan?.host_key;
  if (key === "changed") return false;
  if (key === "known" || target.fingerprint) return true;
  return acceptNew && (!target.scan || target.scan.ok || key === "new");
}

export function renderTargets() {
  const tbody = document.querySelector("#targets tbody");
  tbody.textContent = "";
  targets.forEach((target, index) => {
    const tr = document.createElement("tr");
    tr.dataset.host = target.host;
    tr.dataset.key = target.scan?.host_key || "";
    const fingerprint = target.scan?.host_key_fingerprint;
    const key = cell(keyText(target), `key key-${target.scan?.host_key || "none"}`, "fleet_new.col_key");
    if (fingerprint) {
      const code = document.createElement("code");
      code.className = "fingerprint";
      code.textContent = fingerprint;
      key.append(document.createElement("br"), code);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link remove";
    remove.textContent = t("fleet_new.remove");
    remove.setAttribute("aria-label", t("fleet_new.remove_host", { host: label(target) }));
    remove.addEventListener("click", () => removeTarget(index));
    const actions = cell("", "actions");
    actions.append(remove);
    const test = cell(testText(target), `message test ${target.scan && !target.scan.ok ? "error" : ""}`, "fleet_new.col_test");
    test.title = target.scan?.detail || testText(target);
    tr.append(
      cell(label(target), "server", "fleet_new.col_host"),
      cell(target.username || t("fleet_new.shared_user"), "login", "fleet_new.col_user"),
      key,
      test,
      actions,
    );
    tbody.append(tr);
  });
  $("targets").hidden = targets.length === 0;
  $("targets-count").textContent = targets.length ? t("fleet_new.count", { count: targets.length }) : t("fleet_new.none");
}

function renderServers() {
  const box = $("server-choices");
  box.textContent = "";
  $("pick-servers").hidden = servers.length === 0;
  servers.forEach((server, index) => {
    const labelEl = document.createElement("label");
    labelEl.className = "inline";
    const box_ = document.createElement("input");
    box_.type = "checkbox";
    box_.value = String(index);
    const text = document.createElement("span");
    text.textContent = `${server.login || "root"}@${server.host}:${server.login_after?.port ?? server.port}`;
    labelEl.append(box_, " ", text);
    box.append(labelEl);
  });
}

async function addPasted() {
  const problems = $("inventory-problems");
  problems.textContent = "";
  problems.hidden = true;
  const text = $("inventory").value;
  if (!text.trim()) return;
  let answer;
  try {
    answer = await apiJson("/api/fleets/inventory", { method: "POST", body: { text } });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    problems.hidden = false;
    problems.append(Object.assign(document.createElement("li"), { textContent: err.message }));
    return;
  }
  for (const problem of [...answer.errors, ...answer.warnings]) {
    const li = document.createElement("li");
    li.textContent = t("fleet_new.line_problem", { line: problem.line, message: problem.message });
    problems.append(li);
  }
  problems.hidden = problems.children.length === 0;
  addTargets(answer.targets);
  if (!answer.errors.length) $("inventory").value = ""; // read: the table holds them now
}

export async function initTargets() {
  $("add-pasted").addEventListener("click", () => addPasted().catch((err) => console.warn(err)));
  $("add-servers").addEventListener("click", () => {
    const chosen = [...$("server-choices").querySelectorAll("input:checked")].map((box) => servers[Number(box.value)]);
    addTargets(chosen.map((s) => ({ host: s.host, port: s.login_after?.port ?? s.port, username: s.login || null })));
    for (const box of $("server-choices").querySelectorAll("input:checked")) box.checked = false;
  });
  document.addEventListener("langchange", renderTargets);
  renderTargets();
  try {
    servers = (await apiJson("/api/servers")) || [];
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showMessage($("form-error"), err.message);
  }
  renderServers();
}
