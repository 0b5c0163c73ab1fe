// Message codes: engine events may carry `code` and `params` beside the Chinese `message` that the
// seed contract needs. The page renders the code from the catalogue (/messages.json: the engine's
// provisioning/messages.py plus the page's static/codes.json) in the chosen language, with the
// engine's rules: `{name}` is params[name]; a parameter {code, params} is rendered first; a list is
// joined with 、 (zh) or ", "; an unknown code shows its `text` parameter, else the event's message.

import { getLang } from "./i18n.js";

let catalogue = { zh: {}, en: {} };
export const ready = fetch("/messages.json")
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
  return stepId ? lookup(`step_name.${stepId}`, lang) ?? null : null;
}

function renderValue(value, lang) {
  if (value && typeof value === "object" && !Array.isArray(value) && "code" in value) {
    return renderCode(value.code, value.params, null, lang);
  }
  if (Array.isArray(value)) {
    const parts = value.map((item) => renderValue(item, lang));
    return parts.includes(null) ? null : parts.join(lang === "zh" ? "、" : ", ");
  }
  return value == null ? null : String(value);
}

/** `code` with `params` in the page's language, or `fallback` when it cannot be rendered. */
export function renderCode(code, params, fallback, lang = getLang()) {
  if (!code) return fallback;
  const values = { ...(params || {}) };
  const template = lookup(code, lang);
  if (template == null) return values.text != null ? String(values.text) : fallback;
  if (values.step_id && values.step == null) values.step = stepName(values.step_id, lang) ?? values.step_id;
  if (typeof values.status === "string") values.status_text = lookup(`status.${values.status}`, lang) ?? values.status;
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (_, name) => {
    const rendered = renderValue(values[name], lang);
    if (rendered == null) {
      missing = true;
      return "";
    }
    return rendered;
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
