// /links — parent-link requests made to me (tenant: /api/v1/parent-links). A student approves or
// declines a pending request and may remove a link; the parent never decides.
import { t, api, session, el, clone, showError, busy, fmt } from "../mc.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("links-error");
let notes = new Map(); // link_id -> the notification's text (it names the parent)
let acting = false; // one approve/reject/revoke on its way at a time (double click, Enter twice)

function who(link) {
  return t("parent", { id: link.parent_user_id.slice(-8) });
}

async function loadNotes() {
  // LinkOut carries no parent name; the "parent_link.requested" notification's title does.
  try {
    const page = await api("GET", "/api/v1/notifications", { query: { limit: 200 }, signal: AbortSignal.timeout(3000) });
    notes = new Map();
    for (const n of page.items) {
      const id = n.data && n.data.link_id;
      if (id && !notes.has(id) && n.kind.startsWith("parent_link.")) notes.set(id, n.title);
    }
  } catch { notes = new Map(); }
}

async function act(link, action, focusAfter, buttons) {
  if (acting) return;
  acting = true;
  for (const b of buttons) b.disabled = true;
  errorBox.replaceChildren();
  $("links-status").textContent = t("working");
  const section = $("pending-list");
  busy(section, true);
  try {
    const done = await api("POST", `/api/v1/parent-links/${link.id}/${action}`);
    const msg = done.status === "approved" ? t("did_approved", { who: who(done) })
      : done.status === "rejected" ? t("did_rejected") : t("did_revoked");
    await render();
    $("links-status").textContent = msg;
    $(focusAfter).focus();
  } catch (err) {
    $("links-status").textContent = "";
    showError(errorBox, err);
    await render().catch(() => {});
  } finally {
    acting = false;
    for (const b of buttons) b.disabled = false; // (render() has usually replaced them)
    busy(section, false);
  }
}

function pendingCard(link) {
  const card = clone("tpl-pending");
  const name = who(link);
  card.querySelector(".link-who").textContent = name;
  card.querySelector(".link-when").textContent = t("requested", { date: fmt.date(link.requested_at) });
  const note = notes.get(link.id);
  if (note) card.querySelector(".link-note").textContent = note;
  else card.querySelector(".link-note").remove();
  const approve = card.querySelector(".link-approve");
  const reject = card.querySelector(".link-reject");
  approve.setAttribute("aria-label", t("approve_label", { who: name }));
  reject.setAttribute("aria-label", t("reject_label", { who: name }));
  approve.addEventListener("click", () => act(link, "approve", "pending-heading", [approve, reject]));
  reject.addEventListener("click", () => act(link, "reject", "pending-heading", [approve, reject]));
  return card;
}

function otherRow(link) {
  const row = clone("tpl-other");
  const name = who(link);
  const note = notes.get(link.id);
  row.querySelector(".link-who").append(name, ...(note ? [el("br"), el("span", { class: "muted" }, note)] : []));
  row.querySelector(".link-when").textContent = fmt.date(link.requested_at);
  row.querySelector(".link-status").textContent = t(link.status);
  if (link.status === "approved") {
    const b = el("button", { type: "button", class: "button secondary", "aria-label": t("revoke_label", { who: name }) },
      t("revoke"));
    b.addEventListener("click", () => {
      if (!acting && window.confirm(t("confirm_revoke"))) act(link, "revoke", "other-heading", [b]);
    });
    row.querySelector(".link-actions").append(b);
  }
  return row;
}

async function render() {
  const [page] = await Promise.all([api("GET", "/api/v1/parent-links"), loadNotes()]);
  const pending = page.items.filter((l) => l.status === "pending");
  const others = page.items.filter((l) => l.status !== "pending");
  $("pending-loading").hidden = true;
  $("pending-list").replaceChildren(...pending.map(pendingCard));
  $("pending-list").hidden = pending.length === 0;
  $("pending-empty").hidden = pending.length > 0;
  $("other-rows").replaceChildren(...others.map(otherRow));
  $("other-table").hidden = others.length === 0;
  $("other-empty").hidden = others.length > 0;
}

async function main() {
  await session.require(["student"]);
  busy($("pending-list"), true);
  try {
    await render();
  } catch (err) {
    $("pending-loading").hidden = true;
    showError(errorBox, err);
  } finally {
    busy($("pending-list"), false);
  }
}

main();
