// The login form: POST /api/auth/login; the server sets the HttpOnly cookie and returns the bearer
// token, which we keep in sessionStorage for authFetch.

import { setToken, toApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { t } from "./i18n.js";

initChrome({ requireLogin: false });

const form = document.getElementById("login-form");
const errorEl = document.getElementById("login-error");
const noticeEl = document.getElementById("login-notice");
const params = new URLSearchParams(location.search);
let noticeKey = { expired: "login.expired", required: "login.required" }[params.get("reason")];

function renderNotice() {
  showMessage(noticeEl, noticeKey ? t(noticeKey) : "");
}
renderNotice();
let errorKey = null;
document.addEventListener("langchange", () => {
  renderNotice();
  if (errorKey) showMessage(errorEl, t(errorKey));
});

/** Where to go after login: `next` only when the browser itself resolves it to this origin. */
export function sameOriginPath(next, origin) {
  if (!next || !next.startsWith("/")) return null;
  // Parse it as the browser will when we navigate: `/\evil`, `/%5Cevil` (decoded to a backslash) and
  // `/<tab>/evil` all become `//evil`, another host. A string test cannot know every such spelling.
  let url;
  try {
    url = new URL(next, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  return url.pathname + url.search + url.hash; // what was checked is what is opened
}

function nextUrl() {
  return sameOriginPath(params.get("next"), location.origin) || "/setup";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage(errorEl, "");
  errorKey = null;
  const body = { username: form.username.value.trim(), password: form.password.value };
  let response;
  try {
    response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    errorKey = "error.network";
    showMessage(errorEl, t(errorKey));
    return;
  }
  const data = await response.json().catch(() => null);
  if (response.ok && data && data.access_token) {
    setToken(data.access_token);
    location.assign(nextUrl());
    return;
  }
  if (response.status === 401 || response.status === 422) {
    errorKey = "login.failed";
    showMessage(errorEl, t(errorKey));
  } else {
    showMessage(errorEl, toApiError(response.status, data).message);
  }
  form.password.select();
});
