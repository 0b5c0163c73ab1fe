// Reading the wizard's form into the API payload, and showing field errors next to their fields.

import { t } from "./i18n.js";
import { readSteps } from "./step_choice.js";

const STEP_OF_FIELD = {
  host: 1, port: 1, username: 1, password: 1, private_key: 1, passphrase: 1, key_id: 1,
  host_key_fingerprint: 2,
  packages: 3, firewall_ports: 3, upgrade: 3, script: 3, sudo_password: 3,
  apt_update: 3, firewall: 3, fail2ban: 3, auto_updates: 3, hostname: 3, timezone: 3, admin: 3,
  ssh_hardening: 3,
};

export function stepOfField(name) {
  // "admin.username", "firewall_ports.0": the step of the top-level field
  return STEP_OF_FIELD[name] ?? STEP_OF_FIELD[name.split(".")[0]] ?? 1;
}

/** The JSON body for /api/setup/auto-setup (or test-connection) from the form's named fields. */
export function readPayload(form, { forTest = false } = {}) {
  const payload = {
    host: form.host.value.trim(),
    port: Number(form.port.value) || 22,
    username: form.username.value.trim(),
  };
  if (form.auth_method.value === "key" && form.key_id?.value) {
    payload.key_id = Number(form.key_id.value); // a key saved in the vault (saved_keys.js)
  } else if (form.auth_method.value === "key") {
    payload.private_key = form.private_key.value;
    if (form.passphrase.value) payload.passphrase = form.passphrase.value;
  } else {
    payload.password = form.password.value;
  }
  // An empty sudo password is left out: the service then uses the saved one (or the SSH password).
  if (form.sudo_password.value) payload.sudo_password = form.sudo_password.value;
  if (form.host_key_fingerprint.value) payload.host_key_fingerprint = form.host_key_fingerprint.value;
  if (forTest) return payload;
  // "Save this sudo password" unticked on step 3: the service keeps none (sudo_save.js).
  if (form.save_sudo_password && !form.save_sudo_password.checked) payload.save_sudo_password = false;
  return Object.assign(payload, readSteps(form, { secrets: true }));
}

/** Checks the browser can make before asking the service: {field: message}. */
export function validateServer(form) {
  const errors = {};
  if (!form.host.value.trim()) errors.host = t("error.field_required");
  const port = Number(form.port.value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) errors.port = t("error.port");
  if (!form.username.value.trim()) errors.username = t("error.field_required");
  if (form.auth_method.value === "key") {
    if (!form.key_id?.value && !form.private_key.value.trim()) errors.private_key = t("error.need_secret");
  } else if (!form.password.value) {
    errors.password = t("error.need_secret");
  }
  return errors;
}

function fieldElement(form, name) {
  // "firewall_ports.0" is the firewall_ports input; "admin.username" is its own input
  const el = form.elements.namedItem(name) || form.elements.namedItem(name.replace(/\.\d+$/, ""));
  if (!el) return null;
  return el instanceof RadioNodeList ? el[0] : el;
}

export function showFieldErrors(form, errors) {
  for (const [name, message] of Object.entries(errors)) {
    const el = fieldElement(form, name);
    if (!el) {
      const general = document.getElementById("form-error");
      general.textContent = `${name}: ${typeof message === "string" ? message : message.text}`;
      general.hidden = false;
      continue;
    }
    clearFieldErrors(form, name);
    el.setAttribute("aria-invalid", "true");
    const note = document.createElement("p");
    note.className = "field-error";
    note.dataset.fieldError = name;
    note.setAttribute("role", "alert");
    note.textContent = typeof message === "string" ? message : message.text;
    if (typeof message !== "string" && message.detail) note.title = message.detail;
    (el.closest("label") || el).after(note);
  }
}

export function clearFieldErrors(form, name = null) {
  const selector = name ? `[data-field-error="${CSS.escape(name)}"]` : "[data-field-error]";
  for (const note of form.querySelectorAll(selector)) note.remove();
  const targets = name ? [fieldElement(form, name)] : Array.from(form.elements);
  for (const el of targets) if (el && el.removeAttribute) el.removeAttribute("aria-invalid");
}
