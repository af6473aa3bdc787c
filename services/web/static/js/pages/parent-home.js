// /parent — a parent's linked children, link requests (by email or school code) and their states.
// APIs (tenant): GET /api/v1/parent-links/children, GET /api/v1/parent-links,
// POST /api/v1/parent-links, POST /api/v1/parent-links/{id}/revoke.
import { cfg, t, api, session, el, clone, showError, announce, fmt, busy } from "../mc.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const $ = (id) => document.getElementById(id);
const alertBox = $("parent-alert");
const result = $("request-result");
let me = null;
let names = new Map(); // student_user_id -> name (approved links only: the API names children)

function classLine(child) {
  if (child.grade != null && child.class_name) return t("classOf", { grade: child.grade, class: child.class_name });
  if (child.grade != null) return t("gradeOf", { grade: child.grade });
  return child.class_name || "";
}

async function loadChildren() {
  const box = $("children");
  busy(box, true);
  try {
    const { items } = await api("GET", "/api/v1/parent-links/children");
    names = new Map(items.map((c) => [c.student_user_id, c.name || t("unnamed")]));
    box.replaceChildren();
    if (!items.length) {
      box.append(el("p", {}, t("noChildren")));
      return;
    }
    const list = clone("tpl-children");
    for (const child of items) {
      const row = clone("tpl-child");
      const link = row.querySelector(".child-name");
      link.textContent = child.name || t("unnamed");
      link.href = `/parent/children/${encodeURIComponent(child.student_user_id)}`;
      row.querySelector(".child-class").textContent = classLine(child);
      list.append(row);
    }
    box.append(list);
  } catch (err) {
    box.replaceChildren();
    showError(box, err);
  } finally {
    busy(box, false);
  }
}

async function cancel(link, button) {
  button.disabled = true;
  try {
    await api("POST", `/api/v1/parent-links/${encodeURIComponent(link.id)}/revoke`);
    announce(t("cancelled"));
    await loadRequests();
  } catch (err) {
    button.disabled = false;
    showError(alertBox, err);
  }
}

async function loadRequests() {
  const box = $("requests");
  busy(box, true);
  try {
    const { items } = await api("GET", "/api/v1/parent-links");
    box.replaceChildren();
    if (!items.length) {
      box.append(el("p", {}, t("noRequests")));
      return;
    }
    const table = clone("tpl-requests");
    const body = table.querySelector("tbody");
    for (const link of items) {
      const row = clone("tpl-request");
      row.dataset.linkId = link.id;
      row.dataset.status = link.status;
      row.querySelector(".when").textContent = fmt.date(link.requested_at);
      row.querySelector(".who").textContent = names.get(link.student_user_id) || t("nameLater");
      row.querySelector(".status").textContent = t(link.status);
      const button = row.querySelector(".cancel");
      if (link.status === "pending") {
        button.setAttribute("aria-label", t("cancelOf", { date: fmt.date(link.requested_at) }));
        button.addEventListener("click", () => cancel(link, button));
      } else {
        button.remove();
      }
      body.append(row);
    }
    box.append(table);
  } catch (err) {
    box.replaceChildren();
    showError(box, err);
  } finally {
    busy(box, false);
  }
}

function orgForGuest() {
  if (me.role !== "guest") return {};
  const value = $("org-id").value.trim();
  if (!value) throw new Error(t("orgRequired"));
  if (!UUID.test(value)) throw new Error(t("orgInvalid"));
  return { org_id: value };
}

async function ask(form, body) {
  result.replaceChildren();
  alertBox.replaceChildren();
  let extra;
  try {
    extra = orgForGuest();
  } catch (err) {
    result.append(el("p", { class: "error" }, err.message));
    $("org-id").focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const link = await api("POST", "/api/v1/parent-links", { json: { ...body, ...extra } });
    form.reset();
    if (link.parent_role_granted) {
      const next = `${cfg.www}/signin?next=${encodeURIComponent(location.href)}`;
      result.append(el("p", {}, t("signInAgain"), " ", el("a", { href: next }, t("signInLink"))));
      return;
    }
    result.append(el("p", {}, link.status === "approved" ? t("linked") : t("requested")));
    await loadChildren();
    await loadRequests();
  } catch (err) {
    showError(result, err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  me = await session.require(["parent", "guest"]);
  $("by-email").addEventListener("submit", (ev) => {
    ev.preventDefault();
    ask(ev.currentTarget, { student_email: $("student-email").value.trim() });
  });
  $("by-code").addEventListener("submit", (ev) => {
    ev.preventDefault();
    ask(ev.currentTarget, { parent_code: $("parent-code").value.trim() });
  });
  if (me.role === "guest") {
    // Not a parent member of any school yet: the API needs the school (org) named; a school may hand
    // the parent a link with ?org=<id>.
    const field = $("org-field");
    field.hidden = false;
    const org = new URLSearchParams(location.search).get("org");
    if (org && UUID.test(org)) $("org-id").value = org;
    for (const id of ["children", "requests"]) {
      $(id).replaceChildren(el("p", {}, t("notParent")));
      busy($(id), false);
    }
    return;
  }
  await loadChildren();
  await loadRequests();
}

main().catch((err) => showError(alertBox, err));
