// Confirm-or-revert (issue 17 A6): while the SSH hardening waits for the person, show the ssh line to try
// from their own terminal, a countdown to the deadline, and the button that keeps the new settings.
// The run's info frame with data.confirm_login starts it; the hardening step's next frame (or the end)
// hides it.

import { apiJson } from "./api.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export class ConfirmLoginPanel {
  /** @param {() => string | null} sessionId the running session, @param {(err) => void} onError */
  constructor(sessionId, onError) {
    this.sessionId = sessionId;
    this.onError = onError;
    this.deadline = null;
    this.timer = null;
    $("confirm-login-keep").addEventListener("click", () => this.keep());
  }

  noteFrame(frame) {
    const wait = frame.data && frame.data.confirm_login;
    if (wait && typeof wait.command === "string") {
      this.show(wait);
    } else if (this.deadline !== null && (frame.type === "complete" || frame.type === "step")) {
      this.hide();
    }
  }

  show(wait) {
    $("confirm-login-command").textContent = wait.command;
    this.deadline = Date.parse(wait.deadline);
    const button = $("confirm-login-keep");
    button.disabled = false;
    button.textContent = t("confirm_login.keep");
    $("confirm-login").hidden = false;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 1000);
    this.tick();
  }

  tick() {
    const left = Math.max(0, Math.round((this.deadline - Date.now()) / 1000));
    const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    $("confirm-login-countdown").textContent = t("confirm_login.countdown", { left: text });
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
    this.deadline = null;
    $("confirm-login").hidden = true;
  }

  async keep() {
    const id = this.sessionId();
    if (!id) return;
    const button = $("confirm-login-keep");
    button.disabled = true;
    button.textContent = t("confirm_login.keeping");
    try {
      await apiJson(`/api/setup/sessions/${id}/confirm-login`, { method: "POST" });
    } catch (err) {
      button.disabled = false;
      button.textContent = t("confirm_login.keep");
      this.onError(err);
    }
  }
}
