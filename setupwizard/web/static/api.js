// Talking to the JSON API. The login response's bearer token is kept in sessionStorage (gone when
// the tab closes) and sent as "Authorization: Bearer"; the HttpOnly cookie set by the server covers
// the WebSocket, which cannot carry a header. A 401 anywhere sends the person back to /login.

import { t } from "./i18n.js";

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
  constructor(status, message, fields = {}, detail = "") {
    super(message);
    this.status = status;
    this.fields = fields; // {fieldName: message}
    this.detail = detail;
  }
}

export function redirectToLogin(reason = "expired") {
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
    redirectToLogin("expired");
    throw new ApiError(401, t("login.expired"));
  }
  return response;
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

function detailText(detail) {
  if (detail == null) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map(detailText).join("; ");
  if (typeof detail === "object") return detail.message || detail.msg || JSON.stringify(detail);
  return String(detail);
}

/** Field errors from FastAPI's 422 list (loc/msg) or from {field, message} shapes. */
export function fieldErrors(data) {
  const fields = {};
  const add = (name, msg) => {
    if (name && !(name in fields)) fields[name] = msg;
  };
  const detail = data && (data.detail ?? data.errors ?? data);
  const items = Array.isArray(detail) ? detail : detail && typeof detail === "object" ? [detail] : [];
  for (const item of items) {
    if (!item || typeof item !== "object") continue;
    const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body" && typeof p === "string") : [];
    const name = item.field || loc[0];
    const msg = item.message || item.msg || "";
    if (name) add(name, item.type === "missing" ? t("error.field_required") : t("error.field_invalid", { detail: msg }));
  }
  if (data && data.fields && typeof data.fields === "object") {
    for (const [name, msg] of Object.entries(data.fields)) add(name, t("error.field_invalid", { detail: detailText(msg) }));
  }
  return fields;
}

export function toApiError(status, data) {
  const detail = detailText(data && (data.detail ?? data.message ?? data.error));
  if (status === 422 || status === 400) {
    const fields = fieldErrors(data);
    return new ApiError(status, t("error.field_invalid", { detail }), fields, detail);
  }
  if (status === 409) return new ApiError(status, t("error.conflict"), {}, detail);
  if (status === 403) return new ApiError(status, t("error.forbidden"), {}, detail);
  if (status === 404) return new ApiError(status, t("error.not_found"), {}, detail);
  if (status === 401) return new ApiError(status, t("login.expired"), {}, detail);
  return new ApiError(status, t("error.server", { status, detail }), {}, detail);
}
