// One setup run, as the seed describes it: a fresh crypto.randomUUID() session id, the WebSocket
// opened first, then the POST with session_id. Frames are shown as they arrive and deduplicated by
// seq; a dropped connection is resumed with ?since=<last seq>; if the live log cannot be had,
// the lines come from the server afterwards (the session's events, else the POST's "logs").
// A log frame may carry several consecutive lines (`message` joined by "\n", `first_seq`..`seq`);
// a frame that overlaps what was already shown is cut to the lines after lastSeq.

import { apiJson, ApiError } from "./api.js";
import { MESSAGES, t } from "./i18n.js";

const CONNECT_TIMEOUT_MS = 5000;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 4000];
const COMPLETE_GRACE_MS = 3000;
const FINAL_CLOSE_CODES = new Set([4400, 4404]);

export function progressUrl(sessionId, since = null) {
  const protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  const base = `${protocol}//${window.location.host}/api/setup/setup-progress/${sessionId}`;
  return since == null ? base : `${base}?since=${since}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The part of `frame` after `lastSeq`, with `lines` (its message split at "\n") and `first_seq`;
 * null when all of it was already shown.
 */
export function newLines(frame, lastSeq) {
  if (frame.seq <= lastSeq) return null;
  const lines = String(frame.message ?? "").split("\n");
  const first = frame.first_seq ?? frame.seq;
  // One event whose message has line breaks of its own (no first_seq, or a count that does not fit).
  if (first > lastSeq || frame.seq - first + 1 !== lines.length) return { ...frame, first_seq: first, lines };
  return { ...frame, first_seq: lastSeq + 1, lines: lines.slice(lastSeq - first + 1) };
}

/**
 * Follows one session's events over the WebSocket, reconnecting with ?since.
 * Callbacks: onFrame(frame) for each new event (seq-ordered, no duplicates), onNotice(text, level).
 *
 * `state` is one of:
 * - "connecting": no connection has opened yet (the first try, or the retries after it timed out);
 * - "open": the first connection that opened is open (the server's own notices are shown);
 * - "reconnecting": an open connection dropped; trying again with ?since;
 * - "reopened": a later connection is open (the server's notices are not shown again);
 * - "complete": the complete frame arrived (live or by backfill); nothing more comes;
 * - "stopped": stop() was called before the complete frame;
 * - "lost": reconnecting gave up, or the server said it cannot help (4400, 4403, 4404).
 * `completeData` is the complete frame's data, once it arrived.
 */
export class ProgressStream {
  constructor(sessionId, { onFrame, onNotice, lastSeq = 0 }) {
    this.sessionId = sessionId;
    this.onFrame = onFrame;
    this.onNotice = onNotice;
    this.lastSeq = lastSeq;
    this.ws = null;
    this.state = "connecting";
    this.completeData = null;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get completed() {
    return this.state === "complete";
  }

  /** Complete or stopped: no more reconnects. */
  get finished() {
    return this.state === "complete" || this.state === "stopped";
  }

  /** Opens the first connection; resolves true once open, false if it could not connect. */
  connect() {
    return this.open(null);
  }

  open(since) {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(ok);
        }
      };
      let ws;
      try {
        ws = new WebSocket(progressUrl(this.sessionId, since));
      } catch (err) {
        console.warn("WebSocket could not be created", err);
        settle(false);
        return;
      }
      this.ws = ws;
      const timer = setTimeout(() => {
        console.warn("WebSocket connect timed out");
        ws.close();
        settle(false);
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        if (this.state === "connecting") this.state = "open";
        else if (this.state === "reconnecting") this.state = "reopened";
        settle(true);
      };
      ws.onmessage = (event) => this.receive(event);
      ws.onerror = (event) => console.warn("WebSocket error", event);
      ws.onclose = (event) => {
        const wasOpen = settled; // opened, or timed out
        settle(false);
        if (wasOpen && this.ws === ws) this.closed(event);
      };
    });
  }

  receive(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.seq == null || frame.seq === 0) {
      // The server's connection notice is not a session event. The page already printed the seed's
      // "connected" line when the socket opened; any other notice is shown once, not per reconnect.
      const seen = [MESSAGES.zh["run.ws_connected"], MESSAGES.en["run.ws_connected"]];
      if (this.state === "open" && frame.message && !seen.includes(frame.message)) {
        this.onNotice(frame.message, frame.level || "info");
      }
      return;
    }
    this.take(frame);
  }

  /** Shows the new part of `frame` (from the socket or a backfill); false when it was all shown. */
  take(frame) {
    const fresh = newLines(frame, this.lastSeq);
    if (!fresh) return false; // already shown (replayed after a reconnect)
    this.lastSeq = frame.seq;
    this.onFrame(fresh);
    if (frame.type === "complete") {
      this.state = "complete";
      this.completeData = fresh.data || null;
      this.resolveDone(true);
    }
    return true;
  }

  async closed(event) {
    if (this.finished) return this.resolveDone(this.completed);
    if (FINAL_CLOSE_CODES.has(event.code)) {
      // 4400 malformed, 4404 no such session: reconnecting cannot help; the HTTP answer will.
      console.warn("WebSocket closed for good", event.code, event.reason);
      this.state = "lost";
      return this.resolveDone(false);
    }
    if (event.code === 4403) {
      this.onNotice(t("run.ws_forbidden"), "error");
      this.state = "lost";
      return this.resolveDone(false);
    }
    console.warn("WebSocket closed before the end", event.code, event.reason);
    // A first connection that timed out before it opened stays "connecting": the first connection
    // to open is the one whose notices are shown.
    if (this.state !== "connecting") this.state = "reconnecting";
    for (let attempt = 1; attempt <= RECONNECT_DELAYS_MS.length; attempt += 1) {
      if (this.finished) return this.resolveDone(this.completed);
      this.onNotice(t("run.ws_reconnecting", { n: attempt }), "warning");
      await sleep(RECONNECT_DELAYS_MS[attempt - 1]);
      if (this.finished) return this.resolveDone(this.completed);
      if (await this.open(this.lastSeq)) {
        this.onNotice(t("run.ws_reconnected", { seq: this.lastSeq }), "success");
        return undefined;
      }
    }
    this.state = "lost";
    return this.resolveDone(false);
  }

  /** Stop following (no more reconnects) and close the socket. */
  stop() {
    if (!this.completed) this.state = "stopped";
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    this.resolveDone(this.completed);
  }

  /** Resolves with true once the complete frame arrived, or false after `ms`. */
  waitComplete(ms) {
    return Promise.race([this.done, sleep(ms).then(() => this.completed)]);
  }

  /** Fetch the events after lastSeq over HTTP (when the live stream could not deliver them). */
  async backfill() {
    const data = await apiJson(`/api/setup/sessions/${this.sessionId}?since=${this.lastSeq}`);
    const events = (data && data.events) || [];
    let added = 0;
    for (const frame of events) {
      if (frame.seq != null && this.take(frame)) added += 1;
    }
    return { data, added };
  }
}

/** A stream of `sessionId` whose frames go to `onFrame` and whose notices go to the terminal. */
function sessionStream(sessionId, { terminal, onFrame }) {
  return new ProgressStream(sessionId, { onFrame, onNotice: (text, level) => terminal.notice(text, level) });
}

/** Runs one setup: WebSocket first, then the POST. Resolves with the final result object. */
export async function runSetup(payload, { terminal, onFrame, onSessionId }) {
  const sessionId = crypto.randomUUID();
  if (onSessionId) onSessionId(sessionId);
  const stream = sessionStream(sessionId, { terminal, onFrame });

  terminal.notice(t("run.ws_connecting"));
  const live = await stream.connect();
  if (live) {
    terminal.notice(t("run.ws_connected"), "success");
  } else {
    stream.stop();
    terminal.notice(t("run.ws_error"), "warning");
  }

  let response = null;
  let postError = null;
  try {
    response = await apiJson("/api/setup/auto-setup", {
      method: "POST",
      body: { ...payload, session_id: sessionId, wait: true },
    });
  } catch (err) {
    postError = err;
  }

  if (postError && !(postError instanceof ApiError && postError.status === 0 && live)) {
    stream.stop();
    throw postError; // 422, 409, 403…: nothing ran (or we cannot know); the page shows it
  }

  if (!live) {
    // The seed's fallback: every line from the HTTP response, at the end.
    terminal.notice(t("run.http_logs"));
    for (const line of (response && response.logs) || []) terminal.append(line);
    return { sessionId, result: response, via: "http" };
  }

  // Live: the complete frame usually arrives before the POST answer. If the socket is still behind
  // (a very chatty run), keep playing it while it makes progress; backfill only when it stalls.
  let seen = -1;
  while (!stream.completed && stream.state !== "lost" && stream.lastSeq !== seen) {
    seen = stream.lastSeq;
    await stream.waitComplete(postError ? 24 * 3600 * 1000 : COMPLETE_GRACE_MS);
  }
  stream.stop();
  if (!stream.completed) {
    try {
      const { added } = await stream.backfill();
      if (added) terminal.notice(t("run.backfilled", { n: added }), "info");
    } catch (err) {
      console.warn("backfill failed, falling back to the POST logs", err);
      if (response && response.logs) {
        terminal.clear();
        terminal.notice(t("run.http_logs"));
        for (const line of response.logs) terminal.append(line);
        return { sessionId, result: response, via: "http" };
      }
    }
  }
  return { sessionId, result: response || stream.completeData, via: "ws" };
}

/**
 * Follows a session that is already running (a reload, or a link to it): every line from the start
 * over the WebSocket (?since=0), then live. Resolves with {result, via} once it is complete.
 */
export async function followSession(sessionId, { terminal, onFrame }) {
  const stream = sessionStream(sessionId, { terminal, onFrame });
  terminal.notice(t("run.reattached"), "info");
  if (await stream.connect()) {
    await stream.done;
  }
  stream.stop();
  if (!stream.completed) {
    const { data } = await stream.backfill();
    if (data && data.status !== "running") return { result: data.result || stream.completeData, via: "http" };
  }
  return { result: stream.completeData, via: "ws" };
}
