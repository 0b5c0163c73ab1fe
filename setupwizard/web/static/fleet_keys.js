// A new fleet's connection test and host keys: every server tested at once (POST
// /api/fleets/test-connections, which trusts nothing), each key marked new, known or changed; the new
// ones confirmed in one action (each sent back as its target's host_key_fingerprint); a changed key
// leaves that server out, never the fleet. Also the shared login every request sends.

import { apiJson, ApiError } from "./api.js";
import { showMessage } from "./chrome.js";
import { t } from "./i18n.js";
import { renderTargets, targets } from "./fleet_targets.js";

const $ = (id) => document.getElementById(id);

/** The shared login and sudo choices (``defaults``); secrets only when set, never shown anywhere. */
export function readDefaults(form) {
  const defaults = {
    username: form.default_username.value.trim() || "root",
    use_saved_sudo_password: form.use_saved_sudo_password.checked,
    save_sudo_password: form.save_sudo_password.checked,
  };
  if (form.auth_method.value === "key") {
    if (form.private_key.value.trim()) defaults.private_key = form.private_key.value;
    if (form.passphrase.value) defaults.passphrase = form.passphrase.value;
  } else if (form.password.value) {
    defaults.password = form.password.value;
  }
  if (form.sudo_password.value) defaults.sudo_password = form.sudo_password.value;
  return defaults;
}

/** One target as the API takes it; `withKey` adds the fingerprint the person confirmed. */
export function targetBody(target, withKey = false) {
  const body = { host: target.host, port: target.port };
  if (target.username) body.username = target.username;
  if (withKey && target.fingerprint) body.host_key_fingerprint = target.fingerprint;
  return body;
}

const unconfirmed = () => targets.filter((x) => x.scan?.host_key === "new" && !x.fingerprint);

export function renderKeys() {
  const tested = targets.filter((x) => x.scan);
  $("keys-box").hidden = tested.length === 0;
  if (!tested.length) return;
  const count = (kind) => tested.filter((x) => x.scan.host_key === kind).length;
  const failed = tested.filter((x) => !x.scan.ok && x.scan.host_key !== "changed").length;
  $("keys-summary").textContent = t("fleet_new.keys_summary", {
    known: count("known"), new: count("new"), changed: count("changed"), failed,
  });
  const waiting = unconfirmed().length;
  $("trust-new").hidden = waiting === 0;
  $("trust-new").textContent = t("fleet_new.trust_new", { count: waiting });
}

async function testAll(form) {
  showMessage($("test-error"), "");
  if (!targets.length) {
    showMessage($("test-error"), t("fleet_new.need_targets"));
    return;
  }
  $("test-running").hidden = false;
  $("test-all").disabled = true;
  try {
    const body = { targets: targets.map((x) => targetBody(x)), defaults: readDefaults(form) };
    const answers = await apiJson("/api/fleets/test-connections", { method: "POST", body });
    answers.forEach((scan, index) => {
      const target = targets[index];
      if (!target) return;
      // A fingerprint confirmed earlier stays confirmed only if the same key was seen again.
      if (target.fingerprint && target.fingerprint !== scan.host_key_fingerprint) target.fingerprint = null;
      target.scan = scan;
    });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const index = /^targets\.(\d+)\./.exec(err.data?.field || "")?.[1];
    const where = index != null && targets[index] ? `${targets[index].host}: ` : "";
    showMessage($("test-error"), `${where}${err.message}`);
  } finally {
    $("test-running").hidden = true;
    $("test-all").disabled = false;
  }
  renderTargets();
  renderKeys();
  document.dispatchEvent(new CustomEvent("targetschange"));
}

/** "Trust these N keys": every new fingerprint confirmed at once. */
function trustNew() {
  for (const target of unconfirmed()) target.fingerprint = target.scan.host_key_fingerprint;
  renderTargets();
  renderKeys();
  document.dispatchEvent(new CustomEvent("targetschange"));
  $("keys-summary").focus?.();
}

/** A changed target list or login makes the test stale: its results go. */
export function forgetTests() {
  for (const target of targets) {
    target.scan = null;
    target.fingerprint = null;
  }
  renderKeys();
}

export function initKeys(form) {
  $("test-all").addEventListener("click", () => testAll(form).catch((err) => console.warn(err)));
  $("trust-new").addEventListener("click", trustNew);
  document.addEventListener("langchange", renderKeys);
}
