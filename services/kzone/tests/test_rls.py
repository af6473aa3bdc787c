"""Row-level security on every K-Zone tenant table, through the app role: another org can
neither see nor change a row, and cannot write one into someone else's org."""
from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import TestDatabase

ZONE = 6


@pytest.fixture
async def sessions(test_db: TestDatabase):
    engine = make_engine(test_db.app_url("kzone"), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _seed(sessions, org: uuid.UUID) -> dict[str, uuid.UUID]:
    """One row in each table for `org`, written under its own tenant context."""
    ids = {name: uuid.uuid4() for name in ("media", "content", "job", "result")}
    user = uuid.uuid4()
    async with tenant_transaction(sessions, TenantContext(ZONE, org, "teacher", user)) as s:
        p = {"zone": ZONE, "org": org, "user": user, **ids}
        await s.execute(text(
            "INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type,"
            " size_bytes, sha256, storage_key) VALUES (:media, :zone, :org, :user, 'content', 'audio', 'audio/wav',"
            " 10, 'x', 'kzone/audio/' || CAST(:media AS text) || '/original.wav')"), p)
        await s.execute(text(
            "INSERT INTO kzone.kzone_contents (id, zone_id, org_id, title, type, media_id, created_by)"
            " VALUES (:content, :zone, :org, 'Title', 'audio', :media, :user)"), p)
        await s.execute(text(
            "INSERT INTO kzone.kzone_ai_jobs (id, zone_id, org_id, owner_id, kind, input_media_id)"
            " VALUES (:job, :zone, :org, :user, 'voice', :media)"), p)
        await s.execute(text(
            "INSERT INTO kzone.kzone_ai_results (id, job_id, zone_id, org_id, kind, status, result, event_id)"
            " VALUES (:result, :job, :zone, :org, 'voice', 'succeeded', CAST(:doc AS jsonb), 'e1')"),
            {**p, "doc": json.dumps({"pronunciation_score": 90})})
    return ids


TABLES = {"kzone_media": ("media", "original_filename = 'x'"),
          "kzone_contents": ("content", "title = 'pwned'"),
          "kzone_ai_jobs": ("job", "status = 'failed'"),
          "kzone_ai_results": ("result", "status = 'failed'")}


@pytest.mark.parametrize("table", sorted(TABLES))
async def test_other_org_cannot_see_or_change_rows(sessions, table: str) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    ids_a = await _seed(sessions, org_a)
    ids_b = await _seed(sessions, org_b)
    which, change = TABLES[table]
    row_a = ids_a[which]
    as_b = TenantContext(ZONE, org_b, "org_admin", uuid.uuid4())
    async with tenant_transaction(sessions, as_b) as s:
        visible = set((await s.execute(text(f"SELECT id FROM kzone.{table}"))).scalars())
        assert visible == {ids_b[which]}
        assert (await s.execute(text(f"UPDATE kzone.{table} SET {change} WHERE id = :id"), {"id": row_a})).rowcount == 0
    if table != "kzone_media" and table != "kzone_ai_jobs":  # rows referenced by others can't be deleted anyway
        async with tenant_transaction(sessions, as_b) as s:
            assert (await s.execute(text(f"DELETE FROM kzone.{table} WHERE id = :id"), {"id": row_a})).rowcount == 0
    # Same org id under another zone sees nothing either; no context sees nothing.
    async with tenant_transaction(sessions, TenantContext(ZONE + 1, org_a, "org_admin")) as s:
        assert (await s.execute(text(f"SELECT count(*) FROM kzone.{table}"))).scalar() == 0
    # Writing a row into org A while acting as org B is refused by the policy's WITH CHECK.
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        async with tenant_transaction(sessions, as_b) as s:
            await s.execute(text(f"UPDATE kzone.{table} SET org_id = :a WHERE id = :id"),
                            {"a": org_a, "id": ids_b[which]})
    # Org A's row is untouched.
    async with tenant_transaction(sessions, TenantContext(ZONE, org_a, "org_admin")) as s:
        assert (await s.execute(text(f"SELECT count(*) FROM kzone.{table} WHERE id = :id"), {"id": row_a})).scalar() == 1
        if table == "kzone_contents":
            assert (await s.execute(text("SELECT title FROM kzone.kzone_contents"))).scalar() == "Title"


async def test_zone_admin_sees_the_zone_and_deletes_cascade_safely(sessions) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    await _seed(sessions, org_a)
    await _seed(sessions, org_b)
    async with tenant_transaction(sessions, TenantContext(ZONE, None, "zone_admin")) as s:
        assert (await s.execute(text("SELECT count(*) FROM kzone.kzone_ai_jobs"))).scalar() == 2
    async with tenant_transaction(sessions, TenantContext(ZONE + 1, None, "zone_admin")) as s:
        assert (await s.execute(text("SELECT count(*) FROM kzone.kzone_ai_jobs"))).scalar() == 0
