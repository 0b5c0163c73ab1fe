// The admin user's generated private key, offered once at the end of a run (result.admin_key): a button
// fetches it, hands it to the browser as a file and forgets it. The service deletes it on that download,
// so the button says so before, and is gone after.

import { authFetch, toApiError } from "./api.js";
import { showMessage } from "./chrome.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let offered = null; // {username, expires_at, url} of the run on the page
let state = "idle"; // idle | downloading | done | gone

/** Show (or hide) the download box for a finished run's result. */
export function showAdminKey(result) {
  offered = (result && result.admin_key) || null;
  state = "idle";
  render();
}

function render() {
  const box = $("admin-key");
  if (!box) return;
  box.hidden = !offered;
  if (!offered) return;
  $("admin-key-warning").textContent = t("run.admin_key_warning", { user: offered.username });
  const kept = offered.vault_key; // admin.keep_in_vault: also in the key vault, so the download may be lost
  showMessage($("admin-key-kept"), kept ? t("run.admin_key_kept", { name: kept.name }) : "");
  const button = $("admin-key-download");
  button.textContent = t("run.admin_key_download");
  button.hidden = state === "done" || state === "gone";
  button.disabled = state === "downloading";
  if (state === "done") showMessage($("admin-key-status"), t("run.admin_key_done"));
}

async function download() {
  if (!offered || state !== "idle") return;
  state = "downloading";
  render();
  const status = $("admin-key-status");
  const response = await authFetch(offered.url, { headers: { Accept: "application/x-pem-file" } });
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    state = response.status === 410 ? "gone" : "idle";
    render();
    showMessage(status, toApiError(response.status, data).message);
    return;
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `id_ed25519_${offered.username}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
  state = "done";
  render();
}

$("admin-key-download")?.addEventListener("click", () => {
  download().catch((err) => {
    state = "idle";
    render();
    showMessage($("admin-key-status"), String(err.message || err));
  });
});
document.addEventListener("langchange", render);
