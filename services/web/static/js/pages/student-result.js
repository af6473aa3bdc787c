// /attempts/{attempt_id}/result — θ, SE, scaled score and percentile of a finished attempt, explained.
import { cfg, t, api, session, showError, fmt } from "../mc.js";

const root = document.getElementById("result");
const attemptId = root.dataset.attemptId;
const $ = (id) => document.getElementById(id);

function put(id, text) { $(id).textContent = text; }
const pct = (p) => new Intl.NumberFormat(cfg.lang, { style: "percent", maximumFractionDigits: 0 }).format(p / 100);

async function main() {
  const me = await session.require(["student", "parent", "teacher", "org_admin"]);
  $("back-to-exams").hidden = me.role !== "student"; // parents and staff read it from their own pages
  let a;
  try {
    a = await api("GET", `/api/v1/attempts/${attemptId}`);
  } catch (err) {
    $("result-loading").hidden = true;
    showError($("result-error"), err);
    return;
  }
  let exam = null;
  try {
    exam = await api("GET", `/api/v1/exams/${a.exam_id}`);
  } catch { /* an archived exam is hidden from students: the result stands without its title */ }
  if (exam) {
    put("result-exam", t("exam", { title: exam.title }));
    document.title = `${document.title} · ${exam.title}`;
  }
  $("result-loading").hidden = true;
  if (a.status === "in_progress" || !a.result) {
    $("running-link").href = `/exams/${a.exam_id}`;
    $("result-running").hidden = false;
    return;
  }
  const r = a.result;
  put("result-status", a.status === "incomplete" ? t("incomplete", { n: r.required_items }) : t(a.status));
  if (r.scaled_score != null) {
    put("val-scaled", fmt.number(r.scaled_score, 0));
    $("row-scaled").hidden = false;
    $("explain-scaled").hidden = false;
    put("explain-scaled-text", exam
      ? t("scaled_explain", { mean: fmt.number(exam.scale_mean, 0), sd: fmt.number(exam.scale_sd, 0) })
      : t("scaled_explain_plain"));
  }
  put("val-theta", fmt.number(r.theta, 2));
  if (r.se != null) {
    put("val-se", fmt.number(r.se, 2));
    put("val-range", t("range", { low: fmt.number(r.theta - 2 * r.se, 2), high: fmt.number(r.theta + 2 * r.se, 2) }));
  } else {
    $("row-se").hidden = true;
    $("row-range").hidden = true;
  }
  put("val-raw", t("raw", { raw: fmt.number(r.raw_score, 0), max: fmt.number(r.max_score, 0) }));
  put("val-answered", fmt.number(a.answered, 0));
  const pctBox = $("val-percentile");
  if (r.percentile != null) {
    put("val-percentile", t("percentile", { p: pct(r.percentile), n: fmt.number(r.norm_group_size || 0, 0) }));
  } else {
    pctBox.classList.add("note"); // a sentence, not a number
    put("val-percentile", r.percentile_unavailable === "norm_group_too_small"
      ? t("pct_too_small", { n: fmt.number(r.norm_group_size || 0, 0) })
      : r.percentile_unavailable === "attempt_incomplete" ? t("pct_incomplete") : t("pct_none"));
  }
  if (!r.counted) {
    put("explain-incomplete", t("incomplete_explain"));
    $("explain-incomplete").hidden = false;
  }
  $("result-body").hidden = false;
}

main();
