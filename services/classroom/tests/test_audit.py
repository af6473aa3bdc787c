"""Platform audit (issue #17 §4) from classroom: a session started, changed, extended and ended,
and the org's moderation words put and removed, done through the real HTTP API, each leave one
`audit.classroom.*` event in classroom's own outbox with actor, zone, org, target, before/after."""
from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator

import pytest

from megacity.testing import audit_actor, outbox_audits
from services.classroom.tests.conftest import ZONE, ClassroomApp
from services.classroom.tests.live_helpers import start


@pytest.fixture
async def audits(span_exporter, classroom: ClassroomApp) -> AsyncIterator:
    async with outbox_audits(classroom.db, "classroom", ZONE) as read:
        yield read


async def test_session_lifecycle_is_audited(audits, classroom: ClassroomApp) -> None:
    school = await classroom.school()
    session = await start(classroom, school, title="Fractions")
    [started] = await audits("classroom.session.started")
    assert started["actor"] == audit_actor(school.teacher) and started["org_id"] == school.org
    assert started["target"] == {"type": "session", "id": session["id"]}
    assert started["after"]["class_id"] == school.class_id and started["after"]["title"] == "Fractions"

    await classroom.ok("POST", f"/api/v1/classroom/sessions/{session['id']}/extend", school.teacher,
                       json={"minutes": 10})
    [extended] = await audits("classroom.session.extended")
    assert extended["before"]["expires_at"] < extended["after"]["expires_at"]

    await classroom.ok("POST", f"/api/v1/classroom/sessions/{session['id']}/end", school.admin)
    [ended] = await audits("classroom.session.ended")
    assert ended["actor"] == audit_actor(school.admin) and ended["before"]["status"] == "active"
    assert ended["after"]["status"] == "ended"
    # Ending it again is refused and records nothing.
    again = await classroom.call("POST", f"/api/v1/classroom/sessions/{session['id']}/end", school.admin)
    assert again.status_code >= 400
    assert len(await audits("classroom.session.ended")) == 1


async def test_moderation_words_are_audited(audits, classroom: ClassroomApp) -> None:
    admin = classroom.actor("org_admin", classroom.org_a)
    base = "/api/v1/classroom/moderation/words"
    await classroom.ok("PUT", f"{base}/{urllib.parse.quote('Banana')}", admin, 201, json={"lang": "en"})
    [put] = await audits("classroom.moderation_word.put")
    assert put["actor"] == audit_actor(admin) and put["org_id"] == classroom.org_a
    assert put["target"] == {"type": "moderation_word", "id": "banana"}
    assert put["after"]["word"].casefold() == "banana" and put["after"]["lang"] == "en" and put["after"]["new"] is True
    await classroom.ok("DELETE", f"{base}/banana", admin, 204)
    [deleted] = await audits("classroom.moderation_word.deleted")
    assert deleted["target"] == {"type": "moderation_word", "id": "banana"}
    assert (await classroom.call("DELETE", f"{base}/banana", admin)).status_code == 404
    assert len(await audits("classroom.moderation_word.deleted")) == 1


async def test_session_settings_change_is_audited(audits, classroom: ClassroomApp) -> None:
    school = await classroom.school()
    session = await start(classroom, school)
    await classroom.ok("PATCH", f"/api/v1/classroom/sessions/{session['id']}", school.teacher,
                       json={"locked": True, "chat_mode": "hold"})
    [updated] = await audits("classroom.session.updated")
    assert updated["actor"] == audit_actor(school.teacher) and updated["target"] == {"type": "session", "id": session["id"]}
    assert updated["before"] == {"locked": False, "chat_mode": session["chat_mode"]}
    assert updated["after"] == {"locked": True, "chat_mode": "hold"}
