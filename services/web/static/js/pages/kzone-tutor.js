// /kzone/tutor — ask the K-Zone tutor: POST /api/v1/kzone/tutor/ask answers as Server-Sent Events
// (`delta` {text} sentences, then `done` {finish_reason} or `error` {problem}), read with mc.js stream().
import { ApiError, announce, busy, session, showError, stream, t } from "../mc.js";

const $ = (id) => document.getElementById(id);
const form = $("tutor-form");
const question = $("question");
const context = $("context");
const askButton = $("tutor-ask");
const stopButton = $("tutor-stop");
const errorBox = $("tutor-error");
const answer = $("answer");
const status = $("answer-status");
let controller = null;

await session.require(["student", "super_admin"]);

async function ask(body) {
  errorBox.replaceChildren();
  answer.replaceChildren();
  $("answer-section").hidden = false;
  $("asked").textContent = t("asked", { question: body.question });
  status.textContent = t("thinking");
  busy(answer, true);
  controller = new AbortController();
  stopButton.hidden = false;
  let text = "";
  let ending = null;
  try {
    const events = stream("/api/v1/kzone/tutor/ask", { method: "POST", json: body, signal: controller.signal });
    for await (const ev of events) {
      if (ev.event === "delta" && ev.json && typeof ev.json.text === "string") {
        if (!text) status.textContent = t("writing");
        text += ev.json.text;
        answer.append(document.createTextNode(ev.json.text));
      } else if (ev.event === "done") {
        ending = ev.json && ev.json.finish_reason === "length" ? t("cut") : t("done");
        break;
      } else if (ev.event === "error") {
        showError(errorBox, new ApiError(ev.json?.status || 503, ev.json));
        ending = t("failed");
        break;
      }
    }
    if (!text && ending === t("done")) ending = t("empty");
    status.textContent = ending ?? t("failed");
  } catch (err) {
    if (err.name === "AbortError") status.textContent = t("stopped");
    else {
      status.textContent = "";
      if (!text) $("answer-section").hidden = true;
      showError(errorBox, err instanceof ApiError && err.code === "dependency.inference_unavailable"
        ? `${t("busy_tutor")}` : err);
    }
  } finally {
    busy(answer, false);
    stopButton.hidden = true;
    controller = null;
    announce(status.textContent);
  }
}

stopButton.addEventListener("click", () => { if (controller) controller.abort(); });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = question.value.trim();
  if (!q) {
    showError(errorBox, t("need_question"));
    question.focus();
    return;
  }
  const body = { question: q };
  if (context.value.trim()) body.context = context.value.trim();
  askButton.disabled = true;
  try { await ask(body); } finally { askButton.disabled = false; }
});
