// What every page shares: translations applied at load, the language and theme switches, the time
// zone the page's dates are in, who is logged in, and the logout button.

import { apiJson, authFetch, setToken } from "./api.js";
import { timeZoneLabel } from "./dates.js";
import { applyTranslations, getLang, setLang, t } from "./i18n.js";

const THEME_KEY = "setupwizard.theme"; // read by theme.js before the first paint

/** The theme switch names the theme it switches to; a choice is remembered (else the system's is followed). */
function initThemeSwitch() {
  const button = document.getElementById("theme-switch");
  if (!button) return;
  const render = () => {
    const dark = document.documentElement.dataset.theme === "dark";
    const icon = document.createElement("span");
    icon.className = "theme-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = dark ? "☀" : "☾";
    const label = document.createElement("span");
    label.className = "theme-label"; // only the icon shows on a phone; the word stays the button's name
    label.textContent = t(dark ? "theme.light" : "theme.dark");
    button.replaceChildren(icon, label);
    button.title = t(dark ? "theme.to_light" : "theme.to_dark");
  };
  button.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch (e) {
      // storage refused: the switch still works for this page
    }
    document.documentElement.dataset.theme = next;
    render();
  });
  document.addEventListener("themechange", render);
  document.addEventListener("langchange", render);
  render();
}

/** Pages with dates name their time zone once: in the element marked data-time-zone. */
function renderTimeZone() {
  for (const el of document.querySelectorAll("[data-time-zone]")) el.textContent = t("time.zone", { zone: timeZoneLabel() });
}

export function initChrome({ requireLogin = true } = {}) {
  applyTranslations(document);
  initThemeSwitch();
  renderTimeZone();
  document.addEventListener("langchange", renderTimeZone);
  const switcher = document.getElementById("lang-switch");
  if (switcher) switcher.addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try {
        await authFetch("/api/auth/logout", { method: "POST", noLoginRedirect: true });
      } finally {
        setToken(null);
        location.assign("/login");
      }
    });
  }
  if (!requireLogin) return Promise.resolve(null);
  // A 401 here sends the person to /login (see authFetch).
  return apiJson("/api/auth/me").then((me) => {
    const who = document.getElementById("whoami");
    if (who && me) who.textContent = me.username;
    const audit = document.getElementById("nav-audit");
    if (audit && me && me.is_admin) audit.hidden = false;
    return me;
  });
}

/** Show `message` in `el` (or hide it when empty). */
export function showMessage(el, message) {
  if (!el) return;
  el.textContent = message || "";
  el.hidden = !message;
}
