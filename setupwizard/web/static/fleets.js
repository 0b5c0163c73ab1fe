// The fleets page: the person's fleets, newest first (GET /api/fleets), each with its status and its
// hosts' counts; a fleet's name opens its live view.

import { apiJson, ApiError } from "./api.js";
import { initChrome, showMessage } from "./chrome.js";
import { formatDateTime } from "./dates.js";
import { t } from "./i18n.js";
import { statusText } from "./session_status.js";
import { cell } from "./table_cell.js";

const $ = (id) => document.getElementById(id);
let fleets = [];

function countsText(counts) {
  const parts = [t("fleets.count_total", { total: counts.total || 0 })];
  for (const status of ["succeeded", "failed", "running", "queued", "cancelled", "skipped", "interrupted"]) {
    if (counts[status]) parts.push(`${statusText(status)} ${counts[status]}`);
  }
  return parts.join(" · ");
}

function render() {
  const tbody = document.querySelector("#fleets tbody");
  tbody.textContent = "";
  $("fleets-empty").hidden = fleets.length > 0;
  $("fleets").hidden = fleets.length === 0;
  for (const fleet of fleets) {
    const tr = document.createElement("tr");
    tr.dataset.fleet = fleet.fleet_id;
    const name = cell("", "name", "fleets.name");
    const a = document.createElement("a");
    a.href = `/fleets/${encodeURIComponent(fleet.fleet_id)}`;
    a.textContent = fleet.name;
    name.append(a);
    const status = fleet.status === "done" ? "succeeded" : fleet.status;
    tr.append(
      name,
      cell(t(`fleet.status.${fleet.status}`), `status status-${status}`, "fleets.status"),
      cell(countsText(fleet.counts || {}), "counts", "fleets.hosts"),
      cell(formatDateTime(fleet.created_at), "created", "fleets.created"),
    );
    tbody.append(tr);
  }
}

async function load() {
  try {
    fleets = (await apiJson("/api/fleets?limit=100")) || [];
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status !== 401) showMessage($("fleets-error"), err.message);
    return;
  }
  render();
}

document.addEventListener("langchange", render);
initChrome()
  .then(load)
  .catch((err) => console.warn(err));
