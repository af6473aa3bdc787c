// Roster import (org admins): upload the .xlsx with an upload progress bar, follow the import
// job (SSE from /api/v1/jobs/{id}/events, polling /progress when the stream is unavailable),
// then show the durable result and per-row error report from /api/v1/rosters/imports/{id}.
// Then provision the import's accounts (POST …/{id}/provision, the job followed with the same
// progress code; its totals from the finished job's `result`) and take its one-time activation sheet
// (GET …/{id}/activation-sheet?format=csv|html): bearer-authenticated, so fetched with api()'s raw
// Response (the exact bytes, the CSV's byte-order mark included) and handed to the browser as a Blob
// download named as the server names it (a blob: tab would inherit this page's CSP, which blocks the
// sheet's inline print styles). Buttons that are busy get `aria-disabled` (not `disabled`), so the
// one a keyboard user pressed keeps the focus (a disabled button drops it to <body>).
import { api, busy, clone, el, fileNameOf, saveBlob, session, showError as renderError, stream, t, upload }
  from "../mc.js";
import { byId, errorAfter, fillFields, num, put, sleep, when } from "./teacher-common.js";

const FINISHED = ["succeeded", "failed", "cancelled"];
const form = byId("import-form");
const fileInput = byId("roster-file");
const startButton = byId("import-start");
const errorBox = byId("import-error");
const progressSection = byId("import-progress");
const uploadBar = byId("upload-bar");
const uploadText = byId("upload-text");
const jobBar = byId("job-bar");
const jobText = byId("job-text");
const live = byId("import-live");
const resultSection = byId("import-result");
const recentStatus = byId("recent-status");
const provisionSection = byId("provision");
const provisionForm = byId("provision-form");
const provisionStart = byId("provision-start");
const provisionError = byId("provision-error");
const provisionLive = byId("provision-live");
const sheetError = byId("sheet-error");
const sheetButtons = [byId("sheet-csv"), byId("sheet-html")];

// The words of each job's bar: the import counts rows, the provisioning students.
const IMPORT_VIEW = {
  bar: jobBar, text: jobText,
  words: { queued: "queued", running: "running", running_unknown: "running_unknown", succeeded: "succeeded",
           failed: "failed", cancelled: "cancelled" },
};
const PROVISION_VIEW = {
  bar: byId("provision-bar"), text: byId("provision-text"),
  words: { queued: "queued", running: "p_running", running_unknown: "p_running_unknown", succeeded: "p_succeeded",
           failed: "p_failed", cancelled: "p_cancelled" },
};
// Stable codes → the page's words (mc.js showError); any other code shows the API's message (and
// a 502/503/504 without a code mc.js's "offline").
const PROVISION_ERRORS = {
  "roster_provision.running": "err_running", "roster_provision.import_running": "err_import_running",
  "roster_provision.no_students": "err_no_students", "dependency.auth_unavailable": "err_auth",
  "roster_import.not_found": "err_not_found",
};
const SHEET_ERRORS = {
  "roster_provision.sheet_taken": "sheet_taken", "roster_provision.running": "sheet_running",
  "dependency.auth_unavailable": "err_auth", "roster_import.not_found": "err_not_found",
  "roster_provision.zone_unknown": "err_zone_unknown",
};

let shown = null; // the import the provisioning panel is about
let provisioning = false; // a provisioning job of `shown` is being followed

const who = await session.require(["teacher", "org_admin"]);

function showError(err) {
  errorBox.replaceChildren();
  renderError(errorBox, err);
}

