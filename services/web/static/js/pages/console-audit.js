// admin. /audit — the platform audit (every service's records and auth's own log): filters
// (service, action prefix, actor, target, org, dates, page size) kept in the URL, results in a
// table with each record's before/after in a <details>, keyset paging with "Load more".
// Zone admins read the zone (any org); an org admin is fixed to their own org (the API's RLS
// decides the rows; asking for another org is 403 audit.org_forbidden, explained here).
// APIs: auth GET /api/v1/audit?service&action&actor_id&target_type&target_id&org_id&from&to&limit&cursor;
// tenant GET /api/v1/orgs (organisation names).
import { cfg, t, api, el, clone, showError, announce, busy } from "../mc.js";
import { requireAdmin, listOrgs, ZONE_ROLES } from "./console-common.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ACTION = /^[a-z0-9_.]{1,120}$/;
const TARGET_TYPE = /^[a-z][a-z0-9_]{0,49}$/;
const LIMITS = ["5", "10", "25", "50", "100", "200"];
const FIELDS = ["service", "action", "actor_id", "target_type", "target_id", "org_id", "from", "to"];
const form = document.getElementById("audit-filter");
const box = document.getElementById("audit");
const more = document.getElementById("audit-more");
const count = document.getElementById("audit-count");
const alertBox = document.getElementById("console-alert");
const heading = document.getElementById("results-heading");
const when = new Intl.DateTimeFormat(cfg.lang, { dateStyle: "medium", timeStyle: "medium" });
const services = new Set([...form.elements.service.options].map((o) => o.value).filter(Boolean));
const orgNames = new Map(); // org id -> name (the orgs this admin may list)
let zoneAdmin = false;
let query = null; // the API query of the current search (without cursor)
let cursor = null;
let shown = 0;
let body = null;
let gen = 0; // bumped by each new search: a response for an older search is dropped
let loading = false;
let focusResults = false; // the next search was started by a row's button (which it removes)

// A local calendar day (YYYY-MM-DD) as the instant it starts, plus `days`.
function dayStart(day, days = 0) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

// The URL's filters as the API's query; throws a translated message on a bad value.
function readFilters(params) {
  const q = {};
  const get = (name) => (params.get(name) || "").trim();
  const service = get("service");
  // "auth.login.*" (the older viewer's links) is the prefix "auth.login.".
  const action = get("action").replace(/\*$/, "");
  const actor = get("actor_id") || get("user_id"); // `user_id`: the older viewer's links
  const targetType = get("target_type");
  const targetId = get("target_id");
  const org = get("org_id");
  const from = get("from");
  const to = get("to");
  const limit = get("limit") || "50";
  if (services.has(service)) q.service = service;
  if (action) {
    if (!ACTION.test(action)) throw new Error(t("badAction"));
    q.action = action;
  }
  if (actor) {
    if (!UUID.test(actor)) throw new Error(t("badActor"));
    q.actor_id = actor;
  }
  if (targetType) {
    if (!TARGET_TYPE.test(targetType)) throw new Error(t("badTargetType"));
    q.target_type = targetType;
  }
  if (targetId) {
    if (!targetType) throw new Error(t("badTarget"));
    q.target_id = targetId;
  }
  if (org) {
    if (!UUID.test(org)) throw new Error(t("badOrg"));
    q.org_id = org;
  }
  if (from && to && DAY.test(from) && DAY.test(to) && from > to) throw new Error(t("badRange"));
  if (DAY.test(from)) q.from = dayStart(from);
  if (DAY.test(to)) q.to = dayStart(to, 1); // the API's `to` is exclusive
  q.limit = LIMITS.includes(limit) ? limit : "50";
  return q;
}

function fillForm(params) {
  for (const name of FIELDS) {
    const field = form.elements[name];
    const value = params.get(name) || (name === "actor_id" && params.get("user_id")) || "";
    field.value = name === "service" && !services.has(value) ? "" : value;
  }
  const limit = params.get("limit");
  form.elements.limit.value = LIMITS.includes(limit) ? limit : "50";
}

// Fill some filters from a row and search. The new results replace the row and its button, so
// focus then goes to the results heading rather than falling to <body>.
function narrow(values) {
  for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
  focusResults = true;
  form.requestSubmit();
}

function roleName(role) {
  const key = `role_${role}`;
  const name = t(key);
  return name === key ? role : name;
}

function shownValue(value) {
  if (value === null || value === undefined) return t("none");
  return typeof value === "string" ? value : JSON.stringify(value);
}

