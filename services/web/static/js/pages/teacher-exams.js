// Exams: the org's exams (cursor pages, status filter) and the create form (fixed form of chosen
// items, or adaptive with CAT stopping rules). A new exam is a draft; its page publishes it.
import { announce, api, busy, clone, el, session, showError, t } from "../mc.js";
import { byId, errorAfter, put, when } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const status = byId("exams-status");
const table = byId("exams-table");
const more = byId("exams-more");
const filter = byId("exam-filter");
const bankSelect = byId("exam-bank");
const classSelect = byId("exam-class");
const itemsList = byId("fixed-items-list");
const itemsStatus = byId("fixed-items-status");
const formError = byId("exam-form-error");
let classNames = new Map();
let cursor = null;
let shown = 0;
let listGen = 0; // bumped by each reload of the exam list: older responses are dropped
let bankGen = 0; // bumped by each bank change: items of an earlier bank are dropped
let loadingMore = false;

function clearError(node) {
  if (node.nextElementSibling?.classList.contains("teach-error")) errorAfter(node, null);
}

function examRow(exam) {
  const row = clone("tpl-exam-row");
  const link = put(row, ".ex-title", exam.title);
  link.href = `/teach/exams/${exam.id}`;
  put(row, ".ex-kind", t(`kind_${exam.kind}`));
  put(row, ".ex-status", t(`status_${exam.status}`));
  put(row, ".ex-class", exam.class_id ? (classNames.get(exam.class_id) ?? "—") : t("no_class"));
  put(row, ".ex-created", when(exam.created_at));
  return row;
}

async function loadExams(reset) {
  if (reset) {
    listGen += 1;
    table.tBodies[0].replaceChildren();
    cursor = null;
    shown = 0;
  } else if (loadingMore) {
    return; // a page is already on its way
  }
  const mine = listGen;
  loadingMore = true;
  more.disabled = true;
  busy(status, true);
  try {
    const query = { limit: 50 };
    if (filter.value) query.status = filter.value;
    if (cursor) query.cursor = cursor;
    const page = await api("GET", "/api/v1/exams", { query });
    if (mine !== listGen) return; // the filter changed meanwhile
    const before = shown;
    table.tBodies[0].append(...page.items.map(examRow));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    table.hidden = shown === 0;
    status.textContent = shown ? "" : t("none");
    clearError(status);
    if (before > 0) announce(t("more_loaded", { count: page.items.length }));
  } catch (err) {
    if (mine !== listGen) return;
    status.textContent = "";
    errorAfter(status, err);
  } finally {
    if (mine === listGen) {
      loadingMore = false;
      more.disabled = false;
      busy(status, false);
    }
  }
}

async function loadBankItems() {
  bankGen += 1;
  const mine = bankGen;
  itemsList.replaceChildren();
  clearError(itemsStatus);
  if (!bankSelect.value) return;
  itemsStatus.textContent = t("loading");
  try {
    const page = await api("GET", "/api/v1/items", { query: { bank_id: bankSelect.value, limit: 500 } });
    if (mine !== bankGen) return; // another bank was chosen meanwhile
    const items = [...page.items].sort((a, b) => a.code.localeCompare(b.code));
    itemsList.replaceChildren(...items.map((it, i) => {
      const li = clone("tpl-item-check");
      const box = li.querySelector("input");
      const label = li.querySelector("label");
      box.id = `fixed-item-${i}`;
      box.value = it.id;
      box.checked = true;
      label.htmlFor = box.id;
      label.textContent = `${it.code} — ${it.stem.length > 60 ? `${it.stem.slice(0, 60)}…` : it.stem}`;
      return li;
    }));
    itemsStatus.textContent = items.length ? "" : t("no_items");
  } catch (err) {
    if (mine !== bankGen) return;
    itemsStatus.textContent = "";
    errorAfter(itemsStatus, err);
  }
}

function kind() {
  return document.querySelector("input[name=kind]:checked").value;
}

function showKind() {
  const adaptive = kind() === "adaptive";
  byId("fixed-items").hidden = adaptive;
  byId("adaptive-settings").hidden = !adaptive;
}

function intOrNull(input) {
  const v = input.value.trim();
  return v === "" ? null : Number(v);
}

byId("exam-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  formError.replaceChildren();
  const title = byId("exam-title").value.trim();
  if (!title) {
    formError.textContent = t("title_required");
    byId("exam-title").focus();
    return;
  }
  if (!bankSelect.value) {
    formError.textContent = t("no_bank");
    return;
  }
  const body = { title, description: byId("exam-desc").value.trim(), kind: kind(), item_bank_id: bankSelect.value };
  if (classSelect.value) body.class_id = classSelect.value;
  const minutes = intOrNull(byId("exam-time"));
  if (minutes) body.time_limit_seconds = minutes * 60;
  if (body.kind === "fixed") {
    body.item_ids = [...itemsList.querySelectorAll("input:checked")].map((box) => box.value);
    if (!body.item_ids.length) {
      formError.textContent = t("pick_items");
      return;
    }
  } else {
    const settings = { min_items: intOrNull(byId("cat-min")) ?? 1, max_items: intOrNull(byId("cat-max")) ?? 20 };
    const se = byId("cat-se").value.trim();
    if (se) settings.se_threshold = Number(se);
    body.cat_settings = settings;
  }
  const button = event.currentTarget.querySelector("button[type=submit]");
  if (button.disabled) return;
  button.disabled = true;
  try {
    const exam = await api("POST", "/api/v1/exams", { json: body });
    announce(t("created", { title: exam.title }));
    window.location.assign(`/teach/exams/${exam.id}`); // the button stays disabled while the page changes
  } catch (err) {
    showError(formError, err);
    button.disabled = false;
  }
});

for (const radio of document.querySelectorAll("input[name=kind]")) radio.addEventListener("change", showKind);
bankSelect.addEventListener("change", loadBankItems);
filter.addEventListener("change", () => loadExams(true));
more.addEventListener("click", () => loadExams(false));

try {
  const [classes, banks] = await Promise.all([api("GET", "/api/v1/classes"), api("GET", "/api/v1/items/banks")]);
  classNames = new Map(classes.items.map((c) => [c.id, c.name]));
  classSelect.append(...classes.items.map((c) => el("option", { value: c.id }, c.name)));
  bankSelect.replaceChildren(...banks.items.map((b) => el("option", { value: b.id }, b.name)));
  if (!banks.items.length) itemsStatus.textContent = t("no_bank");
} catch (err) {
  errorAfter(status, err);
}
showKind();
await Promise.all([loadExams(true), loadBankItems()]);
