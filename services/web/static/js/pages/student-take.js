// /exams/{exam_id} — take an exam item by item (exam service). The attempt held by the API is
// the truth: a reload asks the API which attempt is in progress and which item it waits for.
import { t, api, session, clone, showError, announce, busy } from "../mc.js";

const root = document.getElementById("take");
const examId = root.dataset.examId;
const $ = (id) => document.getElementById(id);
const errorBox = $("take-error");
const form = $("item-form");
const heading = $("item-heading");
const options = $("item-options");
const free = $("free-answer");
const saveStatus = $("save-status");
const saveButton = $("save-button");

let exam = null;
let attempt = null; // {id, kind, answered, item, total}
let saving = false;
let timer = null; // {deadline (performance.now ms), id, warned5, warned1}
let starting = false; // Start pressed: the request is on its way
let finishing = false; // Finish confirmed: the request is on its way
let timedOut = false;

function show(section) {
  for (const id of ["intro", "runner"]) $(id).hidden = id !== section;
  $("take-loading").hidden = true;
}

function clearError() { errorBox.replaceChildren(); }

function goResult(attemptId) {
  window.location.assign(`/attempts/${attemptId}/result`);
}

// ---- timer --------------------------------------------------------------------------------------

function fmtClock(sec) {
  const s = Math.max(0, Math.ceil(sec));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${pad(m)}:${pad(r)}`;
}

function left() { return timer ? (timer.deadline - performance.now()) / 1000 : null; }

function tick() {
  const sec = left();
  $("timer").textContent = fmtClock(sec);
  $("timer-box").classList.toggle("timer-low", sec <= 60);
  if (!timer.warned5 && sec <= 300) { timer.warned5 = true; if (sec > 60) announce(t("five_min")); }
  if (!timer.warned1 && sec <= 60) { timer.warned1 = true; if (sec > 0) announce(t("one_min")); }
  if (sec <= 0) timeUp();
}

function setClock(remaining) {
  if (remaining == null) { $("timer-box").hidden = true; return; }
  const fresh = !timer;
  if (fresh) timer = { id: null, warned5: remaining <= 300, warned1: remaining <= 60 };
  timer.deadline = performance.now() + remaining * 1000;
  $("timer-box").hidden = false;
  if (fresh) { timer.id = window.setInterval(tick, 1000); }
  tick();
}

function stopClock() {
  if (timer && timer.id) window.clearInterval(timer.id);
  if (timer) timer.id = null;
}

async function timeUp() {
  if (timedOut) return;
  timedOut = true;
  stopClock();
  saving = true;
  saveButton.setAttribute("aria-disabled", "true");
  announce(t("time_up"));
  saveStatus.textContent = t("time_up");
  // The server scores the attempt once its deadline (+ a short grace) has passed: ask until it has.
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 1500));
    try {
      const a = await api("GET", `/api/v1/attempts/${attempt.id}`);
      if (a.status !== "in_progress") break;
    } catch {
      break; // the result page says what the API knows (or shows the error itself)
    }
  }
  // Scored, or not yet after the polls, or the poll failed: the result page either way (it
  // shows the attempt's state), never stuck on "Time's up".
  goResult(attempt.id);
}

// ---- rendering ----------------------------------------------------------------------------------

function adopt(a) {
  // An AttemptOut from the API.
  attempt = {
    id: a.id, kind: a.kind, answered: a.answered, item: a.current_item,
    total: a.kind === "fixed" ? a.answered + a.pending_item_ids.length : null,
  };
}

function renderItem({ focus }) {
  const item = attempt.item;
  const n = attempt.answered + 1;
  heading.textContent = attempt.total ? t("question_of", { n, total: attempt.total }) : t("question", { n });
  $("progress").textContent = attempt.total
    ? t("answered_of", { n: attempt.answered, total: attempt.total }) : t("answered", { n: attempt.answered });
  $("item-stem").textContent = item.stem;
  options.replaceChildren();
  item.options.forEach((opt, i) => {
    const node = clone("tpl-option");
    const input = node.querySelector("input");
    const label = node.querySelector("label");
    input.id = `opt-${i}`;
    input.value = opt.key;
    label.htmlFor = input.id;
    node.querySelector(".option-key").textContent = `${opt.key}.`;
    node.querySelector(".option-text").textContent = opt.text;
    options.append(node);
  });
  $("item-free").hidden = item.options.length > 0;
  free.value = "";
  $("choose-hint").hidden = true;
  saving = false;
  saveButton.removeAttribute("aria-disabled");
  document.title = `${heading.textContent} · ${exam ? exam.title : ""}`;
  if (focus) heading.focus();
}

function enterRunner(a, { resumed }) {
  adopt(a);
  if (a.status !== "in_progress") { goResult(a.id); return false; }
  show("runner");
  setClock(a.remaining_seconds);
  if (!attempt.item) { refresh().catch((e) => showError(errorBox, e)); return true; }
  renderItem({ focus: true });
  if (resumed) announce(t("resumed", { n: attempt.answered + 1 }));
  return true;
}

async function refresh() {
  // The API's view of the attempt (after a conflict or a lost next item).
  const a = await api("GET", `/api/v1/attempts/${attempt.id}`);
  if (a.status !== "in_progress") { stopClock(); goResult(a.id); return; }
  adopt(a);
  setClock(a.remaining_seconds);
  if (attempt.item) renderItem({ focus: true });
}

// ---- answering ----------------------------------------------------------------------------------

function chosen() {
  if (attempt.item.options.length === 0) return free.value.trim();
  const picked = options.querySelector("input[type=radio]:checked");
  return picked ? picked.value : "";
}

async function save() {
  if (saving || !attempt || !attempt.item) return;
  clearError();
  const answer = chosen();
  if (!answer) {
    $("choose-hint").hidden = false;
    announce(t("choose"));
    const first = options.querySelector("input") || free;
    first.focus();
    return;
  }
  saving = true;
  saveButton.setAttribute("aria-disabled", "true");
  saveStatus.textContent = t("saving");
  busy(form, true);
  const item = attempt.item;
  try {
    const ack = await api("POST", `/api/v1/attempts/${attempt.id}/responses`,
      { json: { item_id: item.id, answer } });
    saveStatus.textContent = t("saved"); // only now: the API has stored it
    if (ack.remaining_seconds != null) setClock(ack.remaining_seconds);
    if (ack.finished) { stopClock(); goResult(ack.attempt_id); return; }
    attempt.answered = ack.answered;
    if (ack.next_item) {
      attempt.item = ack.next_item;
      renderItem({ focus: true });
    } else {
      await refresh();
    }
  } catch (err) {
    saving = false;
    saveButton.removeAttribute("aria-disabled");
    const code = err && err.code;
    if (code === "attempt.time_expired" || code === "attempt.not_in_progress") {
      stopClock();
      goResult(attempt.id);
    } else if (code === "attempt.item_not_current" || code === "attempt.response_conflict") {
      saveStatus.textContent = "";
      await refresh().catch((e) => showError(errorBox, e));
    } else if (err && err.body && err.body.response_stored) {
      saveStatus.textContent = t("saved_retry"); // sending the same answer again is safe
    } else {
      saveStatus.textContent = "";
      showError(errorBox, err);
    }
  } finally {
    busy(form, false);
  }
}

form.addEventListener("submit", (e) => { e.preventDefault(); save(); });
options.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.target instanceof HTMLInputElement && e.target.type === "radio") {
    e.preventDefault();
    form.requestSubmit();
  }
});
options.addEventListener("change", () => { $("choose-hint").hidden = true; });

// ---- finishing ----------------------------------------------------------------------------------

$("finish-button").addEventListener("click", () => {
  const q = attempt.kind === "adaptive" ? "finish_q_adaptive" : "finish_q";
  $("finish-question").textContent = t(q, { n: attempt.answered });
  $("finish-confirm").hidden = false;
  $("finish-question").focus();
});
$("finish-no").addEventListener("click", () => {
  $("finish-confirm").hidden = true;
  $("finish-button").focus();
});
$("finish-yes").addEventListener("click", async () => {
  if (finishing || timedOut) return; // one submit (double click, Enter twice)
  finishing = true;
  const button = $("finish-yes");
  button.disabled = true;
  clearError();
  saveStatus.textContent = t("finishing");
  try {
    const a = await api("POST", `/api/v1/attempts/${attempt.id}/submit`);
    stopClock();
    goResult(a.id); // stays disabled while the page changes
  } catch (err) {
    saveStatus.textContent = "";
    showError(errorBox, err);
    finishing = false;
    button.disabled = false;
    button.focus();
  }
});

// ---- starting and resuming ----------------------------------------------------------------------

$("start-button").addEventListener("click", async () => {
  if (starting) return; // one start (double click, Enter twice)
  starting = true;
  clearError();
  const button = $("start-button");
  button.disabled = true;
  announce(t("starting"));
  try {
    const a = await api("POST", `/api/v1/exams/${examId}/start`);
    enterRunner(a, { resumed: false });
  } catch (err) {
    if (err && err.code === "attempt.already_active" && err.body && err.body.attempt_id) {
      try {
        enterRunner(await api("GET", `/api/v1/attempts/${err.body.attempt_id}`), { resumed: true });
      } catch (err2) { showError(errorBox, err2); }
    } else {
      showError(errorBox, err);
    }
  } finally {
    starting = false;
    button.disabled = false;
    // Still on the intro (the start failed): keyboard users continue at the button.
    if (!$("intro").hidden && document.activeElement === document.body) button.focus();
  }
});

async function main() {
  const me = await session.require(["student"]);
  try {
    exam = await api("GET", `/api/v1/exams/${examId}`);
  } catch (err) {
    $("take-loading").hidden = true;
    showError(errorBox, err);
    return;
  }
  $("exam-title").textContent = exam.title;
  document.title = exam.title;
  try {
    const report = await api("GET", `/api/v1/students/${me.userId}/reports`, { query: { exam_id: examId, limit: 50 } });
    const running = report.attempts.find((a) => a.status === "in_progress");
    if (running) {
      // In progress: continue it (or, finished meanwhile, go to its result).
      enterRunner(await api("GET", `/api/v1/attempts/${running.attempt_id}`), { resumed: true });
      return;
    }
    const last = report.attempts.find((a) => a.status !== "in_progress");
    if (last) {
      $("intro-previous-link").href = `/attempts/${last.attempt_id}/result`;
      $("intro-previous").hidden = false;
    }
  } catch (err) {
    showError(errorBox, err); // the intro still works: start answers 409 with the running attempt
  }
  $("exam-description").textContent = exam.description || "";
  $("exam-description").hidden = !exam.description;
  $("intro-kind").textContent = exam.kind === "adaptive" ? t("kind_adaptive") : t("kind_fixed");
  $("intro-limit").textContent = exam.time_limit_seconds
    ? t("limit", { n: Math.round(exam.time_limit_seconds / 60) }) : t("untimed");
  show("intro");
}

main();
