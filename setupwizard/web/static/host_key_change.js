// Step 2's way out of a refused changed host key: the trusted and the new fingerprint, how to check the
// server's key on its own console, and one action, "Trust the new key for this server"
// (POST /api/servers/known-hosts/trust), which keeps the saved sudo data (unlike the servers page's Forget).

import { ApiError, apiJson } from "./api.js";
import { renderCode } from "./codes.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

let change = null; // the 409's params: host, port, recorded, seen, check (the command to run), key_type

/** True for the test's answer "the server's key changed" with both fingerprints (not a pin's mismatch). */
export function isKeyChange(err) {
  const data = err instanceof ApiError ? err.data : null;
  return Boolean(data && data.code === "host_key_changed" && data.message_code === "error.host_key_changed");
}

export function showKeyChange(err) {
  change = err.data.params;
  render();
  $("key-change").hidden = false;
}

/** Hide the panel, and the "trusted" line unless `keepTrusted`. */
export function hideKeyChange({ keepTrusted = false } = {}) {
  change = null;
  $("key-change").hidden = true;
  $("key-change-status").textContent = "";
  if (!keepTrusted) $("key-trusted").hidden = true;
}

function render() {
  if (!change) return;
  $("key-change-old").textContent = change.recorded || "";
  $("key-change-new").textContent = change.seen || "";
  $("key-change-command").textContent = change.check || "";
  $("trust-new-key").disabled = false;
}

async function trust() {
  if (!change) return;
  const { host, port, seen, recorded } = change;
  if (!window.confirm(t("keychange.confirm", { host, port, seen, recorded }))) return;
  const status = $("key-change-status");
  const button = $("trust-new-key");
  button.disabled = true;
  status.className = "muted";
  status.textContent = t("keychange.trusting");
  try {
    await apiJson("/api/servers/known-hosts/trust", { method: "POST", body: { host, port, fingerprint: seen } });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    button.disabled = false;
    status.className = "error";
    // a 409 host_key_mismatch says, in the page's language, which key the server shows now
    const data = err.data || {};
    status.textContent = data.message_code ? renderCode(data.message_code, data.params, err.message) : err.message;
    return;
  }
  // The test again: it now finds the key on record and says so ("known key, matches").
  $("test-connection").click();
  hideKeyChange({ keepTrusted: true });
  const trusted = $("key-trusted");
  trusted.dataset.seen = seen;
  trusted.textContent = t("keychange.trusted", { seen });
  trusted.hidden = false;
}

export function initKeyChange() {
  $("trust-new-key").addEventListener("click", trust);
  document.addEventListener("langchange", () => {
    render();
    const trusted = $("key-trusted");
    if (!trusted.hidden) trusted.textContent = t("keychange.trusted", { seen: trusted.dataset.seen });
  });
}
