// The run panel's header: the step bar (a progressbar), which step the run is on or failed at, the
// elapsed time by the server's clock, the result banner, and — when SSH hardening changed how to log
// in — the login notice under it, all in the page's language.

import { eventText, renderCode } from "./codes.js";
import { formatDuration, getLang, t } from "./i18n.js";

const CJK = /[\u3000-\u9fff\uff00-\uffef]/;
const $ = (id) => document.getElementById(id);

function toMillis(timestamp) {
  if (!timestamp) return NaN;
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(timestamp) ? timestamp : `${timestamp}Z`);
}

/** The server's sentence for a result, in the page's language; null when only Chinese is known. */
export function resultText(result) {
  const text = renderCode(result.code || result.message_code, result.params, result.message || "");
  return getLang() !== "zh" && CJK.test(text) ? null : text;
}

export class RunProgress {
  /** `host`: a function giving the server's address (for the login notice when no live lines came). */
  constructor({ host = () => "" } = {}) {
    this.host = host;
    this.reset();
  }

  reset() {
    this.startedAt = Date.now(); // the local clock, until the first event brings the server's
    this.clock = null; // {first, last, receivedAt}: server times (ms) of the first and last event
    this.step = null; // {n, total, event, doneCount}
    this.failed = null; // the step frame of the step that failed
    this.result = null;
    this.loginChange = null; // the SSH hardening step's own sentence ({code, params}), from its end line
    this.render();
  }

  /** Take what a frame says about steps and time. */
  noteFrame(frame) {
    const ms = toMillis(frame.timestamp);
    if (!Number.isNaN(ms)) {
      if (!this.clock) this.clock = { first: ms, last: ms, receivedAt: Date.now() };
      this.clock.last = Math.max(this.clock.last, ms);
      this.clock.receivedAt = Date.now();
    }
    if (frame.type === "step" && frame.step_index != null && frame.step_total) {
      const n = frame.step_index;
      const status = frame.data && frame.data.status;
      const finished = status && status !== "running" && status !== "pending";
      if (status === "failed") this.failed = frame;
      if (frame.step_id === "ssh_hardening" && status === "succeeded" && frame.data.changed) {
        const outcome = frame.params && frame.params.outcome;
        if (outcome && outcome.code) this.loginChange = outcome;
      }
      this.step = { n, total: frame.step_total, event: frame, doneCount: finished ? n : n - 1 };
      this.render();
    }
    if (frame.type === "complete" && this.step) {
      this.step.doneCount = this.step.total;
      this.render();
    }
  }

  /** The run ended with `result` (the complete frame's data or the POST's answer). */
  finish(result) {
    this.result = result;
    const steps = (result && result.steps) || [];
    if (!this.failed) {
      const i = steps.findIndex((s) => s.status === "failed");
      if (i >= 0) this.failed = { type: "step", step_index: i + 1, step_id: steps[i].id, message: steps[i].name };
    }
    if (!this.step && steps.length) {
      // No live step frames (the HTTP fallback): the result's step list tells how far it got.
      const finished = steps.filter((s) => !["pending", "running", "skipped"].includes(s.status));
      const last = finished[finished.length - 1] || steps[0];
      this.step = { n: finished.length || 1, total: steps.length, message: last.name, doneCount: finished.length };
    }
    if (result && result.status === "succeeded" && this.step) this.step.doneCount = this.step.total;
    this.render();
  }

  elapsedSeconds() {
    if (this.clock) {
      // The server's own timestamps: what History says, however far the page trails.
      const { first, last, receivedAt } = this.clock;
      return ((this.result ? last : last + (Date.now() - receivedAt)) - first) / 1000;
    }
    return (Date.now() - this.startedAt) / 1000;
  }

  render() {
    const stepText = $("progress-step");
    const message = $("progress-message");
    let percent = 0;
    if (!this.step) {
      stepText.textContent = t("run.step_waiting");
      message.textContent = "";
    } else {
      const n = this.failed ? this.failed.step_index : this.step.n;
      stepText.textContent = t(this.failed ? "run.step_failed" : "run.step", { n, total: this.step.total });
      const shown = this.failed || this.step.event;
      message.textContent = shown ? eventText(shown) : this.step.message || "";
      percent = Math.round((100 * this.step.doneCount) / Math.max(1, this.step.total));
    }
    $("progress-fill").style.width = `${percent}%`;
    const bar = $("progress-bar");
    bar.setAttribute("aria-valuenow", String(percent));
    bar.setAttribute("aria-valuetext", `${stepText.textContent} ${message.textContent}`.trim());
    $("progress-elapsed").textContent = t("run.elapsed", { time: formatDuration(this.elapsedSeconds()) });
    this.renderBanner();
    this.renderLoginNotice();
  }

  renderBanner() {
    const banner = $("banner");
    const result = this.result;
    if (!result) {
      banner.hidden = true;
      return;
    }
    const status = result.status; // the one field (``success`` is the seed's yes/no of it)
    const key = {
      succeeded: "run.success",
      cancelled: "run.cancelled",
      interrupted: "run.interrupted",
      log_incomplete: "run.log_incomplete",
      skipped: "run.skipped",
    }[status] || "run.failed";
    const tone = status === "succeeded" ? "success" : status === "failed" ? "error" : "warning";
    banner.className = `banner banner-${tone}`;
    banner.textContent = "";
    const head = document.createElement("strong");
    head.textContent = t(key);
    banner.append(head);
    const headText = t(key).replace(/^[✓⚠✗]\s*/, "");
    const text = resultText(result);
    if (text && text !== headText && !headText.startsWith(text)) banner.append(document.createTextNode(` — ${text}`));
    if (result.sudo_user) {
      const extra = document.createElement("div");
      const mode = t(`test.sudo.${result.sudo_mode || "none"}`);
      extra.textContent = t("run.sudo_user", { user: result.sudo_user, mode });
      banner.append(extra);
    }
    banner.hidden = false;
  }

  renderLoginNotice() {
    const notice = $("login-notice");
    if (!notice) return;
    const text = this.result ? loginNoticeText(this.result, this.loginChange, this.host()) : null;
    $("login-notice-text").textContent = text || "";
    notice.hidden = !text;
  }
}

/**
 * What SSH hardening changed, once the run has ended: 「root 登录已关闭，请使用 deploy@host:2222 和密钥登录」.
 * Shown whenever the step succeeded with a change, even when a later step failed (the login changed
 * all the same). The sentence is the step's own (its end line's code); without live lines (the HTTP
 * fallback) it is the step's message in Chinese, or said from the result's login_after in English.
 */
export function loginNoticeText(result, loginChange, host) {
  const steps = (result && result.steps) || [];
  const step = steps.find((s) => s.id === "ssh_hardening");
  if (!step || step.status !== "succeeded" || !step.changed) return null;
  const said = loginChange ? renderCode(loginChange.code, loginChange.params, null) : null;
  if (said) return said;
  if (getLang() === "zh" && step.message) return step.message; // the engine's Chinese sentence
  const after = result.login_after;
  if (!after) return null;
  return t("run.login_changed_fallback", {
    where: `${after.username}@${host || "?"}:${after.port}`,
    how: t(after.auth === "key" ? "run.login_changed_key" : "run.login_changed_password"),
  });
}

