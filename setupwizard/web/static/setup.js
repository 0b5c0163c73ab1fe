// The setup wizard: 1) server, 2) test connection + confirm the host key, 3) options, 4) run.

import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDuration, t } from "./i18n.js";
import { runSetup } from "./live.js";
import { Terminal } from "./terminal.js";
import { clearFieldErrors, readPayload, showFieldErrors, stepOfField, validateServer } from "./wizard_form.js";

const form = document.getElementById("wizard");
const $ = (id) => document.getElementById(id);
const formError = $("form-error");
const runPanel = $("run-panel");
const terminal = new Terminal($("terminal"));
window.setupWizard = { terminal }; // for the browser console (and the browser tests): every line in memory
let current = 1;
let report = null; // the last test-connection answer
let prefill = null;
let formErrorKey = null; // re-rendered on language change
let running = false;
let sessionId = null;
let startedAt = 0;
let timer = null;
let zeroBasedSteps = false;
let stepState = null; // {n, total, message}
let finalResult = null;

initChrome().catch((err) => console.warn(err));

function setFormError(keyOrText, isKey = true) {
  formErrorKey = isKey ? keyOrText : null;
  showMessage(formError, keyOrText ? (isKey ? t(keyOrText) : keyOrText) : "");
}

function show(step) {
  current = step;
  for (const section of form.querySelectorAll("[data-step]")) section.hidden = Number(section.dataset.step) !== step;
  for (const li of document.querySelectorAll("#stepper li")) {
    const n = Number(li.dataset.goto);
    li.classList.toggle("current", n === step);
    li.classList.toggle("done", n < step);
  }
  if (step === 3) loadPrefill();
  if (step === 4) renderSummary();
}

function canLeave(from, to) {
  if (to <= from) return true;
  if (from === 1 || to > 1) {
    const errors = validateServer(form);
    if (Object.keys(errors).length) {
      showFieldErrors(form, errors);
      show(1);
      return false;
    }
  }
  if (to > 2 && !form.host_key_fingerprint.value) {
    show(2);
    setFormError("test.need_confirm");
    return false;
  }
  return true;
}

form.addEventListener("click", (event) => {
  const target = event.target.closest("[data-next]");
  if (!target || running) return;
  const to = Number(target.dataset.next);
  setFormError(null);
  if (canLeave(current, to)) show(to);
});
$("stepper").addEventListener("click", (event) => {
  const li = event.target.closest("[data-goto]");
  if (!li || running) return;
  const to = Number(li.dataset.goto);
  setFormError(null);
  if (canLeave(current, to)) show(to);
});
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("input", (event) => {
  clearFieldErrors(form, event.target.name);
  if (["host", "port", "username"].includes(event.target.name)) forgetTest();
});

for (const radio of form.querySelectorAll("input[name=auth_method]")) {
  radio.addEventListener("change", () => {
    const method = form.auth_method.value;
    for (const box of form.querySelectorAll("[data-auth]")) box.hidden = box.dataset.auth !== method;
  });
}

$("private-key-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    form.private_key.value = await file.text();
    const note = $("private-key-file-note");
    note.textContent = t("server.private_key_loaded", { name: file.name });
    note.hidden = false;
    clearFieldErrors(form, "private_key");
  } catch {
    showFieldErrors(form, { private_key: t("error.key_file") });
  }
  event.target.value = ""; // the key lives in the textarea only
});

// --- step 2: test connection -------------------------------------------------------------

function forgetTest() {
  report = null;
  prefill = null;
  form.host_key_fingerprint.value = "";
  $("test-report").hidden = true;
  $("confirm-box").hidden = true;
  $("fingerprint-confirmed").hidden = true;
}

function renderReport() {
  if (!report) return;
  $("report-os").textContent = `${report.os || report.os_id || "?"} — ${t(report.supported === false ? "test.unsupported" : "test.supported")}`;
  $("report-sudo").textContent = t(`test.sudo.${report.sudo_mode || "none"}`);
  $("report-fingerprint").textContent = report.host_key_fingerprint || "";
  $("report-known").textContent = t(report.host_key_known ? "test.known" : "test.new");
  $("test-report").hidden = false;
  $("confirm-box").hidden = !report.host_key_fingerprint;
  $("fingerprint-confirmed").hidden = form.host_key_fingerprint.value !== report.host_key_fingerprint;
}

