// Shared by the classroom pages (join and the teacher console): the resumable WebSocket, anonymous
// API calls (join by code, the participant token), chat and leaderboard rendering, a countdown.
import { t, clone, publicApi, ApiError, announce } from "../mc.js";

// An API call that is not the signed-in user's: anonymous (join by code) or with a participant
// token (`Authorization: Bearer <participant token>`).
export function anonApi(method, path, { json, token } = {}) {
  return publicApi(method, path, { json, headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

// A seat (participant token, nickname, what the page keeps of it) in sessionStorage under `key`,
// one per code, so a reload returns to the same seat (the live join and the homework page).
export function seatStore(key) {
  return {
    load() {
      try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch { return null; }
    },
    save(seat) { sessionStorage.setItem(key, JSON.stringify(seat)); },
    clear() { sessionStorage.removeItem(key); },
  };
}

// A WebSocket `error` frame as an ApiError (showError renders its detail and code).
export function frameError(data) {
  return new ApiError(400, { code: data.code, detail: data.detail });
}

// Close codes after which reconnecting is pointless (services/classroom/README.md).
const FINAL = new Set([4400, 4401, 4403, 4404, 4410]);

// One resumable socket: hello with the token and the last seq seen; after a drop it reconnects
// (backoff up to 10 s) and resumes. `onFrame(frame, replayed)`: replayed is true for the frames
// the server replays after the snapshot (the snapshot already holds their effect).
// `invalidate(token)` (optional): forget a token the server refused (4401) before the one retry.
export class LiveSocket {
  constructor(connectFn, path, getToken, onFrame, onStatus, { invalidate = null } = {}) {
    Object.assign(this, { connectFn, path, getToken, onFrame, onStatus, invalidate });
    this.lastSeq = null;
    this.snapshotSeq = 0;
    this.ws = null;
    this.ready = false;  // hello answered by a snapshot: frames may be sent
    this.stopped = false;
    this.tries = 0;
    this.refs = 0;
    this.authRetried = false;  // kept across reconnects; reset by a snapshot
    this.lastToken = null;
    this.timer = null;
  }

  open() {
    this.timer = null;
    if (this.stopped) return;
    const ws = this.connectFn(this.path);
    this.ws = ws;
    this.ready = false;
    ws.addEventListener("open", async () => {
      try {
        const token = await this.getToken();
        this.lastToken = token;
        if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify({ type: "hello", data: { token, last_seq: this.lastSeq } }));
      } catch {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(4000);
      }
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === "snapshot") {
        this.tries = 0;
        this.authRetried = false;
        this.ready = true;
        this.snapshotSeq = frame.seq || 0;
        this.onStatus("open");
      }
      if (typeof frame.seq === "number" && frame.type !== "snapshot") {
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;  // already seen
      }
      const replayed = frame.type !== "snapshot" && typeof frame.seq === "number" && frame.seq <= this.snapshotSeq;
      if (typeof frame.seq === "number") this.lastSeq = Math.max(this.lastSeq || 0, frame.seq);
      this.onFrame(frame, replayed);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      if (this.stopped) return;
      // 4401 once (until the next snapshot): an access token may have expired; forget it so
      // getToken() fetches a fresh one.
      if (ev.code === 4401 && !this.authRetried) {
        this.authRetried = true;
        if (this.invalidate && this.lastToken) {
          try { this.invalidate(this.lastToken); } catch { /* best effort */ }
        }
        this.retry();
        return;
      }
      if (FINAL.has(ev.code)) { this.stopped = true; this.onStatus("closed", ev.code); return; }
      this.retry();
    });
  }

  retry() {
    this.onStatus("retry");
    const wait = Math.min(10_000, 500 * 2 ** this.tries++);
    this.timer = setTimeout(() => this.open(), wait);
  }

  /** Sends a frame; false (nothing sent) while the socket is not connected and greeted. */
  send(type, data) {
    if (!this.ws || !this.ready || this.ws.readyState !== WebSocket.OPEN) return false;
    const ref = `r${++this.refs}`;
    try { this.ws.send(JSON.stringify({ type, ref, data })); } catch { return false; }
    return true;
  }

  stop() {
    this.stopped = true;
    this.ready = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000); } catch { /* already closed */ } }
  }
}

const CHAT_MAX = 200;

function chatSignature(msg, teacherLabel) {
  const author = msg.author || {};
  return JSON.stringify([msg.status || "visible", msg.body, author.staff ? teacherLabel : author.nickname || "?", msg.reason || ""]);
}

