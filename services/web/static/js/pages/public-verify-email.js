// www /verify-email#token=: confirm the emailed link's token (no sign-in needed). The token is in
// the fragment (never sent to a server); it is read once and dropped from the address bar and history.
import { t, publicApi, showError, announce } from "../mc.js";

const message = document.getElementById("verify-message");
const token = new URLSearchParams(location.hash.slice(1)).get("token");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);

if (!token) {
  showError(message, t("no_token"));
} else {
  publicApi("POST", "/api/v1/auth/email-verification/confirm", { json: { token } })
    .then(() => { message.textContent = t("verified"); announce(t("verified")); })
    .catch((err) => showError(message, err));
}
