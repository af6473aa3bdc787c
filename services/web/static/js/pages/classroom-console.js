// /teach/classroom/{code}: the teacher's console of a live session. The session is the one the link
// names by id (`?session=<id>`: GET /api/v1/classroom/sessions/{id}; an earlier session's code may
// have been reused), else the teacher's active session with this code; the live state comes over the classroom
// WebSocket (hello with the teacher's access token → snapshot with participants and tally, then
// joined/left/chat/message_held/card_*/tally_detail/leaderboard frames). Actions are HTTP:
// PATCH session (lock, chat mode), extend, end; PATCH participants (approve, mute, kick);
// POST messages/{id}/hide|show; GET problems, POST problems, POST cards, POST cards/current/close.
// Homework and the session's report (live or ended): classroom-report.js.
import { t, api, session, connect, el, clone, showError, announce } from "../mc.js";
import { frameError, LiveSocket, renderChat, renderBoard, Countdown, showConnectionClosed } from "./classroom-live.js";
import { startAfterClass, refreshReport } from "./classroom-report.js";

const $ = (id) => document.getElementById(id);
const code = $("classroom-console").dataset.code;
const errorBox = $("console-error");
const state = { s: null, people: new Map(), card: null, timer: null, sock: null };

const fail = (err) => showError(errorBox, err);

async function main() {
  await session.require(["teacher", "org_admin"]);
  const s = await findSession();
  if (!s) { fail(t("not_found")); return; }
  state.s = s;
  setSession(s);
  startAfterClass(s);
  if (s.status !== "active") { over(false); return; }  // startAfterClass loads the report already
  $("settings-section").hidden = false;
  $("console-grid").hidden = false;
  loadProblems().catch(fail);
  const people = await api("GET", `/api/v1/classroom/sessions/${s.id}/participants`);
  for (const p of people.items) upsertPerson(p);
  $("conn-status").textContent = t("connecting");
  state.sock = new LiveSocket(connect, `/api/v1/classroom/sessions/${encodeURIComponent(code)}/ws`,
    socketToken, onFrame, onStatus, { invalidate: (token) => session.invalidate(token) });
  state.sock.open();
}

// The session named by `?session=<id>` (if its code is this page's), else the active one with this
// code, else the latest of the teacher's sessions with it; null when none.
async function findSession() {
  const id = new URLSearchParams(window.location.search).get("session");
  if (id) {
    try {
      const s = await api("GET", `/api/v1/classroom/sessions/${encodeURIComponent(id)}`);
      if (s.code === code) return s;
    } catch (err) {
      if (![404, 422].includes(err.status)) throw err;  // not found, or not an id: look it up by code
    }
  }
  const active = await api("GET", "/api/v1/classroom/sessions", { query: { status: "active" } });
  const live = active.items.find((x) => x.code === code);
  if (live) return live;
  const all = await api("GET", "/api/v1/classroom/sessions", { query: { limit: 200 } });
  return all.items.find((x) => x.code === code) || null;
}

// The token for the socket's hello: a failed refresh (network) throws, so the socket closes and
// retries instead of the whole page turning into require()'s error notice; signed out → sign in.
async function socketToken() {
  const s = await session.ensure();
  if (!s) return (await session.require(["teacher", "org_admin"])).token;
  return s.token;
}

function setSession(s) {
  $("console-title").textContent = s.title ? `· ${s.title}` : "";
  $("lock-check").checked = !!s.locked;
  $("chat-mode").value = s.chat_mode;
  const status = s.status === "active" ? t("time_left", { minutes: Math.max(0, Math.round(s.seconds_left / 60)) })
    : s.status === "ended" ? t("ended") : t("expired");
  $("session-status").textContent = status;
}

/** The session is over; `watched`: it ended while this page followed it, so the report has news. */
function over(watched = true) {
  if (state.sock) state.sock.stop();
  if (state.timer) state.timer.stop();
  $("settings-section").hidden = true;
  $("console-grid").hidden = true;
  $("ended-section").hidden = false;
  $("session-status").textContent = t("ended");
  // Nobody can join any more: the join QR and URL would only be confused with the homework's.
  $("qr").hidden = true;
  $("join-url").parentElement.hidden = true;
  if (watched) refreshReport();
}

function onStatus(status, closeCode) {
  if (status === "open") $("conn-status").textContent = t("connected");
  else if (status === "retry") $("conn-status").textContent = t("reconnecting");
  else if (status === "closed" && closeCode === 4410) over();
  else if (status === "closed") showConnectionClosed(state.timer);
}


$("reload-button").addEventListener("click", () => location.reload());

