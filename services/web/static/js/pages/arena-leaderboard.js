// /arena/leaderboard: the top of a board (GET /api/v1/arena/leaderboards/{board}, cursor paging)
// and my rank with neighbours (GET /api/v1/arena/leaderboards/{board}/me).
import { t, api, session, el, showError, announce, busy, fmt } from "../mc.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("board-error");
const state = { board: "all-time", cursor: null, me: null };

function fail(err) {
  showError(errorBox, err && err.code === "arena.leaderboard_rebuilding" ? t("rebuilding") : err);
}

const score = (value) => fmt.number(value, 0);

function nameCell(row) {
  const mine = state.me && row.user_id === state.me;
  return el("td", mine ? { class: "is-me" } : {}, mine ? t("you", { name: row.nickname }) : row.nickname);
}

async function loadMine() {
  busy($("mine-section"), true);
  const mine = await api("GET", `/api/v1/arena/leaderboards/${encodeURIComponent(state.board)}/me`);
  const rows = $("mine-rows");
  rows.replaceChildren();
  if (mine.rank == null) {
    $("mine-text").textContent = state.board === "weekly" ? t("unranked_weekly") : t("unranked_rating");
  } else {
    $("mine-text").textContent = t("rank", { rank: mine.rank, size: mine.size });
  }
  for (const row of mine.items) {
    rows.append(el("tr", {}, el("th", { scope: "row" }, String(row.rank)), nameCell(row),
      el("td", {}, score(row.score))));
  }
  $("mine-table").hidden = mine.items.length === 0;
  busy($("mine-section"), false);
}

async function loadTop(reset) {
  busy($("top-section"), true);
  if (reset) { state.cursor = null; $("top-rows").replaceChildren(); }
  const page = await api("GET", `/api/v1/arena/leaderboards/${encodeURIComponent(state.board)}`,
    { query: { limit: 50, ...(state.cursor ? { cursor: state.cursor } : {}) } });
  for (const row of page.items) {
    $("top-rows").append(el("tr", {}, el("th", { scope: "row" }, String(row.rank)), nameCell(row),
      el("td", {}, fmt.number(row.tier_points, 0)), el("td", {}, score(row.score))));
  }
  state.cursor = page.next_cursor;
  const count = $("top-rows").children.length;
  $("top-table").hidden = count === 0;
  $("top-empty").hidden = count > 0;
  $("more-button").hidden = !state.cursor;
  busy($("top-section"), false);
  announce(t("loaded", { n: count }));
}

async function load() {
  errorBox.replaceChildren();
  await Promise.all([loadMine(), loadTop(true)]);
}

$("board-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.board = $("board-select").value;
  load().catch(fail);
});

$("more-button").addEventListener("click", () => loadTop(false).catch(fail));

async function main() {
  const who = await session.require(["student", "teacher", "org_admin"]);
  state.me = who.userId;
  await load();
}

main().catch(fail);
