// One exam: its facts, publish / archive, and who has (and has not) taken it.
import { announce, api, busy, clone, session, t } from "../mc.js";
import { byId, errorAfter, fillFields, num, put, when } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const examId = byId("exam-page").dataset.examId;
const statusLine = byId("exam-status-line");
const errorBox = byId("exam-error");
const publishButton = byId("exam-publish");
const archiveButton = byId("exam-archive");
const filter = byId("takers-filter");
const takersTable = byId("takers-table");
const takersStatus = byId("takers-status");
const more = byId("takers-more");
let exam = null;
let classNames = new Map();
let cursor = null;
let shown = 0;

function render() {
  byId("exam-title").textContent = exam.title;
  document.title = exam.title;
  const cat = exam.cat_settings || {};
  fillFields(byId("exam-facts"), {
    kind: t(`kind_${exam.kind}`),
    status: t(`status_${exam.status}`),
    class: exam.class_id ? (classNames.get(exam.class_id) ?? exam.class_id) : t("no_class"),
    items: exam.kind === "fixed" ? t("fixed_items", { n: exam.item_count })
      : t("adaptive_items", { min: cat.min_items ?? 1, max: cat.max_items ?? 20 }),
    time: exam.time_limit_seconds ? t("minutes", { n: Math.round(exam.time_limit_seconds / 60) }) : t("untimed"),
    published_at: exam.published_at ? when(exam.published_at) : t("not_yet"),
  });
  byId("exam-facts").hidden = false;
  publishButton.hidden = exam.status !== "draft";
  archiveButton.hidden = exam.status !== "published";
  const link = byId("exam-analytics");
  link.href = `/teach/analytics/${exam.id}`;
  link.hidden = exam.status === "draft";
  filter.querySelector("option[value=not_started]").disabled = !exam.class_id;
}

async function loadTakers(reset) {
  busy(takersStatus, true);
  errorAfter(takersStatus, null);
  try {
    if (reset) {
      takersTable.tBodies[0].replaceChildren();
      cursor = null;
      shown = 0;
    }
    const query = { limit: 100 };
    if (filter.value) query.status = filter.value;
    if (cursor) query.cursor = cursor;
    const page = await api("GET", `/api/v1/exams/${examId}/attempts`, { query });
    takersTable.tBodies[0].append(...page.items.map((a) => {
      const row = clone("tpl-taker-row");
      put(row, ".tk-name", a.name || t("unknown_name"));
      put(row, ".tk-status", t(`st_${a.status}`));
      put(row, ".tk-started", when(a.started_at));
      put(row, ".tk-ended", when(a.ended_at));
      put(row, ".tk-n", num(a.n_responses));
      put(row, ".tk-raw", a.raw_score == null ? "—" : `${num(a.raw_score)} / ${num(a.max_score)}`);
      put(row, ".tk-scaled", num(a.scaled_score, 1));
      return row;
    }));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    takersTable.hidden = shown === 0;
    byId("takers-caption").textContent = t("takers_caption", { filter: filter.selectedOptions[0].textContent });
    takersStatus.textContent = shown ? t("rows", { n: shown }) : t("no_rows");
  } catch (err) {
    takersStatus.textContent = "";
    takersTable.hidden = true;
    errorAfter(takersStatus, err);
  } finally {
    busy(takersStatus, false);
  }
}

async function act(path, message, button) {
  button.disabled = true;
  errorBox.replaceChildren();
  try {
    exam = await api("POST", `/api/v1/exams/${examId}/${path}`);
    render();
    statusLine.textContent = message;
    announce(message);
  } catch (err) {
    errorAfter(errorBox, err);
  } finally {
    button.disabled = false;
  }
}

publishButton.addEventListener("click", () => act("publish", t("published"), publishButton));
archiveButton.addEventListener("click", () => act("archive", t("archived"), archiveButton));
filter.addEventListener("change", () => loadTakers(true));
more.addEventListener("click", () => loadTakers(false));

try {
  const [loaded, classes] = await Promise.all([
    api("GET", `/api/v1/exams/${examId}`), api("GET", "/api/v1/classes").catch(() => ({ items: [] }))]);
  exam = loaded;
  classNames = new Map(classes.items.map((c) => [c.id, c.name]));
  render();
  statusLine.textContent = t("loaded");
  await loadTakers(true);
} catch (err) {
  statusLine.textContent = "";
  errorAfter(statusLine, err);
} finally {
  busy(statusLine, false);
}
