// The tokens page: one's personal access tokens (GET/POST/DELETE /api/tokens). A new token is shown
// once, here, and never again (the service keeps only its hash).

import { apiJson } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDateTime } from "./dates.js";
import { t } from "./i18n.js";
import { cell } from "./table_cell.js";

const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#tokens tbody");
let tokens = [];

function expired(token) {
  return new Date(token.expires_at).getTime() <= Date.now();
}

function render() {
  tbody.textContent = "";
  $("tokens-empty").hidden = tokens.length > 0;
  for (const token of tokens) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(token.id);
    tr.dataset.name = token.name;
    const lastUsed = token.last_used_at
      ? t("tokens.used_from", { at: formatDateTime(token.last_used_at), address: token.last_used_address })
      : t("tokens.never_used");
    const expires = expired(token) ? t("tokens.expired") : formatDateTime(token.expires_at);
    tr.append(
      cell(`${token.name} (…${token.hint})`, "name", "tokens.name"),
      cell(t(`tokens.scope_${token.scope}`), "scope", "tokens.scope"),
      cell(formatDateTime(token.created_at), "created", "tokens.created"),
      cell(expires, expired(token) ? "expires status status-failed" : "expires", "tokens.expires_at"),
      cell(lastUsed, "last-used", "tokens.last_used"),
    );
    const actions = cell("", "actions", "tokens.actions");
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "danger revoke";
    revoke.textContent = t("tokens.revoke");
    revoke.addEventListener("click", () => revokeToken(token));
    actions.append(revoke);
    tr.append(actions);
    tbody.append(tr);
  }
}

async function load() {
  try {
    tokens = await apiJson("/api/tokens");
    showMessage($("tokens-error"), "");
    render();
  } catch (error) {
    showMessage($("tokens-error"), error.message);
  }
}

async function createToken(event) {
  event.preventDefault();
  const name = $("token-name").value.trim();
  const days = Number($("token-days").value);
  if (!name) return showMessage($("tokens-error"), t("tokens.name_required"));
  if (!Number.isInteger(days) || days < 1 || days > 366) return showMessage($("tokens-error"), t("tokens.days_range"));
  try {
    const created = await apiJson("/api/tokens", {
      method: "POST",
      body: { name, scope: $("token-scope").value, expires_in_days: days },
    });
    $("token-value").textContent = created.token;
    $("token-created").hidden = false;
    $("token-form").reset();
    showMessage($("tokens-error"), "");
    await load();
  } catch (error) {
    showMessage($("tokens-error"), error.message);
  }
}

async function revokeToken(token) {
  if (!confirm(t("tokens.confirm_revoke", { name: token.name }))) return;
  try {
    await apiJson(`/api/tokens/${token.id}`, { method: "DELETE" });
    await load();
  } catch (error) {
    showMessage($("tokens-error"), error.message);
  }
}

document.addEventListener("langchange", render);
$("token-form").addEventListener("submit", createToken);
$("token-copy").addEventListener("click", () => navigator.clipboard?.writeText($("token-value").textContent));
$("token-done").addEventListener("click", () => {
  $("token-value").textContent = ""; // gone from the page once the person has it
  $("token-created").hidden = true;
});

initChrome()
  .then(load)
  .catch((err) => console.warn(err));