// Chat messages into an <ol role="log"> (deduplicated by id; the newest CHAT_MAX kept);
// `actions(li, msg)` adds teacher buttons. `sync: true` (a snapshot): messages already shown and
// unchanged are left alone (not announced again), ones the server no longer lists are removed.
// A changed message is replaced in place; focus inside it moves to the same button slot.
export function renderChat(list, messages, { sync = false, teacherLabel = "Teacher", actions = null } = {}) {
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  if (sync) {
    // Within the snapshot's window (from its oldest message shown on), a message it lacks was
    // hidden meanwhile; older ones are just outside the window and stay.
    const keep = new Set(messages.map((m) => String(m.id)));
    let inWindow = false;
    for (const li of [...list.children]) {
      if (keep.has(li.dataset.id)) inWindow = true;
      else if (inWindow) li.remove();
    }
  }
  for (const msg of messages) {
    const existing = list.querySelector(`[data-id="${CSS.escape(String(msg.id))}"]`);
    const sig = chatSignature(msg, teacherLabel);
    if (existing && existing.dataset.sig === sig) continue;
    const li = clone("tpl-chat");
    li.dataset.id = msg.id;
    li.dataset.sig = sig;
    li.dataset.status = msg.status || "visible";
    const author = msg.author || {};
    li.querySelector(".chat-author").textContent = author.staff ? `${teacherLabel}:` : `${author.nickname || "?"}:`;
    if (author.staff) li.classList.add("chat-staff");
    li.querySelector(".chat-body").textContent = msg.body;
    if (actions) actions(li, msg);
    if (existing) {
      const focused = existing.contains(document.activeElement) ? document.activeElement : null;
      const slot = focused ? [...existing.querySelectorAll("button")].indexOf(focused) : -1;
      existing.replaceWith(li);
      if (focused) {
        const buttons = li.querySelectorAll("button");
        const target = buttons[Math.max(0, Math.min(slot, buttons.length - 1))];
        if (target) target.focus();
        else { li.tabIndex = -1; li.focus(); }
      }
    } else {
      list.append(li);
    }
  }
  while (list.children.length > CHAT_MAX) {
    const first = list.firstElementChild;
    if (first.contains(document.activeElement)) break;
    first.remove();
  }
  if (nearBottom || sync) list.scrollTop = list.scrollHeight;
}

export function renderBoard(list, board) {
  list.replaceChildren();
  for (const row of (board && board.top) || []) {
    const li = clone("tpl-board-row");
    li.querySelector(".board-rank").textContent = `${row.rank}.`;
    li.querySelector(".board-name").textContent = row.nickname;
    li.querySelector(".board-score").textContent = t("board_row", { score: row.score });
    list.append(li);
  }
}

// Calls `tick(secondsLeft)` every second until 0 (server time left, not client clocks).
export class Countdown {
  constructor(ms, tick) {
    this.end = Date.now() + ms;
    this.tick = tick;
    this.handle = setInterval(() => this.step(), 1000);
    this.step();
  }

  step() {
    const s = Math.max(0, Math.ceil((this.end - Date.now()) / 1000));
    this.tick(s);
    if (s <= 0) this.stop();
  }

  stop() { clearInterval(this.handle); }
}

/** A final close the page cannot recover from by itself (4400, 4403, 4404, a second 4401): stop
 * the countdown, say so and offer a reload (the page's #conn-status, #conn-final, #reload-button). */
export function showConnectionClosed(timer) {
  if (timer) timer.stop();
  document.getElementById("conn-status").textContent = "";
  document.getElementById("conn-final").hidden = false;
  announce(t("conn_final"));
  document.getElementById("reload-button").focus();
}

/** A card as the join and homework pages show it: `tpl-card` cloned with its line (`metaText`),
 * its question and its answer controls (choices as radio buttons "A. …", or the text field).
 * Focus lands on an answer control, so each is described by the card's line and its question
 * for a screen reader to hear both. Returns the node and its form. */
export function cardNode(card, metaText) {
  const node = clone("tpl-card");
  node.dataset.card = String(card.card_no);
  const meta = node.querySelector(".card-meta");
  meta.textContent = metaText;
  meta.id = `card-meta-${card.card_no}`;
  const prompt = node.querySelector(".card-prompt");
  prompt.textContent = card.problem.prompt;
  prompt.id = `card-prompt-${card.card_no}`;
  const form = node.querySelector(".card-form");
  form.setAttribute("aria-labelledby", prompt.id);
  const describedBy = `${meta.id} ${prompt.id}`;
  const choices = card.problem.choices;
  if (choices && choices.length) {
    const fieldset = node.querySelector(".card-choices");
    fieldset.hidden = false;
    fieldset.setAttribute("aria-describedby", describedBy);
    const list = node.querySelector(".card-choice-list");
    choices.forEach((choice, i) => {
      const item = clone("tpl-choice");
      const input = item.querySelector("input");
      input.id = `choice-${card.card_no}-${i}`;
      input.value = choice;
      const label = item.querySelector("label");
      label.htmlFor = input.id;
      label.textContent = `${String.fromCharCode(65 + i)}. ${choice}`;
      list.append(item);
    });
  } else {
    node.querySelector(".card-text").hidden = false;
    const input = node.querySelector(".card-text-input");
    input.id = `card-answer-${card.card_no}`;
    input.setAttribute("aria-describedby", describedBy);
    node.querySelector(".card-text-label").htmlFor = input.id;
  }
  return { node, form };
}
