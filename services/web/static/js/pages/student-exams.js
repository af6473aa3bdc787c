// /exams — published exams of my org, each with my latest attempt (exam service).
import { t, api, session, el, clone, showError, announce, busy } from "../mc.js";

const section = document.getElementById("exam-section");
const rows = document.getElementById("exam-rows");
const table = document.getElementById("exam-table");
const more = document.getElementById("exam-more");
const errorBox = document.getElementById("exam-error");
let cursor = null;
let latest = new Map(); // exam_id -> {latest attempt, count}

function statusText(a) {
  if (!a) return t("not_started");
  if (a.status === "in_progress") return t("in_progress", { n: a.answered });
  return t(a.status);
}

function actionFor(exam, info) {
  const a = info && info.latest;
  const title = exam.title;
  if (a && a.status === "in_progress") {
    return el("a", { href: `/exams/${exam.id}`, class: "button", "aria-label": t("resume_label", { title }) }, t("resume"));
  }
  const links = [];
  if (a) {
    links.push(el("a", { href: `/attempts/${a.attempt_id}/result`, "aria-label": t("result_label", { title }) },
      t("result")));
  }
  const used = info ? info.count : 0;
  if (exam.max_attempts != null && used >= exam.max_attempts) {
    links.push(el("span", { class: "muted" }, t("no_attempts_left")));
  } else {
    const label = a ? t("retake_label", { title }) : t("start_label", { title });
    links.push(el("a", { href: `/exams/${exam.id}`, class: "button", "aria-label": label }, a ? t("retake") : t("start")));
  }
  const box = el("span", { class: "action-list" });
  links.forEach((n, i) => { if (i) box.append(" "); box.append(n); });
  return box;
}

function addRow(exam) {
  const row = clone("tpl-exam-row");
  const info = latest.get(exam.id);
  row.querySelector(".exam-title").textContent = exam.title;
  row.querySelector(".exam-kind").textContent = t(exam.kind);
  row.querySelector(".exam-limit").textContent =
    exam.time_limit_seconds ? t("minutes", { n: Math.round(exam.time_limit_seconds / 60) }) : t("untimed");
  row.querySelector(".exam-status").textContent = statusText(info && info.latest);
  row.querySelector(".exam-actions").append(actionFor(exam, info));
  rows.append(row);
}

async function loadPage() {
  const query = { status: "published", limit: 50 };
  if (cursor) query.cursor = cursor;
  const page = await api("GET", "/api/v1/exams", { query });
  page.items.forEach(addRow);
  cursor = page.next_cursor;
  more.hidden = !cursor;
  return page.items.length;
}

async function main() {
  const me = await session.require(["student"]);
  busy(section, true);
  try {
    const report = await api("GET", `/api/v1/students/${me.userId}/reports`, { query: { limit: 500 } });
    latest = new Map();
    for (const a of report.attempts) { // newest first
      const info = latest.get(a.exam_id);
      if (info) info.count += 1;
      else latest.set(a.exam_id, { latest: a, count: 1 });
    }
    const n = await loadPage();
    document.getElementById("exam-loading").hidden = true;
    if (n === 0) document.getElementById("exam-empty").hidden = false;
    else table.hidden = false;
  } catch (err) {
    document.getElementById("exam-loading").hidden = true;
    showError(errorBox, err);
  } finally {
    busy(section, false);
  }
}

more.addEventListener("click", async () => {
  if (more.disabled) return; // a page is already on its way
  more.disabled = true;
  busy(section, true);
  const before = rows.children.length;
  try {
    const n = await loadPage();
    announce(t("loaded", { n }));
    const first = rows.children[before];
    const link = first && first.querySelector("a");
    if (link) link.focus();
  } catch (err) {
    showError(errorBox, err);
  } finally {
    more.disabled = false;
    busy(section, false);
  }
});

main();
