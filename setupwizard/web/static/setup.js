// The setup wizard: 1) server, 2) test connection + confirm the host key, 3) options, 4) run.

import { showAdminKey } from "./admin_key.js";
import { ConfirmLoginPanel } from "./confirm_login.js";
import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { t } from "./i18n.js";
import { followSession, runSetup } from "./live.js";
import { RunProgress } from "./run_progress.js";
import { bringIntoSight, bringToTop, foldPlan, initRunView, unfoldPlan } from "./run_view.js";
import { offerSavedKeys } from "./saved_keys.js";
import { initStepChoice, previewPlan } from "./step_choice.js";
import { initSudoSave, renderSudoSave } from "./sudo_save.js";
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
const progress = new RunProgress({ host: () => form.host.value.trim() });
let timer = null;
let conflictSession = null; // the session holding the server after a 409
let entered = false; // focus moves only on a person's step changes, not on the first paint

function setFormError(keyOrText, isKey = true) {
  formErrorKey = isKey ? keyOrText : null;
  showMessage(formError, keyOrText ? (isKey ? t(keyOrText) : keyOrText) : "");
}

function show(step) {
  current = step;
  for (const section of form.querySelectorAll("[data-step]")) section.hidden = Number(section.dataset.step) !== step;
  for (const button of document.querySelectorAll("#stepper [data-goto]")) {
    const n = Number(button.dataset.goto);
    button.classList.toggle("current", n === step);
    button.classList.toggle("done", n < step);
    if (n === step) button.setAttribute("aria-current", "step");
    else button.removeAttribute("aria-current");
  }
  if (step === 3) {
    loadPrefill();
    renderSudoSave(form); // when sudo needs a password: that it will be saved, and a way not to
  }
  if (step === 4) {
    renderSummary();
    showPlan();
  }
  if (entered) form.querySelector(`[data-step="${step}"] h2`).focus();
  entered = true;
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
  const button = event.target.closest("[data-goto]");
  if (!button || running) return;
  const to = Number(button.dataset.goto);
  setFormError(null);
  if (canLeave(current, to)) show(to);
});
// Enter in a field does what the step's main button does.
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (running) return;
  if (current === 2 && !report) return $("test-connection").click();
  if (current === 2 && report && !form.host_key_fingerprint.value) return $("confirm-fingerprint").click();
  const primary = form.querySelector(`[data-step="${current}"] .actions .primary:not([hidden])`);
  if (primary) primary.click();
});
form.addEventListener("keydown", (event) => {
  // Implicit submission needs a submit button; the form has none, so Enter is handled here.
  if (event.key !== "Enter" || event.isComposing || event.target.tagName !== "INPUT") return;
  if (["button", "checkbox", "radio", "file"].includes(event.target.type)) return;
  event.preventDefault();
  form.requestSubmit();
});
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
  $("test-advice").hidden = true;
}

function renderReport() {
  if (!report) return;
  $("report-os").textContent = `${report.os || report.os_id || "?"} — ${t(report.supported === false ? "test.unsupported" : "test.supported")}`;
  $("report-sudo").textContent = t(`test.sudo.${report.sudo_mode || "none"}`);
  $("report-fingerprint").textContent = report.host_key_fingerprint || "";
  $("report-known").textContent = t(report.host_key_known ? "test.known" : "test.new");
  $("test-report").hidden = false;
  $("confirm-box").hidden = !report.host_key_fingerprint;
  // A key on record that matched (else the test would have been refused) needs no confirming again.
  const known = Boolean(report.host_key_known && report.host_key_fingerprint);
  if (known) form.host_key_fingerprint.value = report.host_key_fingerprint;
  $("confirm-hint").hidden = known;
  $("confirm-fingerprint").hidden = known;
  $("fingerprint-known").hidden = !known;
  $("fingerprint-confirmed").hidden = known || form.host_key_fingerprint.value !== report.host_key_fingerprint;
  // What the test found that would sink the run, and what to do about it.
  const user = form.username.value.trim();
  const mode = report.sudo_mode || "none";
  // Not in a sudo group: add it there. In one (sudo asks a password never given or set): that password.
  const code = report.sudo_group === false ? "test.advice.no_sudo_group" : "test.advice.no_sudo";
  const advice = mode === "none" ? t(code, { user }) : "";
  showMessage($("test-advice"), advice);
  // The sudo password is asked for only when the test found that sudo needs one.
  const sudoField = form.sudo_password.closest("label");
  sudoField.hidden = mode !== "password";
  sudoField.nextElementSibling.hidden = sudoField.hidden;
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
  const began = Date.now();
  const waited = $("test-waited");
  const limit = waited.dataset.limit || "10";
  const tick = () => (waited.textContent = t("test.waited", { s: Math.round((Date.now() - began) / 1000), limit }));
  tick();
  const ticker = setInterval(tick, 1000);
  const payload = readPayload(form, { forTest: true });
  try {
    report = await apiJson("/api/setup/test-connection", { method: "POST", body: payload });
    renderReport();
  } catch (err) {
    handleApiError(err, $("test-error"), "error.test_failed");
  } finally {
    button.disabled = false;
    clearInterval(ticker);
    $("test-running").hidden = true;
  }
  // The disabled button dropped focus to <body>: it goes to what the test found, read out from there
  // (unless the person has moved on meanwhile).
  const result = [$("test-report"), $("test-error"), formError].find((el) => !el.hidden);
  const dropped = document.activeElement === document.body || document.activeElement === button;
  if (result && dropped) {
    result.tabIndex = -1;
    result.focus();
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
    prefill = await apiJson(`/api/servers/sudo/prefill?host=${encodeURIComponent(host)}&port=${port}&username=${encodeURIComponent(form.username.value.trim())}`);
  } catch (err) {
    prefill = null; // nothing saved (404) or not available: the field simply stays empty
  }
  renderPrefill(note);
}

