"""K-Zone retention on megacity.retention (one replica at a time, hourly, per zone):

- `kzone_ai_results`: a result goes once its job finished more than the zone's retention ago
  (`KZONE_AI_JOB_RETENTION_DAYS`, per zone `KZONE_AI_JOB_RETENTION_DAYS_BY_ZONE`, e.g.
  `{"kzone-ai": 30}`); its stored output (pose keypoints) is deleted with it unless another
  result still names the same object (keypoints are keyed by the input media). Only a key under
  the pose prefix (`kzone/pose/<media id>/keypoints.json`) of a media that is not in the
  catalogue is deleted: `result_key` may come from the inference worker (`keypoints_ref`), and
  a bad one must never take a catalogue object with it (it is logged and left);
- `kzone_ai_jobs`: a finished (succeeded, failed, cancelled) job past retention, once its result
  and any follow-up job (tutor feedback on it) are gone — never a queued or running one;
- `kzone_media` uploaded as AI input (`purpose = 'ai_input'`) past retention that no job and no
  catalogue entry names any more: the object and its keypoints in storage go first, in the
  batch's transaction, so a storage failure keeps the rows (retried next run). Catalogue media
  (`purpose = 'content'`) are kept: they belong to the catalogue, not to a job;
- published outbox rows and processed inbox entries after 7 days.

Order matters: results, then jobs, then media (each references the one after it).

A deleted object is not gone at once where the bucket is versioned (production, see
docs/runbooks/backup-restore.md): the delete leaves a noncurrent copy that the lifecycle rule
expires after 30 days, so an object leaves the bucket up to 30 days after its row.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import AuditActor, record_audit
from megacity.retention import OnDelete, RetentionPolicy, RetentionReport, days, zone_days
from megacity.retention import run_retention as run_policies
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.kzone.service_state import KzoneState
from services.kzone.storage import ObjectStorage
from services.kzone.storage import keys as object_keys

log = get_logger("kzone.retention")

# What keys.pose_keypoints makes: the only result objects retention deletes.
POSE_KEY = re.compile(r"^kzone/pose/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/keypoints\.json$")

# Rows per batch where each row's objects are deleted in storage inside the batch's transaction.
OBJECT_BATCH = 100

RESULT_OF_FINISHED_JOB = ("EXISTS (SELECT 1 FROM kzone.kzone_ai_jobs j WHERE j.id = t.job_id"
                          " AND j.finished_at < :cutoff)")
JOB_LEFT_ALONE = ("t.status IN ('succeeded', 'failed', 'cancelled')"
                  " AND NOT EXISTS (SELECT 1 FROM kzone.kzone_ai_results r WHERE r.job_id = t.id)"
                  " AND NOT EXISTS (SELECT 1 FROM kzone.kzone_ai_jobs c WHERE c.parent_job_id = t.id)")
UNUSED_AI_INPUT = ("t.purpose = 'ai_input'"
                   " AND NOT EXISTS (SELECT 1 FROM kzone.kzone_ai_jobs j"
                   " WHERE t.id IN (j.input_media_id, j.reference_media_id))"
                   " AND NOT EXISTS (SELECT 1 FROM kzone.kzone_contents c WHERE c.media_id = t.id)")


def _result_objects(storage: ObjectStorage) -> OnDelete:
    async def delete(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        keys = {r["result_key"] for r in rows if r["result_key"]}
        pose = {k: uuid.UUID(m.group(1)) for k in keys if (m := POSE_KEY.match(k))}
        if keys - pose.keys():
            log.warning("result objects outside the pose prefix left in storage", keys=sorted(keys - pose.keys())[:20])
        if not pose:
            return
        still = set((await session.execute(text(
            "SELECT result_key FROM kzone.kzone_ai_results WHERE result_key = ANY(:keys)"),
            {"keys": sorted(pose)})).scalars())
        catalogue = set((await session.execute(text(
            "SELECT id FROM kzone.kzone_media WHERE id = ANY(:ids) AND purpose <> 'ai_input'"),
            {"ids": sorted(set(pose.values()))})).scalars())
        for key in sorted(pose):
            if key not in still and pose[key] not in catalogue:
                await storage.delete(key)
    return delete


def _media_objects(storage: ObjectStorage) -> OnDelete:
    async def delete(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        for r in rows:
            await storage.delete(r["storage_key"])
            await storage.delete(object_keys.pose_keypoints(r["id"]))
        await _audit_media_batch(session, rows)
    return delete


async def _audit_media_batch(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """One `kzone.media.deleted` platform audit record per batch, in the batch's transaction
    (system actor; the count and up to 20 media ids). The zone is the run's tenant context."""
    zone = (await session.execute(text("SELECT nullif(current_setting('app.zone_id', true), '')::int"))).scalar()
    if not rows or zone is None:
        return
    ids = sorted(str(r["id"]) for r in rows)
    await record_audit(session, schema="kzone", actor=AuditActor.system("retention"), zone_id=zone, org_id=None,
                       target_type="media_batch", target_id=ids[0], action="kzone.media.deleted",
                       after={"count": len(ids), "media_ids": ids[:20], "purpose": "ai_input"})


def policies(state: KzoneState) -> list[RetentionPolicy]:
    s = state.settings
    keep = days(s.ai_job_retention_days)
    by_zone = zone_days(s.ai_job_retention_days_by_zone)
    return [
        RetentionPolicy("kzone.kzone_ai_results", "created_at", keep, zone_max_age=by_zone,
                        where=RESULT_OF_FINISHED_JOB, returning=("result_key",),
                        on_delete=_result_objects(state.storage), batch_size=OBJECT_BATCH),
        RetentionPolicy("kzone.kzone_ai_jobs", "finished_at", keep, zone_max_age=by_zone, where=JOB_LEFT_ALONE),
        RetentionPolicy("kzone.kzone_media", "created_at", keep, zone_max_age=by_zone, where=UNUSED_AI_INPUT,
                        returning=("id", "storage_key"), on_delete=_media_objects(state.storage),
                        batch_size=OBJECT_BATCH),
    ]


async def run_retention(res: Resources, state: KzoneState, now: dt.datetime | None = None) -> RetentionReport:
    sessions = res.db()
    assert res.engine is not None  # res.db() raised otherwise
    return await run_policies(res.engine, policies(state), service="kzone", now=now, sessions=sessions,
                              outbox="kzone")
