"""K-Zone retention (issue #17 §2) on the real service with its S3 backend (moto's S3 server):
AI jobs, results and AI input media with their objects are written at chosen ages in zone
kzone (90 days, the default) and kzone-ai (30 days, a per-zone setting); runs with the real
clock and with the clock moved check which rows and which objects go, that a running job, a
catalogue media and a job with a live follow-up stay, and that the metrics moved."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from megacity.telemetry_testing import sample_value
from megacity.testing import TestDatabase, run_service
from services.kzone.retention.service import run_retention
from services.kzone.settings import Settings
from services.kzone.storage import keys
from services.kzone.storage.s3 import S3Storage

DAY = dt.timedelta(days=1)
KZONE, KZONE_AI = 6, 7


@dataclass
class Seeded:
    """Labels -> ids of one zone's rows."""

    media: dict[str, uuid.UUID]
    jobs: dict[str, uuid.UUID]


def _objects(storage: S3Storage) -> set[str]:
    return {o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents", [])}


@pytest.fixture
async def kz(s3_endpoint: str, test_db: TestDatabase, namespace: str, nats_client: Any) -> AsyncIterator[Any]:
    async with run_service("kzone", test_db, namespace, object_backend="s3", s3_endpoint_url=s3_endpoint,
                           s3_bucket=f"kz-{namespace}-ret", s3_access_key_id="test", s3_secret_access_key="test-secret",
                           secret_key="kzone-test-secret-key",
                           ai_job_retention_days_by_zone={"kzone-ai": 30}) as rt:
        yield rt


async def _media(db: TestDatabase, storage: S3Storage, zone: int, org: uuid.UUID, age: dt.timedelta, now: dt.datetime,
                 purpose: str = "ai_input") -> uuid.UUID:
    mid = uuid.uuid4()
    key = keys.original("audio", mid, "wav")
    await storage.put_bytes(key, b"RIFF....WAVE", "audio/wav")
    await db.sql("INSERT INTO kzone.kzone_media (id, zone_id, org_id, owner_id, purpose, media_kind, content_type,"
                 " size_bytes, sha256, storage_key, created_at) VALUES (:id, :z, :o, :u, :p, 'audio', 'audio/wav', 12,"
                 " 'x', :k, :at)", id=mid, z=zone, o=org, u=uuid.uuid4(), p=purpose, k=key, at=now - age)
    return mid


async def _job(db: TestDatabase, storage: S3Storage, zone: int, org: uuid.UUID, age: dt.timedelta, now: dt.datetime,
               *, media: uuid.UUID | None, status: str = "succeeded", parent: uuid.UUID | None = None,
               keypoints: bool = False) -> uuid.UUID:
    jid = uuid.uuid4()
    finished = now - age if status in ("succeeded", "failed", "cancelled") else None
    await db.sql("INSERT INTO kzone.kzone_ai_jobs (id, zone_id, org_id, owner_id, kind, status, input_media_id,"
                 " parent_job_id, created_at, finished_at) VALUES (:id, :z, :o, :u, :kind, :s, :m, :p, :c, :f)",
                 id=jid, z=zone, o=org, u=uuid.uuid4(), kind="tutor" if parent else "pose", s=status, m=media,
                 p=parent, c=now - age - dt.timedelta(minutes=5), f=finished)
    if finished is not None:
        key = None
        if keypoints and media is not None:
            key = keys.pose_keypoints(media)
            await storage.put_bytes(key, b"{}", "application/json")
        await db.sql("INSERT INTO kzone.kzone_ai_results (job_id, zone_id, org_id, kind, status, result, result_key,"
                     " event_id, created_at) VALUES (:j, :z, :o, 'pose', 'succeeded', '{}', :k, :e, :at)",
                     j=jid, z=zone, o=org, k=key, e=str(uuid.uuid4()), at=finished)
    return jid


async def _seed(db: TestDatabase, storage: S3Storage, zone: int, now: dt.datetime) -> Seeded:
    org = uuid.uuid4()
    m: dict[str, uuid.UUID] = {}
    j: dict[str, uuid.UUID] = {}
    m["old"] = await _media(db, storage, zone, org, 100 * DAY, now)
    j["old"] = await _job(db, storage, zone, org, 100 * DAY, now, media=m["old"], keypoints=True)
    m["mid"] = await _media(db, storage, zone, org, 60 * DAY, now)
    j["mid"] = await _job(db, storage, zone, org, 60 * DAY, now, media=m["mid"])
    m["parent"] = await _media(db, storage, zone, org, 100 * DAY, now)
    j["parent"] = await _job(db, storage, zone, org, 100 * DAY, now, media=m["parent"])
    j["child"] = await _job(db, storage, zone, org, 10 * DAY, now, media=None, parent=j["parent"])
    m["running"] = await _media(db, storage, zone, org, 200 * DAY, now)
    j["running"] = await _job(db, storage, zone, org, 200 * DAY, now, media=m["running"], status="processing")
    m["content"] = await _media(db, storage, zone, org, 200 * DAY, now, purpose="content")
    await db.sql("INSERT INTO kzone.kzone_contents (zone_id, org_id, title, type, media_id, created_by)"
                 " VALUES (:z, :o, 'Song', 'audio', :m, :u)", z=zone, o=org, m=m["content"], u=uuid.uuid4())
    m["unused"] = await _media(db, storage, zone, org, 100 * DAY, now)
    return Seeded(m, j)


async def _left(db: TestDatabase, zone: int, seeded: Seeded) -> tuple[set[str], set[str], set[str]]:
    """(media, jobs, jobs with a result) labels still in the zone."""
    media = {r[0] for r in await db.sql("SELECT id FROM kzone.kzone_media WHERE zone_id = :z", z=zone)}
    jobs = {r[0] for r in await db.sql("SELECT id FROM kzone.kzone_ai_jobs WHERE zone_id = :z", z=zone)}
    results = {r[0] for r in await db.sql("SELECT job_id FROM kzone.kzone_ai_results WHERE zone_id = :z", z=zone)}
    return ({k for k, v in seeded.media.items() if v in media}, {k for k, v in seeded.jobs.items() if v in jobs},
            {k for k, v in seeded.jobs.items() if v in results})


def _media_objects(seeded: Seeded, labels: set[str]) -> set[str]:
    return {keys.original("audio", seeded.media[label], "wav") for label in labels}


def _deleted(table: str) -> float:
    return sample_value("mc_retention_rows_deleted_total", {"service": "kzone", "table": table}) or 0.0


async def test_ai_jobs_results_media_and_objects_go_per_zone_as_the_clock_moves(kz: Any, test_db: TestDatabase) -> None:
    res, state = kz.app.state.resources, kz.app.state.kzone
    storage: S3Storage = state.storage
    now = dt.datetime.now(dt.UTC)
    kzone, kzone_ai = await _seed(test_db, storage, KZONE, now), await _seed(test_db, storage, KZONE_AI, now)
    media_before = _deleted("kzone_media")
    keep_always = {"running", "content"}

    # 1. The real clock: kzone keeps 90 days, kzone-ai 30 days.
    report = await run_retention(res, state)
    assert not report.skipped and not report.backlog
    # A job past retention loses its result at once; the job row waits while a follow-up lives.
    assert await _left(test_db, KZONE, kzone) == ({"mid", "parent"} | keep_always, {"mid", "parent", "child", "running"},
                                                  {"mid", "child"})
    # kzone-ai: the 60-day-old job goes too.
    assert await _left(test_db, KZONE_AI, kzone_ai) == ({"parent"} | keep_always, {"parent", "child", "running"},
                                                        {"child"})
    assert report.rows_deleted == {"kzone_ai_results": 5, "kzone_ai_jobs": 3, "kzone_media": 5, "outbox": 0, "inbox": 0}
    # Objects: the deleted media and the old job's keypoints are gone from S3; the rest stay.
    assert _objects(storage) == (_media_objects(kzone, {"mid", "parent"} | keep_always)
                                 | _media_objects(kzone_ai, {"parent"} | keep_always))
    assert _deleted("kzone_media") == media_before + 5

    # 2. 85 days on (kzone cutoff 5 days ago): the follow-up goes; its parent waits for the next run
    # (it still had a follow-up when this run looked), then goes with its media.
    await run_retention(res, state, now=now + 85 * DAY)
    assert await _left(test_db, KZONE, kzone) == ({"parent"} | keep_always, {"parent", "running"}, set())
    again = await run_retention(res, state, now=now + 85 * DAY)
    assert again.rows_deleted["kzone_ai_jobs"] == 2 and again.rows_deleted["kzone_media"] == 2
    for zone, seeded in ((KZONE, kzone), (KZONE_AI, kzone_ai)):
        assert await _left(test_db, zone, seeded) == (keep_always, {"running"}, set())
    assert _objects(storage) == _media_objects(kzone, keep_always) | _media_objects(kzone_ai, keep_always)


def test_a_zone_key_that_does_not_exist_fails_start_up() -> None:
    with pytest.raises(ValidationError, match="unknown zone key"):
        Settings(ai_job_retention_days_by_zone={"kzone-al": 30})
    with pytest.raises(ValidationError):
        Settings(ai_job_retention_days_by_zone={"kzone-ai": 0})
    assert Settings(ai_job_retention_days_by_zone={"kzone-ai": None}).ai_job_retention_days == 90


async def test_a_result_never_takes_a_catalogue_object_with_it(kz: Any, test_db: TestDatabase) -> None:
    """Results past retention whose key names a catalogue media's original (a bad keypoints_ref)
    or the keypoints of a catalogue media: the rows go, the objects stay."""
    res, state = kz.app.state.resources, kz.app.state.kzone
    storage: S3Storage = state.storage
    now = dt.datetime.now(dt.UTC)
    org = uuid.uuid4()
    content = await _media(test_db, storage, KZONE, org, 200 * DAY, now, purpose="content")
    await storage.put_bytes(keys.pose_keypoints(content), b"{}", "application/json")
    for key in (keys.original("audio", content, "wav"), keys.pose_keypoints(content)):
        job = await _job(test_db, storage, KZONE, org, 100 * DAY, now, media=None)
        await test_db.sql("UPDATE kzone.kzone_ai_results SET result_key = :k WHERE job_id = :j", k=key, j=job)
    report = await run_retention(res, state)
    assert report.rows_deleted["kzone_ai_results"] == 2
    assert _objects(storage) == {keys.original("audio", content, "wav"), keys.pose_keypoints(content)}