// --- participants ------------------------------------------------------------------------------
function upsertPerson(p) {
  const before = state.people.get(p.id) || {};
  const person = { ...before, ...p };
  state.people.set(p.id, person);
  renderPeople();
  return person;
}

function personStatus(p) {
  if (p.status === "pending") return t("status_pending");
  if (p.status === "kicked") return t("status_kicked");
  if (p.status === "banned") return t("status_banned");
  return p.online === false ? t("status_offline") : t("status_active");
}

// Rows are updated in place (keyed by data-id): a teacher on a row's button keeps the focus while
// joined/left/leaderboard frames arrive. When a row's buttons change (Mute → Unmute) or the row
// goes (removed), focus moves to the same button slot of that row (or the next one).
function actionsKey(p) {
  return JSON.stringify([p.status === "pending" ? "approve" : p.muted ? "unmute" : "mute", p.nickname]);
}

function fillActions(cell, p) {
  const primary = p.status === "pending"
    ? button(t("approve_short"), t("approve", { name: p.nickname }), () => patchPerson(p.id, { status: "active" }))
    : p.muted
      ? button(t("unmute"), t("unmute_label", { name: p.nickname }), () => patchPerson(p.id, { muted: false }))
      : button(t("mute"), t("mute_label", { name: p.nickname }), () => patchPerson(p.id, { muted: true }));
  primary.dataset.slot = "primary";
  const kick = button(t("kick"), t("kick_label", { name: p.nickname }), () => patchPerson(p.id, { status: "kicked" }));
  kick.dataset.slot = "kick";
  cell.replaceChildren(primary, " ", kick);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function renderPeople() {
  const rows = $("people-rows");
  const active = document.activeElement;
  const focusRow = active && rows.contains(active) ? active.closest("tr") : null;
  const focusSlot = focusRow && active.dataset ? active.dataset.slot || "primary" : null;
  const focusIndex = focusRow ? [...rows.children].indexOf(focusRow) : -1;
  const shown = [...state.people.values()].filter((p) => p.status !== "kicked" && p.status !== "banned");
  const wanted = new Set(shown.map((p) => String(p.id)));
  for (const tr of [...rows.children]) if (!wanted.has(tr.dataset.id)) tr.remove();
  shown.forEach((p, i) => {
    let tr = rows.querySelector(`tr[data-id="${CSS.escape(String(p.id))}"]`);
    if (!tr) {
      tr = clone("tpl-person");
      tr.dataset.id = p.id;
    }
    setText(tr.querySelector(".p-name"), p.nickname);
    setText(tr.querySelector(".p-status"), personStatus(p) + (p.muted ? ` · ${t("muted")}` : ""));
    setText(tr.querySelector(".p-score"), String(p.score ?? 0));
    const key = actionsKey(p);
    if (tr.dataset.actions !== key) {
      tr.dataset.actions = key;
      fillActions(tr.querySelector(".p-actions"), p);
    }
    if (rows.children[i] !== tr) rows.insertBefore(tr, rows.children[i] || null);
  });
  $("people-count").textContent = String(shown.length);
  $("people-empty").hidden = shown.length > 0;
  // Focus lost with a replaced button or a removed row: the same slot of that row, else the
  // row now at its place, else the one before it, else the heading.
  if (focusRow && !rows.contains(document.activeElement)) {
    const row = rows.contains(focusRow) ? focusRow
      : rows.children[focusIndex] || rows.children[focusIndex - 1] || null;
    const target = row && (row.querySelector(`button[data-slot="${focusSlot}"]`) || row.querySelector("button"));
    if (target) target.focus();
    else { const h = $("people-heading"); h.tabIndex = -1; h.focus(); }
  }
}

// A busy button stays focusable (aria-disabled, not disabled: disabling drops the focus).
function button(text, label, onClick) {
  const b = el("button", { type: "button", class: "button small secondary", "aria-label": label }, text);
  b.addEventListener("click", async () => {
    if (b.getAttribute("aria-disabled") === "true") return;
    b.setAttribute("aria-disabled", "true");
    try { await onClick(); } catch (err) { fail(err); } finally { b.removeAttribute("aria-disabled"); }
  });
  return b;
}

async function patchPerson(id, body) {
  const before = state.people.get(id) || {};
  const out = await api("PATCH", `/api/v1/classroom/sessions/${state.s.id}/participants/${id}`, { json: body });
  upsertPerson({ ...out, online: before.online });
}
// --- chat --------------------------------------------------------------------------------------
function chatActions(li, msg) {
  const name = msg.author && msg.author.staff ? t("teacher") : (msg.author && msg.author.nickname) || "?";
  const note = li.querySelector(".chat-note");
  const actions = li.querySelector(".chat-actions");
  if (msg.status === "held") {
    note.textContent = t("held");
    actions.append(button(t("show"), t("show_label", { name }), () => moderate(msg, "show")));
  } else if (msg.status === "hidden") {
    note.textContent = msg.reason ? t("filtered") : t("hidden");
    actions.append(button(t("show"), t("show_label", { name }), () => moderate(msg, "show")));
  } else {
    actions.append(button(t("hide"), t("hide_label", { name }), () => moderate(msg, "hide")));
  }
}

async function moderate(msg, action) {
  const out = await api("POST", `/api/v1/classroom/sessions/${state.s.id}/messages/${msg.id}/${action}`);
  addChat([{ ...msg, status: out.status }]);
}

function addChat(messages, sync = false) {
  renderChat($("chat-log"), messages, { sync, teacherLabel: t("teacher"), actions: chatActions });
}

$("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("chat-input");
  const body = input.value.trim();
  if (!body || !state.sock) return;
  if (!state.sock.send("chat", { body })) {
    $("chat-note").textContent = t("not_sent");  // the message stays in the input
    input.focus();
    return;
  }
  $("chat-note").textContent = "";
  input.value = "";
  input.focus();
});