// The record's before/after as a readable table in a <details> (collapsed), with its trace id.
function changes(e) {
  const before = e.before || {};
  const after = e.after || {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (!fields.length && !e.trace_id) return document.createTextNode(t("none"));
  const details = clone("tpl-changes");
  const time = when.format(new Date(e.occurred_at));
  // The row's action and time, for screen readers moving from summary to summary.
  details.querySelector("summary").append(fields.length ? t("changes", { count: fields.length }) : t("details"),
    el("span", { class: "visually-hidden" }, ` ${e.action}, ${time}`));
  details.querySelector("caption").textContent = t("changesOf", { action: e.action, time });
  const rows = details.querySelector("tbody");
  for (const field of fields) {
    rows.append(el("tr", { "data-field": field },
      el("th", { scope: "row", class: "mono" }, field),
      el("td", { class: "c-before mono" }, Object.hasOwn(before, field) ? shownValue(before[field]) : t("none")),
      el("td", { class: "c-after mono" }, Object.hasOwn(after, field) ? shownValue(after[field]) : t("none"))));
  }
  if (!fields.length) details.querySelector("table").remove();
  const trace = details.querySelector(".e-trace");
  if (e.trace_id) trace.textContent = t("trace", { id: e.trace_id });
  else trace.remove();
  return details;
}

function entryRow(e) {
  const row = clone("tpl-audit-row");
  row.dataset.entryId = e.id;
  row.dataset.orgId = e.org_id || "";
  row.querySelector(".e-time").textContent = when.format(new Date(e.occurred_at));
  row.querySelector(".e-service").textContent = e.service;
  row.querySelector(".e-action").textContent = e.action;

  const actor = e.actor || {};
  const onlyActor = row.querySelector(".e-only-actor");
  row.querySelector(".e-actor-id").textContent = actor.user_id || (actor.kind === "system" ? t("system") : t("none"));
  row.querySelector(".e-actor-role").textContent = actor.role ? `(${roleName(actor.role)})` : "";
  if (actor.user_id) {
    onlyActor.setAttribute("aria-label", t("onlyActor", { id: actor.user_id }));
    onlyActor.addEventListener("click", () => narrow({ actor_id: actor.user_id }));
  } else {
    onlyActor.remove();
  }

  const target = e.target || {};
  const onlyTarget = row.querySelector(".e-only-target");
  row.querySelector(".e-target-type").textContent = target.type || t("none");
  row.querySelector(".e-target-id").textContent = target.id || "";
  if (target.type && target.id) {
    onlyTarget.setAttribute("aria-label", t("onlyTarget", { type: target.type, id: target.id }));
    onlyTarget.addEventListener("click", () => narrow({ target_type: target.type, target_id: target.id }));
  } else {
    onlyTarget.remove();
  }

  const onlyOrg = row.querySelector(".e-only-org");
  const orgName = row.querySelector(".e-org-name");
  if (e.org_id) {
    const name = orgNames.get(e.org_id);
    orgName.textContent = name || e.org_id;
    if (!name) orgName.classList.add("mono");
    if (zoneAdmin) {
      onlyOrg.setAttribute("aria-label", t("onlyOrg", { name: name || e.org_id }));
      onlyOrg.addEventListener("click", () => narrow({ org_id: e.org_id }));
    } else {
      onlyOrg.remove();
    }
  } else {
    orgName.textContent = t("none");
    onlyOrg.remove();
  }
  row.querySelector(".e-changes").append(changes(e));
  return row;
}

function explain(err) {
  if (err && err.status === 403 && err.code === "audit.org_forbidden") {
    alertBox.replaceChildren(el("p", { role: "alert" }, t("orgForbidden"), " ",
      el("a", { href: "/audit" }, t("myOrg"))));
  } else if (err && err.status === 403 && err.code === "auth.permission_denied") {
    alertBox.replaceChildren(el("p", { role: "alert" }, t("adminsOnly")));
  } else {
    showError(alertBox, err);
  }
}

async function loadPage() {
  if (loading && body) return; // "Load more" while a page is on its way
  const mine = gen;
  loading = true;
  busy(box, true);
  // aria-disabled, not disabled: a disabled button that has focus drops it to <body>.
  more.setAttribute("aria-disabled", "true");
  try {
    const page = await api("GET", "/api/v1/audit", { query: cursor ? { ...query, cursor } : query });
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
    if (!body) {
      box.replaceChildren();
      count.textContent = "";
      more.hidden = true;
    }
    explain(err);
  } finally {
    if (mine === gen) {
      loading = false;
      more.removeAttribute("aria-disabled");
      busy(box, false);
    }
  }
}

function invalid(err) {
  alertBox.replaceChildren(el("p", { role: "alert" }, err.message));
}

async function search(params, focus = false) {
  gen += 1;
  const mine = gen;
  loading = false;
  alertBox.replaceChildren();
  try {
    query = readFilters(params);
  } catch (err) {
    invalid(err);
    more.removeAttribute("aria-disabled"); // the shown list (and its cursor) stays as it was
    busy(box, false);
    return;
  }
  cursor = null;
  shown = 0;
  body = null;
  await loadPage();
  if (focus && mine === gen) heading.focus();
}

// Organisation names for the table, and the org filter: zone admins pick any org of the zone;
// an org admin's search is always their own org (the field gives way to its name).
// The first 200 orgs only (the API's page limit): in a larger zone, later orgs show by ID and are
// not suggested; enough for today's zones.
async function setUpOrgs(me) {
  const page = await listOrgs(null, 200).catch(() => ({ items: [] }));
  const list = document.getElementById("known-orgs");
  for (const org of page.items) {
    orgNames.set(org.id, org.name);
    if (zoneAdmin) list.append(el("option", { value: org.id }, org.name));
  }
  if (!zoneAdmin) {
    // Auth's own log is for zone admins (the API leaves it out for org admins): not offered, and
    // a URL's service=auth is ignored like any unknown service.
    form.elements.service.querySelector('option[value="auth"]')?.remove();
    services.delete("auth");
    document.getElementById("f-org-field").hidden = true;
    form.elements.org_id.disabled = true; // not sent with the form: the API fixes the org
    const fixed = document.getElementById("f-org-fixed");
    fixed.textContent = t("yourOrg", { name: orgNames.get(me.orgId) || me.orgId || t("none") });
    fixed.hidden = false;
  }
}

async function main() {
  const me = await requireAdmin();
  zoneAdmin = ZONE_ROLES.includes(me.role);
  await setUpOrgs(me);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) params.set(name, String(value).trim());
    const focus = focusResults;
    focusResults = false;
    try {
      readFilters(params); // a rejected filter is explained and stays out of the history
    } catch (err) {
      invalid(err);
      return;
    }
    history.pushState(null, "", `${location.pathname}?${params}`);
    announce("");
    search(params, focus);
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
