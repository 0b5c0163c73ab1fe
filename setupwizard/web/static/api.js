// Talking to the JSON API. The login response's bearer token is kept in sessionStorage (gone when
// the tab closes) and sent as "Authorization: Bearer"; the HttpOnly cookie set by the server covers
// the WebSocket, which cannot carry a header. A 401 anywhere sends the person back to /login.

import { renderCode } from "./codes.js";
import { has, t } from "./i18n.js";

const TOKEN_KEY = "setupwizard.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API answer that was not 2xx, with a message in the page's language and per-field errors. */
export class ApiError extends Error {
  constructor(status, message, fields = {}, detail = "", data = null) {
    super(message);
    this.data = data; // the answer's JSON body (a 409 names the running session_id)
    this.status = status;
    this.fields = fields; // {fieldName: message or {text, detail}}
    this.detail = detail;
  }
}

export function redirectToLogin(reason = null) {
  // Someone who had a token lost it (expired); someone who never logged in is asked to.
  reason = reason || (getToken() ? "expired" : "required");
  setToken(null);
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?reason=${reason}&next=${next}`);
}

export async function authFetch(url, options = {}) {
  const headers = new Headers(options.headers || {});
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (options.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  headers.set("Accept", headers.get("Accept") || "application/json");
  let response;
  try {
    response = await fetch(url, { ...options, headers, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, t("error.network"), {}, String(err));
  }
  if (response.status === 401 && !options.noLoginRedirect) {
    redirectToLogin();
    throw new ApiError(401, t("login.expired"));
  }
  return response;
}

/** What a call wrapped by newestOnly resolves to when a newer call started before it answered. */
export const STALE = Symbol("stale");

/**
 * `fn`, where only the newest call's answer counts: a call still waiting when a newer one starts resolves
 * to STALE. A list reloaded on every filter change must not show a slow answer to an earlier filter
 * after the answer to the newer one.
 */
export function newestOnly(fn) {
  let newest = 0;
  return async (...args) => {
    const mine = ++newest;
    const value = await fn(...args);
    return mine === newest ? value : STALE;
  };
}

/** authFetch + JSON both ways; throws ApiError for any non-2xx answer. */
export async function apiJson(url, { method = "GET", body, signal, noLoginRedirect } = {}) {
  const response = await authFetch(url, {
    method,
    signal,
    noLoginRedirect,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw toApiError(response.status, data);
  return data;
}

// A refused value's reason in the page's language: a 422 of the engine's input checks carries the
// catalogue's message_code/params beside its Chinese detail.
function reasonText(data) {
  const detail = detailText(data && (data.detail ?? data.message ?? data.error));
  return data && data.message_code ? renderCode(data.message_code, data.params, detail) : detail;
}

function detailText(detail) {
  if (detail == null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map(detailText).join("; ");
  if (typeof detail === "object") return detail.message || detail.msg || JSON.stringify(detail);
  return String(detail);
}

// The service answers errors as {"detail", "code", "field"}; a known code gets our own sentence in the
// page's language, the service's English detail is kept as the explanation.
const CODE_KEYS = {
  auth_failed: "error.code.auth_failed",
  host_unreachable: "error.code.host_unreachable",
  connection_refused: "error.code.connection_refused",
  connect_failed: "error.code.connect_failed",
  timeout: "error.code.timeout",
  host_key_changed: "error.code.host_key_changed",
  unsupported_os: "error.code.unsupported_os",
  sudo_refused: "error.code.sudo_refused",
  lockout_prevented: "error.code.lockout_prevented",
  unreachable: "error.code.unreachable",
  target_denied: "error.code.target_denied",
  too_many_attempts: "error.code.too_many_attempts",
};

function stripFieldPrefix(detail, field) {
  return field && detail.startsWith(`${field}: `) ? detail.slice(field.length + 2) : detail;
}

// A field error in the page's language: our sentence for that field; the service's own wording
// stays available as `detail` (shown as the note's tooltip).
function fieldMessage(field, detail, type) {
  if (type === "missing" || /field required/i.test(detail)) return { text: t("error.field_required"), detail };
  if (has(`error.invalid.${field}`)) return { text: t(`error.invalid.${field}`), detail };
  return { text: t("error.field_invalid", { detail }), detail };
}

/** Field errors: {"field": name} (this service), FastAPI's loc/msg list, or a {fields: {...}} map. */
export function fieldErrors(data) {
  const fields = {};
  if (!data || typeof data !== "object") return fields;
  const add = (name, msg) => {
    const key = String(name).split(".")[0];
    if (key && !(key in fields)) fields[key] = msg;
  };
  if (typeof data.field === "string" && data.field) {
    // a nested option ("admin.sudo_password") keeps its whole name: the form has an input of that name
    const nested = /^(admin|ssh_hardening)\.[a-z_]+$/.test(data.field);
    const name = nested ? data.field : data.field.split(".")[0];
    const msg = fieldMessage(name, stripFieldPrefix(reasonText(data), data.field));
    if (nested) fields[name] = msg;
    else add(name, msg);
  }
  if (Array.isArray(data.detail)) {
    for (const item of data.detail) {
      if (!item || typeof item !== "object") continue;
      const loc = Array.isArray(item.loc) ? item.loc.filter((p) => !["body", "query", "path"].includes(p)) : [];
      const name = item.field || loc[0];
      if (name) add(name, fieldMessage(name, item.message || item.msg || "", item.type));
    }
  }
  if (data.fields && typeof data.fields === "object") {
    for (const [name, msg] of Object.entries(data.fields)) add(name, fieldMessage(name, detailText(msg)));
  }
  return fields;
}

export function toApiError(status, data) {
  const error = buildApiError(status, data);
  error.data = data && typeof data === "object" ? data : null;
  return error;
}

function buildApiError(status, data) {
  const detail = reasonText(data);
  const code = data && data.code;
  if (status === 422 || status === 400) {
    const fields = fieldErrors(data);
    if (CODE_KEYS[code] && !Object.keys(fields).length) return new ApiError(status, t(CODE_KEYS[code]), {}, detail);
    return new ApiError(status, t("error.field_invalid", { detail }), fields, detail);
  }
  if (CODE_KEYS[code]) return new ApiError(status, t(CODE_KEYS[code]), {}, detail);
  if (status === 409) return new ApiError(status, t("error.conflict"), {}, detail);
  if (status === 403) return new ApiError(status, t("error.forbidden"), {}, detail);
  if (status === 404) return new ApiError(status, t("error.not_found"), {}, detail);
  if (status === 401) return new ApiError(status, t("login.expired"), {}, detail);
  return new ApiError(status, t("error.server", { status, detail }), {}, detail);
}
