// /teach/classroom: the teacher's running sessions (classroom GET /api/v1/classroom/sessions?status=active)
// and a form to start one for a class (tenant GET /api/v1/classes, classroom POST /api/v1/classroom/sessions);
// earlier (ended or expired) sessions link to their console for homework and the report, by id
// (`?session=<id>`): a live code is unique only among active sessions, so an old one may be reused.
import { t, api, session, el, clone, showError, announce, busy, fmt } from "../mc.js";

const $ = (id) => document.getElementById(id);
const errorBox = $("teach-error");

async function main() {
  await session.require(["teacher", "org_admin"]);
  const [classes, running, recent] = await Promise.all([
    api("GET", "/api/v1/classes"),
    api("GET", "/api/v1/classroom/sessions", { query: { status: "active" } }),
    api("GET", "/api/v1/classroom/sessions", { query: { limit: 30 } }),
  ]);
  const select = $("class-select");
  for (const c of classes.items) select.append(el("option", { value: c.id }, `${c.grade} · ${c.name}`));
  if (!classes.items.length) {
    $("no-classes").hidden = false;
    $("start-button").disabled = true;
  }
  const list = $("active-list");
  for (const s of running.items) {
    const li = clone("tpl-active");
    const a = li.querySelector(".active-link");
    a.href = `/teach/classroom/${s.code}`;
    a.textContent = t("open_console", { code: s.code, title: s.title || t("untitled") });
    li.querySelector(".active-meta").textContent = t("meta", { minutes: Math.max(1, Math.round(s.seconds_left / 60)) });
    list.append(li);
  }
  $("active-empty").hidden = running.items.length > 0;
  busy($("active-section"), false);
  const past = recent.items.filter((s) => s.status !== "active");
  for (const s of past) {
    const li = clone("tpl-past");
    const a = li.querySelector(".past-link");
    a.href = `/teach/classroom/${s.code}?session=${encodeURIComponent(s.id)}`;
    a.textContent = t("open_past", { code: s.code, title: s.title || t("untitled") });
    li.querySelector(".past-meta").textContent = t("past_meta", { date: fmt.date(s.started_at) });
    $("past-list").append(li);
  }
  $("past-empty").hidden = past.length > 0;
  busy($("past-section"), false);
}

$("start-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.replaceChildren();
  const button = $("start-button");
  button.disabled = true;
  try {
    const body = {
      class_id: $("class-select").value,
      title: $("title-input").value.trim(),
      scoring: $("scoring-select").value,
      chat_mode: $("chat-select").value,
      approve_arrivals: $("approve-check").checked,
      friendly_nicknames: $("friendly-check").checked,
    };
    const started = await api("POST", "/api/v1/classroom/sessions", { json: body });
    announce(t("started", { code: started.code }));
    window.location.assign(`/teach/classroom/${started.code}`);
  } catch (err) {
    showError(errorBox, err);
    button.disabled = false;
  }
});

main().catch((err) => showError(errorBox, err));
