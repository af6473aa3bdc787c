import { api, busy, clone, session, t } from "../mc.js";
import { byId, errorAfter, put } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const status = byId("classes-status");
const table = byId("classes-table");
try {
  const { items } = await api("GET", "/api/v1/classes");
  items.sort((a, b) => a.grade - b.grade || a.name.localeCompare(b.name));
  const body = table.tBodies[0];
  body.replaceChildren(...items.map((c) => {
    const row = clone("tpl-class-row");
    const link = put(row, ".class-link", c.name);
    link.href = `/teach/classes/${c.id}`;
    put(row, ".class-grade", c.grade);
    put(row, ".class-count", c.student_count);
    return row;
  }));
  table.hidden = items.length === 0;
  status.textContent = items.length ? t("count", { n: items.length }) : t("none");
} catch (err) {
  status.textContent = "";
  errorAfter(status, err);
} finally {
  busy(status, false);
}
