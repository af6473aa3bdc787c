// app /account: email confirmation, the account's language, signed-in devices (sign one out),
// recovery codes.
import { t, api, cfg, session, el, fmt, showError, announce, busy, saveLanguage } from "../mc.js";

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

const languageForm = document.getElementById("language-form");
const languageChoice = document.getElementById("language-choice");
const languageMessage = document.getElementById("language-message");

const languageButton = languageForm.querySelector("button");
const SAVED_FLAG = "mc_language_saved";  // set before showIn() navigates: the new page confirms the save

/** The account's language from /users/me (authoritative, though the session carries it too);
 * the select and its button are usable once it is read. */
async function loadLanguage() {
  try {
    const me = await api("GET", "/api/v1/users/me");
    languageChoice.value = me.locale ?? "";
    languageChoice.disabled = false;
    languageButton.removeAttribute("aria-disabled");
  } catch (err) {
    showError(languageMessage, err);
  }
}

/** The page in the language just saved, back at this section (focus and a confirmation there):
 * `?lang=` for a language (web renders it and keeps its cookie; mc.js finds it equal to the
 * account's, saves nothing again and drops it from the address bar); for "as my browser says"
 * the cookie of the last switch is dropped (on the domain web set it on), so Accept-Language
 * decides again. */
function showIn(locale) {
  const url = new URL(location.href);
  url.hash = "language-heading";
  if (locale) {
    url.searchParams.set("lang", locale);
  } else {
    url.searchParams.delete("lang");
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `mc_lang=; Max-Age=0; Path=/; Domain=${languageForm.dataset.cookieDomain}${secure}; SameSite=Lax`;
  }
  sessionStorage.setItem(SAVED_FLAG, "1");
  if (url.pathname === location.pathname && url.search === location.search) {
    history.replaceState(history.state, "", url.href);  // only the fragment differs: a new page needs a reload
    location.reload();
  } else {
    location.assign(url.href);
  }
}

/** Back from showIn(): focus on the section, and the confirmation said in the new language. */
function confirmSaved() {
  if (!sessionStorage.getItem(SAVED_FLAG)) return;
  sessionStorage.removeItem(SAVED_FLAG);
  document.getElementById("language-heading").focus();
  languageMessage.textContent = t("language_saved");  // its polite live region says it after the heading
}

languageForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!languageChoice.disabled && languageButton.getAttribute("aria-disabled") === "true") return;  // saving
  languageMessage.replaceChildren();  // what an earlier save said
  if (languageChoice.disabled) {  // not read yet, or the read failed (its error is replaced by why)
    languageMessage.textContent = t("language_not_ready");
    return;
  }
  const locale = languageChoice.value || null;
  languageButton.setAttribute("aria-disabled", "true");
  try {
    await saveLanguage(locale);
    if (locale ? locale !== cfg.lang : document.cookie.split("; ").some((c) => c.startsWith("mc_lang="))) {
      languageMessage.textContent = t("language_switching");
      showIn(locale);
      return;
    }
    languageMessage.textContent = t("language_saved");
  } catch (err) {
    showError(languageMessage, err);
  } finally {
    languageButton.removeAttribute("aria-disabled");
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

confirmSaved();
await Promise.all([loadEmail(), loadLanguage(), loadSessions(), loadCodes()]);
