// Item banks: list and create banks, list a bank's items, import items (CSV/.xlsx) with an
// upload progress bar and the per-row error report (exam's synchronous import).
import { announce, api, busy, clone, el, session, showError, t, upload } from "../mc.js";
import { byId, errorAfter, fillFields, num, put } from "./teacher-common.js";

await session.require(["teacher", "org_admin"]);
const banksStatus = byId("banks-status");
const banksTable = byId("banks-table");
const importBank = byId("import-bank");
const itemsSection = byId("bank-items");
const itemsBody = byId("items-table").tBodies[0];
const itemsMore = byId("items-more");
let banks = [];
let current = null;
let itemsCursor = null;
let itemsShown = 0;
let itemsGen = 0; // bumped when another bank is shown: a page of the earlier bank is dropped
let itemsLoading = false;
let creatingBank = false;

function fail(node, err) {
  errorAfter(node, err);
}

async function loadItems(reset) {
  if (reset) {
    itemsGen += 1;
    itemsBody.replaceChildren();
    itemsCursor = null;
    itemsShown = 0;
  } else if (itemsLoading) {
    return; // a page is already on its way
  }
  const mine = itemsGen;
  const query = { bank_id: current.id, limit: 100 };
  if (itemsCursor) query.cursor = itemsCursor;
  itemsLoading = true;
  itemsMore.disabled = true;
  let page;
  try {
    page = await api("GET", "/api/v1/items", { query });
  } catch (err) {
    if (mine === itemsGen) throw err;
    return; // an error for a bank no longer shown
  } finally {
    if (mine === itemsGen) {
      itemsLoading = false;
      itemsMore.disabled = false;
    }
  }
  if (mine !== itemsGen) return; // another bank was chosen meanwhile
  itemsBody.append(...page.items.map((it) => {
    const row = clone("tpl-item-row");
    put(row, ".it-code", it.code);
    put(row, ".it-area", it.content_area || "—");
    put(row, ".it-model", it.model);
    put(row, ".it-a", num(it.a, 2));
    put(row, ".it-b", num(it.b, 2));
    put(row, ".it-c", num(it.c, 2));
    put(row, ".it-stem", it.stem.length > 80 ? `${it.stem.slice(0, 80)}…` : it.stem);
    return row;
  }));
  itemsShown += page.items.length;
  itemsCursor = page.next_cursor;
  itemsMore.hidden = !itemsCursor;
  byId("bank-items-status").textContent = itemsShown ? t("items_count", { n: itemsShown }) : t("no_items");
}

async function showBank(bank) {
  current = bank;
  itemsSection.hidden = false;
  byId("items-caption").textContent = t("items_of", { name: bank.name });
  byId("bank-items-h").textContent = t("items_of", { name: bank.name });
  try {
    await loadItems(true);
  } catch (err) {
    fail(byId("bank-items-status"), err);
  }
}

async function loadBanks(selectId) {
  try {
    ({ items: banks } = await api("GET", "/api/v1/items/banks"));
    banksTable.tBodies[0].replaceChildren(...banks.map((bank) => {
      const row = clone("tpl-bank-row");
      put(row, ".bank-name", bank.name);
      put(row, ".bank-count", num(bank.item_count));
      put(row, ".bank-version", num(bank.version));
      const button = row.querySelector(".bank-show");
      button.textContent = t("show_items");
      button.setAttribute("aria-label", t("show_items_for", { name: bank.name }));
      button.addEventListener("click", () => showBank(bank));
      return row;
    }));
    banksTable.hidden = banks.length === 0;
    banksStatus.textContent = banks.length ? "" : t("no_banks");
    importBank.replaceChildren(...banks.map((b) => el("option", { value: b.id }, b.name)));
    if (selectId) importBank.value = selectId;
  } catch (err) {
    banksStatus.textContent = "";
    fail(banksStatus, err);
  } finally {
    busy(banksStatus, false);
  }
}

itemsMore.addEventListener("click", async () => {
  try { await loadItems(false); } catch (err) { fail(byId("bank-items-status"), err); }
});

byId("bank-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const name = byId("bank-name").value.trim();
  if (!name) { byId("bank-name").focus(); return; }
  if (creatingBank) return; // one create at a time (double click, Enter twice)
  creatingBank = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const bank = await api("POST", "/api/v1/items/banks", {
      json: { name, description: byId("bank-desc").value.trim() } });
    form.reset();
    errorAfter(form, null);
    announce(t("bank_created", { name: bank.name }));
    await loadBanks(bank.id);
  } catch (err) {
    fail(form, err);
  } finally {
    creatingBank = false;
    button.disabled = false;
  }
});

byId("item-import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const errorBox = byId("item-import-error");
  const result = byId("item-import-result");
  const bar = byId("item-upload-bar");
  const barText = byId("item-upload-text");
  errorBox.replaceChildren();
  const file = byId("item-file").files[0];
  if (!importBank.value) { errorBox.textContent = t("choose_bank"); return; }
  if (!file) { errorBox.textContent = t("choose_file"); byId("item-file").focus(); return; }
  const button = event.currentTarget.querySelector("button[type=submit]");
  button.disabled = true;
  result.hidden = true;
  bar.value = 0;
  let step = 0; // the last 25 % step announced
  try {
    const data = new FormData();
    data.append("file", file, file.name);
    const params = new URLSearchParams({ bank_id: importBank.value, mode: byId("import-mode").value });
    const report = await upload(`/api/v1/items/imports?${params}`, data, (sent, total) => {
      const pct = total ? Math.round((100 * sent) / total) : 0;
      bar.value = pct;
      barText.textContent = t("uploading", { pct });
      // Screen readers hear 25 %, 50 %, 75 %, 100 %, not every progress event.
      if (Math.floor(pct / 25) > step) {
        step = Math.floor(pct / 25);
        announce(t("uploading", { pct: step * 25 }));
      }
    });
    bar.value = 100;
    barText.textContent = t("uploaded");
    fillFields(result.querySelector("dl"), report, (name, value) =>
      name === "status" ? t(`status_${value}`) : num(value));
    const table = byId("item-errors");
    table.tBodies[0].replaceChildren(...report.errors.map((e) => {
      const row = clone("tpl-item-error");
      put(row, ".err-row", e.row);
      put(row, ".err-col", e.field || "—");
      put(row, ".err-reason", e.message);
      return row;
    }));
    table.hidden = report.errors.length === 0;
    result.hidden = false;
    announce(t("imported", { created: report.created_rows, updated: report.updated_rows, errors: report.error_rows }));
    const bank = banks.find((b) => b.id === report.bank_id);
    await loadBanks(report.bank_id);
    if (bank && current && current.id === bank.id) await showBank(banks.find((b) => b.id === bank.id));
  } catch (err) {
    barText.textContent = "";
    showError(errorBox, err);
  } finally {
    button.disabled = false;
  }
});

await loadBanks();
