// Moving between the wizard's steps (1 server, 2 test connection, 3 options, 4 run): whether a step
// may be left, what a step shows when it is entered (step 3: what is saved for sudo; step 4: the
// summary and the plan), and the form's error line.

import { apiJson, ApiError } from "./api.js";
import { showMessage } from "./chrome.js";
import { t } from "./i18n.js";
import { previewPlan } from "./step_choice.js";
import { renderSudoSave } from "./sudo_save.js";
import { clearFieldErrors, showFieldErrors, stepOfField, validateServer } from "./wizard_form.js";
import { state } from "./wizard_state.js";

const form = document.getElementById("wizard");
const $ = (id) => document.getElementById(id);
export const formError = $("form-error");

export function setFormError(keyOrText, isKey = true) {
  state.formErrorKey = isKey ? keyOrText : null;
  showMessage(formError, keyOrText ? (isKey ? t(keyOrText) : keyOrText) : "");
}

export function show(step) {
  state.step = step;
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
  if (state.entered) form.querySelector(`[data-step="${step}"] h2`).focus();
  state.entered = true;
}

export function canLeave(from, to) {
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

// --- step 3: options ---------------------------------------------------------------------

async function loadPrefill() {
  const host = form.host.value.trim();
  const port = Number(form.port.value) || 22;
  const note = $("sudo-saved");
  try {
    state.prefill = await apiJson(`/api/servers/sudo/prefill?host=${encodeURIComponent(host)}&port=${port}&username=${encodeURIComponent(form.username.value.trim())}`);
  } catch (err) {
    state.prefill = null; // nothing saved (404) or not available: the field simply stays empty
  }
  renderPrefill(note);
}

export function renderPrefill(note = $("sudo-saved")) {
  // A credential saved for another user of this server says nothing about this login's sudo.
  const user = form.username.value.trim();
  const prefill = state.prefill;
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

// --- step 4: what will run ---------------------------------------------------------------

export function renderSummary() {
  $("run-summary").textContent = t("run.summary", {
    user: form.username.value.trim(),
    host: form.host.value.trim(),
    port: form.port.value || 22,
  });
}

// The exact commands of the chosen steps, before 自动设置服务器. A bad choice is named here and marked on
// its field in step 3; 自动设置服务器 would be refused the same way and goes back there.
export async function showPlan() {
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

export function handleApiError(err, where, wrapKey = null) {
  if (!(err instanceof ApiError)) throw err;
  if (err.status === 401) return; // authFetch is already taking the person to /login
  const fields = err.fields || {};
  if (Object.keys(fields).length) {
    showFieldErrors(form, fields);
    const step = Math.min(...Object.keys(fields).map(stepOfField));
    if (Number.isFinite(step) && step !== state.step && !state.running) show(step);
    return;
  }
  // Our sentence in the page's language; the service's own wording is kept as the tooltip.
  showMessage(where, wrapKey ? t(wrapKey, { detail: err.message }) : err.message);
  where.title = err.detail || "";
}
