// The servers page: each of the person's servers (GET /api/servers) with its last setup; set it up
// again (with the same steps or a preset), open its last session in History, or forget it.

import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDateTime } from "./dates.js";
import { t } from "./i18n.js";
import { statusText } from "./session_status.js";

const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#servers tbody");
let servers = [];

function cell(text, className, labelKey) {
  const td = document.createElement("td");
  td.textContent = text;
  td.className = className;
  td.dataset.label = t(labelKey); // shown before the value when rows are cards (phone)
  return td;
}

function lastSetup(s) {
  if (!s.last_setup_at) return t("servers.never");
  return `${formatDateTime(s.last_setup_at)} · ${statusText(s.last_status)}`;
}

function loginText(s) {
  const after = s.login_after;
  if (!after) return s.login || "";
  const key = after.auth === "key" ? "servers.login_after_key" : "servers.login_after_password";
  return t(key, { user: after.username, host: s.host, port: after.port ?? s.port });
}

function sudoText(s) {
  if (!s.sudo_mode) return t("servers.sudo_none");
  return `${s.sudo_user} (${t(s.sudo_mode === "passwordless" ? "servers.sudo_passwordless" : "servers.sudo_password")})`;
}

// After SSH hardening the next setup logs in the new way: the new user, on the new port.
function rerunUrl(s) {
  const port = String(s.login_after?.port ?? s.port);
  const query = new URLSearchParams({ host: s.host, port, username: s.login || "root" });
  const preset = $("rerun-preset").value;
  if (preset) query.set("preset", preset);
  return `/setup?${query}`;
}

function link(key, href, className) {
  const a = document.createElement("a");
  a.href = href;
  a.className = className;
  a.textContent = t(key);
  return a;
}

function render() {
  tbody.textContent = "";
  $("servers-empty").hidden = servers.length > 0;
  for (const s of servers) {
    const tr = document.createElement("tr");
    tr.dataset.host = s.host;
    tr.dataset.port = String(s.port);
    tr.dataset.status = s.last_status || "";
    tr.append(
      cell(`${s.host}:${s.port}`, "server", "servers.host"),
      cell(loginText(s), "login", "servers.login"),
      cell(sudoText(s), "sudo", "servers.sudo"),
      cell(s.host_key_fingerprint || "", "fingerprint", "servers.fingerprint"),
      cell(lastSetup(s), "last", "servers.last"),
    );
    const actions = document.createElement("td");
    actions.className = "actions";
    const again = link("servers.run_again", rerunUrl(s), "run-again button-link");
    again.addEventListener("click", () => { again.href = rerunUrl(s); }); // the preset chosen now
    actions.append(again);
    if (s.last_session_id) {
      // That server's whole list in History, its last run's log open.
      const list = new URLSearchParams({ host: s.host, port: String(s.port), session: s.last_session_id });
      actions.append(link("servers.history", `/history?${list}`, "history"));
    }
    const forget = document.createElement("button");
    forget.type = "button";
    forget.className = "forget danger";
    forget.textContent = t("servers.forget");
    forget.addEventListener("click", () => forgetServer(s));
    actions.append(forget);
    tr.append(actions);
    tbody.append(tr);
  }
}

async function load() {
  showMessage($("servers-error"), "");
  try {
    servers = (await apiJson("/api/servers")) || [];
    render();
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) showMessage($("servers-error"), err.message);
  }
}

async function loadPresets() {
  try {
    for (const preset of (await apiJson("/api/servers/presets")) || []) {
      const option = document.createElement("option");
      option.value = `saved:${preset.id}`;
      option.textContent = preset.name;
      $("rerun-preset").append(option);
    }
  } catch (err) {
    console.warn("could not load presets", err);
  }
}

async function forgetServer(s) {
  if (!window.confirm(t("servers.forget_confirm", { host: s.host, port: s.port }))) return;
  try {
    const query = new URLSearchParams({ host: s.host, port: String(s.port) });
    await apiJson(`/api/servers?${query}`, { method: "DELETE" });
    showMessage($("servers-note"), t("servers.forgotten", { host: s.host, port: s.port }));
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) showMessage($("servers-error"), err.message);
  }
  await load();
}

document.addEventListener("langchange", render);

initChrome()
  .then(() => Promise.all([load(), loadPresets()]))
  .catch((err) => console.warn(err));
