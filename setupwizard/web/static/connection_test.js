// Step 2 of the wizard: test the connection, show what the test found, confirm the host key.

import { apiJson } from "./api.js";
import { showMessage } from "./chrome.js";
import { hideKeyChange, initKeyChange, isKeyChange, showKeyChange } from "./host_key_change.js";
import { t } from "./i18n.js";
import { readPayload, showFieldErrors, validateServer } from "./wizard_form.js";
import { state } from "./wizard_state.js";
import { formError, handleApiError, setFormError, show } from "./wizard_steps.js";

const form = document.getElementById("wizard");
const $ = (id) => document.getElementById(id);

/** The test's answer no longer holds (the server, port or login changed): it is forgotten. */
export function forgetTest() {
  state.report = null;
  state.prefill = null;
  form.host_key_fingerprint.value = "";
  $("test-report").hidden = true;
  $("confirm-box").hidden = true;
  $("fingerprint-confirmed").hidden = true;
  $("test-advice").hidden = true;
  hideKeyChange();
}

export function renderReport() {
  const report = state.report;
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

/** The buttons of step 2: test the connection, confirm the host key. */
export function initConnectionTest() {
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
      state.report = await apiJson("/api/setup/test-connection", { method: "POST", body: payload });
      renderReport();
    } catch (err) {
      handleApiError(err, $("test-error"), "error.test_failed");
      if (isKeyChange(err)) showKeyChange(err);
    } finally {
      button.disabled = false;
      clearInterval(ticker);
      $("test-running").hidden = true;
    }
    // The disabled button dropped focus to <body>: it goes to what the test found, read out from there
    // (unless the person has moved on meanwhile).
    const result = [$("test-report"), $("test-error"), $("key-change"), formError].find((el) => !el.hidden);
    const dropped = document.activeElement === document.body || document.activeElement === button;
    if (result && dropped) {
      result.tabIndex = -1;
      result.focus();
    }
  });

  initKeyChange();

  $("confirm-fingerprint").addEventListener("click", () => {
    if (!state.report) return;
    form.host_key_fingerprint.value = state.report.host_key_fingerprint;
    setFormError(null);
    renderReport();
  });
}
