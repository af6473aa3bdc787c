"""The admin console's audit viewer (admin.<domain>/audit) on the platform audit, in a real browser
on real services behind the edge (issue #16 "Must show": an admin filters the audit log).

Tenant and auth actions through the API go the whole real way: each service's outbox → its relay
→ NATS JetStream → auth's `auth-audit` consumer → auth.platform_audit (`AUDIT_PIPELINE`: the test
waits until they arrived) → `GET /api/v1/audit` → the page. A zone admin filters by service,
action prefix, actor, target, org, dates and the URL's filters (the row buttons "Only this actor /
target / organisation" and the back button too), reads a record's before/after, and pages with
the cursor (5 a page); an org admin sees exactly their own org's records, is not offered auth's
log, and a link asking for another org is explained. axe-core on each state; screenshots under test-artifacts/web/admin-audit*.png."""
from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.async_api import Browser, Page, expect

from services.web.tests.conftest import Platform, axe_check, shot, sign_in

AUDIT_PIPELINE = True
AUDIT = "/api/v1/audit"


async def listed(platform: Platform, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every record the API lists for these filters, newest first (all pages)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await platform.ok("GET", AUDIT, token, params={**params, "limit": 200,
                                                                **({"cursor": cursor} if cursor else {})})
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def shown_ids(page: Page) -> list[str]:
    return list(await page.locator("#audit > table > tbody > tr").evaluate_all("rows => rows.map(r => r.dataset.entryId)"))


async def load_all(page: Page) -> list[str]:
    """Press "Load more" until the last page; the ids of every row shown."""
    rows, more = page.locator("#audit > table > tbody > tr"), page.locator("#audit-more")
    await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    while await more.is_visible():
        before = await rows.count()
        await more.click()
        await expect(rows).not_to_have_count(before)
        await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    return await shown_ids(page)


async def search(page: Page) -> None:
    await page.locator("#audit-filter button[type=submit]").click()


async def shows(page: Page, ids: list[str]) -> None:
    """Wait until the table lists exactly these records, in this order (a search has replaced it)."""
    await page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll('#audit > table > tbody > tr')]"
        ".map(r => r.dataset.entryId)) === JSON.stringify(ids)", arg=ids)
    await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    assert await shown_ids(page) == ids


async def local_today(page: Page) -> str:
    """The browser's calendar day (YYYY-MM-DD): the page reads its date fields as local days."""
    return str(await page.evaluate(
        "() => { const d = new Date(); return [d.getFullYear(), String(d.getMonth() + 1).padStart(2, '0'),"
        " String(d.getDate()).padStart(2, '0')].join('-'); }"))


