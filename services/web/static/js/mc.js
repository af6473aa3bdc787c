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
  if (!resp.ok) throw new ApiError(resp.status, problemOf(data));
  return data;
}

async function refresh() {
  const resp = await rawFetch("POST", "/api/v1/auth/refresh", { headers: CSRF, credentials: "include" });
  if (resp.status === 401 || resp.status === 400) return null;
  return remember(await parse(resp));
}

export const session = {
  /** The signed-in session, refreshed from the cookie when needed; null when signed out. */
  async ensure() {
    if (current && Date.now() < current.expiresAt) return current;
    pending = pending || refresh().finally(() => { pending = null; });
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
 * classroom participant token) is sent as given. */
export async function api(method, path, options = {}) {
  const { auth = true, ...rest } = options;
  if (!auth || rest.headers?.Authorization) return parse(await rawFetch(method, path, rest));
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
  return parse(resp);
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

/** An error in `container` (role=alert): the API's message and its stable code, or a text. */
export function showError(container, err) {
  const msg = typeof err === "string" ? err : err instanceof ApiError
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
