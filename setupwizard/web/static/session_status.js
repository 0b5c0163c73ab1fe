// A session's status ("running", "succeeded", "failed"…) in the page's language, for History and
// the servers page.

import { t } from "./i18n.js";

/** The status's word from the i18n table (`status.<status>`), else the status as the server sent it. */
export function statusText(status) {
  const key = `status.${status}`;
  const text = t(key);
  return text === key ? status : text;
}
