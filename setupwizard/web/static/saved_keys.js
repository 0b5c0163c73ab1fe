// The wizard's step 1 with "private key" chosen: a select of the keys saved in one's vault
// (/keys page, GET /api/keys). Choosing one sends its key_id instead of a pasted key and hides the
// paste fields; the key itself never reaches the page.

import { apiJson } from "./api.js";

function pasteFields(form) {
  const fields = [form.private_key, form.passphrase, document.getElementById("private-key-file")];
  return fields.map((el) => el.closest("label"));
}

/** Fill the saved-key select (shown only when there are saved keys). */
export async function offerSavedKeys(form) {
  const select = form.elements.namedItem("key_id");
  if (!select) return;
  select.addEventListener("change", () => {
    for (const label of pasteFields(form)) label.hidden = Boolean(select.value);
  });
  let keys = [];
  try {
    keys = await apiJson("/api/keys");
  } catch {
    return; // the vault is optional: pasting a key still works
  }
  for (const key of keys) {
    const option = document.createElement("option");
    option.value = String(key.id);
    option.textContent = `${key.name} (${key.fingerprint})`;
    select.append(option);
  }
  document.getElementById("saved-key-field").hidden = keys.length === 0;
}
