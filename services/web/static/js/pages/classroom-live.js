// Shared by the classroom pages (join and the teacher console): the resumable WebSocket, anonymous
// API calls (join by code, the participant token), chat and leaderboard rendering, a countdown.
import { t, clone, publicApi, ApiError } from "../mc.js";

// An API call that is not the signed-in user's: anonymous (join by code) or with a participant
// token (`Authorization: Bearer <participant token>`).
export function anonApi(method, path, { json, token } = {}) {
  return publicApi(method, path, { json, headers: token ? { Authorization: `Bearer ${token}` } : {} });
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
export class LiveSocket {
  constructor(connectFn, path, getToken, onFrame, onStatus) {
    Object.assign(this, { connectFn, path, getToken, onFrame, onStatus });
    this.lastSeq = null;
    this.snapshotSeq = 0;
    this.ws = null;
    this.stopped = false;
    this.tries = 0;
    this.refs = 0;
    this.authRetried = false;
  }

  open() {
    if (this.stopped) return;
    const ws = this.connectFn(this.path);
    this.ws = ws;
    ws.addEventListener("open", async () => {
      const token = await this.getToken();
      ws.send(JSON.stringify({ type: "hello", data: { token, last_seq: this.lastSeq } }));
    });
    ws.addEventListener("message", (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === "snapshot") {
        this.tries = 0;
        this.authRetried = false;
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
      if (this.stopped) return;
      // 4401 once: an access token may have expired; getToken() refreshes it.
      if (ev.code === 4401 && !this.authRetried) { this.authRetried = true; this.retry(); return; }
      if (FINAL.has(ev.code)) { this.stopped = true; this.onStatus("closed", ev.code); return; }
      this.retry();
    });
  }

  retry() {
    this.onStatus("retry");
    const wait = Math.min(10_000, 500 * 2 ** this.tries++);
    setTimeout(() => this.open(), wait);
  }

  send(type, data) {
    const ref = `r${++this.refs}`;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type, ref, data }));
    return ref;
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }
}

// Appends chat messages (deduplicated by id) to an <ol>; `actions(li, msg)` adds teacher buttons.
export function renderChat(list, messages, { reset = false, teacherLabel = "Teacher", actions = null } = {}) {
  if (reset) list.replaceChildren();
  for (const msg of messages) {
    const existing = list.querySelector(`[data-id="${CSS.escape(msg.id)}"]`);
    const li = clone("tpl-chat");
    li.dataset.id = msg.id;
    li.dataset.status = msg.status || "visible";
    const author = msg.author || {};
    li.querySelector(".chat-author").textContent = author.staff ? `${teacherLabel}:` : `${author.nickname || "?"}:`;
    if (author.staff) li.classList.add("chat-staff");
    li.querySelector(".chat-body").textContent = msg.body;
    if (actions) actions(li, msg);
    if (existing) existing.replaceWith(li); else list.append(li);
  }
  list.scrollTop = list.scrollHeight;
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
