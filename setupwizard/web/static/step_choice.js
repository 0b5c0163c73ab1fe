// The options step: which steps run (every one but connect and sudo is optional), presets (built-in and
// the person's own, saved per user), and the plan preview: the exact commands, from POST /api/setup/plan,
// with the chosen values (packages, ports, names) and never a secret.

import { apiJson } from "./api.js";
import { ready as codesReady, renderCode, stepName } from "./codes.js";
import { has, t } from "./i18n.js";

const DEFAULT_PACKAGES = "ufw curl ca-certificates unattended-upgrades";

/** Built-in presets: the step fields each sets (anything not named is off or empty). */
export const PRESETS = {
  web: {
    apt_update: true, packages: DEFAULT_PACKAGES.split(" "), firewall: true,
    firewall_ports: ["80/tcp", "443/tcp"], fail2ban: true, auto_updates: true,
  },
  minimal: {
    apt_update: true, packages: [], firewall: true, firewall_ports: [], fail2ban: true, auto_updates: true,
  },
};

const splitList = (text) => text.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean);
const field = (form, name) => form.elements.namedItem(name);

/** The step fields of the payload (auto-setup and the plan preview share them). The admin's sudo password
 * is read only with ``secrets`` (auto-setup): presets never get it, the preview gets a placeholder. */
export function readSteps(form, { secrets = false } = {}) {
  const steps = {
    apt_update: field(form, "apt_update").checked,
    upgrade: field(form, "upgrade").checked,
    packages: splitList(field(form, "packages").value),
    firewall: field(form, "firewall").checked,
    firewall_ports: field(form, "firewall").checked ? splitList(field(form, "firewall_ports").value) : [],
    fail2ban: field(form, "fail2ban").checked,
    auto_updates: field(form, "auto_updates").checked,
  };
  for (const name of ["hostname", "timezone"]) {
    const value = field(form, name).value.trim();
    if (value) steps[name] = value;
  }
  if (field(form, "admin_enabled").checked) {
    steps.admin = {
      username: field(form, "admin.username").value.trim(),
      nopasswd: field(form, "admin.nopasswd").checked,
    };
    const key = field(form, "admin.public_key").value.trim();
    if (field(form, "admin.generate_key").checked) steps.admin.generate_key = true;
    if (steps.admin.generate_key && form.elements.namedItem("admin.keep_in_vault")?.checked) steps.admin.keep_in_vault = true;
    else if (key) steps.admin.public_key = key;
    const sudoPassword = field(form, "admin.sudo_password").value;
    if (sudoPassword && !steps.admin.nopasswd) {
      steps.admin.sudo_password = secrets ? sudoPassword : "<sudo password, sent over stdin>";
    }
  }
  if (field(form, "hardening_enabled").checked) {
    const port = field(form, "ssh_hardening.port").value;
    steps.ssh_hardening = {
      permit_root_login: field(form, "ssh_hardening.permit_root_login").value,
      password_authentication: field(form, "ssh_hardening.password_authentication").checked,
    };
    if (port) steps.ssh_hardening.port = Number(port);
    if (field(form, "ssh_hardening.confirm_login").checked) {
      steps.ssh_hardening.confirm_login = true; // confirm-or-revert (issue 17 A6)
      const within = field(form, "ssh_hardening.confirm_timeout").value;
      if (within) steps.ssh_hardening.confirm_timeout = Number(within);
    }
  }
  const script = field(form, "script").value;
  if (script.trim()) steps.script = script;
  return steps;
}

/** Put a preset's (or saved preset's) step fields into the form. */
export function applySteps(form, steps) {
  const on = (name, value) => { field(form, name).checked = Boolean(value); };
  on("apt_update", steps.apt_update ?? true);
  on("upgrade", steps.upgrade);
  field(form, "packages").value = (steps.packages ?? DEFAULT_PACKAGES.split(" ")).join(" ");
  on("firewall", steps.firewall ?? true);
  field(form, "firewall_ports").value = (steps.firewall_ports || []).join(" ");
  on("fail2ban", steps.fail2ban);
  on("auto_updates", steps.auto_updates);
  field(form, "hostname").value = steps.hostname || "";
  field(form, "timezone").value = steps.timezone || "";
  on("admin_enabled", steps.admin);
  field(form, "admin.username").value = steps.admin?.username || "";
  field(form, "admin.public_key").value = steps.admin?.public_key || "";
  on("admin.nopasswd", steps.admin?.nopasswd);
  on("admin.generate_key", steps.admin?.generate_key);
  field(form, "admin.sudo_password").value = "";
  on("hardening_enabled", steps.ssh_hardening);
  field(form, "ssh_hardening.permit_root_login").value = steps.ssh_hardening?.permit_root_login || "no";
  on("ssh_hardening.password_authentication", steps.ssh_hardening?.password_authentication);
  field(form, "ssh_hardening.port").value = steps.ssh_hardening?.port ?? "";
  on("ssh_hardening.confirm_login", steps.ssh_hardening?.confirm_login);
  field(form, "ssh_hardening.confirm_timeout").value = steps.ssh_hardening?.confirm_timeout ?? 300;
  field(form, "script").value = steps.script || "";
  syncDependents(form);
}

function syncDependents(form) {
  for (const box of form.querySelectorAll("[data-needs]")) box.hidden = !field(form, box.dataset.needs).checked;
  for (const box of form.querySelectorAll("[data-unless]")) box.hidden = field(form, box.dataset.unless).checked;
  syncRootWay(form);
}

