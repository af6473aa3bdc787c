// /homework and /homework/{code}: an absent student works through a session's cards as homework
// (services/classroom/README.md): GET /api/v1/classroom/homework/{code}, POST .../{code}/join with a
// nickname (→ a homework participant token), then GET /api/v1/classroom/homework/cards and
// POST .../cards/{n}/answer one card at a time, with the right answer and explanation after each.
// The seat (token, nickname, the feedback already seen) is kept in sessionStorage per code, like a
// live class's seat, so a reload comes back to the same place. A busy button gets `aria-disabled`
// (not `disabled`): the one a keyboard user pressed keeps the focus.
import { t, ApiError, el, showError, announce, busy, fmt } from "../mc.js";
import { anonApi, cardNode, seatStore } from "./classroom-live.js";

const $ = (id) => document.getElementById(id);
const code = $("classroom-homework").dataset.code || "";
const errorBox = $("hw-error");
const seats = seatStore(`mc.homework.${code}`);
const state = { seat: null, cards: [], title: "", busy: false };

// Stable error codes → the page's own words (the API's detail is English only; mc.js showError).
const MESSAGES = {
  "classroom.homework_not_found": "err_not_found",
  "classroom.homework_closed": "err_closed",
  "classroom.nickname_taken": "err_nickname_taken",
  "classroom.nickname_invalid": "err_nickname_invalid",
  "classroom.nickname_rejected": "err_nickname_rejected",
  "classroom.participant_banned": "err_banned",
  "classroom.join_rate_limited": (err) => {
    const seconds = err.retryAfter ?? err.body?.retry_after;
    return seconds ? t("err_rate_wait", { seconds: Math.ceil(seconds) }) : t("err_rate");
  },
  "classroom.participant_token_invalid": "err_seat_gone",
  "classroom.homework_only": "err_seat_gone",
};

const fail = (err) => showError(errorBox, err, MESSAGES);

function show(section) {
  for (const id of ["find-section", "seat-section", "work-section", "done-section", "closed-section"]) {
    $(id).hidden = id !== section;
  }
}

const keep = () => seats.save(state.seat);

function forget() {
  seats.clear();
  state.seat = null;
}

// The heading takes the focus (read out once: no announce() of the same text too).
function closed(err) {
  forget();
  show("closed-section");
  $("closed-text").textContent = t(typeof MESSAGES[err.code] === "string" ? MESSAGES[err.code] : "err_closed");
  $("closed-heading").focus();
}

/** A failure that may pass (offline, 5xx) while the seat is kept: the error and "Try again". */
function retryable(err) {
  fail(err);
  const again = el("button", { type: "button", class: "button", onclick: () => {
    errorBox.replaceChildren();
    start().catch(fail);
  } }, t("try_again"));
  errorBox.append(el("p", {}, again));
  again.focus();
}

