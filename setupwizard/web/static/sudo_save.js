// Step 3 says what happens to the sudo password: when sudo needs one, the password that works (the one
// typed here, else the SSH password) is saved for this server, encrypted, after the run, unless the
// person unticks "save" (the request then says save_sudo_password: false).

import { t } from "./i18n.js";

function render(form) {
  const box = document.getElementById("sudo-save");
  if (!box) return;
  const field = form.sudo_password.closest("label");
  box.hidden = field.hidden; // only when the test found that sudo asks for a password
  const keep = form.save_sudo_password.checked;
  let key = "options.sudo_save_off";
  if (keep && form.sudo_password.value) key = "options.sudo_save_given";
  else if (keep && form.auth_method.value === "key") key = "options.sudo_save_need";
  else if (keep) key = "options.sudo_save_ssh";
  document.getElementById("sudo-save-note").textContent = t(key);
}

/** Keep the sentence true as the person types or unticks; `renderSudoSave` when step 3 shows. */
export function initSudoSave(form) {
  form.sudo_password.addEventListener("input", () => render(form));
  form.save_sudo_password.addEventListener("change", () => render(form));
  document.addEventListener("langchange", () => render(form));
}

export { render as renderSudoSave };