// --- cards -------------------------------------------------------------------------------------
async function loadProblems() {
  const page = await api("GET", "/api/v1/classroom/problems", { query: { class_id: state.s.class_id, limit: 200 } });
  const select = $("problem-select");
  select.replaceChildren();
  for (const p of page.items) {
    select.append(el("option", { value: p.id }, t("problem_option", { type: t(`type_${p.type}`), grade: p.grade, prompt: p.prompt })));
  }
  if (!page.items.length) select.append(el("option", { value: "" }, t("no_problems")));
}

async function showCard(body) {
  await api("POST", `/api/v1/classroom/sessions/${state.s.id}/cards`, { json: body });
}

$("bank-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = $("problem-select").value;
  if (!id) { $("np-prompt").focus(); return; }
  try { await showCard({ problem_id: id }); } catch (err) { fail(err); }
});

$("rotate-button").addEventListener("click", async () => {
  try { await showCard({ rotate: {} }); } catch (err) { fail(err); }
});

$("new-problem-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const choices = $("np-choices").value.split("\n").map((c) => c.trim()).filter(Boolean);
  const body = {
    class_id: state.s.class_id, type: $("np-type").value, prompt: $("np-prompt").value.trim(),
    answer: $("np-answer").value.trim(), grade: Number($("np-grade").value),
    difficulty: Number($("np-difficulty").value),
  };
  if (choices.length) body.choices = choices;
  try {
    const problem = await api("POST", "/api/v1/classroom/problems", { json: body });
    await showCard({ problem_id: problem.id });
    $("new-problem-form").reset();
    loadProblems().catch(fail);
  } catch (err) { fail(err); }
});

$("close-card").addEventListener("click", async () => {
  try { await api("POST", `/api/v1/classroom/sessions/${state.s.id}/cards/current/close`); } catch (err) { fail(err); }
});

function renderCard(card, timeLeftMs) {
  if (state.timer) state.timer.stop();
  state.card = card;
  const node = clone("tpl-card-now");
  node.dataset.card = String(card.card_no);
  node.querySelector(".card-meta").textContent = t("card_meta", { n: card.card_no, type: t(`type_${card.problem.type}`) });
  node.querySelector(".card-prompt").textContent = card.problem.prompt;
  const list = node.querySelector(".card-choices");
  (card.problem.choices || []).forEach((c, i) => list.append(el("li", {}, `${String.fromCharCode(65 + i)}. ${c}`)));
  $("card-now").replaceChildren(node);
  $("close-card").hidden = false;
  $("tally").replaceChildren();
  const timer = node.querySelector(".card-timer");
  const ms = timeLeftMs ?? Math.max(0, Date.parse(card.closes_at) - Date.now());
  state.timer = new Countdown(ms, (s) => { timer.textContent = s > 0 ? t("timer", { seconds: s }) : t("time_up"); });
}

function renderTally(d, closed) {
  const box = clone("tpl-tally");
  box.querySelector(".tally-summary").textContent = closed
    ? t("tally_closed", { correct: d.correct, answered: d.answered })
    : t("tally_open", { answered: d.answered, correct: d.correct });
  const rows = box.querySelector(".tally-rows");
  for (const a of d.by_answer || []) {
    rows.append(el("tr", {}, el("th", { scope: "row" }, a.answer), el("td", {}, String(a.count))));
  }
  $("tally").replaceChildren(box);
}

