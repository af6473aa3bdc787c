// /join and /join/{code}: a student joins a live class by its code (anonymous seat: nickname +
// avatar → participant token), then takes part over the classroom WebSocket
// (services/classroom/README.md, asyncapi.yaml): chat, problem cards, live tally, leaderboard.
// The participant token is kept in sessionStorage per code, so a reload goes back to the same seat.
import { t, connect, showError, announce, busy } from "../mc.js";
import { anonApi, cardNode, frameError, LiveSocket, renderChat, renderBoard, Countdown, showConnectionClosed, seatStore }
  from "./classroom-live.js";

const root = document.getElementById("classroom-join");
const code = root.dataset.code || "";
const $ = (id) => document.getElementById(id);
const errorBox = $("join-error");
const seats = seatStore(`mc.classroom.${code}`);

const state = { seat: null, card: null, answered: new Set(), chatMode: "open", sock: null, timer: null, leaving: false };

function show(section) {
  for (const id of ["find-section", "seat-section", "waiting-section", "live-section", "ended-section"]) {
    $(id).hidden = id !== section;
  }
}

// Answers of GET /participants/me after which the seat token is worthless; any other failure
// (network, 429, 5xx) is retried and the seat kept.
const SEAT_GONE = new Set([401, 403, 404, 410]);
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// The participant behind a seat token, retrying transient failures with backoff (up to 15 s);
// throws only a final ApiError (SEAT_GONE) or when the page is leaving.
async function fetchMe(token) {
  for (let tries = 0; ; tries += 1) {
    try {
      const me = await anonApi("GET", "/api/v1/classroom/participants/me", { token });
      errorBox.replaceChildren();
      return me;
    } catch (err) {
      if (SEAT_GONE.has(err.status) || state.leaving) throw err;
      if (tries === 0) showError(errorBox, err);
      await sleep(Math.min(15_000, 1000 * 2 ** tries));
    }
  }
}

async function start() {
  if (!code) { show("find-section"); return; }
  const mine = seats.load();
  if (mine && mine.token) {
    try {
      const me = await fetchMe(mine.token);
      state.seat = { ...mine, nickname: me.nickname, status: me.status };
      if (me.status === "pending") return waitForApproval();
      return goLive();
    } catch {
      if (state.leaving) return undefined;
      seats.clear();
    }
  }
  let info;
  try {
    info = await anonApi("GET", `/api/v1/classroom/join/${encodeURIComponent(code)}`);
  } catch (err) {
    show("find-section");
    showError(errorBox, err);
    return;
  }
  $("session-title").textContent = info.title || code;
  const notes = [t("seconds_left", { minutes: Math.max(1, Math.round(info.seconds_left / 60)) })];
  if (info.approve_arrivals) notes.push(t("approval"));
  if (info.friendly_nicknames) notes.push(t("friendly"));
  $("session-info").textContent = notes.join(" ");
  $("nickname").required = !info.friendly_nicknames;
  show("seat-section");
  busy($("seat-section"), false);
  if (info.locked) {
    $("session-info").textContent = t("locked");
    $("join-button").disabled = true;
    return;
  }
  $("nickname").focus();
}

$("join-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.replaceChildren();
  const nickname = $("nickname").value.trim();
  if (!nickname && $("nickname").required) { $("nickname").focus(); announce(t("nickname_required")); return; }
  const button = $("join-button");
  button.disabled = true;
  try {
    const body = { avatar: $("avatar").value };
    if (nickname) body.nickname = nickname;
    const out = await anonApi("POST", `/api/v1/classroom/join/${encodeURIComponent(code)}`, { json: body });
    state.seat = { token: out.token, participant_id: out.participant_id, nickname: out.nickname,
      avatar: out.avatar, status: out.status, title: (out.session && out.session.title) || "" };
    seats.save(state.seat);
    announce(t("joined", { nickname: out.nickname }));
    if (out.status === "pending") waitForApproval(); else goLive();
  } catch (err) {
    showError(errorBox, err);
    $("nickname").focus();
  } finally {
    button.disabled = false;
  }
});

async function waitForApproval() {
  show("waiting-section");
  while (!state.leaving) {
    await sleep(2000);
    try {
      const me = await fetchMe(state.seat.token);
      if (me.status === "active") { state.seat.status = "active"; return goLive(); }
    } catch (err) {
      if (state.leaving) return undefined;
      seats.clear();
      show("ended-section");
      $("ended-text").textContent = err.code === "classroom.participant_banned" ? t("kicked") : t("session_gone");
      return undefined;
    }
  }
  return undefined;
}

