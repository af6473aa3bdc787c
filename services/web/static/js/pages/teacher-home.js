import { session, t } from "../mc.js";

const who = await session.require(["teacher", "org_admin"]);
document.getElementById("teach-who").textContent = t("signed_in_as", { role: t(`role_${who.role}`) });
