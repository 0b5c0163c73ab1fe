// The history page: past and running sessions; read a log (live when still running), download it,
// cancel a running session.

import { apiJson, ApiError, authFetch, newestOnly, STALE, toApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { renderCode, stepName } from "./codes.js";
import { timeElement, toDate } from "./dates.js";
import { formatDuration, getLang, t } from "./i18n.js";
import { ProgressStream } from "./live.js";
import { HistoryFilter } from "./history_filter.js";
import { statusText } from "./session_status.js";
import { Terminal } from "./terminal.js";

const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#sessions tbody");
const terminal = new Terminal($("log-terminal"));
let sessions = [];
let openId = null;
let stream = null;
let filter = null; // HistoryFilter, once the page knows who is looking
let total = 0;

function durationOf(s) {
  const start = toDate(s.created_at);
  if (!start) return "";
  const end = toDate(s.finished_at) || (s.status === "running" ? new Date() : null);
  if (s.duration != null) return formatDuration(s.duration);
  return end ? formatDuration((end - start) / 1000) : "";
}

const CJK = /[\u3000-\u9fff\uff00-\uffef]/;

function cell(text, className = "", labelKey = null) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (labelKey) td.dataset.label = t(labelKey); // shown before the value when rows are cards (phone)
  return td;
}

/** The session's result sentence in the page's language (its code, else the message if it fits). */
function resultText(s) {
  const text = renderCode(s.code || s.message_code, s.params, s.message || "");
  return getLang() !== "zh" && CJK.test(text) ? "" : text;
}

function button(key, onClick, className = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = t(key);
  b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

/** "3. Run the custom script": the step that failed, named in the page's language. */
function failedStepText(s) {
  const step = s.failed_step;
  if (!step) return "";
  return t("history.failed_step_text", { n: step.index, step: stepName(step.id) ?? step.name ?? step.id });
}

function render() {
  tbody.textContent = "";
  const filtered = filter && filter.query().toString().replace(/(^|&)(limit|offset)=\d+/g, "") !== "";
  $("history-empty").hidden = sessions.length > 0;
  $("history-empty").textContent = t(filtered ? "history.no_match" : "history.empty");
  const everyone = Boolean(filter && filter.everyone);
  document.querySelector("#sessions th.run-by").hidden = !everyone;
  if (filter) filter.render(sessions.length, total);
  for (const s of sessions) {
    const tr = document.createElement("tr");
    const id = s.session_id || s.id;
    tr.dataset.sessionId = id;
    tr.dataset.status = s.status;
    const status = cell(statusText(s.status), `status status-${s.status}`, "history.status");
    const started = cell("", "started", "history.started");
    started.append(timeElement(s.created_at));
    tr.append(
      status,
      cell(`${s.username ? `${s.username}@` : ""}${s.host}:${s.port ?? 22}`, "server", "history.server"),
    );
    if (everyone) tr.append(cell(s.run_by || "", "run-by", "history.run_by"));
    tr.append(
      started,
      cell(durationOf(s), "duration", "history.duration"),
      cell(failedStepText(s), "failed-step", "history.failed_step"),
      cell(resultText(s), "message", "history.message"),
    );
    const actions = document.createElement("td");
    actions.className = "actions";
    actions.append(button("history.open", () => openLog(id), "open"));
    const download = document.createElement("a");
    download.href = `/api/setup/sessions/${id}/log.txt?lang=${getLang()}`; // re-rendered on a language switch
    download.setAttribute("download", "");
    download.className = "download";
    download.textContent = t("history.download");
    actions.append(download);
    if (s.status === "running") actions.append(button("history.cancel", () => cancel(id), "cancel danger"));
    tr.append(actions);
    tbody.append(tr);
  }
}

const POLL_MS = 3000;
let pollTimer = null;

// Filtered and paged by the server; X-Total-Count says how many match in all.
const fetchPage = newestOnly(async (query) => {
  const response = await authFetch(`/api/setup/sessions?${query}`);
  return { response, data: await response.json().catch(() => null) };
});

async function load() {
  clearTimeout(pollTimer);
  showMessage($("history-error"), "");
  try {
    const answer = await fetchPage(filter.query());
    if (answer === STALE) return; // the filter changed meanwhile: the newer answer is shown
    const { response, data } = answer;
    if (!response.ok) throw toApiError(response.status, data);
    sessions = Array.isArray(data) ? data : [];
    total = Number(response.headers.get("X-Total-Count")) || sessions.length;
    render();
    if (openId) renderLogTitle();
    // While something runs, keep the list current (status, duration) without a manual refresh.
    if (sessions.some((s) => s.status === "running")) pollTimer = setTimeout(load, POLL_MS);
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) showMessage($("history-error"), err.message);
  }
}

/** "alice@host · 2026-11-27 01:02 · Cancelled": whose run, when, how it ended. */
function renderLogTitle() {
  const s = sessions.find((x) => (x.session_id || x.id) === openId);
  if (!s) {
    $("log-title").textContent = t("history.log_of", { id: openId });
    return;
  }
  const title = $("log-title");
  title.textContent = `${s.username}@${s.host} · `;
  if (s.created_at) title.append(timeElement(s.created_at), " · ");
  title.append(statusText(s.status));
}

function closeLog() {
  if (stream) stream.stop();
  stream = null;
  openId = null;
  $("log-panel").hidden = true;
}

async function openLog(id) {
  closeLog();
  openId = id;
  terminal.clear();
  terminal.setDownloadUrl(`/api/setup/sessions/${id}/log.txt`);
  renderLogTitle();
  $("log-panel").hidden = false;
  $("log-panel").dataset.sessionId = id;
  $("log-panel").scrollIntoView({ block: "start" });
  let data;
  try {
    data = await apiJson(`/api/setup/sessions/${id}`);
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) showMessage($("history-error"), err.message);
    return;
  }
  if (openId !== id) return;
  let lastSeq = 0;
  for (const frame of data.events || []) {
    if (frame.seq != null && frame.seq <= lastSeq) continue;
    terminal.appendEvent(frame);
    lastSeq = frame.seq ?? lastSeq;
  }
  const live = data.status === "running";
  $("log-live").hidden = !live;
  if (!live) terminal.finishRun(); // passed steps folded, the failed one open in view
  if (live) {
    stream = new ProgressStream(id, {
      lastSeq,
      onFrame: (frame) => terminal.appendEvent(frame),
      onNotice: () => {},
    });
    if (await stream.connect()) {
      stream.done.then(() => {
        $("log-live").hidden = true;
        terminal.finishRun();
        load();
      });
    }
  }
}

async function cancel(id) {
  try {
    await apiJson(`/api/setup/sessions/${id}/cancel`, { method: "POST" });
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) showMessage($("history-error"), err.message);
  }
  await load();
}

$("refresh").addEventListener("click", load);
$("log-close").addEventListener("click", closeLog);
document.addEventListener("langchange", () => {
  render();
  if (openId) renderLogTitle();
});

// /history?session=<id> (the servers page's link to a server's last setup) opens that session's log.
const asked = new URLSearchParams(location.search).get("session");
initChrome()
  .then((me) => {
    filter = new HistoryFilter($("history-filter"), { onChange: load, isAdmin: Boolean(me && me.is_admin) });
    return load();
  })
  .then(() => (asked ? openLog(asked) : null))
  .catch((err) => console.warn(err));
