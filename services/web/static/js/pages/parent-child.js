// /parent/children/{student_id} — a linked child's exam report.
// APIs: tenant GET /api/v1/parent-links/children (the child's name), exam GET /api/v1/students/{id}/reports
// (403 parent_link.required unless the parent's link to the student is approved).
import { cfg, t, api, session, el, clone, showError, fmt, busy } from "../mc.js";

const box = document.getElementById("report");
const alertBox = document.getElementById("report-alert");
const studentId = box.dataset.studentId;
const pct = new Intl.NumberFormat(cfg.lang === "ko" ? "ko-KR" : "en-US", { style: "percent", maximumFractionDigits: 1 });

function num(value, digits) {
  return value == null ? t("none") : fmt.number(value, digits);
}

function percentile(a) {
  if (a.percentile != null) return pct.format(a.percentile / 100);
  if (a.percentile_unavailable === "in_progress") return t("pctInProgress");
  return a.percentile_unavailable ? t(a.percentile_unavailable) : t("none");
}

function attemptsTable(attempts) {
  if (!attempts.length) return el("p", {}, t("noAttempts"));
  const table = clone("tpl-attempts");
  const body = table.querySelector("tbody");
  for (const a of attempts) {
    const row = clone("tpl-attempt");
    row.dataset.attemptId = a.attempt_id;
    row.querySelector(".a-exam").textContent = a.exam_title;
    row.querySelector(".a-started").textContent = fmt.date(a.started_at);
    row.querySelector(".a-status").textContent = t(a.status);
    row.querySelector(".a-answered").textContent = fmt.number(a.answered, 0);
    row.querySelector(".a-score").textContent = t("scoreOf", { raw: a.raw_score, max: a.max_score });
    row.querySelector(".a-scaled").textContent = num(a.scaled_score, 0);
    row.querySelector(".a-theta").textContent = a.theta == null ? t("none") : `${num(a.theta, 2)} ± ${num(a.se, 2)}`;
    row.querySelector(".a-percentile").textContent = percentile(a);
    body.append(row);
  }
  return table;
}

function areasTable(areas) {
  if (!areas.length) return el("p", {}, t("noAreas"));
  const table = clone("tpl-areas");
  const body = table.querySelector("tbody");
  for (const c of areas) {
    const row = clone("tpl-area");
    row.querySelector(".c-area").textContent = c.content_area;
    row.querySelector(".c-responses").textContent = fmt.number(c.responses, 0);
    row.querySelector(".c-mean").textContent = pct.format(c.mean_score);
    body.append(row);
  }
  return table;
}

async function main() {
  await session.require(["parent"]);
  const [children, report] = await Promise.all([
    api("GET", "/api/v1/parent-links/children"),
    api("GET", `/api/v1/students/${encodeURIComponent(studentId)}/reports`),
  ]);
  const child = children.items.find((c) => c.student_user_id === studentId);
  if (child && child.name) {
    const title = t("reportOf", { name: child.name });
    document.getElementById("report-title").textContent = title;
    document.title = `${title} · ${document.title.split(" · ").pop()}`;
  }
  const view = clone("tpl-report");
  const s = report.summary;
  view.querySelector(".s-attempts").textContent = fmt.number(s.attempts, 0);
  view.querySelector(".s-completed").textContent = fmt.number(s.completed, 0);
  view.querySelector(".s-incomplete").textContent = fmt.number(s.incomplete, 0);
  view.querySelector(".s-in-progress").textContent = fmt.number(s.in_progress, 0);
  view.querySelector(".s-latest").textContent = num(s.latest_scaled_score, 0);
  view.querySelector(".s-theta").textContent = num(s.mean_theta, 2);
  view.querySelector(".attempts").append(attemptsTable(report.attempts));
  view.querySelector(".areas").append(areasTable(report.content_areas));
  box.replaceChildren(view);
}

main()
  .catch((err) => {
    box.replaceChildren();
    if (err && err.code === "parent_link.required") box.append(el("p", { role: "alert" }, t("notLinked")));
    else showError(alertBox, err);
  })
  .finally(() => busy(box, false));
