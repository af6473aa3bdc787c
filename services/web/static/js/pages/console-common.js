// What the console pages share: the admin sign-in, the org table and cursor-paged tables.
import { t, api, session, clone, fmt, el, busy, announce } from "../mc.js";

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

/** A cursor-paged table with "Load more": the first page puts the table of `<template
 * id=tableTemplate>` (or `emptyText`) into `box`, later pages append rows. `reload()` starts
 * over; an answer for an older list (reloaded meanwhile) is dropped, and `more` is disabled while
 * a page loads. Strings: the page's `shown` ("{shown} of {total}"). */
export function pagedTable({ box, more, tableTemplate, emptyText, fetchPage, row }) {
  let cursor = null;
  let shown = 0;
  let body = null;
  let gen = 0;
  async function load() {
    const mine = gen;
    busy(box, true);
    more.disabled = true;
    try {
      const page = await fetchPage(cursor);
      if (mine !== gen) return;
      if (!body) {
        box.replaceChildren();
        if (!page.items.length) {
          box.append(el("p", {}, emptyText));
          return;
        }
        const table = clone(tableTemplate);
        body = table.querySelector("tbody");
        box.append(table);
      }
      for (const item of page.items) body.append(row(item));
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      announce(t("shown", { shown, total: page.total }));
    } catch (err) {
      if (mine === gen) throw err;
    } finally {
      if (mine === gen) {
        more.disabled = false;
        busy(box, false);
      }
    }
  }
  function reload() {
    gen += 1;
    cursor = null;
    shown = 0;
    body = null;
    return load();
  }
  return { load, reload };
}
