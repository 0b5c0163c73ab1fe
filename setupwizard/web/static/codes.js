// Message codes: engine events may carry `code` and `params` beside the Chinese `message` that the
// seed contract needs. The page renders the code from the catalogue (codes.json) in the chosen
// language and falls back to `message` when the code (or a parameter it needs) is unknown.

import { getLang } from "./i18n.js";

let catalogue = { zh: {}, en: {} };
export const ready = fetch("/static/codes.json")
  .then((r) => (r.ok ? r.json() : null))
  .then((data) => {
    if (data) catalogue = data;
    document.dispatchEvent(new CustomEvent("codesready"));
  })
  .catch(() => {});

/** Use `data` as the catalogue (tests, or a page that got it some other way). */
export function setCatalogue(data) {
  catalogue = data;
}

function lookup(key, lang) {
  return (catalogue[lang] && catalogue[lang][key]) ?? (catalogue.zh && catalogue.zh[key]);
}

/** The name of a step id (e.g. "apt_update") in `lang`, or null. */
export function stepName(stepId, lang = getLang()) {
  return stepId ? lookup(`step.${stepId}`, lang) ?? null : null;
}

/** `code` with `params` in the page's language, or `fallback` when it cannot be rendered. */
export function renderCode(code, params, fallback, lang = getLang()) {
  if (!code) return fallback;
  const template = lookup(code, lang);
  if (template == null) return fallback;
  const values = { ...(params || {}) };
  if (values.step_id && values.step == null) values.step = stepName(values.step_id, lang) ?? values.step_id;
  if (values.status != null) values.status_text = lookup(`status.${values.status}`, lang) ?? values.status;
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (_, name) => {
    if (values[name] == null) {
      missing = true;
      return "";
    }
    return String(values[name]);
  });
  return missing ? fallback : text;
}

/**
 * What a line says in the page's language. A step line without a code still gets its step's name in
 * English ("[2/7] Check sudo …"), so the engine's Chinese step names never show in an English page.
 */
export function eventText(event, lang = getLang()) {
  const coded = renderCode(event.code, event.params, null, lang);
  if (coded != null) return coded;
  if (event.type === "step" && lang !== "zh" && event.step_id && event.step_index && event.step_total) {
    const name = stepName(event.step_id, lang);
    const status = event.data && event.data.status;
    const tpl = lookup(`step.line.${status}`, lang);
    if (name && tpl) {
      return tpl
        .replace("{index}", event.step_index)
        .replace("{total}", event.step_total)
        .replace("{step}", name);
    }
  }
  return event.message;
}
