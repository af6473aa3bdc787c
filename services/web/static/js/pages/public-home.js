// app /: each role goes to its own pages; admins to the console.
import { cfg, t, session } from "../mc.js";

const HOMES = { student: "/exams", teacher: "/teach", parent: "/parent", org_admin: "/teach" };
const s = await session.require();
if (HOMES[s.role]) location.replace(HOMES[s.role]);
else if (["zone_admin", "super_admin"].includes(s.role)) location.replace(`${cfg.admin}/`);
else document.getElementById("home-status").textContent = t("no_pages");
