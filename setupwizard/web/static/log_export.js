// The log view's copy and download: the session's log.txt when there is one, else the lines in memory.

import { getLang, t } from "./i18n.js";
import { el } from "./log_line.js";

/** The log as the view shows it (codes in the page's language), without the page's own notices. */
export function logText(view) {
  const lines = [];
  for (let i = 0; i < view.store.length; i += 1) {
    const extra = view.store.extras.get(i);
    if (!(extra && extra.notice)) lines.push(view.displayText(i));
  }
  return lines.join("\n") + "\n";
}

/** Copy every line `terminal` holds; its Copy button says "Copied" for a moment. */
export async function copyLog(terminal) {
  const text = terminal.text();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", "offscreen");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  terminal.copyEl.textContent = t("terminal.copied");
  setTimeout(() => (terminal.copyEl.textContent = t("terminal.copy")), 1500);
}

/**
 * The Download link: the session's log.txt in the page's language (with the session cookie), else a file
 * of the lines held.
 */
export function downloadLog(terminal, event) {
  if (terminal.downloadUrl) {
    terminal.downloadEl.href = `${terminal.downloadUrl}?lang=${getLang()}`;
    terminal.downloadEl.setAttribute("download", "");
    return; // the browser follows the link
  }
  event.preventDefault();
  const blob = new Blob([terminal.text()], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = "setup-log.txt";
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