function goLive() {
  if (state.leaving) return;
  show("live-section");
  $("live-title").textContent = state.seat.title || code;
  meLine({ nickname: state.seat.nickname, score: 0, rank: null });
  $("conn-status").textContent = t("connecting");
  state.sock = new LiveSocket(connect, `/api/v1/classroom/sessions/${encodeURIComponent(code)}/ws`,
    () => state.seat.token, onFrame, onStatus);
  state.sock.open();
}

function onStatus(status, closeCode) {
  if (status === "open") $("conn-status").textContent = t("connected");
  else if (status === "retry") $("conn-status").textContent = t("reconnecting");
  else if (status === "closed") {
    if (closeCode === 4410) ended(t("ended"));
    else if (closeCode === 4403) ended(t("kicked"));
    else if (closeCode === 4404 || closeCode === 4401) ended(t("session_gone"));
    else showConnectionClosed(state.timer);
  }
}


$("reload-button").addEventListener("click", () => location.reload());

function ended(text) {
  if (state.timer) state.timer.stop();
  seats.clear();
  show("ended-section");
  $("ended-text").textContent = text;
  announce(text);
}

function meLine(me) {
  const name = me.nickname || state.seat.nickname;
  $("me-line").textContent = me.rank ? t("me", { nickname: name, score: me.score ?? 0, rank: me.rank })
    : t("me_norank", { nickname: name, score: me.score ?? 0 });
}

function chatMode(mode) {
  state.chatMode = mode;
  const off = mode === "off";
  $("chat-input").disabled = off;
  $("chat-form").querySelector("button").disabled = off;
  $("chat-note").textContent = off ? t("chat_off") : mode === "hold" ? t("chat_hold") : "";
}

function onFrame(frame, replayed) {
  if (replayed) return;  // the snapshot already holds what a replayed frame did
  const d = frame.data || {};
  switch (frame.type) {
    case "snapshot": {
      $("live-title").textContent = d.session.title || code;
      chatMode(d.session.chat_mode);
      if (d.me && d.me.nickname) { state.seat.nickname = d.me.nickname; meLine(d.me); }
      renderChat($("chat-log"), d.chat || [], { sync: true, teacherLabel: t("teacher") });
      renderBoard($("board"), d.leaderboard);
      if (d.card && !d.card.closed) {
        // The server knows whether the answer arrived: a local "sent" it lacks was lost.
        if (!d.card.answered) state.answered.delete(d.card.card_no);
        else state.answered.add(d.card.card_no);
        showCard(d.card, !!d.card.answered, d.card.time_left_ms);
      } else if (!d.card) clearCard();
      break;
    }
    case "chat": renderChat($("chat-log"), [d], { teacherLabel: t("teacher") }); break;
    case "message_hidden": {
      const li = $("chat-log").querySelector(`[data-id="${CSS.escape(d.id)}"]`);
      if (li) { li.remove(); announce(t("chat_hidden")); }
      break;
    }
    case "chat_ack":
      if (d.status === "held") $("chat-note").textContent = t("held");
      break;
    case "card_shown":
      if (state.card && state.card.card_no === d.card_no) break;  // already on show
      showCard(d, false, null);
      announce(t("new_card", { n: d.card_no, prompt: d.problem.prompt }));
      break;
    case "card_closed": closeCard(d); break;
    case "tally":
      if (state.card && d.card_no === state.card.card_no) $("tally-line").textContent = t("tally", { n: d.answered });
      break;
    case "leaderboard": renderBoard($("board"), d); break;
    case "answer_ack": answered(d); break;
    case "session_updated": chatMode(d.session.chat_mode); break;
    case "session_extended": announce(t("extended")); break;
    case "session_ending": announce(t("ending", { minutes: Math.max(1, Math.round(d.seconds_left / 60)) })); break;
    case "session_ended": ended(d.reason === "expired" ? t("expired") : t("ended")); state.sock.stop(); break;
    case "kicked": ended(t("kicked")); state.sock.stop(); break;
    case "error": {
      if (d.code === "classroom.already_answered") { cardResult(t("already")); break; }
      showError(errorBox, frameError(d));
      break;
    }
    default: break;  // frames for teachers, pong, unknown: ignored
  }
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
  if ($("chat-note").textContent === t("not_sent")) chatMode(state.chatMode);
  input.value = "";
  input.focus();
});

function clearCard() {
  if (state.timer) state.timer.stop();
  state.card = null;
  $("card-area").replaceChildren($("card-empty") || document.createTextNode(""));
  $("tally-line").textContent = "";
}

