// Small SVG charts for the teacher analytics pages (no library): a histogram and a horizontal
// bar chart. Each chart is an <svg role="img"> named by its section heading and described by a
// sentence under it, followed by a <details> data table with every number it shows.
import { el, fmt, t } from "../mc.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const FG = "var(--fg, #1f2328)";
const MUTED = "var(--muted, #57606a)";
const BRAND = "var(--brand, #1a56db)";
const BAD = "var(--bad, #b42318)";

function svg(tag, attrs = {}, ...kids) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const kid of kids) node.append(typeof kid === "string" ? document.createTextNode(kid) : kid);
  return node;
}

function paint(node, colour) {
  node.style.fill = colour;
  return node;
}

function text(x, y, label, anchor = "middle", extra = {}) {
  const node = svg("text", { x, y, "text-anchor": anchor, "font-size": 12, ...extra }, label);
  return paint(node, FG);
}

/** Equal-width bins over [min, max] (a degenerate range is widened by 0.5 each side). */
export function bin(values, bins, min, max) {
  let lo = min ?? Math.min(...values);
  let hi = max ?? Math.max(...values);
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const width = (hi - lo) / bins;
  const counts = new Array(bins).fill(0);
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[i] += 1;
  }
  return counts.map((count, i) => ({ from: lo + i * width, to: lo + (i + 1) * width, count }));
}

/** Sturges' rule, 5 to 20 bins. */
export function binCount(n) {
  return Math.max(5, Math.min(20, Math.ceil(Math.log2(Math.max(n, 1)) + 1)));
}

function frame(container, heightPx, descText) {
  container.replaceChildren();
  const section = container.closest("section");
  const heading = section ? section.querySelector("h2, h3") : null;
  const descId = `${container.id}-desc`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${heightPx}`, role: "img", "aria-describedby": descId,
                            class: "chart-svg", preserveAspectRatio: "xMinYMin meet" });
  if (heading) {
    if (!heading.id) heading.id = `${container.id}-h`;
    root.setAttribute("aria-labelledby", heading.id);
  }
  root.style.width = "100%";
  root.style.maxWidth = `${W}px`;
  root.style.height = "auto";
  container.append(root, el("p", { id: descId, class: "chart-desc" }, descText));
  return root;
}

function dataTable(container, caption, columns, rows) {
  const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c)));
  const body = rows.map((r) => el("tr", {}, el("th", { scope: "row" }, r[0]),
                                  ...r.slice(1).map((v) => el("td", { class: "num" }, v))));
  const table = el("table", { class: "data" }, el("caption", {}, caption), el("thead", {}, head),
                   el("tbody", {}, ...body));
  container.append(el("details", { class: "chart-data" }, el("summary", {}, t("data_table")), table));
}

/** A histogram of `values`: {title, xLabel, yLabel, bins?, min?, max?, digits?}. */
export function histogram(container, values, opts) {
  const digits = opts.digits ?? 1;
  const bins = bin(values, opts.bins ?? binCount(values.length), opts.min, opts.max);
  const peak = bins.reduce((a, b) => (b.count > a.count ? b : a), bins[0]);
  const range = (b) => `${fmt.number(b.from, digits)} – ${fmt.number(b.to, digits)}`;
  const H = 260, left = 48, right = 12, top = 16, bottom = 48;
  const root = frame(container, H, t("hist_desc", {
    n: values.length, bins: bins.length, min: fmt.number(bins[0].from, digits),
    max: fmt.number(bins[bins.length - 1].to, digits), peak: range(peak), count: peak.count }));
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const plotW = W - left - right, plotH = H - top - bottom;
  const bw = plotW / bins.length;
  // y axis: 0, half, max
  for (const tick of [0, Math.ceil(maxCount / 2), maxCount]) {
    const y = top + plotH - (tick / maxCount) * plotH;
    root.append(paint(svg("rect", { x: left, y, width: plotW, height: 1 }), MUTED),
                text(left - 6, y + 4, fmt.number(tick, 0), "end"));
  }
  bins.forEach((b, i) => {
    const h = (b.count / maxCount) * plotH;
    const rect = svg("rect", { x: left + i * bw + 1, y: top + plotH - h, width: Math.max(1, bw - 2), height: h,
                               class: "chart-bar" });
    rect.append(svg("title", {}, `${range(b)}: ${b.count}`));
    root.append(paint(rect, BRAND));
  });
  const step = Math.ceil(bins.length / 6);
  bins.forEach((b, i) => {
    if (i % step === 0) root.append(text(left + i * bw, H - bottom + 16, fmt.number(b.from, digits)));
  });
  const last = bins[bins.length - 1];
  root.append(text(left + plotW, H - bottom + 16, fmt.number(last.to, digits)));
  root.append(text(left + plotW / 2, H - 6, opts.xLabel));
  root.append(text(12, top + plotH / 2, opts.yLabel, "middle", { transform: `rotate(-90 12 ${top + plotH / 2})` }));
  dataTable(container, opts.title, [t("range"), opts.yLabel], bins.map((b) => [range(b), fmt.number(b.count, 0)]));
}

/** Horizontal bars, one per row: rows [{label, value (number|null)}], {title, valueLabel, min, max, digits}. */
export function bars(container, rows, opts) {
  const digits = opts.digits ?? 2;
  const shown = rows.filter((r) => r.value != null);
  const sorted = [...shown].sort((a, b) => b.value - a.value);
  const hi = sorted[0], lo = sorted[sorted.length - 1];
  const rowH = 18, top = 8, left = 120, right = 56, bottom = 28;
  const H = top + bottom + rowH * Math.max(rows.length, 1);
  const root = frame(container, H, t("bars_desc", {
    n: rows.length, hi: hi ? hi.label : "—", hival: hi ? fmt.number(hi.value, digits) : "—",
    lo: lo ? lo.label : "—", loval: lo ? fmt.number(lo.value, digits) : "—" }));
  const min = Math.min(opts.min ?? 0, ...shown.map((r) => r.value));
  const max = Math.max(opts.max ?? 1, ...shown.map((r) => r.value));
  const plotW = W - left - right;
  const x = (v) => left + ((v - min) / (max - min || 1)) * plotW;
  const zero = x(Math.max(min, Math.min(max, 0)));
  root.append(paint(svg("rect", { x: zero, y: top, width: 1, height: rowH * rows.length }), MUTED));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    root.append(text(left - 6, y + rowH - 5, r.label, "end"));
    if (r.value == null) {
      root.append(text(zero + 4, y + rowH - 5, t("no_pb"), "start"));
      return;
    }
    const x0 = Math.min(zero, x(r.value)), x1 = Math.max(zero, x(r.value));
    const rect = svg("rect", { x: x0, y: y + 3, width: Math.max(1, x1 - x0), height: rowH - 6, class: "chart-bar" });
    rect.append(svg("title", {}, `${r.label}: ${fmt.number(r.value, digits)}`));
    root.append(paint(rect, r.value < 0 ? BAD : BRAND));
    root.append(text(x1 + 4, y + rowH - 5, fmt.number(r.value, digits), "start"));
  });
  const axisY = top + rowH * rows.length + 16;
  root.append(text(x(min), axisY, fmt.number(min, digits), "start"), text(x(max), axisY, fmt.number(max, digits), "end"));
  const extra = opts.extraColumn;
  const columns = [opts.labelHeader ?? "", opts.valueLabel, ...(extra ? [extra.label] : [])];
  dataTable(container, opts.title, columns, rows.map((r) => [
    r.label, r.value == null ? t("no_pb") : fmt.number(r.value, digits), ...(extra ? [extra.value(r)] : [])]));
}