function cardClosed(d) {
  if (state.timer) state.timer.stop();
  const node = $("card-now").querySelector(`[data-card="${d.card_no}"]`);
  if (node) {
    node.querySelector(".card-timer").textContent = "";
    node.querySelector(".card-closed").hidden = false;
    node.querySelector(".card-answer").textContent = t("right_answer", { answer: d.answer });
    node.querySelector(".card-explanation").textContent = d.explanation || "";
  }
  $("close-card").hidden = true;
  renderTally(d, true);
  refreshReport();
  announce(`${t("card_closed", { n: d.card_no })} ${t("tally_closed", { correct: d.correct, answered: d.answered })}`);
}

// --- settings ----------------------------------------------------------------------------------
async function patchSession(body) {
  try {
    const s = await api("PATCH", `/api/v1/classroom/sessions/${state.s.id}`, { json: body });
    state.s = s;
    setSession(s);
    announce(t("settings_saved"));
  } catch (err) { fail(err); setSession(state.s); }
}

$("lock-check").addEventListener("change", () => patchSession({ locked: $("lock-check").checked }));
$("chat-mode").addEventListener("change", () => patchSession({ chat_mode: $("chat-mode").value }));
$("extend-button").addEventListener("click", async () => {
  try {
    const s = await api("POST", `/api/v1/classroom/sessions/${state.s.id}/extend`, { json: { minutes: 10 } });
    state.s = s;
    setSession(s);
    announce(t("extended", { minutes: Math.round(s.seconds_left / 60) }));
  } catch (err) { fail(err); }
});
$("end-button").addEventListener("click", async () => {
  if (!window.confirm(t("confirm_end"))) return;
  try {
    state.s = await api("POST", `/api/v1/classroom/sessions/${state.s.id}/end`);
    over();
  } catch (err) { fail(err); }
});

// --- frames ------------------------------------------------------------------------------------
function onFrame(frame, replayed) {
  if (replayed) return;
  const d = frame.data || {};
  switch (frame.type) {
    case "snapshot":
      setSession({ ...state.s, ...d.session });
      for (const p of d.participants || []) upsertPerson(p);
      addChat(d.chat || [], true);
      renderBoard($("board"), d.leaderboard);
      if (d.card && !d.card.closed) { renderCard(d.card, d.card.time_left_ms); if (d.tally) renderTally(d.tally, false); }
      break;
    case "joined": upsertPerson({ ...d.participant, status: "active", online: true });
      if (!d.rejoined) announce(t("joined", { name: d.participant.nickname })); break;
    case "left": {
      const status = d.reason === "disconnected" ? undefined : d.reason;
      upsertPerson({ ...d.participant, online: false, ...(status ? { status } : {}) });
      break;
    }
    case "arrival_pending": upsertPerson({ ...d.participant, status: "pending", online: false });
      announce(t("arrival", { name: d.participant.nickname })); break;
    case "participant_updated": upsertPerson(d.participant); break;
    case "chat": addChat([d]); break;
    case "message_held": addChat([{ ...d, status: "held" }]);
      announce(t("new_held", { name: d.author.nickname })); break;
    case "message_filtered": addChat([{ ...d, status: "hidden" }]); break;
    case "message_hidden": {
      const li = $("chat-log").querySelector(`[data-id="${CSS.escape(d.id)}"]`);
      if (li && li.dataset.status !== "hidden") {
        const body = li.querySelector(".chat-body").textContent;
        const author = li.querySelector(".chat-author").textContent.replace(/:$/, "");
        addChat([{ id: d.id, body, status: "hidden", author: { nickname: author, staff: li.classList.contains("chat-staff") } }]);
      }
      break;
    }
    case "card_shown": renderCard(d, null); announce(t("card_shown", { n: d.card_no })); break;
    case "tally_detail": if (state.card && d.card_no === state.card.card_no) renderTally(d, false); break;
    case "card_closed": cardClosed(d); break;
    case "leaderboard":
      renderBoard($("board"), d);
      for (const row of d.top || []) if (state.people.has(row.participant_id)) state.people.get(row.participant_id).score = row.score;
      renderPeople();  // in place: only the points cells change
      break;
    case "session_updated": state.s = { ...state.s, ...d.session }; setSession(state.s); break;
    case "session_extended": case "session_ending":
      state.s = { ...state.s, ...d }; setSession(state.s); break;
    case "session_ended": over(); break;
    case "error": fail(frameError(d)); break;
    default: break;
  }
}

// Leaving the page (or into the back/forward cache): no socket, no timers left behind.
window.addEventListener("pagehide", () => {
  if (state.sock) state.sock.stop();
  if (state.timer) state.timer.stop();
});
window.addEventListener("pageshow", (ev) => { if (ev.persisted) location.reload(); });

main().catch(fail);
