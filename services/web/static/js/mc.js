// The pages' client for api.<domain>: the access token lives in memory only; the refresh token is
// auth's HttpOnly cookie (path /api/v1/auth), used to sign in again on every page load. Requests
// that a cookie authenticates carry X-Requested-With (auth refuses them without it: CSRF).
const body = document.body.dataset;

export const cfg = {
  zone: body.zone, zoneId: Number(body.zoneId), lang: body.lang, kind: body.kind,
  api: body.api, www: body.www, app: body.app, admin: body.admin,
};

const strings = Object.assign({}, ...[...document.querySelectorAll("script.mc-strings")]
  .map((node) => JSON.parse(node.textContent)));

/** A string of the page's JSON islands with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || (status === 0 ? "web.network" : `http.${status}`);
    this.title = problem?.title || "";
    this.detail = problem?.detail || "";
    this.body = problem;
  }
}

const CSRF = { "X-Requested-With": "mc-web" };
let current = null;
let pending = null;

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(part))));
}

function remember(tokens) {
  const c = claims(tokens.access_token);
  current = {
    token: tokens.access_token, role: tokens.role ?? c.role, orgId: tokens.org_id ?? c.org_id ?? null,
    userId: c.sub, sessionId: tokens.session_id ?? c.sid ?? null, expiresAt: Date.now() + (tokens.expires_in - 30) * 1000,
    locale: tokens.locale ?? null,  // the account's language (auth's token answers carry it)
  };
  return current;
}

async function rawFetch(method, path, { json, body: payload, headers = {}, query, credentials, signal } = {}) {
  const url = new URL(cfg.api + path);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
  }
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: credentials || "omit", signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (payload !== undefined) {
    init.body = payload;
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { code: "web.network", detail: t("offline") });
  }
  return resp;
}

/** The error body as a problem: only a JSON object's fields (an edge's HTML or a plain-text
 * body is never shown to the user). */
function problemOf(data) {
  return data && typeof data === "object" ? data : null;
}

async function parse(resp) {
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const err = new ApiError(resp.status, problemOf(data));
    err.retryAfter = Number(resp.headers.get("Retry-After")) || null;  // seconds (a 429's; the edge exposes it)
    throw err;
  }
  return data;
}

/** The response itself (a `{raw: true}` call: a download keeps its exact bytes and headers);
 * an error answer throws ApiError as parse() does. */
async function checked(resp) {
  if (!resp.ok) await parse(resp);
  return resp;
}

async function refresh() {
  const resp = await rawFetch("POST", "/api/v1/auth/refresh", { headers: CSRF, credentials: "include" });
  if (resp.status === 401 || resp.status === 400) return null;
  return remember(await parse(resp));
}

/** The languages the pages are rendered in (web's LANGUAGES; auth's users.locale allows the same). */
export const LANGUAGES = ["ko", "en"];
let languageApplied = false;

/** The account's language, once per page load: on the page's first ensure(), whatever it
 * answers (signed out, or failing and retried later, never mid-page) (issue #16).
 * A page asked for with `?lang=X` is the user switching: the account keeps X (PATCH /users/me;
 * a failure changes nothing, the switch itself worked). Otherwise a page in another language
 * than the account's is replaced by the same URL with `?lang=<account's>` (hash kept), where web
 * renders it and sets its cookie, so later pages come in that language directly; the promise
 * then never settles, so the page's script does not run on the wrong-language page. Never loops:
 * a URL that already asks for the account's language is never replaced. Once handled, `lang=`
 * leaves the address bar (web's cookie keeps the language on reload): a URL copied, bookmarked or
 * passed to sign-in's `next=` must not switch the account of whoever opens it later. */
async function applyLanguage(s) {
  if (!s) return s;
  const url = new URL(location.href);
  const asked = url.searchParams.get("lang");
  if (asked && asked === cfg.lang) {
    if (asked !== s.locale) {
      const resp = await rawFetch("PATCH", "/api/v1/users/me", {
        json: { locale: asked }, headers: { Authorization: `Bearer ${s.token}` },
      }).catch(() => null);
      if (resp?.ok) s.locale = asked;
    }
    dropLang(url);
    return s;
  }
  if (s.locale && LANGUAGES.includes(s.locale) && s.locale !== cfg.lang && asked !== s.locale) {
    url.searchParams.set("lang", s.locale);
    location.replace(url.href);
    return new Promise(() => {});
  }
  return s;
}

