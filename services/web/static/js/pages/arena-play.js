// /arena: profile (GET /api/v1/arena/me), queue (POST/DELETE /api/v1/arena/queue), practice
// (POST /api/v1/arena/matches/practice), recent matches (GET /api/v1/arena/matches) and the match
// over the arena WebSocket (services/arena/README.md, asyncapi.yaml): hello with the access token,
// snapshot {queue, match}, then queue_status, match_found, round_start, opponent_answered,
// round_result, match_result, rating_change, grade_update; answers as `answer` frames.
import { t, api, session, connect, el, clone, showError, announce, busy, fmt, ApiError } from "../mc.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("arena-error");
const fail = (err) => showError(errorBox, err);
const state = { me: null, match: null, round: null, timer: null, ws: null, lastSeq: null, snapshotSeq: 0,
  tries: 0, refs: 0, stopped: false, ready: false, authRetried: false, lastToken: null, retryTimer: null };

// --- socket ------------------------------------------------------------------------------------
const FINAL = new Set([4400, 4403, 4404]);

function openSocket() {
  state.retryTimer = null;
  if (state.stopped) return;
  const ws = connect("/api/v1/arena/ws");
  state.ws = ws;
  state.ready = false;
  ws.addEventListener("open", async () => {
    try {
      // ensure(), not require(): a failed refresh (network) throws, the socket closes and
      // retries, instead of the whole page turning into require()'s error notice.
      const s = await session.ensure();
      const token = s ? s.token : (await session.require(["student", "teacher", "org_admin"])).token;
      state.lastToken = token;
      if (state.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ type: "hello", data: { token, last_seq: state.lastSeq } }));
    } catch {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(4000);
    }
  });
  ws.addEventListener("message", (ev) => {
    if (state.ws !== ws) return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch { return; }
    if (frame.type === "snapshot") {
      state.tries = 0;
      state.authRetried = false;
      state.ready = true;
      state.snapshotSeq = frame.seq || 0;
    } else if (typeof frame.seq === "number" && state.lastSeq !== null && frame.seq <= state.lastSeq) return;
    const replayed = frame.type !== "snapshot" && typeof frame.seq === "number" && frame.seq <= state.snapshotSeq;
    if (typeof frame.seq === "number") state.lastSeq = Math.max(state.lastSeq || 0, frame.seq);
    try { onFrame(frame, replayed); } catch (err) { fail(err); }
  });
  ws.addEventListener("close", (ev) => {
    if (state.ws !== ws || state.stopped) return;
    state.ws = null;
    state.ready = false;
    if (FINAL.has(ev.code) || (ev.code === 4401 && state.authRetried)) { connectionClosed(); return; }
    if (ev.code === 4401) {
      // Once until the next snapshot: forget the refused token so the next one is fresh.
      state.authRetried = true;
      if (state.lastToken) session.invalidate(state.lastToken);
    }
    announce(t("reconnecting"));
    state.retryTimer = setTimeout(openSocket, Math.min(10_000, 500 * 2 ** state.tries++));
  });
}

// A final close: the page cannot go on by itself; say so and offer a reload.
function connectionClosed() {
  state.stopped = true;
  if (state.timer) clearInterval(state.timer);
  $("conn-final").hidden = false;
  announce(t("conn_final"));
  $("reload-button").focus();
}

$("reload-button").addEventListener("click", () => location.reload());

/** Sends a frame; false (nothing sent) while the socket is not connected and greeted. */
function send(type, data) {
  if (!state.ws || !state.ready || state.ws.readyState !== WebSocket.OPEN) return false;
  const ref = `a${++state.refs}`;
  try { state.ws.send(JSON.stringify({ type, ref, data })); } catch { return false; }
  return true;
}

function stopSocket() {
  state.stopped = true;
  if (state.retryTimer) clearTimeout(state.retryTimer);
  if (state.timer) clearInterval(state.timer);
  const ws = state.ws;
  state.ws = null;
  state.ready = false;
  if (ws) { try { ws.close(1000); } catch { /* already closed */ } }
}

