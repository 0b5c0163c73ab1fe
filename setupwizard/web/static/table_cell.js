// A cell of the pages' tables: its text, its class, and the label a phone shows before the value when the
// rows are laid out as cards.

import { t } from "./i18n.js";

/** A <td> holding `text`; `labelKey` names the column on a phone (the card layout). */
export function cell(text, className = "", labelKey = null) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (labelKey) td.dataset.label = t(labelKey); // shown before the value when rows are cards (phone)
  return td;
}
