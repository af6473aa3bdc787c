// admin. /orgs/{org_id} — an org, its members and roles (change a role, add a member), and where
// rosters are provisioned. APIs: tenant GET /api/v1/orgs/{id}, GET/POST /api/v1/orgs/{id}/members,
// PATCH /api/v1/orgs/{id}/members/{user_id}.
import { cfg, t, api, el, clone, showError, fmt, busy } from "../mc.js";
import { requireAdmin, pagedTable, ZONE_ROLES } from "./console-common.js";

const orgBox = document.getElementById("org");
const membersBox = document.getElementById("members");
const more = document.getElementById("more-members");
const alertBox = document.getElementById("console-alert");
const memberResult = document.getElementById("member-result");
const orgId = orgBox.dataset.orgId;
const base = `/api/v1/orgs/${encodeURIComponent(orgId)}/members`;
let role = "";
const members = pagedTable({
  box: membersBox, more, tableTemplate: "tpl-members", emptyText: t("noMembers"), row: memberRow,
  fetchPage: (cursor) => api("GET", base, { query: { limit: 100, ...(role ? { role } : {}), ...(cursor ? { cursor } : {}) } }),
});

async function loadOrg() {
  const org = await api("GET", `/api/v1/orgs/${encodeURIComponent(orgId)}`);
  document.getElementById("org-title").textContent = org.name;
  document.title = `${org.name} · ${document.title.split(" · ").pop()}`;
  const facts = clone("tpl-org");
  facts.querySelector(".o-plan").textContent = org.plan;
  facts.querySelector(".o-status").textContent = t(org.status);
  facts.querySelector(".o-created").textContent = fmt.date(org.created_at);
  facts.querySelector(".o-id").textContent = org.id;
  orgBox.replaceChildren(facts);
  busy(orgBox, false);
}

async function changeRole(ev, member) {
  ev.preventDefault();
  memberResult.replaceChildren();
  const form = ev.currentTarget;
  const select = form.querySelector("select");
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const updated = await api("PATCH", `${base}/${encodeURIComponent(member.user_id)}`, { json: { role: select.value } });
    member.role = updated.role;
    const msg = t("roleChanged", { name: member.name || member.email || member.user_id, role: t(updated.role) });
    memberResult.append(el("p", {}, msg));
  } catch (err) {
    select.value = member.role;
    showError(memberResult, err);
  } finally {
    button.disabled = false;
  }
}

function memberRow(member) {
  const row = clone("tpl-member");
  row.dataset.userId = member.user_id;
  const name = member.name || member.email || t("unnamed");
  row.querySelector(".m-name").textContent = member.name || t("unnamed");
  row.querySelector(".m-email").textContent = member.email || "";
  const select = row.querySelector(".m-role-select");
  select.id = `role-${member.user_id}`;
  select.setAttribute("aria-label", t("roleOf", { name }));
  select.value = member.role;
  row.querySelector(".m-save").setAttribute("aria-label", t("saveRoleOf", { name }));
  row.querySelector(".role-form").addEventListener("submit", (ev) => changeRole(ev, member));
  row.querySelector(".m-since").textContent = fmt.date(member.created_at);
  return row;
}

async function addMember(ev) {
  ev.preventDefault();
  const result = document.getElementById("add-result");
  result.replaceChildren();
  const form = ev.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const email = form.elements.email.value.trim();
    const added = await api("POST", base, { json: { email, role: form.elements.role.value } });
    result.append(el("p", {}, t("added", { email, role: t(added.role) })));
    form.reset();
    await members.reload();
  } catch (err) {
    showError(result, err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  const me = await requireAdmin();
  if (ZONE_ROLES.includes(me.role)) {
    document.getElementById("provision-zone-admin").hidden = false;
  } else {
    document.getElementById("roster-link").href = `${cfg.app}/teach/rosters`;
    document.getElementById("provision-org-admin").hidden = false;
  }
  document.getElementById("member-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    role = document.getElementById("role-filter").value;
    members.reload().catch((err) => showError(alertBox, err));
  });
  more.addEventListener("click", () => {
    if (!more.disabled) members.load().catch((err) => showError(alertBox, err));
  });
  document.getElementById("add-form").addEventListener("submit", addMember);
  await Promise.all([loadOrg(), members.load()]);
}

main().catch((err) => {
  for (const box of [orgBox, membersBox]) {
    if (box.getAttribute("aria-busy") === "true") {
      box.replaceChildren();
      busy(box, false);
    }
  }
  showError(alertBox, err);
});