function renderPrefill(note = $("sudo-saved")) {
  // A credential saved for another user of this server says nothing about this login's sudo.
  const user = form.username.value.trim();
  const mine = prefill && (!prefill.sudo_user || prefill.sudo_user === user);
  if (mine && prefill.has_password) {
    note.textContent = t("options.sudo_saved");
    note.hidden = false;
  } else if (mine && prefill.sudo_user) {
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

// The exact commands of the chosen steps, before 自动设置服务器. A bad choice is named here and marked on
// its field in step 3; 自动设置服务器 would be refused the same way and goes back there.
async function showPlan() {
  clearFieldErrors(form);
  try {
    await previewPlan(form);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const fields = err.fields || {};
    showFieldErrors(form, fields);
    const named = Object.entries(fields).map(([name, m]) => `${name}: ${typeof m === "string" ? m : m.text}`);
    $("plan-status").textContent = t("plan.invalid_field", { detail: named.join("; ") || err.message });
  }
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

const confirmLogin = new ConfirmLoginPanel(() => sessionId, (err) => handleApiError(err, formError));

function onFrame(frame) {
  progress.noteFrame(frame);
  terminal.appendEvent(frame);
  confirmLogin.noteFrame(frame);
}

function setRunning(on) {
  running = on;
  $("auto-setup").hidden = on;
  $("run-back").hidden = on;
  $("cancel-run").hidden = !on;
  $("cancel-run").disabled = false;
  $("cancel-run").textContent = t("run.cancel");
  for (const el of form.querySelectorAll("input, textarea, select")) el.disabled = on;
  runPanel.dataset.state = on ? "running" : runPanel.dataset.state;
}

function attachSession(id) {
  sessionId = id;
  runPanel.dataset.sessionId = id;
  terminal.setDownloadUrl(`/api/setup/sessions/${id}/log.txt`);
  // A reload comes back to this run (see reattach()).
  history.replaceState(null, "", `/setup?session=${encodeURIComponent(id)}${location.hash}`);
}

function beginRun() {
  $("auto-setup").classList.add("primary");
  showAdminKey(null);
  terminal.clear();
  progress.reset();
  conflictSession = null;
  $("new-run").hidden = true;
  $("view-history").hidden = true;
  runPanel.hidden = false;
  runPanel.dataset.state = "running";
  timer = setInterval(() => progress.render(), 1000);
  setRunning(true);
  // The plan folds to one line and the live log comes into view (not below a 400 px preview).
  foldPlan();
  $("run-heading").focus({ preventScroll: true });
  bringToTop(runPanel);
}

function endRun(result, via) {
  confirmLogin.hide();
  progress.finish(result);
  showAdminKey(result);
  runPanel.dataset.via = via;
  runPanel.dataset.state = (result && result.status) || (result && result.success ? "succeeded" : "failed");
  $("new-run").hidden = false;
  $("view-history").hidden = false;
  $("auto-setup").classList.remove("primary"); // another server, or History, comes first now
  terminal.setCatchingUp(false);
  terminal.finishRun(); // passed steps fold, the failed one opens in view
  bringIntoSight($("banner"), runPanel); // the result, wherever the reader had scrolled to
}

$("auto-setup").addEventListener("click", async () => {
  if (running || !canLeave(1, 4)) return;
  if (progress.result && !window.confirm(t("run.rerun_confirm", { host: form.host.value.trim() }))) return;
  setFormError(null);
  clearFieldErrors(form);
  const payload = readPayload(form);
  beginRun();
  try {
    const outcome = await runSetup(payload, { terminal, onFrame, onSessionId: attachSession });
    endRun(outcome.result, outcome.via);
  } catch (err) {
    setRunning(false);
    runPanel.dataset.state = "error";
    unfoldPlan(); // the run never started: the plan is whole again, the error in sight
    history.replaceState(null, "", "/setup");
    if (!(err instanceof ApiError)) {
      console.error(err);
      setFormError(String(err), false);
    } else {
      terminal.append(`✗ ${err.message}`, "error");
      setFormError(err.message, false);
      formErrorKey = null;
      handleApiError(err, formError);
      if (err.status === 409) await linkConflict(err, payload);
    }
    bringIntoSight(formError);
  } finally {
    clearInterval(timer);
    setRunning(false);
    progress.render();
  }
});

/** A 409: link to the session that holds the server (named by the answer, else found in History). */
async function linkConflict(err, payload) {
  let id = err.data && err.data.session_id;
  if (!id) {
    try {
      const list = await apiJson("/api/setup/sessions");
      const mine = (Array.isArray(list) ? list : []).find(
        (s) => s.status === "running" && s.host === payload.host && Number(s.port) === Number(payload.port),
      );
      id = mine && mine.session_id;
    } catch {
      id = null;
    }
  }
  conflictSession = id || null;
  renderConflict();
}

function renderConflict() {
  if (!conflictSession) return;
  const old = document.getElementById("conflict-link");
  if (old) old.remove();
  const link = document.createElement("a");
  link.id = "conflict-link";
  link.href = `/setup?session=${encodeURIComponent(conflictSession)}`;
  link.textContent = t("run.view_running");
  formError.append(" ", link);
  formError.hidden = false;
}

$("cancel-run").addEventListener("click", async () => {
  if (!sessionId || !window.confirm(t("run.cancel_confirm"))) return;
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
  if (running) {
    // Watching a run this page did not start: another server is set up on a fresh page.
    location.assign("/setup?new=1");
    return;
  }
  progress.reset();
  $("new-run").hidden = true;
  $("view-history").hidden = true;
  runPanel.hidden = true;
  unfoldPlan();
  history.replaceState(null, "", "/setup");
  forgetTest();
  form.reset();
  for (const box of form.querySelectorAll("[data-auth]")) box.hidden = box.dataset.auth !== "password";
  show(1);
});

/**
 * Coming back to a run: the session named in ?session=, else the person's running session. Its lines
 * are replayed over the WebSocket from the start (?since=0) and then followed live.
 */
async function reattach() {
  const query = new URLSearchParams(location.search);
  if (query.has("new")) return history.replaceState(null, "", "/setup");
  const wanted = query.get("session");
  let list;
  try {
    list = await apiJson("/api/setup/sessions");
  } catch {
    return;
  }
  const sessions = Array.isArray(list) ? list : [];
  const session = wanted
    ? sessions.find((s) => s.session_id === wanted)
    : sessions.find((s) => s.status === "running");
  if (!session || running) {
    if (wanted) history.replaceState(null, "", "/setup");
    return;
  }
  form.host.value = session.host;
  form.port.value = session.port;
  form.username.value = session.username;
  entered = false;
  show(4);
  beginRun();
  $("new-run").hidden = false; // while watching, another server can still be set up
  attachSession(session.session_id);
  if (session.last_seq > 0) terminal.setCatchingUp(true);
  try {
    const outcome = await followSession(session.session_id, {
      terminal,
      onFrame: (frame) => {
        onFrame(frame);
        if (frame.seq >= session.last_seq) terminal.setCatchingUp(false);
      },
    });
    endRun(outcome.result, outcome.via);
  } catch (err) {
    console.warn("could not follow the session", err);
    runPanel.dataset.state = "error";
  } finally {
    terminal.setCatchingUp(false);
    clearInterval(timer);
    setRunning(false);
    progress.render();
  }
}

document.addEventListener("langchange", () => {
  if (formErrorKey) showMessage(formError, t(formErrorKey));
  renderConflict();
  renderReport();
  renderPrefill();
  renderSummary();
  if (current === 4 && !running) showPlan(); // the step names in the new language
  progress.render();
  if (running) $("cancel-run").textContent = t("run.cancel");
});
document.addEventListener("codesready", () => progress.render());

// /setup?host=…&port=…&username=…&preset=… (the servers page's "run again") fills the form in.
const asked = new URLSearchParams(location.search);
for (const name of ["host", "port", "username"]) if (asked.get(name)) form[name].value = asked.get(name);
initStepChoice(form, { applyPreset: asked.get("preset") || null });

initRunView();
initSudoSave(form);
show(1);
form.host.focus(); // a person starts typing the server's address at once
initChrome()
  .then(() => {
    offerSavedKeys(form); // beside the reattach, not before it
    return reattach();
  })
  .catch((err) => console.warn(err));
