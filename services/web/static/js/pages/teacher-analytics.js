// Analytics overview: the org dashboard (a teacher's own classes only), by exam and by class.
import { api, busy, clone, session, t } from "../mc.js";
import { bars } from "./teacher-charts.js";
import { byId, errorAfter, fillFields, num, put } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const status = byId("an-status");
try {
  const [dash, classes] = await Promise.all([
    api("GET", "/api/v1/analytics/dashboard", { query: { item_limit: 0 } }),
    api("GET", "/api/v1/classes").catch(() => ({ items: [] }))]);
  const names = new Map(classes.items.map((c) => [c.id, c.name]));
  fillFields(byId("an-totals"), dash.totals, (name, value) =>
    (name.includes("theta") ? num(value, 2) : name === "mean_scaled_score" ? num(value, 1) : num(value)));
  byId("an-exams").tBodies[0].replaceChildren(...dash.exams.map((e) => {
    const row = clone("tpl-an-exam");
    const link = put(row, ".ae-title", e.title);
    link.href = `/teach/analytics/${e.exam_id}`;
    put(row, ".ae-kind", t(`kind_${e.kind}`));
    put(row, ".ae-attempts", num(e.attempts));
    put(row, ".ae-scored", num(e.scored));
    put(row, ".ae-incomplete", num(e.incomplete));
    put(row, ".ae-theta", num(e.mean_theta, 2));
    return row;
  }));
  byId("an-classes").tBodies[0].replaceChildren(...dash.classes.map((c) => {
    const row = clone("tpl-an-class");
    put(row, ".ac-name", c.class_id ? (names.get(c.class_id) ?? c.class_id) : t("no_class"));
    put(row, ".ac-attempts", num(c.attempts));
    put(row, ".ac-scored", num(c.scored));
    put(row, ".ac-students", num(c.students));
    put(row, ".ac-theta", num(c.mean_theta, 2));
    return row;
  }));
  if (dash.exams.length) {
    bars(byId("an-exams-chart"), dash.exams.map((e) => ({ label: e.title.slice(0, 18), value: e.scored })), {
      title: t("chart_exams"), valueLabel: t("attempts"), labelHeader: t("exam"), min: 0,
      max: Math.max(1, ...dash.exams.map((e) => e.scored)), digits: 0 });
  } else {
    byId("an-exams-chart").textContent = t("no_exams");
  }
  if (!dash.classes.length) byId("an-classes").after(document.createTextNode(t("no_classes")));
  status.textContent = dash.totals.attempts ? t("loaded") : t("none");
} catch (err) {
  status.textContent = "";
  errorAfter(status, err);
} finally {
  busy(status, false);
}
