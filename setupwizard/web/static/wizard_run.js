// Step 4 of the wizard: the run. Start it (the WebSocket, then the POST), show it live, cancel it,
// start another; after a reload or from a link, come back to a session that is running.

import { showAdminKey } from "./admin_key.js";
import { ConfirmLoginPanel } from "./confirm_login.js";
import { apiJson, ApiError } from "./api.js";
import { t } from "./i18n.js";
import { followSession, runSetup } from "./live.js";
import { RunProgress } from "./run_progress.js";
import { bringIntoSight, bringToTop, foldPlan, unfoldPlan } from "./run_view.js";
import { forgetTest } from "./connection_test.js";
import { Terminal } from "./terminal.js";
import { clearFieldErrors, readPayload } from "./wizard_form.js";
import { state } from "./wizard_state.js";
import { canLeave, formError, handleApiError, setFormError, show } from "./wizard_steps.js";

const form = document.getElementById("wizard");
const $ = (id) => document.getElementById(id);
const runPanel = $("run-panel");
export const terminal = new Terminal($("terminal"));
export const progress = new RunProgress({ host: () => form.host.value.trim() });

const confirmLogin = new ConfirmLoginPanel(() => state.sessionId, (err) => handleApiError(err, formError));

function onFrame(frame) {
  progress.noteFrame(frame);
  terminal.appendEvent(frame);
  confirmLogin.noteFrame(frame);
}

function setRunning(on) {
  state.running = on;
  $("auto-setup").hidden = on;
  $("run-back").hidden = on;
  $("cancel-run").hidden = !on;
  $("cancel-run").disabled = false;
  $("cancel-run").textContent = t("run.cancel");
  for (const el of form.querySelectorAll("input, textarea, select")) el.disabled = on;
  runPanel.dataset.state = on ? "running" : runPanel.dataset.state;
}

function attachSession(id) {
  state.sessionId = id;
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
  state.conflictSession = null;
  $("new-run").hidden = true;
  $("view-history").hidden = true;
  runPanel.hidden = false;
  runPanel.dataset.state = "running";
  state.timer = setInterval(() => progress.render(), 1000);
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
  runPanel.dataset.state = (result && result.status) || "failed"; // the one field: status
  $("new-run").hidden = false;
  $("view-history").hidden = false;
  $("auto-setup").classList.remove("primary"); // another server, or History, comes first now
  terminal.setCatchingUp(false);
  terminal.finishRun(); // passed steps fold, the failed one opens in view
  bringIntoSight($("banner"), runPanel); // the result, wherever the reader had scrolled to
}

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
  state.conflictSession = id || null;
  renderConflict();
}

export function renderConflict() {
  if (!state.conflictSession) return;
  const old = document.getElementById("conflict-link");
  if (old) old.remove();
  const link = document.createElement("a");
  link.id = "conflict-link";
  link.href = `/setup?session=${encodeURIComponent(state.conflictSession)}`;
  link.textContent = t("run.view_running");
  formError.append(" ", link);
  formError.hidden = false;
}

/** The run panel's buttons: start the run, cancel it, set up another server. */
export function initRun() {
  $("auto-setup").addEventListener("click", async () => {
    if (state.running || !canLeave(1, 4)) return;
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
        state.formErrorKey = null;
        handleApiError(err, formError);
        if (err.status === 409) await linkConflict(err, payload);
      }
      bringIntoSight(formError);
    } finally {
      clearInterval(state.timer);
      setRunning(false);
      progress.render();
    }
  });

  $("cancel-run").addEventListener("click", async () => {
    if (!state.sessionId || !window.confirm(t("run.cancel_confirm"))) return;
    const button = $("cancel-run");
    button.disabled = true;
    button.textContent = t("run.cancelling");
    try {
      await apiJson(`/api/setup/sessions/${state.sessionId}/cancel`, { method: "POST" });
    } catch (err) {
      button.disabled = false;
      handleApiError(err, formError);
    }
  });

  $("new-run").addEventListener("click", () => {
    if (state.running) {
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
}

/**
 * Coming back to a run: the session named in ?session=, else the person's running session. Its lines
 * are replayed over the WebSocket from the start (?since=0) and then followed live.
 */
export async function reattach() {
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
  if (!session || state.running) {
    if (wanted) history.replaceState(null, "", "/setup");
    return;
  }
  form.host.value = session.host;
  form.port.value = session.port;
  form.username.value = session.username;
  state.entered = false;
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
    clearInterval(state.timer);
    setRunning(false);
    progress.render();
  }
}
