// What every page shares: translations applied at load, the language switch, who is logged in,
// and the logout button.

import { apiJson, authFetch, setToken } from "./api.js";
import { applyTranslations, getLang, setLang } from "./i18n.js";

export function initChrome({ requireLogin = true } = {}) {
  applyTranslations(document);
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