/** With root login turned off, the page asks for the admin's way to root: a sudo password or NOPASSWD. */
function syncRootWay(form) {
  const hint = document.getElementById("root-way-hint");
  if (!hint) return;
  const hardening = field(form, "hardening_enabled").checked;
  const admin = field(form, "admin_enabled").checked;
  const wayToRoot = admin && (field(form, "admin.nopasswd").checked || field(form, "admin.sudo_password").value);
  hint.hidden = !hardening || Boolean(wayToRoot);
}

/** The person's saved presets, by option value ("saved:<id>"). */
const saved = new Map();

async function loadSavedPresets(select) {
  let presets = [];
  try {
    presets = await apiJson("/api/servers/presets");
  } catch (err) {
    console.warn("could not load saved presets", err);
    return;
  }
  for (const option of select.querySelectorAll("option[data-saved]")) option.remove();
  saved.clear();
  for (const preset of presets) {
    const option = document.createElement("option");
    option.value = `saved:${preset.id}`;
    option.dataset.saved = "";
    option.textContent = preset.name;
    select.append(option);
    saved.set(option.value, preset.steps);
  }
}

/** Wire the preset picker, the dependent fields and the save button. */
export function initStepChoice(form, { applyPreset } = {}) {
  const select = field(form, "preset");
  const note = document.getElementById("preset-note");
  const choose = (value) => {
    const steps = PRESETS[value] || saved.get(value);
    if (steps) applySteps(form, steps);
  };
  select.addEventListener("change", () => choose(select.value));
  // Changing a step by hand makes the choice one's own.
  document.getElementById("step-choice").addEventListener("change", () => {
    syncDependents(form);
    select.value = "custom";
  });
  field(form, "admin.sudo_password").addEventListener("input", () => syncRootWay(form));
  document.getElementById("save-preset").addEventListener("click", async () => {
    const name = field(form, "preset_name").value.trim();
    if (!name) {
      note.textContent = t("preset.need_name");
      return;
    }
    const steps = readSteps(form);
    try {
      const preset = await apiJson("/api/servers/presets", { method: "POST", body: { name, steps } });
      await loadSavedPresets(select);
      select.value = `saved:${preset.id}`;
      note.textContent = t("preset.saved", { name });
    } catch (err) {
      note.textContent = err.message;
    }
  });
  syncDependents(form);
  const loaded = loadSavedPresets(select);
  if (applyPreset) loaded.then(() => { select.value = applyPreset; choose(applyPreset); });
  return loaded;
}

/**
 * One command as Plan.describe() writes it: "$ run" (continuation lines indented), "# note" (in the page's
 * language, from its catalogued message), uploaded text.
 */
function describeCommand(command, lines) {
  if (command.run) {
    const [first, ...rest] = command.run.split("\n");
    lines.push(`     $ ${first}`, ...rest.map((line) => `       ${line}`));
  }
  const note = renderCode(command.note_code, command.note_params, command.note);
  if (note) lines.push(`${command.run ? "       " : "     "}# ${note}`);
  if (command.text != null) {
    lines.push("       --- begin uploaded text ---");
    for (const line of command.text.replace(/\n$/, "").split("\n")) lines.push(`       | ${line}`);
    lines.push("       --- end uploaded text ---");
  }
}

/** The plan as Plan.describe() writes it, with each step's name in the page's language. */
function describe(steps) {
  const lines = [];
  steps.forEach((step, index) => {
    const policy = has(`plan.policy.${step.policy}`) ? t(`plan.policy.${step.policy}`) : step.policy;
    lines.push(`${index + 1}. ${stepName(step.id) ?? step.name} [${step.id}, ${t("plan.on_failure")}: ${policy}]`);
    for (const command of step.commands) describeCommand(command, lines);
    const check = renderCode(step.check_code, step.check_params, step.check);
    if (check) lines.push(`     ${t("plan.check")}: ${check}`);
  });
  return lines.join("\n");
}

/** The preview's body: auto-setup's, without any secret (the commands name the server and the login). */
function planBody(form) {
  const body = { port: Number(form.elements.namedItem("port").value) || 22, ...readSteps(form) };
  for (const name of ["host", "username"]) {
    const value = form.elements.namedItem(name).value.trim();
    if (value) body[name] = value;
  }
  return body;
}

let asked = 0; // only the answer to the latest request is shown (choices change while one is on its way)
let shown = null; // the plan on show: described again in the page's language on a switch (mid-run too)

function renderShown() {
  if (!shown) return;
  document.getElementById("plan-preview").textContent = describe(shown.steps);
  document.getElementById("plan-status").textContent = t("plan.count", { count: shown.steps.length });
}

/** Ask for the plan of the chosen steps and show its exact commands; throws the ApiError of a bad choice. */
export async function previewPlan(form) {
  const pre = document.getElementById("plan-preview");
  const status = document.getElementById("plan-status");
  const mine = ++asked;
  shown = null;
  pre.textContent = "";
  status.textContent = t("plan.loading");
  try {
    const plan = await apiJson("/api/setup/plan", { method: "POST", body: planBody(form) });
    await codesReady;
    if (mine !== asked) return plan;
    shown = plan;
    renderShown();
    pre.dataset.steps = String(plan.steps.length); // the folded plan's "11 steps" (run_view.js)
    document.dispatchEvent(new CustomEvent("planready"));
    return plan;
  } catch (err) {
    if (mine !== asked) return null; // a later request answers for the current choice
    status.textContent = t("plan.invalid");
    throw err;
  }
}

document.addEventListener("langchange", renderShown);
