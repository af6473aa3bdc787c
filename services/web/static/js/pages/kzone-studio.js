// /kzone — a student's K-Zone studio: upload a voice recording (scored against the sentence read)
// or a dance video/photo (pose) with an upload progress bar, follow the job live (SSE from
// /api/v1/jobs/{id}/events, polling /progress when the stream is unavailable), then show the
// result from /api/v1/kzone/jobs/{id}/result: transcript, pronunciation score, word alignment,
// tutor feedback; or the detected skeleton drawn over the photo.
import { announce, api, session, showError, stream, t, upload, clone, fmt } from "../mc.js";

const $ = (id) => document.getElementById(id);
const FINISHED = ["succeeded", "failed", "cancelled"];
// inference's job steps (services/inference/jobs.py); any other step shows as plain "Analysing…"
const STEPS = ["transcribing", "scoring", "feedback", "generating", "estimating", "comparing", "storing", "publishing",
  "retrying"];
const form = $("studio-form");
const fileInput = $("media-file");
const startButton = $("studio-start");
const errorBox = $("studio-error");
const uploadBar = $("upload-bar");
const uploadText = $("upload-text");
const jobBar = $("job-bar");
const jobText = $("job-text");
const live = $("studio-live");
const cancelButton = $("job-cancel");
let currentJob = null;

await session.require(["student", "super_admin"]);

const kind = () => form.elements.kind.value;
function syncKind() {
  const voice = kind() === "voice";
  $("voice-fields").hidden = !voice;
  fileInput.accept = voice ? "audio/*" : "video/*,image/*";
}
for (const radio of form.elements.kind) radio.addEventListener("change", syncKind);
syncKind();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pctOf = (x) => Math.max(0, Math.min(100, Math.round(x ?? 0)));

function showProgress(state) {
  let pct = state.progress;
  if (pct == null && state.total) pct = (100 * (state.processed ?? 0)) / state.total;
  if (state.status === "succeeded") pct = 100;
  if (pct != null) jobBar.value = pctOf(pct);
  if (state.status === "queued") jobText.textContent = t("queued");
  else if (state.status === "running") {
    jobText.textContent = STEPS.includes(state.step)
      ? t("running", { step: t(`step_${state.step}`), pct: pctOf(pct) }) : t("running_plain", { pct: pctOf(pct) });
  } else if (state.status === "succeeded") jobText.textContent = t("succeeded");
  else if (state.status === "failed") jobText.textContent = state.error ? t("failed", { error: state.error }) : t("failed_plain");
  else if (state.status === "cancelled") jobText.textContent = t("cancelled");
  jobBar.setAttribute("aria-valuetext", jobText.textContent);
}

async function followStream(jobId) {
  for await (const ev of stream(`/api/v1/jobs/${jobId}/events`)) {
    if (ev.event === "error") throw new Error("progress stream ended with an error");
    const state = ev.json;
    if (!state || !state.status) continue;
    showProgress(state);
    if (FINISHED.includes(state.status)) return state;
  }
  return null;
}

async function followPolling(jobId) {
  for (;;) {
    const state = await api("GET", `/api/v1/jobs/${jobId}/progress`);
    showProgress(state);
    if (FINISHED.includes(state.status)) return state;
    await sleep(500);
  }
}

async function follow(jobId) {
  let final = null;
  try { final = await followStream(jobId); } catch { final = null; }
  return final ?? followPolling(jobId);
}

const num = (v, digits = 0) => (v == null ? t("none") : fmt.number(v, digits));
const pct = (ratio) => (ratio == null ? t("none") : t("percent", { pct: fmt.number(ratio * 100, 0) }));

function showVoice(job) {
  const r = job.result || {};
  $("r-transcript").textContent = r.transcript || t("none");
  $("r-reference").textContent = r.reference_text || t("none");
  $("r-score").textContent = r.pronunciation_score == null ? t("none") : t("score", { score: num(r.pronunciation_score, 0) });
  $("r-accuracy").textContent = pct(r.accuracy);
  $("r-completeness").textContent = pct(r.completeness);
  const feedbackBox = $("r-feedback-box");
  feedbackBox.hidden = !r.feedback && r.feedback_status !== "failed";
  $("r-feedback").textContent = r.feedback || t("feedback_pending");
  const words = Array.isArray(r.alignment) ? r.alignment : [];
  const table = $("words");
  table.tBodies[0].replaceChildren(...words.map((w) => {
    const row = clone("tpl-word");
    row.querySelector(".w-ref").textContent = w.reference ?? t("none");
    row.querySelector(".w-heard").textContent = w.heard ?? t("none");
    row.querySelector(".w-op").textContent = t(`op_${w.op}`);
    row.querySelector(".w-score").textContent = w.score == null ? t("none") : num(w.score, 0);
    row.classList.add(`op-${w.op}`);
    return row;
  }));
  table.hidden = words.length === 0;
  $("words-none").hidden = words.length > 0;
  $("words-more").hidden = !r.alignment_truncated;
  $("voice-result").hidden = false;
  $("voice-result-h").focus();
  return r.pronunciation_score == null ? t("succeeded") : t("announce_voice", { score: num(r.pronunciation_score, 0) });
}

// MediaPipe's 33-landmark pose: the bones to draw.
const BONES = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27],
  [24, 26], [26, 28], [27, 29], [29, 31], [27, 31], [28, 30], [30, 32], [28, 32], [15, 17], [15, 19], [15, 21],
  [16, 18], [16, 20], [16, 22], [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8], [9, 10]];