$("test-connection").addEventListener("click", async () => {
  const errors = validateServer(form);
  if (Object.keys(errors).length) {
    showFieldErrors(form, errors);
    show(1);
    return;
  }
  forgetTest();
  setFormError(null);
  showMessage($("test-error"), "");
  const button = $("test-connection");
  button.disabled = true;
  $("test-running").hidden = false;
  const payload = readPayload(form, { forTest: true });
  try {
    report = await apiJson("/api/setup/test-connection", { method: "POST", body: payload });
    renderReport();
  } catch (err) {
    handleApiError(err, $("test-error"), "error.test_failed");
  } finally {
    button.disabled = false;
    $("test-running").hidden = true;
  }
});

$("confirm-fingerprint").addEventListener("click", () => {
  if (!report) return;
  form.host_key_fingerprint.value = report.host_key_fingerprint;
  setFormError(null);
  renderReport();
});

// --- step 3: options ---------------------------------------------------------------------

async function loadPrefill() {
  const host = form.host.value.trim();
  const port = Number(form.port.value) || 22;
  const note = $("sudo-saved");
  try {
    prefill = await apiJson(`/api/servers/sudo/prefill?host=${encodeURIComponent(host)}&port=${port}`);
  } catch (err) {
    prefill = null; // nothing saved (404) or not available: the field simply stays empty
  }
  renderPrefill(note);
}

function renderPrefill(note = $("sudo-saved")) {
  if (prefill && prefill.has_password) {
    note.textContent = t("options.sudo_saved");
    note.hidden = false;
  } else if (prefill && prefill.sudo_user) {
    note.textContent = t("options.sudo_saved_passwordless", { user: prefill.sudo_user });
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

// --- step 4: run -------------------------------------------------------------------------

function renderSummary() {
  $("run-summary").textContent = t("run.summary", {
    user: form.username.value.trim(),
    host: form.host.value.trim(),
    port: form.port.value || 22,
  });
}

function handleApiError(err, where, wrapKey = null) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401) return; // authFetch is already taking the person to /login
  const fields = err.fields || {};
  if (Object.keys(fields).length) {
    showFieldErrors(form, fields);
    const step = Math.min(...Object.keys(fields).map(stepOfField));
    if (Number.isFinite(step) && step !== current && !running) show(step);
    return;
  }
  // Our sentence in the page's language; the service's own wording is kept as the tooltip.
  showMessage(where, wrapKey ? t(wrapKey, { detail: err.message }) : err.message);
  where.title = err.detail || "";
}

function renderProgress() {
  const stepText = $("progress-step");
  const fill = $("progress-fill");
  if (!stepState) {
    stepText.textContent = t("run.step_waiting");
    $("progress-message").textContent = "";
  } else {
    stepText.textContent = t("run.step", { n: stepState.n, total: stepState.total });
    $("progress-message").textContent = stepState.message;
    fill.style.width = `${Math.round((100 * stepState.doneCount) / Math.max(1, stepState.total))}%`;
  }
  $("progress-elapsed").textContent = startedAt ? t("run.elapsed", { time: formatDuration((Date.now() - startedAt) / 1000) }) : "";
}

function onFrame(frame) {
  if (frame.type === "step" && frame.step_index != null && frame.step_total) {
    if (frame.step_index === 0) zeroBasedSteps = true;
    const n = frame.step_index + (zeroBasedSteps ? 1 : 0);
    const status = frame.data && frame.data.status;
    const finished = status && status !== "running" && status !== "pending";
    stepState = { n, total: frame.step_total, message: frame.message, doneCount: finished ? n : n - 1 };
    renderProgress();
  }
  if (frame.type === "complete" && stepState) {
    stepState.doneCount = stepState.total;
    renderProgress();
  }
  const replace = frame.replace || (frame.data && frame.data.replace);
  if (replace) terminal.replaceLast(frame.message, frame.level, frame.seq);
  else terminal.append(frame.message, frame.level, frame.seq);
}

