// admin. /orgs — the zone's orgs (cursor paging, "Load more"); zone admins create orgs.
// APIs: tenant GET /api/v1/orgs, POST /api/v1/orgs.
import { t, api, el, showError, busy } from "../mc.js";
import { requireAdmin, listOrgs, orgRow, pagedTable, ZONE_ROLES } from "./console-common.js";

const box = document.getElementById("orgs");
const more = document.getElementById("more-orgs");
const alertBox = document.getElementById("console-alert");
const orgs = pagedTable({ box, more, tableTemplate: "tpl-orgs", emptyText: t("noOrgs"), fetchPage: listOrgs, row: orgRow });

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
    await orgs.reload();
  } catch (err) {
    showError(result, err);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  const me = await requireAdmin();
  more.addEventListener("click", () => {
    if (!more.disabled) orgs.load().catch((err) => showError(alertBox, err));
  });
  if (ZONE_ROLES.includes(me.role)) {
    document.getElementById("create-org").hidden = false;
    document.getElementById("create-form").addEventListener("submit", create);
  }
  await orgs.load();
}

main().catch((err) => {
  box.replaceChildren();
  busy(box, false);
  showError(alertBox, err);
});
