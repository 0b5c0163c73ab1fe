// The keys page: one's key vault (GET/POST/DELETE /api/keys). A private key goes in once, pasted or
// read from a file, and never comes back: the list shows its name, type, fingerprint and public half.

import { apiJson } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDateTime } from "./dates.js";
import { t } from "./i18n.js";
import { cell } from "./table_cell.js";

const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#keys tbody");
let keys = [];

function render() {
  tbody.textContent = "";
  $("keys-empty").hidden = keys.length > 0;
  for (const key of keys) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(key.id);
    tr.dataset.name = key.name;
    tr.append(
      cell(key.name, "name", "keys.name"),
      cell(key.key_type, "type", "keys.type"),
      cell(key.fingerprint, "fingerprint key-text", "keys.fingerprint"),
      cell(key.public_key, "public key-text", "keys.public_key"),
      cell(formatDateTime(key.created_at), "created", "keys.created"),
    );
    const actions = cell("", "actions", "keys.actions");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "danger delete";
    remove.textContent = t("keys.delete");
    remove.addEventListener("click", () => deleteKey(key));
    actions.append(remove);
    tr.append(actions);
    tbody.append(tr);
  }
}

async function load() {
  try {
    keys = await apiJson("/api/keys");
    render();
  } catch (error) {
    showMessage($("keys-error"), error.message);
  }
}

async function saveKey(event) {
  event.preventDefault();
  showMessage($("keys-status"), "");
  const name = $("key-name").value.trim();
  const privateKey = $("key-private").value;
  if (!name) return showMessage($("keys-error"), t("keys.name_required"));
  if (!privateKey.trim()) return showMessage($("keys-error"), t("keys.key_required"));
  const body = { name, private_key: privateKey };
  if ($("key-passphrase").value) body.passphrase = $("key-passphrase").value;
  try {
    const saved = await apiJson("/api/keys", { method: "POST", body });
    $("key-form").reset(); // the key leaves the page once it is saved
    $("key-file-note").hidden = true;
    showMessage($("keys-error"), "");
    showMessage($("keys-status"), t("keys.saved", { name: saved.name }));
    await load();
  } catch (error) {
    showMessage($("keys-error"), error.message);
  }
}

async function deleteKey(key) {
  if (!confirm(t("keys.confirm_delete", { name: key.name }))) return;
  try {
    await apiJson(`/api/keys/${key.id}`, { method: "DELETE" });
    showMessage($("keys-status"), "");
    await load();
  } catch (error) {
    showMessage($("keys-error"), error.message);
  }
}

$("key-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    $("key-private").value = await file.text();
    if (!$("key-name").value.trim()) $("key-name").value = file.name;
    $("key-file-note").textContent = t("keys.file_loaded", { name: file.name });
    $("key-file-note").hidden = false;
    showMessage($("keys-error"), "");
  } catch {
    showMessage($("keys-error"), t("keys.file_error"));
  }
  event.target.value = ""; // the key lives in the textarea only
});
document.addEventListener("langchange", render);
$("key-form").addEventListener("submit", saveKey);

initChrome()
  .then(load)
  .catch((err) => console.warn(err));