function renderBanner() {
  const banner = $("banner");
  if (!finalResult) {
    banner.hidden = true;
    return;
  }
  const status = finalResult.status || (finalResult.success ? "succeeded" : "failed");
  const key = { succeeded: "run.success", cancelled: "run.cancelled", interrupted: "run.interrupted" }[status] || "run.failed";
  banner.className = `banner banner-${status === "succeeded" ? "success" : status === "failed" ? "error" : "warning"}`;
  banner.textContent = "";
  const head = document.createElement("strong");
  head.textContent = t(key);
  banner.append(head);
  const headText = t(key).replace(/^[✓⚠✗]\s*/, "");
  if (finalResult.message && finalResult.message !== headText) banner.append(document.createTextNode(` — ${finalResult.message}`));
  if (finalResult.sudo_user) {
    const extra = document.createElement("div");
    extra.textContent = t("run.sudo_user", { user: finalResult.sudo_user, mode: t(`test.sudo.${finalResult.sudo_mode || "none"}`) });
    banner.append(extra);
  }
  banner.hidden = false;
}

function setRunning(on) {
  running = on;
  $("auto-setup").hidden = on;
  $("run-back").hidden = on;
  $("cancel-run").hidden = !on;
  $("cancel-run").disabled = false;
  $("cancel-run").textContent = t("run.cancel");
  for (const el of form.querySelectorAll("input, textarea")) el.disabled = on;
  runPanel.dataset.state = on ? "running" : runPanel.dataset.state;
}

$("auto-setup").addEventListener("click", async () => {
  if (running || !canLeave(1, 4)) return;
  setFormError(null);
  clearFieldErrors(form);
  const payload = readPayload(form);
  terminal.clear();
  finalResult = null;
  stepState = null;
  zeroBasedSteps = false;
  renderBanner();
  runPanel.hidden = false;
  runPanel.dataset.state = "running";
  startedAt = Date.now();
  renderProgress();
  $("progress-fill").style.width = "0%";
  timer = setInterval(renderProgress, 1000);
  setRunning(true);
  try {
    const outcome = await runSetup(payload, {
      terminal,
      onFrame,
      onSessionId: (id) => {
        sessionId = id;
        runPanel.dataset.sessionId = id;
        terminal.setDownloadUrl(`/api/setup/sessions/${id}/log.txt`);
      },
    });
    finalResult = outcome.result;
    runPanel.dataset.via = outcome.via;
    runPanel.dataset.state = (finalResult && finalResult.status) || (finalResult && finalResult.success ? "succeeded" : "failed");
    const steps = (finalResult && finalResult.steps) || [];
    if (!stepState && steps.length) {
      // No live step frames (the HTTP fallback): the result's step list tells how far it got.
      const finished = steps.filter((s) => !["pending", "running", "skipped"].includes(s.status));
      const last = finished[finished.length - 1] || steps[0];
      stepState = { n: finished.length || 1, total: steps.length, message: last.name, doneCount: finished.length };
    }
    if (finalResult && finalResult.status === "succeeded" && stepState) stepState.doneCount = stepState.total;
    $("new-run").hidden = false;
  } catch (err) {
    setRunning(false);
    runPanel.dataset.state = "error";
    if (!(err instanceof ApiError)) {
      console.error(err);
      setFormError(String(err), false);
    } else {
      terminal.append(`✗ ${err.message}`, "error");
      setFormError(err.message, false);
      formErrorKey = null;
      handleApiError(err, formError);
    }
  } finally {
    clearInterval(timer);
    setRunning(false);
    renderProgress();
    renderBanner();
  }
});

$("cancel-run").addEventListener("click", async () => {
  if (!sessionId) return;
  const button = $("cancel-run");
  button.disabled = true;
  button.textContent = t("run.cancelling");
  try {
    await apiJson(`/api/setup/sessions/${sessionId}/cancel`, { method: "POST" });
  } catch (err) {
    button.disabled = false;
    handleApiError(err, formError);
  }
});

$("new-run").addEventListener("click", () => {
  $("new-run").hidden = true;
  forgetTest();
  show(1);
});

document.addEventListener("langchange", () => {
  if (formErrorKey) showMessage(formError, t(formErrorKey));
  renderReport();
  renderPrefill();
  renderSummary();
  if (!runPanel.hidden) renderProgress();
  renderBanner();
  if (running) $("cancel-run").textContent = t("run.cancel");
});

show(1);