async function start() {
  if (!code) { show("find-section"); return; }
  const mine = seats.load();
  if (mine && mine.token) {
    state.seat = { feedback: {}, ...mine };
    try {
      await loadCards();
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) { closed(err); return; }
      if (!(err instanceof ApiError) || ![401, 403, 404].includes(err.status)) { retryable(err); return; }
      forget();
      fail(err);  // the seat is gone: say so above the join form
    }
  }
  let info;
  try {
    info = await anonApi("GET", `/api/v1/classroom/homework/${encodeURIComponent(code)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 410) { closed(err); return; }
    show("find-section");
    fail(err);
    return;
  }
  state.title = info.title || t("untitled");
  $("hw-title").textContent = `· ${state.title}`;
  $("hw-info").textContent = t("info", { cards: info.cards, until: fmt.date(info.until) });
  show("seat-section");
  busy($("seat-section"), false);
  $("nickname").focus();
}

$("join-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const nickname = $("nickname").value.trim();
  if (!nickname) { $("nickname").focus(); announce(t("nickname_required")); return; }
  const button = $("join-button");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  errorBox.replaceChildren();
  try {
    const out = await anonApi("POST", `/api/v1/classroom/homework/${encodeURIComponent(code)}/join`,
      { json: { nickname, avatar: $("avatar").value } });
    state.seat = { token: out.token, nickname: out.nickname, feedback: {} };
    keep();
    announce(t("joined", { nickname: out.nickname }));
    await loadCards();
  } catch (err) {
    if (err instanceof ApiError && err.status === 410) { closed(err); return; }
    fail(err);
    $("nickname").focus();
  } finally {
    button.removeAttribute("aria-disabled");
  }
});

// The cards and what this seat answered (throws the API's error: the caller decides).
async function loadCards() {
  const out = await anonApi("GET", "/api/v1/classroom/homework/cards", { token: state.seat.token });
  state.cards = out.items;
  state.title = out.title || state.title || t("untitled");
  $("hw-title").textContent = `· ${state.title}`;
  errorBox.replaceChildren();
  next();
}

function counts() {
  const answered = state.cards.filter((c) => c.answered);
  return { answered: answered.length, correct: answered.filter((c) => c.correct).length, total: state.cards.length };
}

function progress() {
  const c = counts();
  $("hw-progress").max = Math.max(1, c.total);
  $("hw-progress").value = c.answered;
  $("progress-text").textContent = t("progress", c);
  $("me-line").textContent = t("me", { nickname: state.seat.nickname, ...c });
}

// The first card not answered yet, or the results when every card is.
function next() {
  const card = state.cards.find((c) => !c.answered);
  if (!card) { done(); return; }
  show("work-section");
  progress();
  showCard(card);
}

function showCard(card) {
  const total = state.cards.length;
  const { node, form } = cardNode(card,
    t("card_meta", { n: state.cards.indexOf(card) + 1, total, type: t(`type_${card.problem.type}`) }));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); submit(node, card); });
  $("card-area").replaceChildren(node);
  const first = node.querySelector("input");
  if (first) first.focus();
}

function given(node) {
  const picked = node.querySelector("input.choice-input:checked");
  if (picked) return picked.value;
  const text = node.querySelector(".card-text-input");
  return text && !text.closest("[hidden]") ? text.value.trim() : "";
}

async function submit(node, card) {
  if (state.busy) return;
  const answer = given(node);
  const result = node.querySelector(".card-result");
  if (!answer) { result.textContent = t("choose_first"); return; }
  state.busy = true;
  result.textContent = t("checking");
  errorBox.replaceChildren();
  try {
    const out = await anonApi("POST", `/api/v1/classroom/homework/cards/${card.card_no}/answer`,
      { json: { answer }, token: state.seat.token });
    card.answered = true;
    card.correct = out.correct;
    state.seat.feedback[card.card_no] = { correct: out.correct, answer: out.answer, explanation: out.explanation || "" };
    keep();
    feedback(node, card, state.seat.feedback[card.card_no]);
  } catch (err) {
    result.textContent = "";
    if (err instanceof ApiError && err.code === "classroom.already_answered") {
      await answeredElsewhere(node, card).catch(fail);
    } else if (err instanceof ApiError && err.status === 410) {
      closed(err);
    } else if (err instanceof ApiError && [401, 403].includes(err.status)) {
      forget();
      fail(err);
      start().catch(fail);
    } else {
      fail(err);
    }
  } finally {
    state.busy = false;
  }
}

// The seat answered this card already (another tab of the same seat: a duplicated tab copies
// sessionStorage): the server's cards say how it went; that result is shown, not a guess.
async function answeredElsewhere(node, card) {
  const out = await anonApi("GET", "/api/v1/classroom/homework/cards", { token: state.seat.token });
  state.cards = out.items;
  const fresh = state.cards.find((c) => c.card_no === card.card_no) || { ...card, answered: true, correct: null };
  const known = state.seat.feedback[card.card_no];
  feedback(node, fresh, known || { correct: fresh.correct, answer: null, explanation: "", elsewhere: true });
}

// The card answered: lock it, say whether it was right (and the right answer), offer the next one.
function feedback(node, card, fb) {
  for (const ctl of node.querySelectorAll(".card-form input, .card-form button")) ctl.disabled = true;
  node.querySelector(".card-form").hidden = true;
  const result = node.querySelector(".card-result");
  const verdict = fb.correct == null ? null
    : el("p", { class: fb.correct ? "ok" : "error" }, fb.correct ? t("correct") : t("wrong"));
  const lines = [fb.elsewhere ? el("p", {}, t("already")) : null, verdict,
    fb.answer != null ? el("p", {}, t("right_answer", { answer: fb.answer })) : null,
    fb.explanation ? el("p", { class: "muted" }, fb.explanation) : null];
  result.replaceChildren(...lines);
  progress();
  const more = state.cards.some((c) => !c.answered);
  const wrap = node.querySelector(".card-next");
  const button = node.querySelector(".card-next-button");
  button.textContent = more ? t("next") : t("finish");
  button.addEventListener("click", () => next());
  wrap.hidden = false;
  button.focus();
}

function done() {
  show("done-section");
  const c = counts();
  $("done-text").textContent = c.total ? t("done", c) : t("no_cards");
  const rows = $("done-rows");
  rows.replaceChildren();
  for (const [i, card] of state.cards.entries()) {
    const fb = state.seat.feedback[card.card_no];
    rows.append(el("tr", {},
      el("th", { scope: "row" }, String(i + 1)),
      el("td", {}, card.problem.prompt),
      el("td", {}, card.correct == null ? "—" : card.correct ? t("result_correct") : t("result_wrong")),
      el("td", {}, fb && fb.answer != null ? fb.answer : "—")));
  }
  $("done-heading").focus();
}

start().catch(fail);