function drawSkeleton(canvas, points, width, height) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const seen = (p) => p && (p[3] ?? 1) >= 0.3;
  const at = (p) => [p[0] * width, p[1] * height];
  ctx.lineWidth = Math.max(2, width / 160);
  ctx.strokeStyle = "#be185d";
  for (const [a, b] of BONES) {
    if (!seen(points[a]) || !seen(points[b])) continue;
    ctx.beginPath();
    ctx.moveTo(...at(points[a]));
    ctx.lineTo(...at(points[b]));
    ctx.stroke();
  }
  ctx.fillStyle = "#111827";
  for (const p of points) {
    if (!seen(p)) continue;
    const [x, y] = at(p);
    ctx.beginPath();
    ctx.arc(x, y, Math.max(3, width / 120), 0, 2 * Math.PI);
    ctx.fill();
  }
  canvas.setAttribute("aria-label", t("skeleton", { n: points.filter(seen).length }));
}

async function showPose(job, jobId) {
  const r = job.result || {};
  $("p-frames").textContent = num(r.frames ?? r.total_frames);
  $("p-posed").textContent = num(r.frames_with_pose);
  const sim = r.similarity && typeof r.similarity === "object" ? r.similarity.score : r.similarity;
  $("p-similarity-t").hidden = $("p-similarity").hidden = sim == null;
  if (sim != null) $("p-similarity").textContent = num(sim, 0);
  const points = Array.isArray(r.first_pose) ? r.first_pose : [];
  const figure = $("pose-figure");
  figure.hidden = points.length === 0;
  $("pose-none").hidden = points.length > 0;
  if (points.length) {
    const image = $("pose-image");
    let width = r.width || 640;
    let height = r.height || 480;
    try {
      const detail = await api("GET", `/api/v1/kzone/jobs/${jobId}`);
      if (detail.input && detail.input.kind === "image" && detail.input.url) {
        // The page CSP's img-src has no api. host but connect-src has: fetch it into a blob: URL;
        // else (S3's objects host) try the URL itself, which works once img-src allows that host.
        if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
        try {
          const resp = await fetch(detail.input.url, { credentials: "omit" });
          if (!resp.ok) throw new Error(`image ${resp.status}`);
          image.src = URL.createObjectURL(await resp.blob());
        } catch {
          image.src = detail.input.url;
        }
        await image.decode();
        width = image.naturalWidth || width;
        height = image.naturalHeight || height;
        image.hidden = false;
      } else image.hidden = true;
    } catch { image.hidden = true; }
    drawSkeleton($("pose-canvas"), points, width, height);
  }
  const link = $("pose-keypoints");
  link.hidden = !job.keypoints_url;
  if (job.keypoints_url) $("pose-keypoints-link").href = job.keypoints_url;
  $("pose-result").hidden = false;
  $("pose-result-h").focus();
  if (!points.length) return t("announce_no_pose");
  return t("announce_pose", { n: num(r.frames_with_pose ?? 1) });
}

async function run(file) {
  errorBox.replaceChildren();
  $("voice-result").hidden = true;
  $("pose-result").hidden = true;
  $("studio-progress").hidden = false;
  uploadBar.value = 0;
  jobBar.value = 0;
  jobText.textContent = "";
  uploadText.textContent = t("uploading", { pct: 0 });
  live.textContent = t("uploading", { pct: 0 });
  const voice = kind() === "voice";
  const data = new FormData();
  let path;
  if (voice) {
    data.append("reference_text", $("reference-text").value.trim());
    data.append("language", $("language").value);
    data.append("feedback", $("feedback").checked ? "true" : "false");
    data.append("audio", file, file.name);
    path = "/api/v1/kzone/voice/analyze";
  } else {
    data.append("file", file, file.name);
    path = "/api/v1/kzone/dance/pose-detection";
  }
  const accepted = await upload(path, data, (sent, total) => {
    const p = total ? pctOf((100 * sent) / total) : 0;
    uploadBar.value = p;
    uploadText.textContent = t("uploading", { pct: p });
  });
  uploadBar.value = 100;
  uploadText.textContent = t("uploaded");
  uploadBar.setAttribute("aria-valuetext", t("uploaded"));
  currentJob = accepted.job_id;
  showProgress({ status: "queued" });
  live.textContent = t("queued");
  cancelButton.hidden = false;
  let final;
  try {
    final = await follow(accepted.job_id);
  } finally {
    cancelButton.hidden = true;
    currentJob = null;
  }
  let message;
  if (final.status === "succeeded") {
    const job = await api("GET", `/api/v1/kzone/jobs/${accepted.job_id}/result`);
    message = job.kind === "pose" ? await showPose(job, accepted.job_id) : showVoice(job);
  } else {
    message = jobText.textContent;
  }
  live.textContent = message;
  announce(message);
}

cancelButton.addEventListener("click", async () => {
  if (!currentJob) return;
  cancelButton.disabled = true;
  live.textContent = t("cancelling");
  try {
    await api("POST", `/api/v1/kzone/jobs/${currentJob}/cancel`);
  } catch (err) {
    showError(errorBox, err);
  } finally {
    cancelButton.disabled = false;
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.replaceChildren();
  const file = fileInput.files[0];
  if (!file) {
    showError(errorBox, t("choose_file"));
    fileInput.focus();
    return;
  }
  if (kind() === "voice" && !$("reference-text").value.trim()) {
    showError(errorBox, t("need_reference"));
    $("reference-text").focus();
    return;
  }
  startButton.disabled = true;
  try {
    await run(file);
  } catch (err) {
    live.textContent = "";
    showError(errorBox, err);
  } finally {
    startButton.disabled = false;
  }
});