/** A job's state on its bar (`view`: IMPORT_VIEW or PROVISION_VIEW). */
function showProgress(view, state, totalRows) {
  const { bar, text, words } = view;
  const total = state.total ?? totalRows;
  let pct = state.progress;
  if (pct == null && total) pct = (100 * (state.processed ?? 0)) / total;
  if (state.status === "succeeded") pct = 100;
  if (pct != null) bar.value = Math.max(0, Math.min(100, pct));
  const rounded = Math.round(pct ?? 0);
  if (state.status === "queued") text.textContent = t(words.queued);
  else if (state.status === "running") {
    text.textContent = total
      ? t(words.running, { processed: num(state.processed ?? 0), total: num(total), pct: rounded })
      : t(words.running_unknown, { processed: num(state.processed ?? 0) });
  } else if (state.status === "succeeded") text.textContent = t(words.succeeded, { total: num(total ?? state.processed) });
  else if (state.status === "failed") text.textContent = t(words.failed);
  else if (state.status === "cancelled") text.textContent = t(words.cancelled);
  bar.setAttribute("aria-valuetext", text.textContent);
}

async function followStream(view, jobId, totalRows) {
  for await (const ev of stream(`/api/v1/jobs/${jobId}/events`)) {
    const name = ev.event ?? ev.type ?? "progress";
    let data = ev.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch { continue; }
    }
    if (name === "error") throw new Error("progress stream ended with an error");
    if (!data || typeof data !== "object" || !data.status) continue;
    showProgress(view, data, totalRows);
    if (FINISHED.includes(data.status)) return data;
  }
  return null;
}

async function followPolling(view, jobId, totalRows) {
  for (let i = 0; i < 20000; i += 1) {
    const state = await api("GET", `/api/v1/jobs/${jobId}/progress`);
    showProgress(view, state, totalRows);
    if (FINISHED.includes(state.status)) return state;
    await sleep(400);
  }
  throw new Error("the job did not finish");
}

/** Follow a job (import or provisioning) on `view`'s bar to its end; resolves to its final state. */
async function follow(view, jobId, totalRows) {
  let final = null;
  try {
    final = await followStream(view, jobId, totalRows);
  } catch {
    final = null; // no stream (proxy, old token…): poll the same state instead
  }
  return final ?? followPolling(view, jobId, totalRows);
}

async function showReport(importId) {
  const report = await api("GET", `/api/v1/rosters/imports/${importId}`, { query: { errors_limit: 1000 } });
  fillFields(byId("import-summary"), report, (name, value) =>
    name === "status" ? t(`status_${value}`) : (typeof value === "number" ? num(value) : value));
  const failure = byId("import-failure");
  failure.hidden = !report.error;
  failure.textContent = report.error || "";
  const table = byId("row-errors");
  table.tBodies[0].replaceChildren(...report.errors.map((e) => {
    const row = clone("tpl-error-row");
    put(row, ".err-row", e.row);
    put(row, ".err-col", e.column);
    put(row, ".err-reason", e.reason);
    return row;
  }));
  table.hidden = report.errors.length === 0;
  byId("row-errors-none").hidden = report.errors_total > 0 || report.status !== "succeeded";
  const more = byId("row-errors-more");
  more.hidden = report.errors_total <= report.errors.length;
  more.textContent = t("more_errors", { shown: num(report.errors.length), total: num(report.errors_total) });
  resultSection.hidden = false;
  openProvision(report);
  return report;
}

async function loadRecent() {
  const table = byId("recent-table");
  try {
    const { items } = await api("GET", "/api/v1/rosters/imports", { query: { limit: 10 } });
    table.tBodies[0].replaceChildren(...items.map((imp) => {
      const row = clone("tpl-recent-row");
      put(row, ".rec-when", when(imp.created_at));
      put(row, ".rec-file", imp.filename);
      put(row, ".rec-status", t(`status_${imp.status}`));
      put(row, ".rec-rows", num(imp.total_rows));
      put(row, ".rec-created", num(imp.created_count));
      put(row, ".rec-errors", num(imp.error_count));
      const provision = row.querySelector(".rec-provision");
      provision.textContent = t("provision");
      provision.setAttribute("aria-label", t("provision_for", { file: imp.filename }));
      setDisabled(provision, provisioning);
      provision.addEventListener("click", async () => {
        if (isDisabled(provision)) return;
        try {
          await showReport(imp.id);
          byId("provision-h").focus();
        } catch (err) { showError(err); }
      });
      const button = row.querySelector(".rec-show");
      button.textContent = t("show");
      button.setAttribute("aria-label", t("show_for", { file: imp.filename }));
      button.addEventListener("click", async () => {
        try {
          await showReport(imp.id);
          byId("import-result-h").focus();
        } catch (err) { showError(err); }
      });
      return row;
    }));
    table.hidden = items.length === 0;
    recentStatus.textContent = items.length ? "" : t("no_imports");
  } catch (err) {
    recentStatus.textContent = "";
    errorAfter(recentStatus, err);
  } finally {
    busy(recentStatus, false);
  }
}