// --- profile and history -----------------------------------------------------------------------
async function loadProfile() {
  const me = await api("GET", "/api/v1/arena/me");
  state.me = me;
  $("pf-nickname").textContent = me.nickname;
  $("pf-tier").textContent = me.tier.name;
  const overall = me.ratings.find((r) => r.topic === "") || { display: "1500?", rd: 350, games: 0 };
  $("pf-rating").textContent = t("rating", { display: overall.display, rd: fmt.number(overall.rd, 0), games: overall.games });
  $("pf-record").textContent = t("record", { wins: me.wins, losses: me.losses, draws: me.draws });
  $("pf-xp").textContent = fmt.number(me.xp, 0);
  busy($("profile-section"), false);
}

async function loadHistory() {
  // The list carries no seats: my outcome comes from the winner (null: a draw).
  const page = await api("GET", "/api/v1/arena/matches", { query: { limit: 5 } });
  const rows = $("history-rows");
  rows.replaceChildren();
  for (const m of page.items) {
    let outcome = t("outcome_none");
    if (m.status === "finished") {
      outcome = m.winner_user_id === null ? t("outcome_draw")
        : m.winner_user_id === state.me.user_id ? t("outcome_win") : t("outcome_loss");
    }
    rows.append(el("tr", {},
      el("th", { scope: "row" }, fmt.date(m.finished_at || m.created_at)),
      el("td", {}, t(`mode_${m.mode}`)),
      el("td", {}, m.rated ? t("rated_yes") : t("rated_no")),
      el("td", {}, outcome)));
  }
  $("history-table").hidden = page.items.length === 0;
  $("history-empty").hidden = page.items.length > 0;
}

function seatName(seat) {
  if (!seat) return "?";
  if (seat.kind === "bot") return t("bot");
  if (seat.kind === "ghost") return seat.nickname ? `${t("ghost")}: ${seat.nickname}` : t("ghost");
  return seat.nickname || "?";
}

// --- queue -------------------------------------------------------------------------------------
function renderQueue(q) {
  // A match may be found before POST /queue answers: the match wins.
  const queued = !!q && q.status === "queued" && !state.match;
  $("queue-section").hidden = !!state.match || !$("result-section").hidden;
  $("queue-status").hidden = !queued;
  $("queue-form").hidden = queued;
  if (queued) {
    const mode = t(`mode_${q.mode || "casual"}`);
    $("queue-text").textContent = q.waiting != null
      ? t("queued", { mode, waiting: q.waiting, seconds: Math.round(q.waited_seconds || 0) })
      : t("queued_short", { mode });
  } else if (q && q.status === "idle" && q.reason) {
    const why = { left: t("left_queue"), timeout: t("queue_timeout"), no_questions: t("no_questions") }[q.reason];
    if (why) announce(why);
  }
}

$("queue-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.replaceChildren();
  const mode = document.querySelector("input[name=mode]:checked").value;
  $("queue-button").disabled = true;
  try {
    renderQueue(await api("POST", "/api/v1/arena/queue", { json: { mode } }));
    $("leave-button").focus();
  } catch (err) { fail(err); } finally { $("queue-button").disabled = false; }
});

$("leave-button").addEventListener("click", async () => {
  try { renderQueue(await api("DELETE", "/api/v1/arena/queue")); $("queue-button").focus(); }
  catch (err) { if (err.code !== "arena.not_queued") fail(err); }
});

$("practice-button").addEventListener("click", async () => {
  errorBox.replaceChildren();
  try { await api("POST", "/api/v1/arena/matches/practice", { json: { source: "random" } }); }
  catch (err) { fail(err); }
});

// --- the match ---------------------------------------------------------------------------------
function startMatch(m) {
  state.match = { id: m.match_id, mySeat: m.my_seat, seats: m.seats, count: m.round_count, mode: m.mode };
  $("queue-section").hidden = true;
  $("result-section").hidden = true;
  $("match-section").hidden = false;
  $("forfeit-button").hidden = false;
  $("question").textContent = "";
  $("answer-form").hidden = true;
  $("round-result").hidden = true;
  $("opponent-line").textContent = "";
  $("answer-line").textContent = "";
  renderSeats(m.seats);
}

