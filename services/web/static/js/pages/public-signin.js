// www /signin: password, then (admin roles) the TOTP step — enrolling first when the account has
// none — then on to `next` or the role's pages. Tokens stay in memory; auth sets the cookie.
import { cfg, t, publicApi, session, showError, announce } from "../mc.js";

const form = document.getElementById("signin-form");
const totpForm = document.getElementById("totp-form");
const message = document.getElementById("signin-message");
let mfaToken = null;
let inFlight = false; // one sign-in or verify request at a time (double click, Enter twice)

function destination(role) {
  const next = new URLSearchParams(location.search).get("next");
  if (next) {
    const url = new URL(next, location.href);
    // Only the zone's own page hosts: never an open redirect.
    if ([cfg.www, cfg.app, cfg.admin].includes(url.origin)) return url.href;
  }
  return ["org_admin", "zone_admin", "super_admin"].includes(role) ? `${cfg.admin}/` : `${cfg.app}/`;
}

function done(tokens) {
  session.adopt(tokens);
  announce(t("signed_in"));
  location.assign(destination(tokens.role));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    showError(message, t("missing"));
    form.email.focus();
    return;
  }
  if (inFlight) return;
  inFlight = true;
  form.querySelector("button").disabled = true;
  try {
    const answer = await publicApi("POST", "/api/v1/auth/login", { json: { email, password } });
    if (!answer.mfa_required) return done(answer);
    mfaToken = answer.mfa_token;
    if (answer.enrollment_required) {
      const enrolled = await publicApi("POST", "/api/v1/auth/mfa/totp/enroll", { json: { mfa_token: mfaToken } });
      document.getElementById("totp-secret").textContent = enrolled.secret;
      const uri = document.getElementById("totp-uri");
      // Only an authenticator link: never a javascript: or other URL from the answer.
      const safe = typeof enrolled.otpauth_uri === "string" && enrolled.otpauth_uri.startsWith("otpauth://");
      if (safe) uri.href = enrolled.otpauth_uri;
      uri.parentElement.hidden = !safe;
      document.getElementById("totp-enroll").hidden = false;
    }
    message.replaceChildren();
    form.hidden = true;
    totpForm.hidden = false;
    document.getElementById("totp-code").focus();
    inFlight = false;
  } catch (err) {
    showError(message, err);
    form.querySelector("button").disabled = false;
    inFlight = false;
  }
});

totpForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = totpForm.code.value.trim();
  if (!/^[0-9]{6}$/.test(code)) {
    showError(message, t("bad_code"));
    totpForm.code.focus();
    return;
  }
  if (inFlight) return;
  inFlight = true;
  const button = totpForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const answer = await publicApi("POST", "/api/v1/auth/mfa/totp/verify", { json: { mfa_token: mfaToken, code } });
    if (answer.access_token) return done(answer); // stays disabled while the page changes
    // Enrollment confirmed without tokens: sign in again with the new code.
    location.reload();
  } catch (err) {
    showError(message, err);
    button.disabled = false;
    inFlight = false;
    totpForm.code.select();
  }
});
