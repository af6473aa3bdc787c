// admin. /audit — auth's audit log (zone admins): filters (action, actor, date range, page size)
// kept in the URL, results in a table, keyset paging with "Load more" (next_cursor).
// API: auth GET /api/v1/admin/audit-logs?action&user_id&from&to&limit&cursor.
import { cfg, t, api, el, clone, showError, announce, busy } from "../mc.js";
import { requireAdmin } from "./console-common.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const LIMITS = ["10", "25", "50", "100", "200"];
const form = document.getElementById("audit-filter");
const box = document.getElementById("audit");
const more = document.getElementById("audit-more");
const count = document.getElementById("audit-count");
const alertBox = document.getElementById("console-alert");
const when = new Intl.DateTimeFormat(cfg.lang, { dateStyle: "medium", timeStyle: "medium" });
let query = null; // the API query of the current search (without cursor)
let cursor = null;
let shown = 0;
let body = null;
let gen = 0; // bumped by each new search: a response for an older search is dropped
let loading = false;

// A local calendar day (YYYY-MM-DD) as the instant it starts, plus `days`.
function dayStart(day, days = 0) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

// The form's values as the API's query; throws a translated message on a bad value.
function readFilters(params) {
  const q = {};
  const action = (params.get("action") || "").trim();
  const user = (params.get("user_id") || "").trim();
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  const limit = params.get("limit") || "50";
  if (action) q.action = action;
  if (user) {
    if (!UUID.test(user)) throw new Error(t("badUser"));
    q.user_id = user;
  }
  if (from && DAY.test(from)) q.from = dayStart(from);
  if (to && DAY.test(to)) q.to = dayStart(to, 1);
  if (from && to && DAY.test(from) && DAY.test(to) && from > to) throw new Error(t("badRange"));
  q.limit = LIMITS.includes(limit) ? limit : "50";
  return q;
}

function fillForm(params) {
  for (const name of ["action", "user_id", "from", "to"]) form.elements[name].value = params.get(name) || "";
  const limit = params.get("limit");
  form.elements.limit.value = LIMITS.includes(limit) ? limit : "50";
}

function entryRow(e) {
  const row = clone("tpl-audit-row");
  row.dataset.entryId = String(e.id);
  row.querySelector(".e-time").textContent = when.format(new Date(e.created_at));
  row.querySelector(".e-action").textContent = e.action;
  const only = row.querySelector(".e-only");
  if (e.user_id) {
    row.querySelector(".e-user-id").textContent = e.user_id;
    only.setAttribute("aria-label", t("onlyActor", { id: e.user_id }));
    only.addEventListener("click", () => {
      form.elements.user_id.value = e.user_id;
      form.requestSubmit();
    });
  } else {
    row.querySelector(".e-user-id").textContent = t("none");
    only.remove();
  }
  row.querySelector(".e-org").textContent = e.org_id || t("none");
  row.querySelector(".e-address").textContent = e.address || t("none");
  const details = e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : t("none");
  row.querySelector(".e-details").textContent = details;
  return row;
}

async function loadPage() {
  if (loading && body) return; // "Load more" while a page is on its way
  const mine = gen;
  loading = true;
  busy(box, true);
  more.disabled = true;
  try {
    const page = await api("GET", "/api/v1/admin/audit-logs", { query: cursor ? { ...query, cursor } : query });
    if (mine !== gen) return; // a newer search started meanwhile
    if (!body) {
      box.replaceChildren();
      if (!page.items.length) {
        box.append(el("p", {}, t("noEntries")));
        count.textContent = "";
        more.hidden = true;
        return;
      }
      const table = clone("tpl-audit");
      body = table.querySelector("tbody");
      box.append(table);
    }
    const first = body.children.length;
    for (const e of page.items) body.append(entryRow(e));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = cursor ? t("shownMore", { count: shown }) : t("shown", { count: shown });
    if (first > 0 && body.children[first]) {
      // Keyboard users continue at the first new row after "Load more".
      const cell = body.children[first].querySelector("th");
      cell.tabIndex = -1;
      cell.focus();
    }
  } catch (err) {
    if (mine !== gen) return;
    if (!body) box.replaceChildren();
    if (err && err.status === 403 && err.code === "auth.permission_denied") {
      alertBox.replaceChildren(el("p", { role: "alert" }, t("zoneOnly")));
    } else {
      showError(alertBox, err);
    }
  } finally {
    if (mine === gen) {
      loading = false;
      more.disabled = false;
      busy(box, false);
    }
  }
}

async function search(params) {
  gen += 1;
  loading = false;
  alertBox.replaceChildren();
  try {
    query = readFilters(params);
  } catch (err) {
    alertBox.replaceChildren(el("p", { role: "alert" }, err.message));
    more.disabled = false; // the shown list (and its cursor) stays as it was
    busy(box, false);
    return;
  }
  cursor = null;
  shown = 0;
  body = null;
  await loadPage();
}

async function main() {
  await requireAdmin();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) params.set(name, String(value).trim());
    history.pushState(null, "", `${location.pathname}?${params}`);
    announce("");
    search(params);
  });
  more.addEventListener("click", () => loadPage());
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    fillForm(params);
    search(params);
  });
  const params = new URLSearchParams(location.search);
  fillForm(params);
  await search(params);
}

main().catch((err) => {
  busy(box, false);
  showError(alertBox, err);
});