function renderSeats(seats) {
  if (!state.match) return;
  state.match.seats = seats;
  const rows = $("seat-rows");
  rows.replaceChildren();
  for (const s of seats) {
    const name = s.seat === state.match.mySeat ? t("you", { name: seatName(s) }) : seatName(s);
    rows.append(el("tr", {}, el("th", { scope: "row" }, name),
      el("td", {}, s.rating != null ? fmt.number(s.rating, 0) : "—"),
      el("td", {}, String(s.score)), el("td", {}, String(s.correct))));
  }
}

function showRound(r) {
  if (state.timer) clearInterval(state.timer);
  state.round = { n: r.round, answered: !!r.answered };
  $("round-line").textContent = t("round", { n: r.round, count: state.match.count });
  $("question").textContent = r.question.content;
  $("round-result").hidden = true;
  $("opponent-line").textContent = r.opponent_answered ? t("opponent_answered") : "";
  $("answer-line").textContent = r.answered ? t("sent") : "";
  const choices = r.question.choices;
  const list = $("choice-list");
  list.replaceChildren();
  $("answer-choices").hidden = !(choices && choices.length);
  $("answer-text").hidden = !!(choices && choices.length);
  $("answer-input").value = "";
  if (choices && choices.length) {
    choices.forEach((c, i) => {
      const item = clone("tpl-choice");
      const input = item.querySelector("input");
      input.id = `arena-choice-${r.round}-${i}`;
      input.value = c;
      const label = item.querySelector("label");
      label.htmlFor = input.id;
      label.textContent = `${String.fromCharCode(65 + i)}. ${c}`;
      list.append(item);
    });
  }
  const form = $("answer-form");
  form.hidden = false;
  for (const ctl of form.querySelectorAll("input, button")) ctl.disabled = !!r.answered;
  const end = Date.now() + (r.time_left_ms ?? r.seconds * 1000);
  const tick = () => {
    const s = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    $("round-timer").textContent = s > 0 ? t("seconds", { seconds: s }) : t("time_up");
    if (s <= 0) clearInterval(state.timer);
  };
  tick();
  state.timer = setInterval(tick, 1000);
  if (!r.answered) {
    const first = form.querySelector(choices && choices.length ? "input.choice-input" : "#answer-input");
    if (first) first.focus();
  }
}

$("answer-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!state.match || !state.round || state.round.answered) return;
  const picked = document.querySelector("input.choice-input:checked");
  const answer = picked ? picked.value : $("answer-input").value.trim();
  if (!answer) { $("answer-line").textContent = t("choose_first"); return; }
  if (!send("answer", { match_id: state.match.id, round: state.round.n, answer })) {
    $("answer-line").textContent = t("not_sent");  // nothing was sent: the round stays open
    return;
  }
  state.round.answered = true;
  for (const ctl of $("answer-form").querySelectorAll("input, button")) ctl.disabled = true;
  $("answer-line").textContent = t("sent");
});

$("forfeit-button").addEventListener("click", () => {
  if (!state.match || !window.confirm(t("confirm_forfeit"))) return;
  if (!send("forfeit", { match_id: state.match.id })) announce(t("not_sent"));
});

function verdictText(v, points) {
  return t(`verdict_${v}`, { points });
}

function roundResult(d) {
  if (state.timer) clearInterval(state.timer);
  $("round-timer").textContent = "";
  $("answer-form").hidden = true;
  $("rr-answer").textContent = t("expected", { answer: d.answer });
  $("rr-explanation").textContent = d.explanation || "";
  const list = $("rr-answers");
  list.replaceChildren();
  for (const a of d.answers) {
    const seat = d.seats.find((s) => s.seat === a.seat);
    const name = a.seat === state.match.mySeat ? t("you", { name: seatName(seat) }) : seatName(seat);
    list.append(el("li", {}, t("answer_of", { name, answer: a.answer || "—", verdict: t(`v_${a.verdict}`), points: a.points })));
  }
  $("round-result").hidden = false;
  renderSeats(d.seats);
}

