// The setup wizard: 1) server, 2) test connection + confirm the host key, 3) options, 4) run.
// This module wires the page together: moving between steps (wizard_steps.js), step 2
// (connection_test.js), the run (wizard_run.js), all sharing one state object (wizard_state.js).

import { initChrome, showMessage } from "./chrome.js";
import { forgetTest, initConnectionTest, renderReport } from "./connection_test.js";
import { t } from "./i18n.js";
import { initRunView } from "./run_view.js";
import { offerSavedKeys } from "./saved_keys.js";
import { initStepChoice } from "./step_choice.js";
import { initSudoSave } from "./sudo_save.js";
import { clearFieldErrors, showFieldErrors } from "./wizard_form.js";
import { initRun, progress, reattach, renderConflict, terminal } from "./wizard_run.js";
import { state } from "./wizard_state.js";
import { canLeave, formError, renderPrefill, renderSummary, setFormError, show, showPlan } from "./wizard_steps.js";

const form = document.getElementById("wizard");
const $ = (id) => document.getElementById(id);
window.setupWizard = { terminal }; // for the browser console (and the browser tests): every line in memory

form.addEventListener("click", (event) => {
  const target = event.target.closest("[data-next]");
  if (!target || state.running) return;
  const to = Number(target.dataset.next);
  setFormError(null);
  if (canLeave(state.step, to)) show(to);
});
$("stepper").addEventListener("click", (event) => {
  const button = event.target.closest("[data-goto]");
  if (!button || state.running) return;
  const to = Number(button.dataset.goto);
  setFormError(null);
  if (canLeave(state.step, to)) show(to);
});
// Enter in a field does what the step's main button does.
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.running) return;
  if (state.step === 2 && !state.report) return $("test-connection").click();
  if (state.step === 2 && state.report && !form.host_key_fingerprint.value) return $("confirm-fingerprint").click();
  const primary = form.querySelector(`[data-step="${state.step}"] .actions .primary:not([hidden])`);
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

initConnectionTest();
initRun();

document.addEventListener("langchange", () => {
  if (state.formErrorKey) showMessage(formError, t(state.formErrorKey));
  renderConflict();
  renderReport();
  renderPrefill();
  renderSummary();
  if (state.step === 4 && !state.running) showPlan(); // the step names in the new language
  progress.render();
  if (state.running) $("cancel-run").textContent = t("run.cancel");
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
