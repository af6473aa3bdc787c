import { announce, api, busy, clone, el, fmt, session, t } from "../mc.js";
import { byId, errorAfter, put } from "./teacher-common.js";

const who = await session.require(["teacher", "org_admin"]);
const classId = byId("class-page").dataset.classId;
const status = byId("class-status");
const body = byId("students-table").tBodies[0];
const more = byId("students-more");
let cursor = null;
let shown = 0;

async function issueCode(student, button, out) {
  button.disabled = true;
  try {
    const code = await api("POST", `/api/v1/rosters/students/${student.id}/parent-codes`, { json: { valid_days: 14 } });
    out.textContent = t("code_issued", { code: code.code, until: fmt.date(code.expires_at) });
    announce(t("code_announce", { name: student.name, code: code.code }));
  } catch (err) {
    errorAfter(status, err);
  } finally {
    button.disabled = false;
  }
}

function studentRow(s) {
  const row = clone("tpl-student-row");
  put(row, ".st-name", s.name);
  put(row, ".st-grade", s.grade);
  put(row, ".st-email", s.email || "—");
  put(row, ".st-account", s.user_id ? t("has_account") : t("no_account"));
  const button = row.querySelector(".st-code-btn");
  button.textContent = t("issue_code");
  button.setAttribute("aria-label", t("issue_code_for", { name: s.name }));
  const out = row.querySelector(".st-code-out");
  button.addEventListener("click", () => issueCode(s, button, out));
  return row;
}

async function loadStudents() {
  const query = { class_id: classId, limit: 200 };
  if (cursor) query.cursor = cursor;
  const page = await api("GET", "/api/v1/rosters/students", { query });
  body.append(...page.items.map(studentRow));
  shown += page.items.length;
  cursor = page.next_cursor;
  more.hidden = !cursor;
  byId("students-count").textContent = shown ? t("count", { shown, total: page.total }) : t("no_students");
}

more.addEventListener("click", async () => {
  try { await loadStudents(); } catch (err) { errorAfter(status, err); }
});

try {
  const [klass, teachers] = await Promise.all([
    api("GET", `/api/v1/classes/${classId}`), api("GET", `/api/v1/classes/${classId}/teachers`)]);
  const title = t("title", { name: klass.name, grade: klass.grade });
  byId("class-title").textContent = title;
  document.title = title;
  const list = byId("teacher-list");
  list.replaceChildren(...(teachers.items.length
    ? teachers.items.map((x) => el("li", {}, x.name || (x.teacher_user_id === who.userId ? t("you") : t("unnamed_teacher"))))
    : [el("li", {}, t("no_teachers"))]));
  await loadStudents();
  status.textContent = "";
} catch (err) {
  status.textContent = "";
  errorAfter(status, err);
} finally {
  busy(status, false);
}
