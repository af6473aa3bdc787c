"""Platform audit (issue #17 §4) from kzone: catalogue changes (create, update, delete) and an AI
job cancelled, done through the real HTTP API, each leave one `audit.kzone.*` event in kzone's
own outbox with actor, zone, org, target and before/after."""
from __future__ import annotations

import uuid

import pytest

from megacity.testing import audit_outbox_sql, audit_records
from services.kzone.tests.conftest import KZONE_ZONE_ID, KzoneHarness

URL = "/api/v1/kzone/contents"


@pytest.fixture
def traced(span_exporter):
    """A real SDK tracer provider (before the service starts), so requests have a trace id."""
    return span_exporter


def _audits(kzone: KzoneHarness, action: str) -> list[dict]:
    rows = kzone.query(audit_outbox_sql("kzone", "%s"), (f"audit.{action}",))
    return audit_records(rows, service="kzone", action=action, zone_id=KZONE_ZONE_ID)


async def test_catalogue_changes_are_audited(traced, kzone: KzoneHarness) -> None:
    c = kzone.client
    teacher_id = uuid.uuid4()
    teacher = kzone.headers("teacher", user=teacher_id)
    who = {"user_id": str(teacher_id), "role": "teacher", "kind": "user"}
    resp = await c.post(URL, json={"title": "Hangul basics", "type": "article", "tags": ["korean"],
                                   "url": "https://my-ktube.com/c/1"}, headers=teacher)
    assert resp.status_code == 201, resp.text
    content = resp.json()["id"]
    [created] = _audits(kzone, "kzone.content.created")
    assert created["actor"] == who and created["org_id"] == kzone.org_a
    assert created["target"] == {"type": "content", "id": content}
    assert created["after"]["title"] == "Hangul basics" and created["after"]["tags"] == ["korean"]

    resp = await c.patch(f"{URL}/{content}", json={"title": "Hangul basics 2"}, headers=teacher)
    assert resp.status_code == 200, resp.text
    [updated] = _audits(kzone, "kzone.content.updated")
    assert (updated["before"], updated["after"]) == ({"title": "Hangul basics"}, {"title": "Hangul basics 2"})

    admin_id = uuid.uuid4()
    resp = await c.delete(f"{URL}/{content}", headers=kzone.headers("org_admin", user=admin_id))
    assert resp.status_code == 204, resp.text
    [deleted] = _audits(kzone, "kzone.content.deleted")
    assert deleted["actor"]["user_id"] == str(admin_id) and deleted["before"]["title"] == "Hangul basics 2"
    # Deleting it again is a 404 and no second record.
    assert (await c.delete(f"{URL}/{content}", headers=kzone.headers("org_admin"))).status_code == 404
    assert len(_audits(kzone, "kzone.content.deleted")) == 1


async def test_long_korean_entries_are_audited_not_refused(traced, kzone: KzoneHarness) -> None:
    """20 Korean tags of 40 characters, a 300-character title and a long description: the change
    succeeds, the summary is clipped (UTF-8 size, strings to 200) and the description is a flag."""
    teacher = kzone.headers("teacher")
    tags = [f"{i:02d}" + "한국어태그" * 7 + "가" * 3 for i in range(20)]
    resp = await kzone.client.post(URL, json={"title": "케이팝 안무 " * 42, "type": "article", "tags": tags,
                                              "url": "https://my-ktube.com/c/ko", "description": "설명 " * 1600},
                                   headers=teacher)
    assert resp.status_code == 201, resp.text
    [created] = _audits(kzone, "kzone.content.created")
    assert created["after"]["tags"] == tags and len(created["after"]["title"]) == 200
    assert created["after"]["title"].endswith("…") and created["after"]["truncated"] is True
    resp = await kzone.client.patch(f"{URL}/{resp.json()['id']}", json={"description": "새 설명 " * 900},
                                    headers=teacher)
    assert resp.status_code == 200, resp.text
    [updated] = _audits(kzone, "kzone.content.updated")
    assert updated["before"] == updated["after"] == {"description_changed": True}


async def test_ai_job_cancel_is_audited(traced, kzone: KzoneHarness) -> None:
    c = kzone.client
    me_id = uuid.uuid4()
    me = kzone.headers("student", user=me_id)
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={
        "question": "How do you say thank you?", "answer": "gamsahamnida", "language": "en"})
    assert resp.status_code in (200, 201, 202), resp.text
    job_id = resp.json()["job_id"]
    out = await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=me)
    assert out.status_code == 200, out.text
    [cancelled] = _audits(kzone, "kzone.ai_job.cancelled")
    assert cancelled["actor"] == {"user_id": str(me_id), "role": "student", "kind": "user"}
    assert cancelled["target"] == {"type": "ai_job", "id": job_id} and cancelled["org_id"] == kzone.org_a
    assert cancelled["before"]["kind"] == "tutor" and cancelled["after"] == {"status": "cancelled"}
    # Cancelling a cancelled job again changes nothing and records nothing.
    await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=me)
    assert len(_audits(kzone, "kzone.ai_job.cancelled")) == 1


async def test_retention_media_deletion_is_audited_per_batch(kzone: KzoneHarness) -> None:
    """Retention deleting unused AI-input media leaves one `kzone.media.deleted` record per batch
    (system actor, the count and the ids), in the batch's transaction; kept media are not named."""
    import datetime as dt

    from services.kzone.retention.service import run_retention
    from services.kzone.storage import keys as object_keys

    res, state = kzone.runtime.app.state.resources, kzone.runtime.app.state.kzone
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    gone, kept = [uuid.uuid4() for _ in range(3)], uuid.uuid4()
    for mid in [*gone, kept]:
        key = object_keys.original("audio", mid, "wav")
        await state.storage.put_bytes(key, b"RIFF....WAVE", "audio/wav")
        kzone.query("INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type,"
                    " size_bytes, sha256, storage_key, created_at) VALUES (%s, %s, %s, %s, %s, 'audio', 'audio/wav',"
                    " 12, 'x', %s, %s)", (mid, KZONE_ZONE_ID, kzone.org_a, uuid.uuid4(),
                                          "content" if mid == kept else "ai_input", key, old))
    report = await run_retention(res, state)
    assert report.rows_deleted["kzone_media"] == 3
    rows = kzone.query("SELECT zone_id, org_id, payload FROM kzone.outbox WHERE event_type = %s",
                       ("audit.kzone.media.deleted",))
    [(zone_id, org_id, p)] = rows
    assert (zone_id, org_id) == (KZONE_ZONE_ID, None)
    assert p["actor"] == {"user_id": None, "role": "retention", "kind": "system"}
    assert p["after"] == {"count": 3, "media_ids": sorted(str(m) for m in gone), "purpose": "ai_input"}
    assert p["target"] == {"type": "media_batch", "id": min(str(m) for m in gone)}
