// A new fleet: its servers (fleet_targets.js), the shared login, the connection test and host keys
// (fleet_keys.js), the wizard's own step choice, presets and exact command preview (step_choice.js, the
// same markup through _step_choice.html), parallel and stop-after-failures; start (POST /api/fleets),
// then the fleet's live view.

import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { t } from "./i18n.js";
import { forgetTests, initKeys, readDefaults, renderKeys, targetBody } from "./fleet_keys.js";
import { initTargets, label, runnable, targets } from "./fleet_targets.js";
import { initStepChoice, previewPlan, readSteps } from "./step_choice.js";

const form = document.getElementById("fleet-form");
const $ = (id) => document.getElementById(id);

for (const radio of form.querySelectorAll("input[name=auth_method]")) {
  radio.addEventListener("change", () => {
    for (const box of form.querySelectorAll("[data-auth]")) box.hidden = box.dataset.auth !== form.auth_method.value;
  });
}
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.tagName === "INPUT") event.preventDefault(); // no implicit submit
});

/** The servers the fleet runs, and the ones left out (a changed key, or a new key not confirmed). */
function split() {
  const accept = form.accept_new_host_keys.checked;
  return { run: targets.filter((x) => runnable(x, accept)), out: targets.filter((x) => !runnable(x, accept)) };
}

function renderStart() {
  const { run, out } = split();
  let text = t("fleet_new.will_run", { count: run.length });
  if (out.length) text += ` ${t("fleet_new.left_out", { hosts: out.map(label).join(", ") })}`;
  $("start-summary").textContent = targets.length ? text : "";
  $("start-fleet").disabled = run.length === 0;
}

// The plan of the chosen steps, its commands as the first server gets them (each gets its own address).
let previewTimer = null;
function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => {
    const first = targets[0];
    form.host.value = first ? first.host : "";
    form.port.value = first ? String(first.port) : "22";
    form.username.value = (first && first.username) || form.default_username.value.trim() || "root";
    $("plan-for").textContent = first ? t("fleet_new.plan_for", { host: label(first) }) : "";
    previewPlan(form).catch((err) => {
      if (!(err instanceof ApiError)) throw err;
      $("plan-status").textContent = t("plan.invalid_field", { detail: err.detail || err.message });
    });
  }, 300);
}

function defaultName() {
  const first = targets[0];
  return t("fleet_new.default_name", { host: first ? first.host : "", count: targets.length });
}

/** Which of our fields a refusal names: targets.N.x is the Nth server sent. */
function refusalText(err, sent) {
  const field = err.data?.field || "";
  const match = /^targets\.(\d+)/.exec(field);
  if (match && sent[Number(match[1])]) return t("fleet_new.refused_host", { host: label(sent[Number(match[1])]), detail: err.detail || err.message });
  return err.detail && err.status === 422 ? t("error.field_invalid", { detail: err.detail }) : err.message;
}

async function start() {
  showMessage($("form-error"), "");
  const { run } = split();
  if (!run.length) {
    showMessage($("form-error"), t(targets.length ? "fleet_new.none_runnable" : "fleet_new.need_targets"));
    return;
  }
  const stopAfter = form.stop_after_failures.value.trim();
  const body = {
    name: form.name.value.trim() || defaultName(),
    plan: readSteps(form, { secrets: true }),
    targets: run.map((x) => targetBody(x, true)),
    defaults: readDefaults(form),
    parallel: Number(form.parallel.value) || 10,
    stop_after_failures: stopAfter ? Number(stopAfter) : null,
    accept_new_host_keys: form.accept_new_host_keys.checked,
  };
  $("start-fleet").disabled = true;
  try {
    const started = await apiJson("/api/fleets", { method: "POST", body });
    location.assign(`/fleets/${encodeURIComponent(started.fleet_id)}`);
  } catch (err) {
    $("start-fleet").disabled = false;
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return;
    showMessage($("form-error"), refusalText(err, run));
    $("form-error").scrollIntoView({ block: "center", behavior: "instant" });
  }
}

document.addEventListener("targetschange", () => {
  renderStart();
  schedulePreview();
});
for (const name of ["default_username", "password", "private_key", "passphrase"]) {
  form.elements.namedItem(name).addEventListener("change", () => {
    if (targets.some((x) => x.scan)) {
      forgetTests(); // another login may see other servers: test again
      document.dispatchEvent(new CustomEvent("targetschange"));
    }
  });
}
form.accept_new_host_keys.addEventListener("change", renderStart);
form.default_username.addEventListener("change", schedulePreview);
$("step-choice").addEventListener("change", schedulePreview);
$("preset").addEventListener("change", schedulePreview);
form.script.addEventListener("change", schedulePreview);
$("start-fleet").addEventListener("click", () => start().catch((err) => console.warn(err)));
document.addEventListener("langchange", () => {
  renderStart();
  schedulePreview();
});

initKeys(form);
initChrome()
  .then(() => {
    initStepChoice(form, { applyPreset: new URLSearchParams(location.search).get("preset") || null });
    renderKeys();
    renderStart();
    schedulePreview();
    return initTargets();
  })
  .catch((err) => console.warn(err));
