"""The admin console (admin.<domain>) in a real browser, on real services behind the edge (issue
#16). A zone admin signs in with the TOTP step, sees the console home and creates an org; an
org admin manages its org's members and roles, sees the signing keys and the service health.
The audit viewer ("an admin filters the audit log") is test_console_audit.py. axe-core on every
page; screenshots under test-artifacts/web/admin-*.png.

Seeding goes through the platform's public API only (`platform.ok`)."""
from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from megacity.zones import registry
from services.web.tests.conftest import Platform, axe_check, shot, sign_in


async def test_a_zone_admin_sees_the_console_home_and_creates_an_org(platform: Platform, browser: Browser) -> None:
    school = await platform.seed.school(n_students=1)
    page = await platform.page(browser, lang="en")
    assert school.zone_admin.totp_secret
    await sign_in(page, platform, school.zone_admin.email, totp_secret=school.zone_admin.totp_secret,
                  next_url=platform.url("admin", "/"))
    await page.wait_for_url(re.compile(r"https://admin\.univprepai\.com:\d+/$"))

    # Console home and the orgs list (zone admin: every org of the zone).
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