function startTimer(node, card, timeLeftMs) {
  if (state.timer) state.timer.stop();
  const timerEl = node.querySelector(".card-timer");
  const ms = timeLeftMs ?? Math.max(0, Date.parse(card.closes_at) - Date.now());
  state.timer = new Countdown(ms, (s) => { timerEl.textContent = s > 0 ? t("time_left", { seconds: s }) : t("time_up"); });
}

// The card on show again (a snapshot after a reconnect): keep the node (and an unsubmitted
// choice), only bring the answered state and the timer up to date.
function syncCard(node, card, answeredNow, timeLeftMs) {
  state.card = card;
  startTimer(node, card, timeLeftMs);
  const locked = node.dataset.locked === "1";
  if (answeredNow && !locked) lockCard(node, t("answered_wait"));
  else if (!answeredNow && locked) {
    node.dataset.locked = "";
    for (const ctl of node.querySelectorAll(".card-form input, .card-form button")) ctl.disabled = false;
    cardResult(t("not_sent"));
  }
}

function showCard(card, alreadyAnswered, timeLeftMs) {
  const area = $("card-area");
  const current = area.querySelector(`[data-card="${card.card_no}"]`);
  if (current && state.card && state.card.card_no === card.card_no) {
    syncCard(current, card, alreadyAnswered || state.answered.has(card.card_no), timeLeftMs);
    return;
  }
  // Move focus into the new card only when the student is not busy elsewhere: nothing focused,
  // focus in the old card, or on an empty chat input (a half-typed message keeps its focus).
  const active = document.activeElement;
  const mayFocus = !active || active === document.body || area.contains(active)
    || (active === $("chat-input") && !active.value.trim());
  if (state.timer) state.timer.stop();
  state.card = card;
  const { node, form } = cardNode(card, t("card_meta", { n: card.card_no, type: t(`type_${card.problem.type}`) }));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submitAnswer(node, card); });
  area.replaceChildren(node);
  $("tally-line").textContent = "";
  startTimer(node, card, timeLeftMs);
  if (alreadyAnswered || state.answered.has(card.card_no)) lockCard(node, t("answered_wait"));
  else if (mayFocus) {
    const first = node.querySelector("input");
    if (first) first.focus();
  }
}

function submitAnswer(node, card) {
  let answer = "";
  const picked = node.querySelector("input.choice-input:checked");
  if (picked) answer = picked.value;
  else {
    const text = node.querySelector(".card-text-input");
    if (text && !text.hidden) answer = text.value.trim();
  }
  if (!answer) { cardResult(t("choose_first")); return; }
  if (!state.sock || !state.sock.send("answer", { card_no: card.card_no, answer })) {
    cardResult(t("not_sent"));  // nothing was sent: the card stays open
    return;
  }
  state.answered.add(card.card_no);
  lockCard(node, t("sent"));
}

function lockCard(node, message) {
  node.dataset.locked = "1";
  for (const ctl of node.querySelectorAll(".card-form input, .card-form button")) ctl.disabled = true;
  cardResult(message);
}

function cardResult(message) {
  const out = $("card-area").querySelector(".card-result");
  if (out) out.textContent = message;
}

function answered(ack) {
  const msg = ack.correct ? t("correct", { points: ack.points, score: ack.score, rank: ack.rank })
    : t("wrong", { score: ack.score, rank: ack.rank });
  cardResult(msg);
  meLine({ nickname: state.seat.nickname, score: ack.score, rank: ack.rank });
}

function closeCard(d) {
  if (state.timer) state.timer.stop();
  const node = $("card-area").querySelector(`[data-card="${d.card_no}"]`);
  if (node) {
    for (const ctl of node.querySelectorAll(".card-form input, .card-form button")) ctl.disabled = true;
    node.querySelector(".card-form").hidden = true;
    node.querySelector(".card-timer").textContent = "";
    node.querySelector(".card-closed").hidden = false;
    node.querySelector(".card-answer").textContent = t("right_answer", { answer: d.answer });
    node.querySelector(".card-explanation").textContent = d.explanation || "";
  }
  $("tally-line").textContent = t("tally_closed", { correct: d.correct, answered: d.answered });
  announce(`${t("card_closed", { n: d.card_no })} ${t("right_answer", { answer: d.answer })}`);
}

// Leaving the page (or into the back/forward cache): no socket, no timers left behind.
window.addEventListener("pagehide", () => {
  state.leaving = true;
  if (state.sock) state.sock.stop();
  if (state.timer) state.timer.stop();
});
window.addEventListener("pageshow", (ev) => { if (ev.persisted) location.reload(); });

start();
