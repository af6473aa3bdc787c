// What the console pages share: the admin sign-in and the org table.
import { t, api, session, clone, fmt } from "../mc.js";

export const ADMIN_ROLES = ["org_admin", "zone_admin", "super_admin"];
export const ZONE_ROLES = ["zone_admin", "super_admin"];

export function requireAdmin() {
  return session.require(ADMIN_ROLES);
}

// One page of GET /api/v1/orgs (zone admins: the zone's orgs; org admins: their own).
export function listOrgs(cursor, limit = 50) {
  return api("GET", "/api/v1/orgs", { query: cursor ? { limit, cursor } : { limit } });
}

export function orgRow(org) {
  const row = clone("tpl-org-row");
  row.dataset.orgId = org.id;
  const link = row.querySelector(".o-name");
  link.textContent = org.name;
  link.href = `/orgs/${encodeURIComponent(org.id)}`;
  row.querySelector(".o-plan").textContent = org.plan;
  row.querySelector(".o-status").textContent = t(org.status);
  row.querySelector(".o-created").textContent = fmt.date(org.created_at);
  return row;
}
