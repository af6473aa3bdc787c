"""An org's moderation words over HTTP against the running service: add, change, list, remove;
who may; another org neither sees nor changes them (RLS); and the cached moderator that chat and
join use picks a change up at once in this process."""
from __future__ import annotations

import urllib.parse

from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from services.classroom.moderation import service
from services.classroom.tests.conftest import ZONE, ClassroomApp

BASE = "/api/v1/classroom/moderation/words"


def _path(word: str) -> str:
    return f"{BASE}/{urllib.parse.quote(word, safe='')}"


async def test_admin_adds_changes_lists_and_removes_words(classroom: ClassroomApp) -> None:
    admin = classroom.actor("org_admin", classroom.org_a)
    assert (await classroom.ok("GET", BASE, admin))["items"] == []

    added = await classroom.ok("PUT", _path("멍청이"), admin, 201, json={"lang": "ko", "kind": "block"})
    assert added["word"] == "멍청이" and added["lang"] == "ko" and added["kind"] == "block"
    assert added["created_by"] == str(admin.user_id)
    await classroom.ok("PUT", _path("  Banana "), admin, 201, json={"lang": "en"})
    changed = await classroom.ok("PUT", _path("BANANA"), admin, 200, json={"lang": "any", "kind": "allow"})
    assert changed["word"] == "banana" and changed["lang"] == "any" and changed["kind"] == "allow"

    items = (await classroom.ok("GET", BASE, admin))["items"]
    assert [(w["word"], w["lang"], w["kind"]) for w in items] == [("banana", "any", "allow"), ("멍청이", "ko", "block")]

    await classroom.ok("DELETE", _path("Banana"), admin, 204)
    gone = await classroom.call("DELETE", _path("banana"), admin)
    assert gone.status_code == 404 and gone.json()["code"] == "classroom.moderation_word_not_found"
    assert [w["word"] for w in (await classroom.ok("GET", BASE, admin))["items"]] == ["멍청이"]


async def test_invalid_words_and_bodies(classroom: ClassroomApp) -> None:
    admin = classroom.actor("org_admin", classroom.org_a)
    for word, body in (("two words", {"lang": "any"}), ("abc1", {"lang": "en"}), ("한글", {"lang": "en"}),
                       ("english", {"lang": "ko"})):
        resp = await classroom.call("PUT", _path(word), admin, json=body)
        assert resp.status_code == 422 and resp.json()["code"] == "classroom.moderation_word_invalid", resp.text
    resp = await classroom.call("PUT", _path("ok"), admin, json={"lang": "fr"})
    assert resp.status_code == 422
    resp = await classroom.call("PUT", _path("ok"), admin, json={"kind": "block", "extra": 1})
    assert resp.status_code == 422


async def test_only_org_admins_of_an_org(classroom: ClassroomApp) -> None:
    for role in ("teacher", "student", "parent"):
        resp = await classroom.call("GET", BASE, classroom.actor(role, classroom.org_a))
        assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied", (role, resp.text)
    resp = await classroom.call("PUT", _path("word"), classroom.actor("teacher", classroom.org_a), json={})
    assert resp.status_code == 403
    assert (await classroom.call("GET", BASE)).status_code == 401
    resp = await classroom.call("GET", BASE, classroom.actor("super_admin"))
    assert resp.status_code == 403 and resp.json()["code"] == "classroom.org_required"


async def test_another_org_neither_sees_nor_changes_the_words(classroom: ClassroomApp) -> None:
    a = classroom.actor("org_admin", classroom.org_a)
    b = classroom.actor("org_admin", classroom.org_b)
    await classroom.ok("PUT", _path("멍청이"), a, 201, json={"lang": "ko"})

    assert (await classroom.ok("GET", BASE, b))["items"] == []
    resp = await classroom.call("DELETE", _path("멍청이"), b)
    assert resp.status_code == 404 and resp.json()["code"] == "classroom.moderation_word_not_found"
    # the same word in B is B's own row; A's stays as it was
    await classroom.ok("PUT", _path("멍청이"), b, 201, json={"lang": "any", "kind": "allow"})
    mine = (await classroom.ok("GET", BASE, a))["items"]
    assert [(w["word"], w["lang"], w["kind"]) for w in mine] == [("멍청이", "ko", "block")]
    assert [(w["word"], w["kind"]) for w in (await classroom.ok("GET", BASE, b))["items"]] == [("멍청이", "allow")]
    # in the database both rows exist; under B's tenant context (RLS) only B's is there
    rows = await classroom.db.sql("SELECT org_id FROM classroom.moderation_words")
    assert {r[0] for r in rows} == {classroom.org_a, classroom.org_b}
    engine = make_engine(classroom.db.app_url("classroom"), pool_size=1)
    try:
        ctx = TenantContext(ZONE, classroom.org_b, role="org_admin", user_id=b.user_id)
        async with tenant_transaction(make_sessionmaker(engine), ctx) as s:
            seen = (await s.execute(text("SELECT org_id, kind FROM classroom.moderation_words"))).all()
            assert [tuple(r) for r in seen] == [(classroom.org_b, "allow")]
            changed = await s.execute(text("UPDATE classroom.moderation_words SET kind = 'allow'"
                                           " WHERE org_id = :a RETURNING 1"), {"a": classroom.org_a})
            assert changed.first() is None
    finally:
        await engine.dispose()


async def test_moderator_for_follows_the_org_words(classroom: ClassroomApp) -> None:
    res = classroom.runtime.resources
    a = classroom.actor("org_admin", classroom.org_a)
    service.forget_all()
    zone = ZONE
    before = await service.moderator_for(res, zone, classroom.org_a)
    assert before.check("바나나 banana").allowed and not before.check("씨발").allowed
    assert await service.moderator_for(res, zone, classroom.org_a) is before  # cached

    await classroom.ok("PUT", _path("banana"), a, 201, json={"lang": "en"})
    await classroom.ok("PUT", _path("지랄"), a, 201, json={"lang": "ko", "kind": "allow"})
    after = await service.moderator_for(res, zone, classroom.org_a)
    verdict = after.check("B4N4N4!")
    assert not verdict.allowed and verdict.reason == "org_word" and verdict.matched == "banana"
    assert after.check("지랄").allowed and not after.check("씨발").allowed
    other = await service.moderator_for(res, zone, classroom.org_b)
    assert other.check("banana").allowed and not other.check("지랄").allowed

    await classroom.ok("DELETE", _path("banana"), a, 204)
    assert (await service.moderator_for(res, zone, classroom.org_a)).check("banana").allowed