async def test_admins_read_the_platform_audit_through_the_real_pipeline(platform: Platform, browser: Browser) -> None:
    assert platform.audit is not None
    school = await platform.seed.school(n_students=1)
    zone, admin, student = school.zone_admin, school.admin, school.students[0]
    tag = uuid.uuid4().hex[:6]
    # Another org of the zone with its own admin: records the school's admin must never see.
    other = await platform.ok("POST", "/api/v1/orgs", zone.token, 201, json={"name": f"Dure Middle School {tag}"})
    principal = await platform.api.register(f"principal-{tag}@dure.example", "Principal Yoon")
    await platform.ok("POST", f"/api/v1/orgs/{other['id']}/members", zone.token, 201,
                      json={"email": principal.email, "role": "org_admin"})
    # Tenant actions of the school's admin: a member added, a class created, the member's role changed.
    newcomer = await platform.api.register(f"newcomer-{tag}@hana.example", "Teacher Choi")
    await platform.ok("POST", f"/api/v1/orgs/{school.org_id}/members", admin.token, 201,
                      json={"email": newcomer.email, "role": "teacher"})
    new_class = await platform.ok("POST", "/api/v1/classes", admin.token, 201, json={"grade": 11, "name": "11-B"})
    await platform.ok("PATCH", f"/api/v1/orgs/{school.org_id}/members/{newcomer.user_id}", admin.token,
                      json={"role": "org_admin"})
    # An auth action: a failed sign-in of the student (auth's own log).
    resp = await platform.api.call("POST", "/api/v1/auth/login", json={"email": student.email, "password": "nope-1"})
    assert resp.status_code == 401, resp.text
    assert await platform.audit.settled() > 0

    tenant_all = await listed(platform, zone.token, service="tenant")
    assert len(tenant_all) > 10, [e["action"] for e in tenant_all]  # enough for pages of 5
    in_school = [e["id"] for e in tenant_all if e["org_id"] == school.org_id]
    in_other = [e["id"] for e in tenant_all if e["org_id"] == other["id"]]
    assert in_school and len(in_other) == 2, tenant_all  # tenant.org.created, tenant.member.added

    # --- the zone admin ---------------------------------------------------------------------
    page = await platform.page(browser, lang="en")
    assert zone.totp_secret
    await sign_in(page, platform, zone.email, totp_secret=zone.totp_secret, next_url=platform.url("admin", "/audit"))
    await page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/audit$"))
    rows = page.locator("#audit > table > tbody > tr")
    await expect(rows.first).to_be_visible()
    await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#f-org-field")).to_be_visible()
    await axe_check(page)
    await shot(page, "admin-audit")

    # Service = tenant, 5 a page: the URL keeps the filters; the cursor pages through all of them.
    await page.locator("#f-service").select_option("tenant")
    await page.locator("#f-limit").select_option("5")
    await search(page)
    await page.wait_for_url(re.compile(r"/audit\?service=tenant&limit=5$"))
    await expect(rows).to_have_count(5)
    await expect(page.locator("#audit-count")).to_have_text("5 records shown; more are available.")
    assert await load_all(page) == [e["id"] for e in tenant_all]
    await expect(page.locator("#audit-count")).to_have_text(f"{len(tenant_all)} records shown.")
    assert set(await rows.locator(".e-service").all_text_contents()) == {"tenant"}
    await axe_check(page)
    await shot(page, "admin-audit-paged")

    # Action prefix: the members' records; the role change reads as before → after.
    await page.locator("#f-action").fill("tenant.member.")
    await search(page)
    await page.wait_for_url(re.compile(r"action=tenant\.member\."))
    await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    members = [e for e in tenant_all if e["action"].startswith("tenant.member.")]
    assert await load_all(page) == [e["id"] for e in members]
    assert all(a.startswith("tenant.member.") for a in await rows.locator(".e-action").all_text_contents())
    changed = rows.filter(has=page.locator(".e-action", has_text="tenant.member.role_changed")).filter(
        has_text=newcomer.user_id)
    await expect(changed).to_have_count(1)
    await expect(changed.locator(".e-actor-id")).to_have_text(admin.user_id)
    await expect(changed.locator(".e-actor-role")).to_have_text("(org admin)")
    await expect(changed.locator(".e-org-name")).to_have_text(re.compile("^Hana High School "))
    await changed.locator("summary").click()
    role = changed.locator("tr[data-field=role]")
    await expect(role.locator(".c-before")).to_have_text("teacher")
    await expect(role.locator(".c-after")).to_have_text("org_admin")
    await axe_check(page)
    await shot(page, "admin-audit-filtered")
    # "Only this actor": the admin's member records; focus goes to the results, not to <body>.
    await changed.get_by_role("button", name=f"Only this actor: {admin.user_id}").click()
    await page.wait_for_url(re.compile(rf"actor_id={admin.user_id}"))
    by_admin = [e["id"] for e in await listed(platform, zone.token, service="tenant", action="tenant.member.",
                                              actor_id=admin.user_id)]
    assert by_admin and len(by_admin) < len(members), by_admin
    await shows(page, by_admin)
    await expect(page.locator("#f-actor")).to_have_value(admin.user_id)
    assert set(await rows.locator(".e-actor-id").all_text_contents()) == {admin.user_id}
    await expect(page.locator("#results-heading")).to_be_focused()
    # The back button: the previous filters in the form, and their results (the first page of 5).
    await page.go_back()
    await page.wait_for_url(re.compile(r"/audit\?service=tenant&action=tenant\.member\.&limit=5$"))
    await shows(page, [e["id"] for e in members][:5])
    await expect(page.locator("#f-actor")).to_have_value("")
    await expect(page.locator("#f-action")).to_have_value("tenant.member.")
    # The older viewer's `user_id=` links read as the actor filter.
    await page.goto(platform.url("admin", f"/audit?service=tenant&action=tenant.member.&user_id={admin.user_id}"))
    await expect(page.locator("#f-actor")).to_have_value(admin.user_id)
    await shows(page, by_admin)
    # "Only this target": that membership's history.
    await changed.get_by_role("button", name=re.compile("^Only this target")).click()
    await page.wait_for_url(re.compile(rf"target_type=membership&target_id={newcomer.user_id}"))
    await expect(rows.locator(".e-action")).to_have_text(["tenant.member.role_changed", "tenant.member.added"])
    await expect(page.locator("#results-heading")).to_be_focused()

    # The URL's filters: the class the admin created (tenant.class.created, its name after).
    await page.goto(platform.url("admin", f"/audit?service=tenant&action=tenant.class.&target_type=class"
                                          f"&target_id={new_class['id']}"))
    await expect(page.locator("#f-action")).to_have_value("tenant.class.")
    await expect(page.locator("#f-target-id")).to_have_value(new_class["id"])
    await expect(rows.locator(".e-action")).to_have_text(["tenant.class.created"])
    await rows.first.locator("summary").click()
    await expect(rows.first.locator("tr[data-field=name] .c-after")).to_have_text("11-B")

    # The auth action, from auth's own log: service = auth and the action prefix.
    await page.goto(platform.url("admin", "/audit?service=auth&action=auth.login."))
    await expect(page.locator("#f-service")).to_have_value("auth")
    failed = rows.filter(has=page.locator(".e-action", has_text="auth.login.failed"))
    await expect(failed.first).to_be_visible()
    await expect(failed.first.locator(".e-target-id")).to_have_text(student.user_id)
    await failed.first.locator("summary").click()
    await expect(failed.first.locator("tr[data-field=reason] .c-after")).to_have_text("wrong_password")
    assert set(await rows.locator(".e-service").all_text_contents()) == {"auth"}

    # "Only this organisation": the other org's two records, named.
    assert len(tenant_all) <= 200
    await page.goto(platform.url("admin", "/audit?service=tenant&limit=200"))
    await shows(page, [e["id"] for e in tenant_all])
    await page.get_by_role("button", name=f"Only this organisation: {other['name']}").first.click()
    await page.wait_for_url(re.compile(rf"org_id={other['id']}"))
    await shows(page, in_other)
    await expect(rows.locator(".e-action")).to_have_text(["tenant.member.added", "tenant.org.created"])
    await expect(rows.locator(".e-org-name")).to_have_text([other["name"]] * 2)
    await expect(page.locator("#f-org")).to_have_value(other["id"])
    await expect(page.locator("#results-heading")).to_be_focused()
    await page.go_back()
    await shows(page, [e["id"] for e in tenant_all])
    await expect(page.locator("#f-org")).to_have_value("")

    # Dates (local days, `To` inclusive): today is every record; a day long past, none.
    today = await local_today(page)
    await page.locator("#f-from").fill(today)
    await page.locator("#f-to").fill(today)
    await search(page)
    await page.wait_for_url(re.compile(rf"from={today}&to={today}"))
    await expect(page.locator("#f-from")).to_have_value(today)
    await shows(page, [e["id"] for e in tenant_all])
    await page.locator("#f-from").fill("2001-03-01")
    await page.locator("#f-to").fill("2001-03-31")
    await search(page)
    await page.wait_for_url(re.compile(r"from=2001-03-01&to=2001-03-31"))
    await expect(page.locator("#audit")).to_have_text("No audit records match these filters.")
    await expect(page.locator("#audit-more")).to_be_hidden()
    await page.locator("#f-from").fill("2001-04-01")
    await search(page)
    await expect(page.locator("#console-alert [role=alert]")).to_have_text(
        "The From date must be on or before the To date.")
    assert "from=2001-03-01" in page.url  # a rejected filter stays out of the URL
    await page.locator("#f-from").fill("")
    await page.locator("#f-to").fill("")

    # Bad input is explained before any call.
    await page.locator("#f-action").fill("Not An Action!")
    await search(page)
    await expect(page.locator("#console-alert [role=alert]")).to_have_text(
        "An action has lower-case letters, digits, “_” and dots only (e.g. tenant.member.).")
    await page.locator("#f-action").fill("")
    await page.locator("#f-target-id").fill("x")
    await search(page)
    await expect(page.locator("#console-alert [role=alert]")).to_have_text(
        "A target ID needs its target type too (e.g. membership).")

    # --- the school's org admin: their org only ------------------------------------------
    # Org admins never read auth's log, and this test's school wrote tenant records only.
    mine = [e["id"] for e in await listed(platform, admin.token)]
    assert mine and set(mine) == set(in_school)
    org_page = await platform.page(browser, lang="en")
    assert admin.totp_secret
    await sign_in(org_page, platform, admin.email, totp_secret=admin.totp_secret,
                  next_url=platform.url("admin", "/audit"))
    await org_page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/audit$"))
    org_rows = org_page.locator("#audit > table > tbody > tr")
    await expect(org_rows.first).to_be_visible()
    await expect(org_page.locator("#f-org-field")).to_be_hidden()
    await expect(org_page.locator("#f-org-fixed")).to_have_text(re.compile(
        r"^Your organisation: Hana High School \w+\. Org admins see their own organisation's records\.$"))
    await org_page.locator("#f-limit").select_option("5")
    await search(org_page)
    await org_page.wait_for_url(re.compile(r"/audit\?limit=5$"))
    assert await load_all(org_page) == mine
    assert set(await org_rows.evaluate_all("rows => rows.map(r => r.dataset.orgId)")) == {school.org_id}
    await expect(org_rows.locator(".e-only-org")).to_have_count(0)
    await axe_check(org_page)
    await shot(org_page, "admin-audit-org")
    # Auth's log is not offered, and a URL's service=auth is ignored.
    await expect(org_page.locator("#f-service option[value=auth]")).to_have_count(0)
    await org_page.goto(platform.url("admin", "/audit?service=auth&limit=200"))
    await expect(org_page.locator("#f-service")).to_have_value("")
    await shows(org_page, mine)

    # A link that asks for another org: refused by the API (403 audit.org_forbidden), explained.
    await org_page.goto(platform.url("admin", f"/audit?org_id={other['id']}"))
    alert = org_page.locator("#console-alert [role=alert]")
    await expect(alert).to_contain_text("Org admins can read their own organisation's records only")
    await expect(org_rows).to_have_count(0)
    await axe_check(org_page)
    await shot(org_page, "admin-audit-org-forbidden")
    await alert.get_by_role("link", name="Show my organisation's records").click()
    await org_page.wait_for_url(re.compile(r"/audit$"))
    await expect(org_rows.first).to_be_visible()

    # Korean renders too.
    await org_page.goto(platform.url("admin", "/audit?lang=ko"))
    await expect(org_page.locator("h1")).to_have_text("감사 로그")
    await expect(org_rows.first).to_be_visible()
    await axe_check(org_page)
