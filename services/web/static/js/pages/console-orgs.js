// admin. /orgs — the zone's orgs (cursor paging, "Load more"); zone admins create orgs.
// APIs: tenant GET /api/v1/orgs, POST /api/v1/orgs.
import { t, api, el, clone, showError, announce, busy } from "../mc.js";
import { requireAdmin, listOrgs, orgRow, ZONE_ROLES } from "./console-common.js";

const box = document.getElementById("orgs");
const more = document.getElementById("more-orgs");
const alertBox = document.getElementById("console-alert");
let cursor = null;
let shown = 0;
let body = null;
let gen = 0; // bumped by each reload: a response for an older list is dropped

async function loadPage() {
  const mine = gen;
  busy(box, true);
  more.disabled = true;
  try {
    const page = await listOrgs(cursor);
    if (mine !== gen) return; // the list was reloaded meanwhile
    if (!body) {
      box.replaceChildren();
      if (!page.items.length) {
        box.append(el("p", {}, t("noOrgs")));
        return;
      }
      const table = clone("tpl-orgs");
      body = table.querySelector("tbody");
      box.append(table);
    }
    for (const org of page.items) body.append(orgRow(org));
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

async function create(ev) {
  ev.preventDefault();
  const result = document.getElementById("create-result");
  result.replaceChildren();
  const form = ev.currentTarget;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const org = await api("POST", "/api/v1/orgs", {
      json: { name: form.elements.name.value.trim(), plan: form.elements.plan.value.trim() || "free" },
    });
    result.append(el("p", {}, t("created", { name: org.name }), " ",
      el("a", { href: `/orgs/${encodeURIComponent(org.id)}` }, org.name)));
    form.reset();
    gen += 1;
    cursor = null;
    shown = 0;
    body = null;
    await loadPage();
  } catch (err) {
    showError(result, err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  const me = await requireAdmin();
  more.addEventListener("click", () => {
    if (!more.disabled) loadPage().catch((err) => showError(alertBox, err));
  });
  if (ZONE_ROLES.includes(me.role)) {
    document.getElementById("create-org").hidden = false;
    document.getElementById("create-form").addEventListener("submit", create);
  }
  await loadPage();
}

main().catch((err) => {
  box.replaceChildren();
  busy(box, false);
  showError(alertBox, err);
});
