"""The rules of AI jobs: voice analysis, dance pose detection and tutor feedback.

Submitting a job records its input media (already in object storage), writes the job row and the
`ai.job.<kind>` outbox event in one transaction, and creates the job's progress hash in Redis
(owner = caller) before that transaction commits, so the hash exists before the event can be
published; if the transaction fails, the hash is deleted again. The inference service takes the
job from JetStream, reports steps into the same hash and publishes `ai.result.<kind>`;
`ai_results` stores the result and finishes the hash.

A job is visible to its owner and to staff of its org (RLS keeps other orgs out); anyone else
gets 404, as for a job that does not exist. Cancelling ends a queued or processing job at once,
in the database and in the progress hash (which inference watches); cancelling it again answers
the same; a job that already succeeded or failed is 409 `job.finished`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events import add_event
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from services.kzone.ai_jobs import queries
from services.kzone.ai_jobs.queries import JobRow, MediaRefRow, ResultRow
from services.kzone.ai_jobs.schemas import JobKind, TutorFeedbackIn, VoiceForm
from services.kzone.permissions import org_of, sees_owned
from services.kzone.storage import ObjectStorage, keys
from services.kzone.upload_stream import StoredMedia
from services.kzone.uploads.queries import insert_media

TUTOR_MAX_TOKENS = 200
# Params that are plumbing for the inference service, not something a client needs back.
_PRIVATE_PARAMS = {"output_key", "reference_ref", "max_tokens"}


@dataclass(frozen=True)
class QueuedJob:
    job_id: uuid.UUID
    kind: JobKind
    input_media_id: uuid.UUID | None = None
    reference_media_id: uuid.UUID | None = None


@dataclass(frozen=True)
class JobView:
    """A job as its owner (or staff) sees it: the row, whether a result exists, its media."""

    job: JobRow
    has_result: bool
    input: MediaRefRow | None
    reference: MediaRefRow | None

    @property
    def params(self) -> dict[str, Any]:
        """The job's params without the plumbing meant for inference."""
        return {k: v for k, v in (self.job.params or {}).items() if k not in _PRIVATE_PARAMS}


@dataclass(frozen=True)
class CancelledJob:
    job_id: uuid.UUID
    kind: str
    cancelled_by: uuid.UUID | None
    finished_at: dt.datetime | None


def inline_ref(text_value: str) -> str:
    """A tutor job's input: the learner's answer travels in the job itself (`inline:<text>`)."""
    return "inline:" + text_value


def job_conflict(code: str, detail: str, job_status: str) -> AppError:
    """409 for a job in the wrong state. Its status goes in `job_status`: the problem's own
    `status` is the HTTP status (RFC 9457)."""
    return AppError(409, code, detail, {"job_status": job_status})


def progress_of(res: Resources) -> JobProgress:
    return JobProgress(res.redis, res.keys)


async def enqueue_job(session: AsyncSession, progress: JobProgress, *, zone_id: int, org_id: uuid.UUID,
                      owner_id: uuid.UUID, kind: str, job_id: uuid.UUID, input_ref: str | None,
                      params: dict[str, Any], input_media_id: uuid.UUID | None = None,
                      reference_media_id: uuid.UUID | None = None, parent_job_id: uuid.UUID | None = None) -> None:
    """Job row + `ai.job.<kind>` outbox event in the caller's transaction, then the progress hash
    (so it exists before the relay can publish). The caller deletes the hash if the
    transaction then fails (`forget_progress`)."""
    await queries.insert_job(session, job_id=job_id, zone_id=zone_id, org_id=org_id, owner_id=owner_id, kind=kind,
                             input_media_id=input_media_id, reference_media_id=reference_media_id,
                             parent_job_id=parent_job_id, params=params)
    await add_event(session, "kzone", f"ai.job.{kind}", {
        "job_id": str(job_id), "zone_id": zone_id, "org_id": str(org_id), "kind": kind, "input_ref": input_ref,
        "params": params}, zone_id=zone_id, org_id=org_id)
    await progress.create(zone_id, org_id, job_id, kind=kind, owner=owner_id)


