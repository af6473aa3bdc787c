// One exam's analytics: score distribution and θ histogram (from the exam's attempt list, θ
// recovered from the scaled score: scaled = scale_mean + scale_sd·θ), item p-values,
// point-biserials and exposure (from exam's dashboard with exam_id).
import { api, busy, session, t } from "../mc.js";
import { bars, histogram } from "./teacher-charts.js";
import { allPages, byId, errorAfter, fillFields, num } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const examId = byId("ax-page").dataset.examId;
const status = byId("ax-status");
const COUNTED = ["completed", "expired"];

async function attempts() {
  const rows = await allPages((cursor) => api("GET", `/api/v1/exams/${examId}/attempts`, {
    query: cursor ? { limit: 200, cursor } : { limit: 200 } }));
  return rows.filter((r) => COUNTED.includes(r.status) && r.scaled_score != null);
}

try {
  const [exam, dash, scored] = await Promise.all([
    api("GET", `/api/v1/exams/${examId}`),
    api("GET", "/api/v1/analytics/dashboard", { query: { exam_id: examId, item_limit: 1000 } }),
    attempts()]);
  const title = t("title", { title: exam.title });
  byId("ax-title").textContent = title;
  document.title = title;
  const totals = dash.totals;
  fillFields(byId("ax-totals"), totals, (name, value) =>
    (name.includes("theta") ? num(value, 2) : name === "mean_scaled_score" ? num(value, 1) : num(value)));
  const nScored = totals.completed + totals.expired;
  if (!scored.length && !dash.items.length) {
    status.textContent = t("no_data");
  } else {
    const scores = scored.map((r) => r.scaled_score);
    const thetas = scores.map((s) => (s - exam.scale_mean) / exam.scale_sd);
    if (scores.length) {
      histogram(byId("chart-scores"), scores, { title: t("scores_title"), xLabel: t("scaled_score"),
                                                yLabel: t("students"), digits: 0 });
      histogram(byId("chart-theta"), thetas, { title: t("theta_title"), xLabel: t("theta"), yLabel: t("students"),
                                               min: Math.min(-3, ...thetas), max: Math.max(3, ...thetas),
                                               bins: 12, digits: 1 });
    } else {
      byId("chart-scores").textContent = t("no_data");
      byId("chart-theta").textContent = t("no_data");
    }
    const items = [...dash.items].sort((a, b) => a.code.localeCompare(b.code));
    const label = (it) => it.code;
    bars(byId("chart-p"), items.map((it) => ({ label: label(it), value: it.p_value })), {
      title: t("p_title"), valueLabel: t("p_value"), labelHeader: t("item"), min: 0, max: 1,
      extraColumn: { label: t("responses"), value: (r) => num(items.find((i) => i.code === r.label).responses) } });
    byId("ax-criterion").textContent = t(`crit_${items[0]?.criterion ?? (exam.kind === "fixed" ? "rest_score" : "theta")}`);
    bars(byId("chart-pb"), items.map((it) => ({ label: label(it), value: it.point_biserial })), {
      title: t("pb_title"), valueLabel: t("point_biserial"), labelHeader: t("item"), min: -1, max: 1 });
    bars(byId("chart-exposure"), items.map((it) => ({
      label: label(it), value: nScored ? Math.min(1, it.responses / nScored) : null })), {
      title: t("exp_title"), valueLabel: t("exposure"), labelHeader: t("item"), min: 0, max: 1,
      extraColumn: { label: t("responses"), value: (r) => num(items.find((i) => i.code === r.label).responses) } });
    status.textContent = t("loaded", { n: nScored });
  }
} catch (err) {
  status.textContent = "";
  errorAfter(status, err);
} finally {
  busy(status, false);
}
