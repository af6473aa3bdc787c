// www /signup: register, then sign in with the same password (cookie set by auth).
import { cfg, t, publicApi, session, showError, announce } from "../mc.js";

const form = document.getElementById("signup-form");
const message = document.getElementById("signup-message");
let inFlight = false; // one registration at a time (double click, Enter twice)

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { display_name: form.display_name.value.trim(), email: form.email.value.trim(), password: form.password.value };
  if (!body.display_name || !body.email || !body.password) {
    showError(message, t("missing"));
    return;
  }
  if (inFlight) return;
  inFlight = true;
  form.querySelector("button").disabled = true;
  try {
    await publicApi("POST", "/api/v1/auth/register", { json: body });
    announce(t("created"));
    const tokens = await publicApi("POST", "/api/v1/auth/login", { json: { email: body.email, password: body.password } });
    session.adopt(tokens);
    location.assign(`${cfg.app}/`);
  } catch (err) {
    showError(message, err);
    form.querySelector("button").disabled = false;
    inFlight = false;
  }
});
