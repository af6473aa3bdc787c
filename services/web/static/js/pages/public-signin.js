// www /signin: password, then (admin roles) the TOTP step — enrolling first when the account has
// none, or a recovery code instead of the TOTP code for a lost phone — then on to `next` or the
// role's pages. A login whose first code turned TOTP on shows its recovery codes first (only
// then are they ever shown). Tokens stay in memory; auth sets the cookie.
import { cfg, t, publicApi, session, el, showError, announce } from "../mc.js";

const form = document.getElementById("signin-form");
const totpForm = document.getElementById("totp-form");
const message = document.getElementById("signin-message");
const recoveryToggle = document.getElementById("use-recovery");
let mfaToken = null;
let useRecovery = false; // the TOTP step takes a recovery code instead of the 6-digit code
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

function setRecoveryMode(on) {
  useRecovery = on;
  document.getElementById("totp-field").hidden = on;
  document.getElementById("recovery-field").hidden = !on;
  recoveryToggle.textContent = t(on ? "use_totp" : "use_recovery");
  message.replaceChildren();
  (on ? totpForm.recovery_code : totpForm.code).focus();
}

recoveryToggle.addEventListener("click", () => setRecoveryMode(!useRecovery));

// The first recovery codes, made by this login turning TOTP on: shown once, then on.
function showCodes(answer) {
  totpForm.hidden = true;
  message.replaceChildren();
  document.getElementById("signin-codes-list").replaceChildren(
    ...answer.recovery_codes.map((c) => el("li", {}, el("code", {}, c))));
  document.getElementById("signin-codes").hidden = false;
  document.getElementById("signin-codes-heading").focus();
  document.getElementById("signin-codes-continue").addEventListener("click", () => done(answer), { once: true });
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
    recoveryToggle.hidden = Boolean(answer.enrollment_required); // no codes before TOTP is on
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
  const field = useRecovery ? totpForm.recovery_code : totpForm.code;
  const value = field.value.trim();
  const ok = useRecovery ? /^[A-Za-z0-9]{10}$/.test(value.replace(/[\s-]/g, "")) : /^[0-9]{6}$/.test(value);
  if (!ok) {
    showError(message, t(useRecovery ? "bad_recovery" : "bad_code"));
    field.focus();
    return;
  }
  if (inFlight) return;
  inFlight = true;
  const button = totpForm.querySelector("button[type=submit]");
  button.disabled = true;
  const json = useRecovery ? { mfa_token: mfaToken, recovery_code: value } : { mfa_token: mfaToken, code: value };
  try {
    const answer = await publicApi("POST", "/api/v1/auth/mfa/totp/verify", { json });
    if (answer.access_token && answer.recovery_codes?.length) return showCodes(answer);
    if (answer.access_token) return done(answer); // stays disabled while the page changes
    // Enrollment confirmed without tokens: sign in again with the new code.
    location.reload();
  } catch (err) {
    showError(message, err);
    button.disabled = false;
    inFlight = false;
    field.select();
  }
});
