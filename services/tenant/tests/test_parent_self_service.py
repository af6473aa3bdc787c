"""Parent self-service (issue #13 §3): a signed-in user with no role in an org (a guest) asks to
be linked to a student by email (pending) or by a school-issued parent code (approved), becomes
the org's parent member, and sees only its own children, with names."""
from __future__ import annotations

import uuid

from services.tenant.parent_links import codes

LINKS = "/api/v1/parent-links"


async def _school(tenant):
    """An org with an admin, a teacher, a class and a registered student on the roster."""
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    await tenant.add_member(1, org, admin.user_id, "org_admin")
    teacher = tenant.actor(1, "teacher", org)
    await tenant.add_member(1, org, teacher.user_id, "teacher")
    klass = (await tenant.sql("INSERT INTO tenant.classes (zone_id, org_id, grade, name) VALUES (1, :o, 10, '10-A')"
                              " RETURNING id", o=org))[0].id
    s_user = tenant.auth.add(1, "minji@example.com", "Minji")
    rec = (await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": "Kim Minji", "grade": 10, "parent_phone": "010-1234-5678", "email": "minji@example.com",
        "class_id": str(klass)})).json()
    resp = await tenant.client.post(f"/api/v1/orgs/{org}/members", headers=admin.headers,
                                    json={"user_id": str(s_user), "role": "student"})
    assert resp.status_code == 201, resp.text
    student = tenant.actor(1, "student", org, user_id=s_user)
    return org, admin, teacher, student, rec


def _guest(tenant, email: str, name: str = ""):
    """A user that registered in auth and has no role in any org yet."""
    return tenant.actor(1, "guest", None, user_id=tenant.auth.add(1, email, name))


