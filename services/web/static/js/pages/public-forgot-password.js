// www /forgot-password: ask auth for a reset link (the answer is the same for any email).
import { t, publicApi, showError, announce } from "../mc.js";

const form = document.getElementById("forgot-form");
const message = document.getElementById("forgot-message");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  if (!email) {
    showError(message, t("missing"));
    return;
  }
  form.querySelector("button").disabled = true;
  try {
    await publicApi("POST", "/api/v1/auth/password-reset", { json: { email } });
    message.textContent = t("sent");
    announce(t("sent"));
  } catch (err) {
    showError(message, err);
  } finally {
    form.querySelector("button").disabled = false;
  }
});
