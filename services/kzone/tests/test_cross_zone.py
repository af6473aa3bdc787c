"""Issue #9's leak: a request's zone (its Host, equal to its token's zone) bounds what every role
sees, super admins included. A super admin or zone admin of zone A, on zone A's host, naming
zone B's ids gets 404 and changes nothing; the same ids answer on zone B's own host."""
from __future__ import annotations

import json
import uuid

import pytest

from services.kzone.tests.conftest import KZONE_HOST, KZONE_ZONE_ID

UNIV_HOST, UNIV_ZONE_ID = "api.univprepai.com", 1


def _seed(kzone, org: uuid.UUID) -> dict[str, uuid.UUID]:
    """One finished voice job with its media, result and a catalogue entry in zone 6 (as the
    superuser: the rows exist whatever RLS says)."""
    ids = {name: uuid.uuid4() for name in ("media", "content", "job", "result", "user")}
    p = {"zone": KZONE_ZONE_ID, "org": org, **ids}
    kzone.query(
        "INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type,"
        " size_bytes, sha256, storage_key) VALUES (%(media)s, %(zone)s, %(org)s, %(user)s, 'content', 'audio',"
        " 'audio/wav', 10, 'x', 'kzone/audio/' || %(media)s::text || '/original.wav')", p)
    kzone.query("INSERT INTO kzone.kzone_contents (id, zone_id, org_id, title, type, media_id, created_by)"
                " VALUES (%(content)s, %(zone)s, %(org)s, 'Zone six only', 'audio', %(media)s, %(user)s)", p)
    kzone.query("INSERT INTO kzone.kzone_ai_jobs (id, zone_id, org_id, owner_id, kind, input_media_id, status)"
                " VALUES (%(job)s, %(zone)s, %(org)s, %(user)s, 'voice', %(media)s, 'succeeded')", p)
    kzone.query("INSERT INTO kzone.kzone_ai_results (id, job_id, zone_id, org_id, kind, status, result, event_id)"
                " VALUES (%(result)s, %(job)s, %(zone)s, %(org)s, 'voice', 'succeeded', %(doc)s::jsonb, 'e1')",
                {**p, "doc": json.dumps({"pronunciation_score": 90})})
    return ids


def _reads(ids: dict[str, uuid.UUID], org: uuid.UUID) -> list[tuple[str, str]]:
    # K-Zone scopes by the token alone: no operation takes `org_id` (naming one is a 400).
    return [("GET", f"/api/v1/kzone/jobs/{ids['job']}"), ("GET", f"/api/v1/kzone/jobs/{ids['job']}/result"),
            ("GET", f"/api/v1/kzone/contents/{ids['content']}"), ("GET", f"/api/v1/kzone/uploads/{ids['media']}")]


def _snapshot(kzone) -> list:
    return [kzone.query(f"SELECT * FROM kzone.{t} ORDER BY id") for t in
            ("kzone_media", "kzone_contents", "kzone_ai_jobs", "kzone_ai_results")]


@pytest.mark.parametrize("role", ["super_admin", "zone_admin"])
async def test_admin_of_another_zone_names_zone_six_ids(kzone, role: str) -> None:
    org = uuid.uuid4()
    ids = _seed(kzone, org)
    before = _snapshot(kzone)
    outsider = kzone.headers(role, org=None, zone_id=UNIV_ZONE_ID, host=UNIV_HOST)
    named = await kzone.client.get(f"/api/v1/kzone/contents/{ids['content']}?org_id={org}", headers=outsider)
    assert named.status_code == 400 and named.json()["code"] == "request.unknown_parameter", named.text
    for method, path in _reads(ids, org):  # zone_admin lacks attempt:read (403): either way, nothing leaks
        resp = await kzone.client.request(method, path, headers=outsider)
        assert resp.status_code in (403, 404), (method, path, resp.status_code, resp.text)
    listed = await kzone.client.get("/api/v1/kzone/contents", headers=outsider)
    assert listed.status_code == 200 and listed.json()["items"] == []
    patched = await kzone.client.patch(f"/api/v1/kzone/contents/{ids['content']}", headers=outsider,
                                       json={"title": "pwned"})
    assert patched.status_code == 404, patched.text
    deleted = await kzone.client.delete(f"/api/v1/kzone/contents/{ids['content']}", headers=outsider)
    assert deleted.status_code == 404, deleted.text
    cancelled = await kzone.client.post(f"/api/v1/kzone/jobs/{ids['job']}/cancel", headers=outsider)
    assert cancelled.status_code in (403, 404), cancelled.text
    assert _snapshot(kzone) == before
    # Zone 6's super admin, on zone 6's host, reads them all: the ids were real all along.
    insider = kzone.headers("super_admin", org=None, zone_id=KZONE_ZONE_ID, host=KZONE_HOST)
    for method, path in _reads(ids, org):
        resp = await kzone.client.request(method, path, headers=insider)
        assert resp.status_code == 200, (method, path, resp.status_code, resp.text)