async function runImport(file) {
  errorBox.replaceChildren();
  resultSection.hidden = true;
  progressSection.hidden = false;
  uploadBar.value = 0;
  jobBar.value = 0;
  uploadText.textContent = t("uploading", { pct: 0 });
  jobText.textContent = "";
  live.textContent = t("uploading", { pct: 0 });
  const data = new FormData();
  data.append("file", file, file.name);
  let step = 0; // the last 25 % step announced
  const accepted = await upload("/api/v1/rosters/imports", data, (sent, total) => {
    const pct = total ? Math.round((100 * sent) / total) : 0;
    uploadBar.value = pct;
    uploadText.textContent = t("uploading", { pct });
    // Screen readers hear 25 %, 50 %, 75 %, 100 %, not every progress event.
    if (Math.floor(pct / 25) > step) {
      step = Math.floor(pct / 25);
      live.textContent = t("uploading", { pct: step * 25 });
    }
  });
  uploadBar.value = 100;
  uploadText.textContent = t("uploaded");
  showProgress(IMPORT_VIEW, { status: "queued", processed: 0, total: accepted.total_rows }, accepted.total_rows);
  live.textContent = t("queued");
  const final = await follow(IMPORT_VIEW, accepted.job_id ?? accepted.id, accepted.total_rows);
  const report = await showReport(accepted.id);
  const message = final.status === "succeeded"
    ? t("announce_done", { created: num(report.created_count), updated: num(report.updated_count),
                           errors: num(report.error_count) })
    : t("announce_failed", { error: report.error || final.error || t("failed") });
  live.textContent = message; // #import-live is the page's status region: not announce() too (read twice)
  await loadRecent();
}

// --- provisioning and the activation sheet ------------------------------------------------

/** A busy button: `aria-disabled` keeps it focusable (and focused), its handler returns early. */
function setDisabled(button, on) {
  if (on) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
}

const isDisabled = (button) => button.getAttribute("aria-disabled") === "true";

function setProvisioning(on) {
  provisioning = on;
  for (const button of [provisionStart, ...sheetButtons, ...document.querySelectorAll(".rec-provision")]) {
    setDisabled(button, on);
  }
}

/** The number of records of a CSV text (a quoted field may hold a line break); blank lines do not count. */
function csvRecords(text) {
  let records = 0;
  let quoted = false;
  let filled = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === "\n" || ch === "\r")) {
      if (filled) records += 1;
      filled = false;
    } else if (ch.trim() && ch !== "\ufeff") {
      filled = true;
    }
  }
  return filled ? records + 1 : records;
}

/** Point the panel at `report`'s import (not while a provisioning job of another one is followed). */
function openProvision(report) {
  if (provisioning) return;
  if (shown?.id !== report.id) {
    provisionError.replaceChildren();
    sheetError.replaceChildren();
    provisionLive.textContent = "";
    byId("provision-progress").hidden = true;
    byId("provision-summary").hidden = true;
  }
  shown = report;
  const ready = report.status === "succeeded";
  byId("provision-import").textContent = t("provision_of", { file: report.filename, status: t(`status_${report.status}`) });
  provisionForm.hidden = !ready;
  byId("provision-not-ready").hidden = ready;
  for (const button of sheetButtons) setDisabled(button, !ready);
  provisionSection.hidden = false;
}

/** The counts of a finished provisioning job (its progress `result`: tenant's totals), if it has them. */
function totalsOf(final) {
  const r = final.result;
  if (!r || typeof r !== "object" || r.students == null) return null;
  return { students: r.students, created: r.accounts_created ?? 0, linked: r.accounts_linked ?? 0,
           codes: r.codes_issued ?? 0 };
}