function matchResult(d) {
  if (state.timer) clearInterval(state.timer);
  const mySeat = state.match ? state.match.mySeat : d.seats.findIndex((s) => s.user_id === (state.me && state.me.user_id));
  const outcome = d.outcomes[String(mySeat)] || "draw";
  const mine = d.seats.find((s) => s.seat === mySeat) || { score: 0 };
  const theirs = d.seats.find((s) => s.seat !== mySeat) || { score: 0 };
  $("match-section").hidden = true;
  $("result-section").hidden = false;
  $("result-outcome").textContent = t(outcome);
  const parts = [t("final_score", { mine: mine.score, theirs: theirs.score }), d.rated ? t("rated") : t("unrated")];
  if (d.end_reason === "forfeit") parts.push(t("end_forfeit"));
  if (d.end_reason === "disconnect") parts.push(t("end_disconnect"));
  $("result-detail").textContent = parts.join(" ");
  $("result-heading").focus();
  announce(`${t(outcome)} ${parts[0]}`);
  state.match = null;
  state.round = null;
  refreshAfterMatch().then(loadHistory).catch(fail);
}

// W/L/D, experience and ratings are applied by arena's consumer of `arena.match.finished`, a
// moment after match_result: reload the profile until the record moves (a few tries).
async function refreshAfterMatch() {
  const games = (me) => (me ? me.wins + me.losses + me.draws : 0);
  const before = games(state.me);
  for (let i = 0; i < 8; i += 1) {
    await loadProfile();
    if (games(state.me) !== before) return;
    await new Promise((r) => setTimeout(r, 750));
  }
}

$("again-button").addEventListener("click", () => {
  $("result-section").hidden = true;
  $("queue-section").hidden = false;
  $("queue-form").hidden = false;
  $("queue-status").hidden = true;
  $("queue-button").focus();
});

// --- frames ------------------------------------------------------------------------------------
function onFrame(frame, replayed) {
  const d = frame.data || {};
  if (replayed && !["match_result", "rating_change"].includes(frame.type)) return;
  switch (frame.type) {
    case "snapshot":
      if (d.match) {
        startMatch(d.match);
        if (d.match.round && d.match.round.question && !d.match.round.closed) showRound(d.match.round);
      } else {
        $("match-section").hidden = true;
        renderQueue(d.queue);
      }
      break;
    case "queue_status": renderQueue(d); break;
    case "match_found": {
      startMatch(d);
      const other = d.seats.find((s) => s.seat !== d.my_seat);
      announce(t("match_found", { name: seatName(other) }));
      break;
    }
    case "round_start":
      if (!state.match || state.match.id !== d.match_id) break;
      showRound({ ...d, answered: false, opponent_answered: false });
      announce(t("round_start", { n: d.round, count: d.round_count, question: d.question.content }));
      break;
    case "opponent_answered": $("opponent-line").textContent = t("opponent_answered"); break;
    case "answer_ack": $("answer-line").textContent = verdictText(d.verdict, d.points); break;
    case "round_result": if (state.match && state.match.id === d.match_id) roundResult(d); break;
    case "match_result": matchResult(d); break;
    case "rating_change":
      if (d.topic === "") {
        $("rating-change").textContent = t("rating_change", { before: fmt.number(d.before, 0), after: fmt.number(d.after, 0) });
        loadProfile().catch(fail);
      }
      break;
    case "grade_update": if (state.match && state.match.id === d.match_id) $("answer-line").textContent = verdictText(d.verdict, d.points ?? 0); break;
    case "forfeit_ack": break;
    case "error": fail(new ApiError(400, { code: d.code, detail: d.detail })); break;
    default: break;
  }
}

async function main() {
  await session.require(["student", "teacher", "org_admin"]);
  await loadProfile();
  loadHistory().catch(fail);
  announce(t("connecting"));
  openSocket();
}

// Leaving the page (or into the back/forward cache): no socket, no timers left behind.
window.addEventListener("pagehide", stopSocket);
window.addEventListener("pageshow", (ev) => { if (ev.persisted) location.reload(); });

main().catch(fail);
