// The teacher console's after-class part (live or ended session): homework — POST/DELETE
// /api/v1/classroom/sessions/{id}/homework, shown with its code, link and QR (web's
// /homework/{code}/qr.svg) — and the session's report, GET .../{id}/report as tables, with
// report.csv / report.xlsx downloaded as Blobs (they need the bearer token, so no plain link).
// The homework's state comes from the session answer (SessionOut's homework_code/_until) and from
// the open/close answers only, never from a report (one that started before an open or close
// would show the old state). #homework-status and #report-status are polite live regions: what
// is written there is read out, so nothing is announce()d twice.
import { t, cfg, api, el, showError, busy, fmt, fileNameOf, saveBlob } from "../mc.js";

const $ = (id) => document.getElementById(id);
// loading: a report request on its way; dirty: asked to reload meanwhile (a card closed).
const state = { s: null, report: null, loading: null, dirty: false, homework: null };

const CODES = { "classroom.homework_no_cards": "hw_no_cards" };

/** Shows the homework and report sections for session `s` (a SessionOut) and loads the report. */
export function startAfterClass(s) {
  state.s = s;
  $("homework-section").hidden = false;
  $("report-section").hidden = false;
  // The session answer names its open homework (code and end): no report needed to show it.
  showHomework(s.homework_code && s.homework_until ? { code: s.homework_code, until: s.homework_until } : null, false);
  loadReport(false).catch((err) => showError($("report-error"), err));
}

/** Loads the report again if it has been shown (a card closed: its answers are in); while a load is
 * on its way, once more after it (its answer may predate the card's close). */
export function refreshReport() {
  if (!state.report && !state.loading) return;
  if (state.loading) { state.dirty = true; return; }
  loadReport(false).catch((err) => showError($("report-error"), err));
}

// --- homework ----------------------------------------------------------------------------------
function homeworkLink(code) {
  return `${cfg.app}/homework/${code}`;
}

function showHomework(hw, opened) {
  state.homework = hw;
  const open = !!hw && !!hw.code && Date.parse(hw.until) > Date.now();
  const box = $("homework-open");
  if (open) {
    $("homework-code").textContent = hw.code;
    const link = $("homework-link");
    link.href = homeworkLink(hw.code);
    link.textContent = homeworkLink(hw.code);
    $("homework-qr").src = `/homework/${hw.code}/qr.svg`;
    box.hidden = false;
  } else {
    box.hidden = true;
  }
  $("homework-close").hidden = !open;
  $("homework-submit").textContent = open ? t("hw_reopen") : t("hw_open");
  const until = open ? fmt.date(hw.until) : "";
  const status = open ? t("hw_open_until", { until }) : t("hw_none");
  $("homework-status").textContent = opened && open ? t("hw_opened", { until, code: hw.code }) : status;
}

$("homework-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const errorBox = $("homework-error");
  errorBox.replaceChildren();
  const days = Number($("homework-days").value);
  if (!Number.isInteger(days) || days < 1 || days > 30) {
    showError(errorBox, t("hw_days_invalid"));
    $("homework-days").focus();
    return;
  }
  const button = $("homework-submit");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  try {
    const out = await api("POST", `/api/v1/classroom/sessions/${state.s.id}/homework`, { json: { days } });
    showHomework({ code: out.code, until: out.until }, true);
  } catch (err) {
    showError(errorBox, err, CODES);
  } finally {
    button.removeAttribute("aria-disabled");
  }
});

$("homework-close").addEventListener("click", async () => {
  if (!window.confirm(t("hw_confirm_close"))) return;
  const errorBox = $("homework-error");
  errorBox.replaceChildren();
  try {
    await api("DELETE", `/api/v1/classroom/sessions/${state.s.id}/homework`);
    showHomework(null, false);
    $("homework-status").textContent = t("hw_closed");
    $("homework-days").focus();  // the close button is gone: focus stays in the section
  } catch (err) {
    showError(errorBox, err);
  }
});

// --- report ------------------------------------------------------------------------------------
// `announceIt`: the teacher asked (button): #report-status says so. A background load (first
// load, a card closed) leaves #report-status alone: it would talk over the live class's news.
async function loadReport(announceIt) {
  const section = $("report-section");
  busy(section, true);
  if (announceIt) $("report-status").textContent = t("report_loading");
  $("report-error").replaceChildren();
  state.dirty = false;
  state.loading = api("GET", `/api/v1/classroom/sessions/${state.s.id}/report`);
  try {
    const report = await state.loading;
    state.report = report;
    renderReport(report);
    if (announceIt) $("report-status").textContent = `${t("report_loaded")} ${$("report-summary").textContent}`;
    $("report-load").textContent = t("report_refresh");
  } catch (err) {
    if (announceIt) $("report-status").textContent = "";
    throw err;
  } finally {
    state.loading = null;
    busy(section, false);
    if (state.dirty) refreshReport();
  }
}