async function provision() {
  const target = shown;
  provisionError.replaceChildren();
  sheetError.replaceChildren();
  byId("provision-summary").hidden = true;
  provisionLive.textContent = "";
  setProvisioning(true);
  try {
    const accepted = await api("POST", `/api/v1/rosters/imports/${target.id}/provision`,
                               { json: { reissue: byId("provision-reissue").checked } });
    const total = accepted.total_students;
    byId("provision-progress").hidden = false;
    PROVISION_VIEW.bar.value = 0;
    showProgress(PROVISION_VIEW, { status: "queued", processed: 0, total }, total);
    provisionLive.textContent = t("p_started", { total: num(total) });
    const final = await follow(PROVISION_VIEW, accepted.job_id, total);
    if (final.status === "succeeded") {
      byId("provision-reissue").checked = false; // new codes were made: the next run need not make more
      const totals = totalsOf(final);
      const summary = byId("provision-summary");
      if (totals) {
        fillFields(summary, totals, (name, value) => num(value));
        summary.hidden = false;
      }
      provisionLive.textContent = totals
        ? t("p_done", { students: num(totals.students), created: num(totals.created), linked: num(totals.linked),
                        codes: num(totals.codes) })
        : t("p_done_short", { students: num(final.processed ?? total) });
    } else {
      provisionLive.textContent = "";
      // The job's stable `error_code` (its `error` text is English: only the code is shown with ours).
      const code = final.error_code || /^([a-z_]+\.[a-z_]+):/.exec(final.error || "")?.[1] || null;
      const box = renderError(provisionError, code === "dependency.auth_unavailable" ? t("p_failed_auth") : t("p_failed_again"));
      if (code) box.append(el("span", { class: "code" }, ` (${code})`));
    }
  } catch (err) {
    provisionLive.textContent = "";
    renderError(provisionError, err, PROVISION_ERRORS);
  } finally {
    setProvisioning(false);
  }
}

async function downloadSheet(format) {
  const target = shown;
  sheetError.replaceChildren();
  for (const button of sheetButtons) setDisabled(button, true);
  try {
    const resp = await api("GET", `/api/v1/rosters/imports/${target.id}/activation-sheet`, {
      query: { format }, headers: { Accept: format === "csv" ? "text/csv" : "text/html" }, raw: true });
    const blob = await resp.blob(); // the server's bytes as they are (the CSV's BOM tells Excel it is UTF-8)
    saveBlob(blob, fileNameOf(resp, `activation-codes-${target.id}.${format}`));
    if (shown !== target) return; // the panel shows another import now: its messages are not this one's
    if (format === "csv") {
      const people = csvRecords(await blob.text()) - 1; // the header is a record too
      provisionLive.textContent = t("sheet_done", { count: num(Math.max(0, people)) });
    } else {
      provisionLive.textContent = t("sheet_done_html");
    }
  } catch (err) {
    if (shown === target) renderError(sheetError, err, SHEET_ERRORS);
  } finally {
    for (const button of sheetButtons) setDisabled(button, provisioning || shown?.status !== "succeeded");
  }
}

if (who.role !== "org_admin") {
  form.hidden = true;
  byId("recent-h").closest("section").hidden = true;
  errorBox.append(document.createTextNode(t("admins_only")));
} else {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      errorBox.replaceChildren(document.createTextNode(t("choose_file")));
      fileInput.focus();
      return;
    }
    startButton.disabled = true;
    try {
      await runImport(file);
    } catch (err) {
      live.textContent = "";
      showError(err);
    } finally {
      startButton.disabled = false;
    }
  });
  provisionForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (shown && !provisioning && !isDisabled(provisionStart)) provision();
  });
  sheetButtons[0].addEventListener("click", () => { if (shown && !isDisabled(sheetButtons[0])) downloadSheet("csv"); });
  sheetButtons[1].addEventListener("click", () => { if (shown && !isDisabled(sheetButtons[1])) downloadSheet("html"); });
  await loadRecent();
}