async def _notes(tenant, actor) -> list[dict]:
    resp = await tenant.client.get("/api/v1/notifications", headers=actor.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_guest_asks_by_email_becomes_parent_and_school_is_told(tenant) -> None:
    org, admin, _, student, rec = await _school(tenant)
    mom = _guest(tenant, "mom@example.com", "Mom Kim")

    resp = await tenant.client.post(LINKS, headers=mom.headers, json={"student_email": "minji@example.com"})
    assert resp.status_code == 403 and resp.json()["code"] == "org.membership_required"
    resp = await tenant.client.post(LINKS, headers=mom.headers, json={"org_id": str(org)})
    assert resp.status_code == 422
    resp = await tenant.client.post(LINKS, headers=mom.headers,
                                    json={"org_id": str(uuid.uuid4()), "student_email": "minji@example.com"})
    assert resp.status_code == 404 and resp.json()["code"] == "org.not_found"
    resp = await tenant.client.post(LINKS, headers=mom.headers,
                                    json={"org_id": str(org), "student_email": "MINJI@example.com"})
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert (link["status"], link["parent_role_granted"], link["student_id"]) == ("pending", True, rec["id"])
    assert link["parent_user_id"] == str(mom.user_id)
    assert [(r.role,) for r in await tenant.sql(
        "SELECT role FROM tenant.memberships WHERE org_id = :o AND user_id = :u", o=org, u=mom.user_id)] == [("parent",)]

    # Events: the membership and the request, through the outbox.
    events = [(r.event_type, r.payload) for r in await tenant.sql(
        "SELECT event_type, payload FROM tenant.outbox WHERE org_id = :o AND event_type IN"
        " ('member.added', 'parent_link.requested') ORDER BY id", o=org)]
    added = [p for t, p in events if t == "member.added" and p["user_id"] == str(mom.user_id)]
    assert added and added[0]["role"] == "parent"
    requested = [p for t, p in events if t == "parent_link.requested"]
    assert len(requested) == 1 and requested[0]["via"] == "email" and requested[0]["link_id"] == link["id"]

    # The student and the org admin are notified; the parent's own list is empty.
    for who in (student, admin):
        notes = await _notes(tenant, who)
        assert [n["kind"] for n in notes] == ["parent_link.requested"]
        assert "Mom Kim" in notes[0]["title"] and "Kim Minji" in notes[0]["title"]
        assert "mom@example.com" not in notes[0]["title"]  # named, never by email (stored in plain text)
        assert notes[0]["data"]["link_id"] == link["id"]
    mom_parent = tenant.actor(1, "parent", org, user_id=mom.user_id)  # signed in again: now the org's parent
    assert await _notes(tenant, mom_parent) == []

    # A second request is a conflict, and no second membership appears.
    resp = await tenant.client.post(LINKS, headers=mom_parent.headers, json={"student_email": "minji@example.com"})
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.exists"

    # Pending: no children yet. The student approves; the parent is told and sees the name.
    assert (await tenant.client.get(f"{LINKS}/children", headers=mom_parent.headers)).json()["items"] == []
    resp = await tenant.client.post(f"{LINKS}/{link['id']}/approve", headers=student.headers)
    assert resp.status_code == 200 and resp.json()["status"] == "approved"
    assert [n["kind"] for n in await _notes(tenant, mom_parent)] == ["parent_link.approved"]
    children = (await tenant.client.get(f"{LINKS}/children", headers=mom_parent.headers)).json()["items"]
    assert [(c["name"], c["display_name"], c["grade"], c["class_name"], c["student_id"]) for c in children] == [
        ("Kim Minji", "Minji", 10, "10-A", rec["id"])]


async def test_parent_code_links_at_once_and_is_single_use(tenant) -> None:
    org, admin, teacher, student, rec = await _school(tenant)
    url = f"/api/v1/rosters/students/{rec['id']}/parent-codes"
    resp = await tenant.client.post(url, headers=teacher.headers, json={"valid_days": 7})
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    code = issued["code"]
    assert len(code) == 14 and code.count("-") == 2 and issued["student_id"] == rec["id"]
    stored = await tenant.sql("SELECT code_hash, used_at FROM tenant.parent_codes WHERE id = :i", i=issued["id"])
    assert bytes(stored[0].code_hash) == codes.code_hash(tenant.runtime.resources.settings.secret_key, code)
    assert code.encode() not in bytes(stored[0].code_hash) and stored[0].used_at is None

    # Only staff issue codes; an unknown student is 404.
    parent = tenant.actor(1, "parent", org)
    resp = await tenant.client.post(url, headers=parent.headers)
    assert resp.status_code == 403 and resp.json()["code"] == "parent_code.staff_only"
    assert (await tenant.client.post(url, headers=student.headers)).status_code == 403
    resp = await tenant.client.post(f"/api/v1/rosters/students/{uuid.uuid4()}/parent-codes", headers=admin.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "student.not_found"

    dad = _guest(tenant, "dad@example.com")
    resp = await tenant.client.post(LINKS, headers=dad.headers,
                                    json={"org_id": str(org), "parent_code": code.lower().replace("-", " ")})
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert (link["status"], link["parent_role_granted"]) == ("approved", True)
    assert link["decided_by"] == str(teacher.user_id)  # the issuer's approval
    used = await tenant.sql("SELECT used_by, link_id FROM tenant.parent_codes WHERE id = :i", i=issued["id"])
    assert (used[0].used_by, str(used[0].link_id)) == (dad.user_id, link["id"])
    approved = [r.payload for r in await tenant.sql(
        "SELECT payload FROM tenant.outbox WHERE org_id = :o AND event_type = 'parent_link.approved'", o=org)]
    assert [p["via"] for p in approved] == ["parent_code"]
    for who in (student, admin):
        assert [n["kind"] for n in await _notes(tenant, who)] == ["parent_link.approved"]
    dad_parent = tenant.actor(1, "parent", org, user_id=dad.user_id)
    children = (await tenant.client.get(f"{LINKS}/children", headers=dad_parent.headers)).json()["items"]
    assert [c["name"] for c in children] == ["Kim Minji"]

    # Used: another guest is refused; so is the same parent.
    aunt = _guest(tenant, "aunt@example.com")
    resp = await tenant.client.post(LINKS, headers=aunt.headers, json={"org_id": str(org), "parent_code": code})
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.code_used"
    assert not await tenant.sql("SELECT 1 FROM tenant.memberships WHERE user_id = :u", u=aunt.user_id)

    # Expired.
    late = (await tenant.client.post(url, headers=admin.headers)).json()
    await tenant.sql("UPDATE tenant.parent_codes SET expires_at = now() - interval '1 minute' WHERE id = :i",
                     i=late["id"])
    resp = await tenant.client.post(LINKS, headers=aunt.headers, json={"org_id": str(org), "parent_code": late["code"]})
    assert resp.status_code == 410 and resp.json()["code"] == "parent_link.code_expired"


async def test_guessing_codes_is_stopped_with_429(tenant) -> None:
    org, admin, _, _, rec = await _school(tenant)
    good = (await tenant.client.post(f"/api/v1/rosters/students/{rec['id']}/parent-codes",
                                     headers=admin.headers)).json()["code"]
    thief = _guest(tenant, "thief@example.com")
    # used and expired codes count too; here: plain wrong ones.
    for _ in range(codes.MAX_PER_USER):
        resp = await tenant.client.post(LINKS, headers=thief.headers,
                                        json={"org_id": str(org), "parent_code": "AAAA-BBBB-CCCC"})
        assert resp.status_code == 404 and resp.json()["code"] == "parent_link.code_invalid"
    resp = await tenant.client.post(LINKS, headers=thief.headers, json={"org_id": str(org), "parent_code": good})
    assert resp.status_code == 429 and resp.json()["code"] == "parent_link.too_many_attempts"
    assert int(resp.headers["Retry-After"]) > 0
    # Emails are guarded the same way (no probing which emails are students).
    resp = await tenant.client.post(LINKS, headers=thief.headers,
                                    json={"org_id": str(org), "student_email": "minji@example.com"})
    assert resp.status_code == 429
    assert (await tenant.sql("SELECT used_at FROM tenant.parent_codes"))[0].used_at is None
    assert not await tenant.sql("SELECT 1 FROM tenant.memberships WHERE user_id = :u", u=thief.user_id)
    # Someone else in the org is not blocked by the thief.
    mom = _guest(tenant, "mom@example.com")
    resp = await tenant.client.post(LINKS, headers=mom.headers, json={"org_id": str(org), "parent_code": good})
    assert resp.status_code == 201 and resp.json()["status"] == "approved"


async def test_code_waits_for_the_student_to_register(tenant) -> None:
    org, admin, _, _, _ = await _school(tenant)
    rec = (await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": "Lee Jun", "grade": 9, "parent_phone": "010-2222-3333"})).json()
    code = (await tenant.client.post(f"/api/v1/rosters/students/{rec['id']}/parent-codes",
                                     headers=admin.headers)).json()["code"]
    mom = _guest(tenant, "jun.mom@example.com")
    resp = await tenant.client.post(LINKS, headers=mom.headers, json={"org_id": str(org), "parent_code": code})
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.student_not_registered"
    assert (await tenant.sql("SELECT used_at FROM tenant.parent_codes WHERE org_id = :o", o=org))[0].used_at is None


async def test_a_guest_or_new_parent_reads_nothing_but_its_children(tenant) -> None:
    org, admin, _, student, rec = await _school(tenant)
    other = (await tenant.client.post("/api/v1/rosters/students", headers=admin.headers, json={
        "name": "Park Sora", "grade": 11, "parent_phone": "010-9999-0000"})).json()
    mom = _guest(tenant, "mom@example.com")
    # A guest has no roster, member or link reads at all.
    for path in ("/api/v1/rosters/students", f"/api/v1/rosters/students/{rec['id']}", f"/api/v1/orgs/{org}/members",
                 LINKS, f"{LINKS}/children"):
        assert (await tenant.client.get(path, headers=mom.headers)).status_code == 403, path
    resp = await tenant.client.post(LINKS, headers=mom.headers,
                                    json={"org_id": str(org), "student_email": "minji@example.com"})
    assert resp.status_code == 201
    parent = tenant.actor(1, "parent", org, user_id=mom.user_id)
    # Pending: still nothing; the members list, other students and others' links stay closed.
    assert (await tenant.client.get("/api/v1/rosters/students", headers=parent.headers)).json()["items"] == []
    for sid in (rec["id"], other["id"]):
        assert (await tenant.client.get(f"/api/v1/rosters/students/{sid}", headers=parent.headers)).status_code == 404
    assert (await tenant.client.get(f"/api/v1/orgs/{org}/members", headers=parent.headers)).status_code == 403
    await tenant.client.post(f"{LINKS}/{resp.json()['id']}/approve", headers=admin.headers)
    items = (await tenant.client.get("/api/v1/rosters/students", headers=parent.headers)).json()["items"]
    assert [i["id"] for i in items] == [rec["id"]]  # its child, never Park Sora
    assert (await tenant.client.get(f"/api/v1/rosters/students/{other['id']}",
                                    headers=parent.headers)).status_code == 404


async def test_another_orgs_parent_cannot_touch_this_orgs_links_or_codes(tenant) -> None:
    org, admin, _, student, rec = await _school(tenant)
    code = (await tenant.client.post(f"/api/v1/rosters/students/{rec['id']}/parent-codes",
                                     headers=admin.headers)).json()["code"]
    mom = _guest(tenant, "mom@example.com")
    link = (await tenant.client.post(LINKS, headers=mom.headers,
                                     json={"org_id": str(org), "student_email": "minji@example.com"})).json()
    other_org = await tenant.make_org(1)
    stranger = tenant.actor(1, "parent", other_org)
    await tenant.add_member(1, other_org, stranger.user_id, "parent")
    # Its token's org only: naming this org is 404, and this org's code means nothing in its own.
    resp = await tenant.client.post(LINKS, headers=stranger.headers,
                                    json={"org_id": str(org), "student_email": "minji@example.com"})
    assert resp.status_code == 404 and resp.json()["code"] == "org.not_found"
    resp = await tenant.client.post(LINKS, headers=stranger.headers, json={"parent_code": code})
    assert resp.status_code == 404 and resp.json()["code"] == "parent_link.code_invalid"
    assert (await tenant.client.get(LINKS, headers=stranger.headers)).json()["items"] == []
    resp = await tenant.client.post(f"{LINKS}/{link['id']}/revoke", headers=stranger.headers)
    assert resp.status_code == 404
    note = (await _notes(tenant, student))[0]
    assert await _notes(tenant, stranger) == []
    resp = await tenant.client.post(f"/api/v1/notifications/{note['id']}/read", headers=stranger.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "notification.not_found"
    assert (await tenant.sql("SELECT read_at FROM tenant.notifications WHERE id = :i", i=note["id"]))[0].read_at is None


async def test_a_member_with_another_role_is_not_made_a_parent(tenant) -> None:
    org, _, teacher, _, _ = await _school(tenant)
    stale = tenant.actor(1, "guest", None, user_id=teacher.user_id)  # a token from before it joined
    resp = await tenant.client.post(LINKS, headers=stale.headers,
                                    json={"org_id": str(org), "student_email": "minji@example.com"})
    assert resp.status_code == 409 and resp.json()["code"] == "parent_link.role_conflict"
    assert [r.role for r in await tenant.sql("SELECT role FROM tenant.memberships WHERE user_id = :u",
                                             u=teacher.user_id)] == ["teacher"]
    assert not await tenant.sql("SELECT 1 FROM tenant.parent_links WHERE parent_user_id = :u", u=teacher.user_id)