const percent = (x) => (x === null || x === undefined ? "—" : `${fmt.number(x * 100)} %`);

function renderReport(report) {
  const sum = report.session;
  $("report-summary").textContent = t("report_summary", {
    live: sum.participants.live, homework: sum.participants.homework, cards: sum.cards,
    answers: sum.answers, correct: sum.correct, accuracy: percent(sum.accuracy) });

  const cards = $("report-cards");
  cards.replaceChildren();
  for (const c of report.cards) {
    const wrong = c.misconceptions.map((m) => t("misconception", { answer: m.answer, count: m.count })).join(", ");
    cards.append(el("tr", {},
      el("th", { scope: "row" }, String(c.card_no)),
      el("td", {}, c.problem.prompt ?? t("deleted_problem")),
      el("td", {}, c.problem.answer ?? "—"),
      el("td", {}, fmt.number(c.answered)),
      el("td", {}, fmt.number(c.correct)),
      el("td", {}, percent(c.accuracy)),
      el("td", {}, wrong || "—")));
  }
  if (!report.cards.length) cards.append(el("tr", {}, el("td", { colspan: "7" }, t("report_no_cards"))));

  const numbers = report.cards.map((c) => c.card_no);
  $("report-people-head").replaceChildren(
    ...[t("nickname"), t("mode"), t("score"), t("answered_count"), t("correct_count")]
      .concat(numbers.map((n) => t("card_n", { n })))
      .map((label) => el("th", { scope: "col" }, label)));
  const people = $("report-people");
  people.replaceChildren();
  for (const p of report.participants) {
    const byCard = new Map(p.per_card.map((r) => [r.card_no, r]));
    people.append(el("tr", {},
      el("th", { scope: "row" }, p.nickname),
      el("td", {}, t(`mode_${p.mode}`)),
      el("td", {}, fmt.number(p.score)),
      el("td", {}, fmt.number(p.answered)),
      el("td", {}, fmt.number(p.correct)),
      ...numbers.map((n) => cell(byCard.get(n)))));
  }
  if (!report.participants.length) {
    people.append(el("tr", {}, el("td", { colspan: String(5 + numbers.length) }, t("report_no_people"))));
  }
  $("report-body").hidden = false;
}

// ✓ / ✗ / – for the eye, the words for screen readers.
function cell(r) {
  const [mark, word] = !r || !r.answered ? ["–", t("cell_none")] : r.correct ? ["✓", t("cell_correct")] : ["✗", t("cell_wrong")];
  return el("td", { "data-result": word }, el("span", { "aria-hidden": "true" }, mark), el("span", { class: "visually-hidden" }, word));
}

$("report-load").addEventListener("click", () => {
  loadReport(true).catch((err) => showError($("report-error"), err));
});

// --- downloads ---------------------------------------------------------------------------------
// The export endpoints need the bearer token, so the file is fetched with api()'s raw Response (its
// exact bytes) and handed to the browser as a Blob URL, named by the answer's Content-Disposition
// (the edge exposes it to the pages), else the way classroom names it (classroom-<CODE>-<YYYYMMDD>.<ext>,
// the UTC date of started_at: classroom formats the stored UTC datetime).
function fileName(ext) {
  const started = state.report ? state.report.session.started_at : state.s.started_at;
  const day = new Date(started).toISOString().slice(0, 10).replace(/-/g, "");
  return `classroom-${state.s.code}-${day}.${ext}`;
}

async function download(ext, button) {
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  let name = fileName(ext);
  $("report-error").replaceChildren();
  $("report-status").textContent = t("downloading", { name });
  try {
    const resp = await api("GET", `/api/v1/classroom/sessions/${state.s.id}/report.${ext}`, {
      raw: true, headers: { Accept: ext === "csv" ? "text/csv" : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" } });
    const blob = await resp.blob();
    name = fileNameOf(resp, name);
    saveBlob(blob, name);
    $("report-status").textContent = t("downloaded", { name });
  } catch (err) {
    $("report-status").textContent = "";
    showError($("report-error"), err);
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

$("report-csv").addEventListener("click", (ev) => download("csv", ev.currentTarget));
$("report-xlsx").addEventListener("click", (ev) => download("xlsx", ev.currentTarget));
