"""The admin console (admin.<domain>) in a real browser, on real services behind the edge (issue
#16 "Must show": an admin filters the audit log). A zone admin signs in with the TOTP step,
filters auth's audit log (action, actor, date range, page size) and pages through it with the
keyset cursor ("Load more"); an org admin manages its org's members and roles, sees the signing
keys and the service health, and is told the audit log is for zone admins. axe-core on every
page; screenshots under test-artifacts/web/admin-*.png.

Seeding goes through the platform's public API only (`platform.ok`)."""
from __future__ import annotations

import datetime as dt
import re

from playwright.async_api import Browser, Page, expect

from megacity.zones import registry
from services.web.tests.conftest import Platform, axe_check, shot, sign_in
from services.web.tests.seed import PASSWORD

EXTRA_LOGINS = 6


async def rows_ids(page: Page) -> list[int]:
    return [int(i or 0) for i in await page.locator("#audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.entryId)")]


async def test_a_zone_admin_filters_the_audit_log_and_pages_with_the_cursor(platform: Platform,
                                                                            browser: Browser) -> None:
    school = await platform.seed.school(n_students=2)
    student = school.students[0]
    # Audit entries to find: three failed sign-ins of one student, and more successful ones.
    for _ in range(3):
        resp = await platform.api.call("POST", "/api/v1/auth/login", json={"email": student.email, "password": "nope-1"})
        assert resp.status_code == 401, resp.text
    for _ in range(EXTRA_LOGINS):
        await platform.api.login(school.students[1].email, PASSWORD)

    page = await platform.page(browser, lang="en")
    assert school.zone_admin.totp_secret
    await sign_in(page, platform, school.zone_admin.email, totp_secret=school.zone_admin.totp_secret,
                  next_url=platform.url("admin", "/audit"))
    await page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/audit$"))
    await expect(page.locator("#audit tbody tr").first).to_be_visible()
    await expect(page.locator("#audit")).to_have_attribute("aria-busy", "false")
    await axe_check(page)
    await shot(page, "admin-audit")

    # Filter: the failed sign-ins (exact action); the URL keeps the filter.
    await page.locator("#f-action").fill("auth.login.failed")
    await page.locator("#audit-filter button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/audit\?action=auth\.login\.failed"))
    rows = page.locator("#audit tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.locator(".e-action")).to_have_text(["auth.login.failed"] * 3)
    await expect(page.locator("#audit-count")).to_have_text("3 entries shown.")
    await expect(page.locator("#audit-more")).to_be_hidden()
    # Only this actor: the student's failures (the filter form fills in the user id).
    await rows.first.get_by_role("button", name=re.compile("^Only this actor")).click()
    await page.wait_for_url(re.compile(rf"user_id={student.user_id}"))
    await expect(page.locator("#f-user")).to_have_value(student.user_id)
    await expect(rows).to_have_count(3)
    await expect(rows.locator(".e-user-id")).to_have_text([student.user_id] * 3)
    await expect(rows.first.locator(".e-details")).to_contain_text('"reason":"wrong_password"')
    await axe_check(page)
    await shot(page, "admin-audit-filtered")

    # A prefix, today's date range and 10 rows a page: the cursor pages through the rest.
    today = dt.datetime.now(dt.UTC).date().isoformat()  # audit times are UTC
    await page.locator("#f-user").fill("")
    await page.locator("#f-action").fill("auth.login.*")
    await page.locator("#f-from").fill(today)
    await page.locator("#f-to").fill(today)
    await page.locator("#f-limit").select_option("10")
    await page.locator("#audit-filter button[type=submit]").click()
    await page.wait_for_url(re.compile(r"action=auth\.login\.\*.*limit=10|limit=10.*action=auth\.login\.\*"))
    await expect(rows).to_have_count(10)
    await expect(page.locator("#audit-count")).to_have_text("10 entries shown; more are available.")
    more = page.locator("#audit-more")
    await expect(more).to_be_visible()
    first_page = await rows_ids(page)
    await more.click()
    await expect(rows).not_to_have_count(10)
    shown = await rows_ids(page)
    assert shown[:10] == first_page and len(set(shown)) == len(shown), shown
    assert shown == sorted(shown, reverse=True), "newest first, across pages"
    # The page shows what the API answers for the same filter, in the same order.
    listed = await platform.ok("GET", "/api/v1/admin/audit-logs", school.zone_admin.token,
                               params={"action": "auth.login.*", "limit": 200})
    assert shown == [e["id"] for e in listed["items"]][:len(shown)]
    while await more.is_visible():
        before = await rows.count()
        await more.click()
        await expect(rows).not_to_have_count(before)
    await expect(page.locator("#audit-count")).to_have_text(re.compile(r"^\d+ entries shown\.$"))
    assert await rows_ids(page) == [e["id"] for e in listed["items"]
                                    if e["id"] <= shown[0]][:await rows.count()]
    assert {t for t in await rows.locator(".e-action").all_text_contents()} <= {
        "auth.login.failed", "auth.login.succeeded", "auth.login.mfa_challenged"}
    await axe_check(page)
    await shot(page, "admin-audit-paged")

    # A bad range is explained before any call.
    await page.locator("#f-from").fill("2026-12-31")
    await page.locator("#f-to").fill("2026-01-01")
    await page.locator("#audit-filter button[type=submit]").click()
    await expect(page.locator("#console-alert [role=alert]")).to_have_text(
        "The From date must be on or before the To date.")

    # Console home and the orgs list (zone admin: every org of the zone).
    await page.goto(platform.url("admin", "/"))
    await expect(page.locator("#whoami")).to_have_text("Signed in as zone admin.")
    await expect(page.locator("#orgs tbody tr th a")).to_contain_text([re.compile("^Hana High School ")])
    await axe_check(page)
    await shot(page, "admin-home-zone")
    await page.goto(platform.url("admin", "/orgs"))
    await expect(page.locator("#create-org")).to_be_visible()
    await page.locator("#org-name").fill("Dure Middle School")
    await page.locator("#create-form button[type=submit]").click()
    await expect(page.locator("#create-result")).to_contain_text("Created Dure Middle School.")
    await expect(page.locator("#orgs tbody tr th a", has_text="Dure Middle School")).to_have_count(1)
    await axe_check(page)
    await shot(page, "admin-orgs")


async def test_an_org_admin_manages_members_and_sees_keys_and_health(platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    newcomer = await platform.api.register("new.teacher@hana.example", "Teacher Choi")

    page = await platform.page(browser, lang="en")
    assert school.admin.totp_secret
    await sign_in(page, platform, school.admin.email, totp_secret=school.admin.totp_secret,
                  next_url=platform.url("admin", "/"))
    await page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/$"))
    await expect(page.locator("#whoami")).to_have_text("Signed in as org admin.")
    my_org = page.locator("#orgs tbody tr th a")
    await expect(my_org).to_have_count(1)
    await expect(page.locator("#roster-link")).to_have_attribute("href", re.compile(r"^https://app\..*/teach/rosters$"))
    await axe_check(page)
    await shot(page, "admin-home-org")

    # The org: members with names and roles; add a member, change a role.
    await my_org.click()
    await page.wait_for_url(re.compile(rf"/orgs/{school.org_id}$"))
    await expect(page.locator("h1")).to_have_text(re.compile("^Hana High School "))
    members = page.locator("#members tbody tr")
    await expect(members.filter(has_text=school.teacher.email).locator("select")).to_have_value("teacher")
    await page.locator("#add-email").fill(newcomer.email)
    await page.locator("#add-role").select_option("teacher")
    await page.locator("#add-form button[type=submit]").click()
    await expect(page.locator("#add-result")).to_have_text(f"Added {newcomer.email} as Teacher.")
    row = page.locator(f"#members tbody tr[data-user-id='{newcomer.user_id}']")
    await expect(row.locator(".m-name")).to_have_text("Teacher Choi")
    await row.get_by_role("combobox", name="Role of Teacher Choi").select_option("org_admin")
    await row.get_by_role("button", name="Change role of Teacher Choi").click()
    await expect(page.locator("#member-result")).to_contain_text("Teacher Choi is now Org admin.")
    listed = await platform.ok("GET", f"/api/v1/orgs/{school.org_id}/members", school.admin.token,
                               params={"role": "org_admin"})
    assert newcomer.user_id in {m["user_id"] for m in listed["items"]}
    # Filter by role.
    await page.locator("#role-filter").select_option("student")
    await page.locator("#member-filter button[type=submit]").click()
    await expect(members).to_have_count(len(school.students))
    assert await members.locator("select").evaluate_all("s => s.map(x => x.value)") == ["student"] * len(school.students)
    await axe_check(page)
    await shot(page, "admin-org-members")

    # The audit log is the zone admins': the page says so.
    await page.goto(platform.url("admin", "/audit"))
    await expect(page.locator("#console-alert [role=alert]")).to_have_text("The audit log is open to zone admins only.")
    await axe_check(page)

    # Signing keys: the published JWKS, the active key first, which signed this session.
    await page.goto(platform.url("admin", "/keys"))
    keys = page.locator("#keys tbody tr")
    await expect(keys.first.locator(".k-status")).to_have_text("Active: signs new tokens")
    await expect(keys.first.locator(".k-mine")).to_have_text("Yes")
    await expect(keys.first.locator(".k-alg")).to_have_text("EdDSA / Ed25519")
    await axe_check(page)
    await shot(page, "admin-keys")

    # Service health: every registry service, probed by web server-side.
    await page.goto(platform.url("admin", "/health"))
    health = page.locator("table.health tbody tr")
    await expect(health).to_have_count(len(registry().services))
    states = await health.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert set(states) <= {"ready", "not_ready", "unreachable"}, states
    for name in ("auth", "tenant", "exam", "cat", "classroom", "arena"):  # started by the test platform
        await expect(page.locator(f"tr[data-service={name}]")).to_have_attribute("data-state", "ready")
    await expect(page.locator("tr[data-service=auth] td").nth(1)).to_have_text("✔ Ready")
    await expect(page.locator("tr[data-service=web] td").last).to_have_text("this web process (answering this page)")
    await expect(page.locator("tr[data-service=kzone]")).to_have_attribute("data-state", "unreachable")  # not started
    await expect(page.locator("main p[role=status]")).to_have_text(
        f"{states.count('ready')} of {len(states)} services ready.")
    await axe_check(page)
    await shot(page, "admin-health")
    await page.goto(platform.url("admin", "/health?lang=ko"))
    await expect(page.locator("h1")).to_have_text("서비스 상태")
    await axe_check(page)
