// app /activate#login=…&code=…: a school-provisioned account's first password, with the one-time
// code from the activation sheet (its QR leads here). Login id and code ride in the fragment
// (never sent to a server, so never in access logs or a Referer): they are read once into the
// form and dropped from the address bar and history (an old sheet's `?login=…&code=…` is moved
// into the fragment by the server first). Then POST /api/v1/auth/activate and sign in as /signin
// does (POST /api/v1/auth/login, email = login id); an account that needs the TOTP step goes to
// /signin instead.
import { cfg, t, publicApi, session, el, showError, ApiError } from "../mc.js";

const form = document.getElementById("activate-form");
const message = document.getElementById("activate-message");
const button = form.querySelector("button[type=submit]");
let inFlight = false; // one activation at a time (double click, Enter twice)

const given = new URLSearchParams(location.hash.slice(1));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
if (given.get("login")) form.login_id.value = given.get("login");
if (given.get("code")) form.code.value = given.get("code");
if (form.login_id.value && form.code.value) form.new_password.focus();

// Switching language reloads the page: carry what was read from the sheet over in the fragment
// again (never the query, never storage), so the student need not scan or type it twice.
const langForm = document.querySelector("form.lang");
langForm?.addEventListener("submit", (event) => {
  const carried = new URLSearchParams();
  if (form.login_id.value.trim()) carried.set("login", form.login_id.value.trim());
  if (form.code.value.trim()) carried.set("code", form.code.value.trim());
  if (!carried.toString()) return; // nothing to carry: the form's own GET
  event.preventDefault();
  const query = new URLSearchParams(new FormData(langForm)).toString();
  // The same query would only move to the fragment, leaving the code in the address bar.
  if (`?${query}` === location.search) return;
  location.assign(`${location.pathname}?${query}#${carried}`);
});

// auth's stable codes → what to say and which field to fix.
const KNOWN = {
  "auth.activation_invalid": ["invalid", "code"],
  "request.invalid": ["invalid", "login_id"],
  "auth.activation_used": ["used", null],
  "auth.activation_expired": ["expired", null],
  "auth.password_weak": ["weak", "new_password"],
  "auth.too_many_attempts": ["too_many", null], // this login id, with auth's Retry-After
  "rate_limit.exceeded": ["rate_limited", null], // the platform's per-address ceiling: a school behind one NAT
  "http.429": ["rate_limited", null], // the edge's own limiter answers in plain text (no problem code)
};

// Each field's own hints, so an error's description can be added and taken off again.
const hints = new Map([...form.elements].map((field) => [field, field.getAttribute("aria-describedby")]));

function clearInvalid() {
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    if (hints.get(field)) field.setAttribute("aria-describedby", hints.get(field));
    else field.removeAttribute("aria-describedby");
  }
}

// The message is said (role=alert) and tied to the field to fix, which gets the focus; with no
// field to fix, the focus goes to the message itself, so a keyboard user goes on from there.
function say(box, field) {
  if (field) {
    const input = form[field];
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [hints.get(input), message.id].filter(Boolean).join(" "));
    input.focus();
  } else {
    box.tabIndex = -1;
    box.focus();
  }
}

function fail(err) {
  const known = err instanceof ApiError && KNOWN[err.code];
  if (!known) return say(showError(message, err), null);
  const seconds = err.retryAfter || 60; // a 429's Retry-After
  const text = t(known[0], { minutes: Math.max(1, Math.ceil(seconds / 60)) });
  const box = showError(message, text);
  box.append(el("span", { class: "code" }, ` (${err.code})`));
  say(box, known[1]);
}

function problem(text, field) {
  say(showError(message, text), field);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (inFlight) return;
  clearInvalid();
  const loginId = form.login_id.value.trim();
  const code = form.code.value.trim();
  const password = form.new_password.value;
  if (!loginId || !code || !password) {
    return problem(t("missing"), !loginId ? "login_id" : !code ? "code" : "new_password");
  }
  if (password !== form.confirm_password.value) return problem(t("mismatch"), "confirm_password");
  inFlight = true;
  button.disabled = true;
  try {
    await publicApi("POST", "/api/v1/auth/activate", { json: { login_id: loginId, code, new_password: password } });
  } catch (err) {
    button.disabled = false;
    inFlight = false;
    fail(err);
    return;
  }
  // Active now: the code is spent, so the form is done whatever the sign-in does; the new
  // password and the spent code leave the page, and the focus goes to what is said instead.
  form.reset();
  form.hidden = true;
  const done = el("p", { tabindex: "-1" }, t("activated"));
  message.replaceChildren(done);
  done.focus();
  try {
    const tokens = await publicApi("POST", "/api/v1/auth/login", { json: { email: loginId, password } });
    if (tokens.mfa_required) {
      location.assign(`${cfg.www}/signin?next=${encodeURIComponent(`${cfg.app}/`)}`);
      return;
    }
    session.adopt(tokens);
    location.assign(`${cfg.app}/`);
  } catch {
    const signIn = el("a", { href: `${cfg.www}/signin?next=${encodeURIComponent(`${cfg.app}/`)}` }, t("sign_in"));
    message.replaceChildren(el("p", { role: "alert" }, t("sign_in_now"), " ", signIn));
    signIn.focus();
  }
});
