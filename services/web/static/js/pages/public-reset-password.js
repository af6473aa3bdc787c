// www /reset-password#token=: set a new password with the emailed link's token. The token is in
// the fragment (never sent to a server, so never in logs or Referer); it is read once and dropped
// from the address bar and history.
import { t, publicApi, showError, announce } from "../mc.js";

const form = document.getElementById("reset-form");
const message = document.getElementById("reset-message");
const token = new URLSearchParams(location.hash.slice(1)).get("token");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
if (!token) showError(message, t("no_token"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = form.new_password.value;
  if (!token) return showError(message, t("no_token"));
  if (!password) return showError(message, t("missing"));
  form.querySelector("button").disabled = true;
  try {
    await publicApi("POST", "/api/v1/auth/password-reset/confirm", { json: { token, new_password: password } });
    form.hidden = true;
    message.textContent = t("done");
    announce(t("done"));
  } catch (err) {
    showError(message, err);
    form.querySelector("button").disabled = false;
  }
});
