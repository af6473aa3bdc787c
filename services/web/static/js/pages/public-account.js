// app /account: email confirmation, signed-in devices (sign one out), recovery codes.
import { t, api, session, el, fmt, showError, announce, busy } from "../mc.js";

await session.require();

const emailStatus = document.getElementById("email-status");
const emailMessage = document.getElementById("email-message");
const resend = document.getElementById("email-resend");

async function loadEmail() {
  try {
    const v = await api("GET", "/api/v1/auth/email-verification");
    emailStatus.textContent = t(v.verified ? "verified" : "unverified", { email: v.email });
    resend.hidden = v.verified;
  } catch (err) {
    showError(emailMessage, err);
  }
}

resend.addEventListener("click", async () => {
  resend.disabled = true;
  try {
    const sent = await api("POST", "/api/v1/auth/email-verification");
    emailMessage.textContent = t("link_sent", { email: sent.email });
    announce(t("link_sent", { email: sent.email }));
  } catch (err) {
    showError(emailMessage, err);
  } finally {
    resend.disabled = false;
  }
});

const table = document.getElementById("sessions-table");
const body = document.getElementById("sessions-body");
const sessionsMessage = document.getElementById("sessions-message");

async function loadSessions() {
  busy(table, true);
  try {
    const { items } = await api("GET", "/api/v1/auth/sessions");
    body.replaceChildren(...items.map((s) => el("tr", {},
      el("td", {}, s.user_agent || t("unknown_device"), s.current ? el("strong", {}, ` (${t("this_device")})`) : ""),
      el("td", {}, s.address || ""),
      el("td", {}, fmt.date(s.created_at)),
      el("td", {}, fmt.date(s.last_used_at)),
      el("td", {}, s.current ? "" : el("button", {
        type: "button", class: "secondary", "aria-label": `${t("sign_out")}: ${s.user_agent || t("unknown_device")}`,
        onclick: () => signOut(s.id),
      }, t("sign_out"))))));
  } catch (err) {
    showError(sessionsMessage, err);
  } finally {
    busy(table, false);
  }
}

async function signOut(id) {
  try {
    await api("DELETE", `/api/v1/auth/sessions/${encodeURIComponent(id)}`);
    announce(t("signed_out"));
    sessionsMessage.textContent = t("signed_out");
    await loadSessions();
  } catch (err) {
    showError(sessionsMessage, err);
  }
}

const codesStatus = document.getElementById("codes-status");
const codesMessage = document.getElementById("codes-message");
const codesForm = document.getElementById("codes-form");

async function loadCodes() {
  try {
    const c = await api("GET", "/api/v1/auth/mfa/recovery-codes");
    codesStatus.textContent = c.mfa_enabled ? t("codes_left", { remaining: c.remaining, total: c.total })
      : t("no_totp");
    codesForm.hidden = !c.mfa_enabled;
  } catch (err) {
    showError(codesMessage, err);
  }
}

codesForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = codesForm.code.value.trim();
  if (!/^[0-9]{6}$/.test(code)) return showError(codesMessage, t("bad_code"));
  codesForm.querySelector("button").disabled = true;
  try {
    const made = await api("POST", "/api/v1/auth/mfa/recovery-codes", { json: { code } });
    document.getElementById("codes-list").replaceChildren(...made.recovery_codes.map((c) => el("li", {}, el("code", {}, c))));
    document.getElementById("codes-new").hidden = false;
    codesMessage.replaceChildren();
    codesForm.reset();
    await loadCodes();
  } catch (err) {
    showError(codesMessage, err);
  } finally {
    codesForm.querySelector("button").disabled = false;
  }
});

await Promise.all([loadEmail(), loadSessions(), loadCodes()]);
