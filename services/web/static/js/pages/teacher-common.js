// Helpers shared by the teacher pages (not a page of its own).
import { el, fmt, showError } from "../mc.js";

export const byId = (id) => document.getElementById(id);

/** Put `text` into the first element matching `selector` under `root`. */
export function put(root, selector, text) {
  const node = root.querySelector(selector);
  if (node) node.textContent = text == null ? "—" : String(text);
  return node;
}

/** A number for a table cell ("—" when missing). */
export function num(value, digits = 0) {
  return value == null ? "—" : fmt.number(value, digits);
}

export function when(iso) {
  return iso ? fmt.date(iso) : "—";
}

/** Fill a <dl> whose <dd data-field="x"> cells name the fields of `data`. */
export function fillFields(dl, data, format = (name, value) => value) {
  for (const dd of dl.querySelectorAll("dd[data-field]")) {
    const name = dd.dataset.field;
    const value = format(name, data[name]);
    dd.textContent = value == null ? "—" : String(value);
  }
}

/** An error box placed right after `node` (reused), showing `err` with mc.js's renderer. */
export function errorAfter(node, err) {
  let box = node.nextElementSibling;
  if (!box || !box.classList.contains("teach-error")) {
    box = el("div", { class: "teach-error" });
    node.after(box);
  }
  box.replaceChildren();
  if (err) showError(box, err);
  return box;
}

/** Every page of a cursor listing (`next_cursor`), up to `maxPages`. */
export async function allPages(fetchPage, maxPages = 50) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i += 1) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
