// Roster import (org admins): upload the .xlsx with an upload progress bar, follow the import
// job (SSE from /api/v1/jobs/{id}/events, polling /progress when the stream is unavailable),
// then show the durable result and per-row error report from /api/v1/rosters/imports/{id}.
import { api, busy, clone, session, showError as renderError, stream, t, upload } from "../mc.js";
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

const who = await session.require(["teacher", "org_admin"]);

function showError(err) {
  errorBox.replaceChildren();
  renderError(errorBox, err);
}

function showProgress(state, totalRows) {
  const total = state.total ?? totalRows;
  let pct = state.progress;
  if (pct == null && total) pct = (100 * (state.processed ?? 0)) / total;
  if (state.status === "succeeded") pct = 100;
  if (pct != null) jobBar.value = Math.max(0, Math.min(100, pct));
  const rounded = Math.round(pct ?? 0);
  if (state.status === "queued") jobText.textContent = t("queued");
  else if (state.status === "running") {
    jobText.textContent = total
      ? t("running", { processed: num(state.processed ?? 0), total: num(total), pct: rounded })
      : t("running_unknown", { processed: num(state.processed ?? 0) });
  } else if (state.status === "succeeded") jobText.textContent = t("succeeded", { total: num(total ?? state.processed) });
  else if (state.status === "failed") jobText.textContent = t("failed");
  else if (state.status === "cancelled") jobText.textContent = t("cancelled");
  jobBar.setAttribute("aria-valuetext", jobText.textContent);
}

async function followStream(jobId, totalRows) {
  for await (const ev of stream(`/api/v1/jobs/${jobId}/events`)) {
    const name = ev.event ?? ev.type ?? "progress";
    let data = ev.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch { continue; }
    }
    if (name === "error") throw new Error("progress stream ended with an error");
    if (!data || typeof data !== "object" || !data.status) continue;
    showProgress(data, totalRows);
    if (FINISHED.includes(data.status)) return data;
  }
  return null;
}

async function followPolling(jobId, totalRows) {
  for (let i = 0; i < 20000; i += 1) {
    const state = await api("GET", `/api/v1/jobs/${jobId}/progress`);
    showProgress(state, totalRows);
    if (FINISHED.includes(state.status)) return state;
    await sleep(400);
  }
  throw new Error("the import did not finish");
}

async function follow(jobId, totalRows) {
  let final = null;
  try {
    final = await followStream(jobId, totalRows);
  } catch {
    final = null; // no stream (proxy, old token…): poll the same state instead
  }
  return final ?? followPolling(jobId, totalRows);
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
  showProgress({ status: "queued", processed: 0, total: accepted.total_rows }, accepted.total_rows);
  live.textContent = t("queued");
  const final = await follow(accepted.job_id ?? accepted.id, accepted.total_rows);
  const report = await showReport(accepted.id);
  const message = final.status === "succeeded"
    ? t("announce_done", { created: num(report.created_count), updated: num(report.updated_count),
                           errors: num(report.error_count) })
    : t("announce_failed", { error: report.error || final.error || t("failed") });
  live.textContent = message; // #import-live is the page's status region: not announce() too (read twice)
  await loadRecent();
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
  await loadRecent();
}
