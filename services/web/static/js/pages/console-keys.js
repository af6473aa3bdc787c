// admin. /keys — signing-key rotation status from the published JWKS (auth's only key endpoint;
// there is no admin key API): the active key first, then the next and rotated-out keys, and which
// key signed this session's access token (its JWT header `kid`).
import { t, api, el, clone, showError, busy } from "../mc.js";
import { requireAdmin } from "./console-common.js";

const box = document.getElementById("keys");
const summary = document.getElementById("keys-summary");

function tokenKid(token) {
  try {
    const part = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))).kid || null;
  } catch {
    return null;
  }
}

async function main() {
  const me = await requireAdmin();
  const mine = tokenKid(me.token);
  const { keys } = await api("GET", "/.well-known/jwks.json");
  box.replaceChildren();
  if (!keys.length) {
    box.append(el("p", {}, t("noKeys")));
    return;
  }
  const table = clone("tpl-keys");
  const body = table.querySelector("tbody");
  keys.forEach((key, i) => {
    const row = clone("tpl-key");
    row.dataset.kid = key.kid;
    row.querySelector(".k-kid").textContent = key.kid;
    row.querySelector(".k-alg").textContent = [key.alg, key.crv].filter(Boolean).join(" / ");
    row.querySelector(".k-status").textContent = i === 0 ? t("active") : t("other");
    row.querySelector(".k-mine").textContent = key.kid === mine ? t("yes") : t("no");
    body.append(row);
  });
  box.append(table);
  summary.textContent = t("count", { count: keys.length, kid: keys[0].kid });
  if (keys.length > 1) box.append(el("p", {}, t("rotationPending")));
}

main()
  .catch((err) => {
    box.replaceChildren();
    showError(document.getElementById("console-alert"), err);
  })
  .finally(() => busy(box, false));