async def forget_progress(progress: JobProgress, zone_id: int, org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    await progress.redis.delete(progress.key(zone_id, org_id, job_id))


async def _submit(res: Resources, principal: Principal, kind: JobKind, *, input_ref: str | None,
                  params: dict[str, Any], input_media: StoredMedia | None = None,
                  reference: StoredMedia | None = None) -> QueuedJob:
    """The caller's job, with its stored input media recorded as `ai_input`."""
    org = org_of(principal)
    progress = progress_of(res)
    job_id = uuid.uuid4()
    media = [m for m in (input_media, reference) if m is not None]
    queued = QueuedJob(job_id, kind, input_media.media_id if input_media else None,
                       reference.media_id if reference else None)
    try:
        async with tenant_transaction(res.db(), principal.tenant()) as session:
            for item in media:
                await insert_media(session, item, zone_id=principal.zone_id, org_id=org, owner_id=principal.user_id,
                                   purpose="ai_input")
            await enqueue_job(session, progress, zone_id=principal.zone_id, org_id=org, owner_id=principal.user_id,
                              kind=kind, job_id=job_id, input_ref=input_ref, params=params,
                              input_media_id=queued.input_media_id, reference_media_id=queued.reference_media_id)
    except BaseException:
        await forget_progress(progress, principal.zone_id, org, job_id)
        raise
    return queued


async def submit_voice(res: Resources, storage: ObjectStorage, principal: Principal, audio: StoredMedia,
                       form: VoiceForm) -> QueuedJob:
    """Transcript, word alignment, pronunciation score and (optionally) LLM feedback on `audio`
    read against `form.reference_text`."""
    params = {"reference_text": form.reference_text, "language": form.language, "content_type": audio.content_type,
              "feedback": form.feedback}
    return await _submit(res, principal, "voice", input_ref=storage.ref(audio.key), params=params, input_media=audio)


async def submit_pose(res: Resources, storage: ObjectStorage, principal: Principal, visual: StoredMedia,
                      reference: StoredMedia | None = None) -> QueuedJob:
    """Pose landmarks of a video or image, scored against `reference` when given. The keypoints
    JSON goes to `kzone/pose/{media_id}/keypoints.json` (seed 001 §2.8), in the same store."""
    params: dict[str, Any] = {"media_kind": visual.kind, "content_type": visual.content_type,
                              "output_key": keys.pose_keypoints(visual.media_id)}
    if reference is not None:
        params.update({"reference_ref": storage.ref(reference.key), "reference_media_kind": reference.kind})
    return await _submit(res, principal, "pose", input_ref=storage.ref(visual.key), params=params,
                         input_media=visual, reference=reference)


async def submit_tutor(res: Resources, principal: Principal, body: TutorFeedbackIn) -> QueuedJob:
    """The LLM's feedback on a learner's answer (the answer travels inline)."""
    params = {"purpose": "answer_feedback", "question": body.question, "reference_answer": body.reference_answer,
              "language": body.language, "content_id": str(body.content_id) if body.content_id else None,
              "max_tokens": TUTOR_MAX_TOKENS}
    return await _submit(res, principal, "tutor", input_ref=inline_ref(body.answer), params=params)


async def _visible_job(session: AsyncSession, job_id: uuid.UUID, principal: Principal) -> JobRow:
    """The job row if the caller may see it (RLS: same org; then owner or staff), else 404."""
    row = await queries.job(session, job_id)
    if row is None or not sees_owned(principal, row.owner_id):
        raise AppError(404, "job.not_found", "no such job")
    return row


async def _media(session: AsyncSession, media_id: uuid.UUID | None) -> MediaRefRow | None:
    return await queries.media_ref(session, media_id) if media_id is not None else None


async def get_job(res: Resources, principal: Principal, job_id: uuid.UUID) -> JobView:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = await _visible_job(session, job_id, principal)
        return JobView(job=row, has_result=await queries.has_result(session, job_id),
                       input=await _media(session, row.input_media_id),
                       reference=await _media(session, row.reference_media_id))


async def get_result(res: Resources, principal: Principal, job_id: uuid.UUID) -> ResultRow:
    """The stored result; 409 `job.cancelled` for a cancelled job, 409 `job.result_pending`
    until the job has finished."""
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        job = await _visible_job(session, job_id, principal)
        row = await queries.result(session, job_id)
    if job.status == "cancelled":
        raise job_conflict("job.cancelled", f"job {job_id} was cancelled: it has no result", job.status)
    if row is None or job.status in ("queued", "processing"):
        raise job_conflict("job.result_pending", f"job {job_id} has not finished yet", job.status)
    return row


async def cancel_job(res: Resources, principal: Principal, job_id: uuid.UUID) -> CancelledJob:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        job = await _visible_job(session, job_id, principal)
        end = await queries.cancel_running(session, job_id, principal.user_id)
        if end is not None:
            await record_audit(session, schema="kzone", actor=principal, zone_id=principal.zone_id, org_id=end.org_id,
                               target_type="ai_job", target_id=job_id, action="kzone.ai_job.cancelled",
                               before={"status": job.status, "kind": job.kind}, after={"status": "cancelled"})
        else:
            end = await queries.job_end(session, job_id)
            if end is None:
                raise AppError(404, "job.not_found", "no such job")
            if end.status != "cancelled":
                raise job_conflict("job.finished", f"job {job_id} already {end.status}", end.status)
        # Inside the transaction, so the job is never cancelled in the database while its progress
        # still says running (inference reads only the progress hash).
        await progress_of(res).finish(principal.zone_id, end.org_id, job_id, status="cancelled",
                                      error="cancelled", step="cancelled")
    return CancelledJob(job_id=job_id, kind=job.kind, cancelled_by=end.cancelled_by, finished_at=end.finished_at)
