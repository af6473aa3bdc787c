// admin. / — who is signed in; the zone's orgs (zone admins) or my org (org admins); task links.
// APIs: tenant GET /api/v1/orgs.
import { cfg, t, el, clone, showError, busy } from "../mc.js";
import { requireAdmin, listOrgs, orgRow, ZONE_ROLES } from "./console-common.js";

const box = document.getElementById("orgs");

async function main() {
  const me = await requireAdmin();
  document.getElementById("whoami").textContent = t("signedInAs", { role: t(me.role) });
  if (me.role === "org_admin") {
    const roster = document.getElementById("roster-link");
    roster.href = `${cfg.app}/teach/rosters`;
    document.getElementById("roster-task").hidden = false;
  }
  const page = await listOrgs(null, 20);
  box.replaceChildren();
  if (!page.items.length) {
    box.append(el("p", {}, t("noOrgs")));
    return;
  }
  const table = clone("tpl-orgs");
  const body = table.querySelector("tbody");
  for (const org of page.items) body.append(orgRow(org));
  box.append(table);
  if (ZONE_ROLES.includes(me.role)) box.append(el("p", {}, el("a", { href: "/orgs" }, t("allOrgs"))));
}

main()
  .catch((err) => {
    box.replaceChildren();
    showError(document.getElementById("console-alert"), err);
  })
  .finally(() => busy(box, false));