/** The address bar without `lang=` (path, other parameters and fragment kept; no new entry). */
function dropLang(url) {
  url.searchParams.delete("lang");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

/** Save the account's language (null: the browser's, Accept-Language) — the account page's
 * select; resolves to the profile /users/me shows now. */
export async function saveLanguage(locale) {
  const me = await api("PATCH", "/api/v1/users/me", { json: { locale } });
  if (current) current.locale = me.locale ?? null;
  return me;
}

export const session = {
  /** The signed-in session, refreshed from the cookie when needed; null when signed out. */
  async ensure() {
    if (current && Date.now() < current.expiresAt) return current;
    if (!pending) {
      const first = !languageApplied;
      languageApplied = true;
      pending = refresh().then(first ? applyLanguage : (s) => s).finally(() => { pending = null; });
    }
    return pending;
  },
  /** Forget `token` (a socket or call was refused with it): the next ensure() refreshes. */
  invalidate(token) {
    if (current && (!token || current.token === token)) current = null;
  },
  /** The session if its role is one of `roles`; otherwise off to sign in (or a notice). When the
   * session cannot be checked (auth down, offline) the page says so with a "Try again" button
   * instead of staying on "Loading…"; the returned promise then never settles. */
  async require(roles) {
    let s;
    try {
      s = await this.ensure();
    } catch (err) {
      const main = document.getElementById("main");
      const retry = el("button", { type: "button", onclick: () => location.reload() }, t("try_again"));
      main.replaceChildren(el("h1", {}, t("error")), el("div", {}), el("p", {}, retry));
      showError(main.children[1], err);
      for (const node of main.querySelectorAll("[aria-busy]")) node.setAttribute("aria-busy", "false");
      retry.focus();
      return new Promise(() => {});
    }
    if (!s) {
      location.assign(`${cfg.www}/signin?next=${encodeURIComponent(location.href)}`);
      return new Promise(() => {});
    }
    showNav(s.role);
    if (roles && !roles.includes(s.role)) {
      // Not this role's page: say so and stop the page's script (the promise never settles).
      const main = document.getElementById("main");
      main.replaceChildren(el("h1", {}, t("forbidden")));
      return new Promise(() => {});
    }
    return s;
  },
  /** Tokens from a login answer (www's sign-in page): the cookie is already set by auth. */
  adopt(tokens) { return remember(tokens); },
  async signOut() {
    const headers = { ...CSRF };
    if (current) headers.Authorization = `Bearer ${current.token}`;
    await rawFetch("POST", "/api/v1/auth/logout", { headers, credentials: "include" }).catch(() => null);
    current = null;
    location.assign(`${cfg.www}/signin`);
  },
};

function showNav(role) {
  for (const item of document.querySelectorAll("[data-roles]")) {
    item.hidden = !item.dataset.roles.split(" ").includes(role);
  }
  const out = document.getElementById("signout");
  if (out) {
    out.classList.remove("pending");  // its space was kept: the header does not move (CLS)
    out.onclick = () => session.signOut();
  }
}

/** One API call with the session's token; a 401 refreshes once and retries. `{auth: false}`
 * calls without a session (anonymous endpoints); an explicit `Authorization` header (a
 * classroom participant token) is sent as given. `{raw: true}` resolves to the fetch Response
 * (for downloads: `await resp.blob()` keeps the bytes, e.g. a CSV's byte-order mark) instead
 * of the parsed body; a non-2xx answer still throws ApiError. */
export async function api(method, path, options = {}) {
  const { auth = true, raw = false, ...rest } = options;
  const finish = raw ? checked : parse;
  if (!auth || rest.headers?.Authorization) return finish(await rawFetch(method, path, rest));
  const s = await session.ensure();
  const call = (token) => rawFetch(method, path, {
    ...rest, headers: { ...(rest.headers || {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  let resp = await call(s?.token);
  if (resp.status === 401 && s) {
    session.invalidate(s.token);  // another call may have refreshed already: keep its token
    const again = await session.ensure();
    if (!again) {
      location.assign(`${cfg.www}/signin?next=${encodeURIComponent(location.href)}`);
      throw new ApiError(401, { code: "auth.signed_out", detail: t("signed_out") });
    }
    resp = await call(again.token);
  }
  return finish(resp);
}

/** A call that needs no session (sign in, sign up): cookies included so auth can set its own. */
export async function publicApi(method, path, options = {}) {
  const headers = { ...CSRF, ...(options.headers || {}) };  // also: auth keeps the refresh token in the cookie only
  return parse(await rawFetch(method, path, { ...options, headers, credentials: "include" }));
}

/** A multipart upload with progress (fetch has no upload progress): resolves to the JSON answer.
 * A token that expired during a long upload is refreshed and the form sent once more. */
export async function upload(path, formData, onProgress, method = "POST") {
  try {
    return await uploadOnce(path, formData, onProgress, method);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.invalidate();
    return uploadOnce(path, formData, onProgress, method);
  }
}

async function uploadOnce(path, formData, onProgress, method) {
  const s = await session.ensure();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, cfg.api + path);
    if (s) xhr.setRequestHeader("Authorization", `Bearer ${s.token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
    const offline = () => reject(new ApiError(0, { code: "web.network", detail: t("offline") }));
    xhr.onerror = offline;
    xhr.onabort = offline;
    xhr.ontimeout = offline;
    xhr.onload = () => {
      let data = null;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, problemOf(data)));
    };
    xhr.send(formData);
  });
}

/** Server-sent events over fetch (EventSource cannot send the Authorization header, nor POST):
 * yields {event, data, id, json}; a 401 refreshes the session and retries once. */
export async function* stream(path, { method = "GET", json, query, signal } = {}) {
  const open = async (token) => rawFetch(method, path, {
    json, query, signal, headers: { Accept: "text/event-stream", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  const s = await session.ensure();
  let resp = await open(s?.token);
  if (resp.status === 401 && s) {
    session.invalidate(s.token);
    resp = await open((await session.ensure())?.token);
  }
  if (!resp.ok) await parse(resp);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // Any line ending (CRLF, CR, LF) as LF; a chunk-final CR waits for a possible LF.
    buffer = (buffer + value).replace(/\r\n/g, "\n").replace(/\r(?!$)/g, "\n");
    if (buffer.length > 1_000_000) throw new ApiError(0, { code: "web.stream_too_large", detail: t("error") });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const ev = { event: "message", data: "", id: null };
      for (const line of block.split("\n")) {
        const at = line.indexOf(":");
        if (at === 0) continue;
        const field = at < 0 ? line : line.slice(0, at);
        const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (field === "data") ev.data += (ev.data ? "\n" : "") + val;
        else if (field === "event") ev.event = val;
        else if (field === "id") ev.id = val;
      }
      if (ev.data) {
        try { ev.json = JSON.parse(ev.data); } catch { ev.json = null; }
        yield ev;
      }
    }
  }
  } finally {
    reader.cancel().catch(() => {});  // the consumer left early (break/return): close the stream
  }
}

/** A WebSocket to the api host (wss when the page is https). */
export function connect(path) {
  return new WebSocket(cfg.api.replace(/^http/, "ws") + path);
}

/** DOM builder: attributes (class, aria-*, data-*, on<event> functions) and children (text is text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A copy of the first element of `<template id=...>`. */
export function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** The file name a download's answer gives (`Content-Disposition`, readable cross-origin because
 * the edge exposes it), else `fallback`. Only a plain name: no path, no quotes. `filename*` is read
 * only with an empty language tag (`UTF-8''name`, what our services send); another tag falls back
 * to `filename=`. */
export function fileNameOf(resp, fallback) {
  const header = resp.headers.get("content-disposition") || "";
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  let name = null;
  if (star) {
    try { name = decodeURIComponent(star[1].trim()); } catch { name = null; }
  }
  if (!name) {
    const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)/i.exec(header);
    name = plain ? (plain[1] ?? plain[2]) : null;
  }
  return name && /^[^\\/:*?"<>|\u0000-\u001f]+$/.test(name) && !name.startsWith(".") ? name : fallback;
}

/** Hand `blob` to the browser as a download named `name` (an anchor with `download`, clicked; the
 * Blob URL is revoked once the browser has taken it). */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** An error in `container` (role=alert): the API's message and its stable code, or a text.
 * `words` (optional) maps stable codes to the page's own words: a string key of the page's JSON
 * island, or a function of the ApiError returning the text (e.g. a wait from `retryAfter`); the
 * API's detail is English only, so a page names the codes its users meet. */
export function showError(container, err, words = null) {
  const word = err instanceof ApiError && words ? words[err.code] : undefined;
  const own = typeof word === "function" ? word(err) : typeof word === "string" ? t(word) : null;
  const msg = typeof err === "string" ? err : own ? own : err instanceof ApiError
    ? ([0, 502, 503, 504].includes(err.status) ? t("offline") : (err.detail || err.title || t("error")))
    : t("error");
  const box = el("p", { class: "error", role: "alert" }, msg,
    err instanceof ApiError ? el("span", { class: "code" }, ` (${err.code})`) : "");
  container.replaceChildren(box);
  if (typeof err !== "string" && !(err instanceof ApiError)) console.error(err);
  return box;
}

/** Tell screen readers something happened (polite). */
export function announce(message) {
  const region = document.getElementById("mc-status");
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 50);
}

export function busy(node, on) {
  node.setAttribute("aria-busy", on ? "true" : "false");
}

const locale = cfg.lang === "ko" ? "ko-KR" : "en-US";
export const fmt = {
  date: (iso) => (iso ? new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : ""),
  number: (n, digits = 0) => (n === null || n === undefined ? "—"
    : new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n)),
};
