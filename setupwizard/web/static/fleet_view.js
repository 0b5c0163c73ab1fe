// One fleet, live: GET /api/fleets/{id} for its hosts, then the fleet's progress socket
// (WS /api/fleets/{id}/progress?since=N, resumed after a drop) for every status change and step; each
// frame updates the row at once (status, step, last line) and the table is read again shortly after.
// Cancel all, retry the failed ones, download every log (logs.zip).

import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { ready as codesReady } from "./codes.js";
import { t } from "./i18n.js";
import { isFailed, renderHosts } from "./fleet_table.js";

const $ = (id) => document.getElementById(id);
const fleetId = location.pathname.split("/").filter(Boolean).pop();
const base = `/api/fleets/${encodeURIComponent(fleetId)}`;
const RETRYABLE = new Set(["failed", "interrupted", "cancelled", "skipped", "log_incomplete"]);
let fleet = null;
let lastSeq = 0;
let socket = null;
let refetch = null;
let tick = null;
window.setupWizardFleet = { frames: 0 }; // for the browser tests: how many socket frames arrived

function render() {
  if (!fleet) return;
  $("fleet-name").textContent = fleet.name;
  document.title = `${fleet.name} · ${t("fleet.heading")}`;
  $("fleet-status").textContent = t(`fleet.status.${fleet.status}`);
  $("fleet-status").className = `fleet-status status-${fleet.status === "done" ? "succeeded" : fleet.status}`;
  $("fleet-panel").dataset.status = fleet.status;
  const hosts = fleet.hosts || [];
  const ended = hosts.filter((h) => !["queued", "running"].includes(h.status)).length;
  const count = (test) => hosts.filter((h) => test(h.status)).length;
  $("fleet-counts").textContent = t("fleet.counts", {
    total: hosts.length,
    succeeded: count((s) => s === "succeeded"),
    failed: count(isFailed),
    running: count((s) => s === "running"),
    queued: count((s) => s === "queued"),
    other: count((s) => s === "cancelled" || s === "skipped"),
  });
  const percent = hosts.length ? Math.round((ended / hosts.length) * 100) : 0;
  $("fleet-bar").setAttribute("aria-valuenow", String(percent));
  $("fleet-fill").style.width = `${percent}%`;
  const running = fleet.status === "running";
  $("fleet-cancel").hidden = !running;
  $("fleet-retry").hidden = running || !hosts.some((h) => RETRYABLE.has(h.status));
  $("fleet-logs").href = `${base}/logs.zip`;
  renderHosts(document.querySelector("#fleet-hosts tbody"), hosts);
}

async function load() {
  try {
    fleet = await apiJson(base);
    showMessage($("fleet-error"), "");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status !== 401) showMessage($("fleet-error"), err.message);
    return;
  }
  render();
  if (fleet.status === "running" && !tick) tick = setInterval(() => load().catch(console.warn), 3000);
  if (fleet.status !== "running" && tick) {
    clearInterval(tick);
    tick = null;
  }
}

function scheduleLoad() {
  clearTimeout(refetch);
  refetch = setTimeout(() => load().catch(console.warn), 400);
}

/** A frame changes its host's row at once. */
function apply(frame) {
  if (!fleet) return;
  if (frame.type === "fleet") fleet.status = frame.status;
  const host = (fleet.hosts || []).find((h) => h.position === frame.position);
  if (host && frame.type === "host") {
    host.status = frame.status;
    if (frame.session_id) host.session_id = frame.session_id;
    if (frame.reason) host.reason = frame.reason;
  }
  if (host && frame.type === "step") Object.assign(host, { step_index: frame.step_index, step_total: frame.step_total, step_id: frame.step_id, step_name: frame.step_name });
  if (host && "last_line" in frame) {
    // its code renders it in the page's language (a printed line has none)
    Object.assign(host, { last_line: frame.last_line, last_line_code: frame.last_line_code ?? null, last_line_params: frame.last_line_params ?? null });
  }
  render();
}

function follow(delay = 0) {
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  setTimeout(() => {
    socket = new WebSocket(`${protocol}//${location.host}${base}/progress?since=${lastSeq}`);
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.seq <= lastSeq) return;
      lastSeq = frame.seq;
      window.setupWizardFleet.frames += 1;
      apply(frame);
      scheduleLoad();
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (event.code === 1000) return scheduleLoad(); // the fleet ended and every frame came
      if ([1008, 4400, 4404].includes(event.code)) return;
      follow(Math.min(4000, 500 + delay * 2)); // dropped: resume after the last frame
    });
  }, delay);
}

/** The login typed again for a retry, when the service no longer holds the fleet's (a restart, an hour). */
function retryDefaults() {
  const form = $("retry-login");
  const defaults = { username: form.username.value.trim() || "root" };
  for (const name of ["password", "private_key", "passphrase", "sudo_password"]) {
    if (form[name].value.trim()) defaults[name] = form[name].value;
  }
  return defaults;
}

async function post(path, note, body = undefined) {
  showMessage($("fleet-error"), "");
  try {
    await apiJson(`${base}/${path}`, { method: "POST", body });
    showMessage($("fleet-note"), t(note));
    $("retry-login").hidden = true;
    $("retry-login").reset(); // the login typed again is not kept in the page
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.data?.code === "credentials_gone") {
      $("retry-login").hidden = false;
      $("retry-login").password.focus();
    } else if (err.status !== 401) {
      showMessage($("fleet-error"), err.detail ? `${err.message} (${err.detail})` : err.message);
    }
  }
  await load();
  if (!socket && fleet?.status === "running") follow();
}

$("fleet-cancel").addEventListener("click", () => {
  if (window.confirm(t("fleet.cancel_confirm"))) post("cancel", "fleet.cancelling").catch(console.warn);
});
$("fleet-retry").addEventListener("click", () => post("retry", "fleet.retrying").catch(console.warn));
$("retry-login").addEventListener("submit", (event) => {
  event.preventDefault();
  post("retry", "fleet.retrying", { defaults: retryDefaults() }).catch(console.warn);
});
document.addEventListener("langchange", render);
codesReady.then(render);

initChrome()
  .then(async () => {
    await load();
    if (!fleet) return;
    lastSeq = fleet.last_seq;
    follow();
  })
  .catch((err) => console.warn(err));
