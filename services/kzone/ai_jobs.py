"""AI jobs (`kzone.kzone_ai_jobs`): voice analysis, dance pose detection and tutor feedback.

Submitting a job stores its input (streamed upload), writes the job row and the `ai.job.<kind>`
outbox event in one transaction, and creates the job's progress hash in Redis (owner = caller)
before that transaction commits, so the hash exists before the event can be published. The
inference service takes the job from JetStream, reports steps into the same hash and publishes
`ai.result.<kind>`; `ai_results` stores the result and finishes the hash.

Polling: `GET /api/v1/jobs/{id}/progress` (Redis only, shared router) while running; then the
DB-backed `GET /api/v1/kzone/jobs/{id}` / `.../result` once.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events import add_event
from megacity.http_app import PROBLEM, PROBLEM_SCHEMA, problem_response
from megacity.job_progress import JobProgress
from megacity.runtime import Resources, resources
from services.kzone import permissions as perm
from services.kzone.service_state import KzoneState, kzone_state, org_of
from services.kzone.storage import keys
from services.kzone.upload_stream import FileField, UploadReceiver
from services.kzone.uploads import UPLOAD_ERRORS, insert_media, multipart_body

router = APIRouter(prefix="/api/v1/kzone", tags=["ai-jobs"])

JobKind = Literal["voice", "pose", "tutor"]
MAX_REFERENCE_TEXT = 1000
TUTOR_MAX_TOKENS = 200


def inline_ref(text_value: str) -> str:
    """A tutor job's input: the learner's answer travels in the job itself (`inline:<text>`)."""
    return "inline:" + text_value
_NOT_FOUND = problem_response(404, "job.not_found", "No such job (or not yours)")
_JOB_CONFLICT_SCHEMA: dict[str, Any] = {**PROBLEM_SCHEMA, "required": [*PROBLEM_SCHEMA["required"], "job_status"],
                                        "properties": {**PROBLEM_SCHEMA["properties"], "job_status": {
                                            "type": "string", "description": "the job's status now",
                                            "enum": ["queued", "processing", "succeeded", "failed", "cancelled"]}}}


def job_conflict(code: str, detail: str, job_status: str) -> AppError:
    """409 for a job in the wrong state. Its status goes in `job_status`: the problem's own
    `status` is the HTTP status (RFC 9457)."""
    return AppError(409, code, detail, {"job_status": job_status})


def _job_conflict_responses(description: str, *cases: tuple[str, str, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entry for `job_conflict` problems: one example per (code, detail, job_status)."""
    examples = {code: {"summary": code, "value": {
        "type": "about:blank", "title": "Conflict", "status": 409, "code": code, "detail": detail,
        "job_status": job_status}} for code, detail, job_status in cases}
    return {409: {"description": description,
                  "content": {PROBLEM: {"schema": _JOB_CONFLICT_SCHEMA, "examples": examples}}}}
_AUTH = {**problem_response(401, "auth.token_missing", "An access token is required"),
         **problem_response(403, "auth.permission_denied", "The caller's role lacks the permission")}


class JobAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "voice", "status": "queued",
        "input_media_id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "reference_media_id": None,
        "progress_url": "/api/v1/jobs/5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3/progress",
        "events_url": "/api/v1/jobs/5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3/events",
        "detail_url": "/api/v1/kzone/jobs/5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
        "result_url": "/api/v1/kzone/jobs/5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3/result"}]})

    job_id: uuid.UUID
    kind: JobKind
    status: str
    input_media_id: uuid.UUID | None = None
    reference_media_id: uuid.UUID | None = None
    progress_url: str = Field(description="Poll while running (Redis only, cheap)")
    events_url: str = Field(description="Or receive progress pushed as Server-Sent Events")
    detail_url: str
    result_url: str


def accepted(job_id: uuid.UUID, kind: str, input_media: uuid.UUID | None = None,
             reference_media: uuid.UUID | None = None) -> JobAccepted:
    return JobAccepted(job_id=job_id, kind=kind, status="queued", input_media_id=input_media,  # type: ignore[arg-type]
                       reference_media_id=reference_media, progress_url=f"/api/v1/jobs/{job_id}/progress",
                       events_url=f"/api/v1/jobs/{job_id}/events", detail_url=f"/api/v1/kzone/jobs/{job_id}",
                       result_url=f"/api/v1/kzone/jobs/{job_id}/result")


async def enqueue_job(session: AsyncSession, progress: JobProgress, *, zone_id: int, org_id: uuid.UUID,
                      owner_id: uuid.UUID, kind: str, job_id: uuid.UUID, input_ref: str | None,
                      params: dict[str, Any], input_media_id: uuid.UUID | None = None,
                      reference_media_id: uuid.UUID | None = None, parent_job_id: uuid.UUID | None = None) -> None:
    """Job row + `ai.job.<kind>` outbox event in the caller's transaction, then the progress hash
    (so it exists before the relay can publish). The caller deletes the hash if the
    transaction then fails (`forget_progress`)."""
    from megacity.events.envelope import dumps

    await session.execute(text(
        "INSERT INTO kzone.kzone_ai_jobs (id, zone_id, org_id, owner_id, kind, input_media_id, reference_media_id,"
        " parent_job_id, params) VALUES (:id, :zone, :org, :owner, :kind, :input, :reference, :parent,"
        " CAST(:params AS jsonb))"),
        {"id": job_id, "zone": zone_id, "org": org_id, "owner": owner_id, "kind": kind, "input": input_media_id,
         "reference": reference_media_id, "parent": parent_job_id, "params": dumps(params)})
    await add_event(session, "kzone", f"ai.job.{kind}", {
        "job_id": str(job_id), "zone_id": zone_id, "org_id": str(org_id), "kind": kind, "input_ref": input_ref,
        "params": params}, zone_id=zone_id, org_id=org_id)
    await progress.create(zone_id, org_id, job_id, kind=kind, owner=owner_id)


async def forget_progress(progress: JobProgress, zone_id: int, org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    await progress.redis.delete(progress.key(zone_id, org_id, job_id))


def _progress(res: Resources) -> JobProgress:
    return JobProgress(res.redis, res.keys)


@router.post("/voice/analyze", status_code=202, response_model=JobAccepted,
             summary="Analyse a spoken attempt: transcript, word alignment, pronunciation score, LLM feedback",
             description="Needs `attempt:create`. multipart/form-data: `audio` (mp3, wav, ogg, flac, m4a, aac or "
                         "webm; checked by magic bytes), `reference_text` (what the learner should have said), "
                         "optional `language` (ISO code, e.g. `en`, `ko`; auto-detected when absent) and "
                         "`feedback` (`true` by default: an LLM writes feedback once the score is known). "
                         "Answers 202 with the job id; poll the progress URL.",
             responses={**UPLOAD_ERRORS},
             openapi_extra=multipart_body({
                 "audio": {"type": "string", "format": "binary"},
                 "reference_text": {"type": "string", "maxLength": MAX_REFERENCE_TEXT,
                                    "example": "The quick brown fox jumps over the lazy dog"},
                 "language": {"type": "string", "example": "en"},
                 "feedback": {"type": "boolean", "default": True}}, ["audio", "reference_text"]))
async def analyze_voice(request: Request, principal: Principal = Depends(require(perm.AI_JOB_CREATE)),
                        res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> JobAccepted:
    org = org_of(principal)
    progress = _progress(res)
    job_id = uuid.uuid4()
    async with UploadReceiver(request, state.storage, files=[FileField("audio", frozenset({"audio"}))],
                              text_fields={"reference_text", "language", "feedback"},
                              max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        reference_text = " ".join(upload.fields.get("reference_text", "").split())
        if not reference_text or len(reference_text) > MAX_REFERENCE_TEXT:
            raise AppError(422, "request.invalid", f"reference_text is required (1-{MAX_REFERENCE_TEXT} characters)",
                           {"errors": [{"loc": ["body", "reference_text"], "msg": "required, 1-1000 characters",
                                        "type": "value_error"}]})
        language = (upload.fields.get("language") or "").strip().lower() or None
        if language is not None and not (2 <= len(language) <= 8 and language.replace("-", "").isalpha()):
            raise AppError(422, "request.invalid", "language must be an ISO code such as en or ko")
        feedback_raw = (upload.fields.get("feedback") or "true").strip().lower()
        if feedback_raw not in ("true", "false", "1", "0", "yes", "no"):
            raise AppError(422, "request.invalid", "feedback must be true or false")
        audio = upload.files["audio"]
        await upload.commit()
        params = {"reference_text": reference_text, "language": language, "content_type": audio.media.content_type,
                  "feedback": feedback_raw in ("true", "1", "yes")}
        try:
            async with tenant_transaction(res.db(), principal.tenant()) as session:
                await insert_media(session, principal, audio, "ai_input")
                await enqueue_job(session, progress, zone_id=principal.zone_id, org_id=org,
                                  owner_id=principal.user_id, kind="voice", job_id=job_id,
                                  input_ref=state.storage.ref(audio.key), params=params, input_media_id=audio.media_id)
        except BaseException:
            await forget_progress(progress, principal.zone_id, org, job_id)
            raise
        upload.keep()
    return accepted(job_id, "voice", audio.media_id)


@router.post("/dance/pose-detection", status_code=202, response_model=JobAccepted,
             summary="Detect pose landmarks in a dance video or photo, optionally scored against a reference",
             description="Needs `attempt:create`. multipart/form-data: `file` (video: mp4, mov, webm, mkv, avi; or "
                         "image: jpeg, png, gif, webp) and optional `reference` (same kinds). The keypoints (33 "
                         "landmarks per frame) are stored as an object at `kzone/pose/{media_id}/keypoints.json`; "
                         "with a reference, the result has a similarity score (0-100).",
             responses={**UPLOAD_ERRORS},
             openapi_extra=multipart_body({"file": {"type": "string", "format": "binary"},
                                           "reference": {"type": "string", "format": "binary"}}, ["file"]))
async def detect_pose(request: Request, principal: Principal = Depends(require(perm.AI_JOB_CREATE)),
                      res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> JobAccepted:
    org = org_of(principal)
    progress = _progress(res)
    job_id = uuid.uuid4()
    visual = frozenset({"video", "image"})
    async with UploadReceiver(request, state.storage,
                              files=[FileField("file", visual), FileField("reference", visual, required=False)],
                              text_fields=set(), max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        await upload.commit()
        main, ref = upload.files["file"], upload.files.get("reference")
        storage = state.storage
        params: dict[str, Any] = {
            "media_kind": main.media.kind, "content_type": main.media.content_type,
            # Where the keypoints JSON goes (seed 001 §2.8), in the same store as the input.
            "output_key": keys.pose_keypoints(main.media_id)}
        if ref is not None:
            params.update({"reference_ref": storage.ref(ref.key), "reference_media_kind": ref.media.kind})
        try:
            async with tenant_transaction(res.db(), principal.tenant()) as session:
                await insert_media(session, principal, main, "ai_input")
                if ref is not None:
                    await insert_media(session, principal, ref, "ai_input")
                await enqueue_job(session, progress, zone_id=principal.zone_id, org_id=org,
                                  owner_id=principal.user_id, kind="pose", job_id=job_id,
                                  input_ref=storage.ref(main.key), params=params, input_media_id=main.media_id,
                                  reference_media_id=ref.media_id if ref else None)
        except BaseException:
            await forget_progress(progress, principal.zone_id, org, job_id)
            raise
        upload.keep()
    return accepted(job_id, "pose", main.media_id, ref.media_id if ref else None)


class TutorFeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "How do you say 'thank you' politely in Korean?", "answer": "감사합니다 (gamsahamnida)",
        "reference_answer": "감사합니다", "language": "en"}]})

    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=4000)
    reference_answer: str | None = Field(default=None, max_length=4000)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[a-z]{2})?$", description="Language of the feedback")
    content_id: uuid.UUID | None = Field(default=None, description="Catalogue content the question is about")


@router.post("/tutor/feedback", status_code=202, response_model=JobAccepted,
             summary="Ask the AI tutor for feedback on a learner's answer",
             description="Needs `attempt:create`. The inference service's LLM writes the feedback as a queued "
                         "job (with the answer's similarity to `reference_answer` where embeddings are served); "
                         "poll its progress, then read the result.",
             responses={**_AUTH})
async def tutor_feedback(body: TutorFeedbackIn, principal: Principal = Depends(require(perm.AI_JOB_CREATE)),
                         res: Resources = Depends(resources)) -> JobAccepted:
    org = org_of(principal)
    progress = _progress(res)
    job_id = uuid.uuid4()
    params = {"purpose": "answer_feedback", "question": body.question, "reference_answer": body.reference_answer,
              "language": body.language, "content_id": str(body.content_id) if body.content_id else None,
              "max_tokens": TUTOR_MAX_TOKENS}
    try:
        async with tenant_transaction(res.db(), principal.tenant()) as session:
            await enqueue_job(session, progress, zone_id=principal.zone_id, org_id=org, owner_id=principal.user_id,
                              kind="tutor", job_id=job_id, input_ref=inline_ref(body.answer), params=params)
    except BaseException:
        await forget_progress(progress, principal.zone_id, org, job_id)
        raise
    return accepted(job_id, "tutor")


# ---- reading jobs (DB-backed) ---------------------------------------------------------------

class MediaRef(BaseModel):
    id: uuid.UUID
    kind: str
    content_type: str
    size_bytes: int
    url: str = Field(description="Presigned GET URL, valid 7 days")


class JobDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "voice", "status": "succeeded",
        "owner_id": "7c1d2e3f-4051-4b6c-8d7e-8f90a1b2c3d4", "created_at": "2026-11-27T12:00:00Z",
        "finished_at": "2026-11-27T12:00:09Z", "error": None, "parent_job_id": None,
        "params": {"reference_text": "The quick brown fox", "language": "en"},
        "input": {"id": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "kind": "audio", "content_type": "audio/wav",
                  "size_bytes": 96044, "url": "https://api.my-ktube.ai/api/v1/kzone/objects/…"},
        "reference": None, "has_result": True, "result_url": "/api/v1/kzone/jobs/5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3/result"}]})

    job_id: uuid.UUID
    kind: str
    status: str = Field(description="queued | processing | succeeded | failed | cancelled (live steps: the progress URL)")
    owner_id: uuid.UUID
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    parent_job_id: uuid.UUID | None
    params: dict[str, Any]
    input: MediaRef | None
    reference: MediaRef | None
    has_result: bool
    result_url: str


class JobResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "voice", "status": "succeeded",
        "result": {"transcript": "The quick brown fox.", "pronunciation_score": 92.4, "accuracy": 1.0,
                   "completeness": 1.0, "wer": 0.0, "alignment": [{"op": "correct", "reference": "the",
                                                                   "heard": "the", "start": 0.0, "end": 0.18,
                                                                   "confidence": 0.97, "score": 97.0}],
                   "feedback": "Clear and accurate! Lengthen the vowel in 'quick'.", "feedback_status": "succeeded"},
        "error": None, "keypoints_url": None, "created_at": "2026-11-27T12:00:09Z"}]})

    job_id: uuid.UUID
    kind: str
    status: str
    result: dict[str, Any] | None
    error: str | None
    keypoints_url: str | None = Field(None, description="Pose jobs: presigned URL of keypoints.json (7 days)")
    created_at: dt.datetime


# Params that are plumbing for the inference service, not something a client needs back.
_PRIVATE_PARAMS = {"output_key", "reference_ref", "max_tokens"}


async def visible_job(session: AsyncSession, job_id: uuid.UUID, principal: Principal) -> Any:
    """The job row if the caller may see it (RLS: same org; then owner or staff), else 404."""
    row = (await session.execute(text(
        "SELECT id, kind, status, owner_id, created_at, finished_at, error, parent_job_id, params, input_media_id,"
        " reference_media_id FROM kzone.kzone_ai_jobs WHERE id = :id"), {"id": job_id})).first()
    if row is None or (row.owner_id != principal.user_id and principal.role not in perm.STAFF_ROLES):
        raise AppError(404, "job.not_found", "no such job")
    return row


async def _media(session: AsyncSession, media_id: uuid.UUID | None, state: KzoneState, request: Request) -> MediaRef | None:
    if media_id is None:
        return None
    m = (await session.execute(text(
        "SELECT id, media_kind, content_type, size_bytes, storage_key FROM kzone.kzone_media WHERE id = :id"),
        {"id": media_id})).first()
    if m is None:
        return None
    return MediaRef(id=m.id, kind=m.media_kind, content_type=m.content_type, size_bytes=m.size_bytes,
                    url=state.presign(request, m.storage_key))


@router.get("/jobs/{job_id}", response_model=JobDetail, summary="An AI job, from the database",
            description="Needs `attempt:read`. Call once when progress says the job finished (not for polling). "
                        "Another org's job, or another user's job for a non-staff caller, is 404.",
            responses={**_AUTH, **_NOT_FOUND})
async def get_job(job_id: uuid.UUID, request: Request, principal: Principal = Depends(require(perm.AI_JOB_READ)),
                  res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> JobDetail:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        row = await visible_job(session, job_id, principal)
        has_result = (await session.execute(text("SELECT 1 FROM kzone.kzone_ai_results WHERE job_id = :id"),
                                            {"id": job_id})).first() is not None
        input_media = await _media(session, row.input_media_id, state, request)
        reference_media = await _media(session, row.reference_media_id, state, request)
    return JobDetail(job_id=row.id, kind=row.kind, status=row.status, owner_id=row.owner_id,
                     created_at=row.created_at, finished_at=row.finished_at, error=row.error,
                     parent_job_id=row.parent_job_id,
                     params={k: v for k, v in (row.params or {}).items() if k not in _PRIVATE_PARAMS},
                     input=input_media, reference=reference_media, has_result=has_result,
                     result_url=f"/api/v1/kzone/jobs/{job_id}/result")


@router.get("/jobs/{job_id}/result", response_model=JobResult, summary="An AI job's result, from the database",
            description="Needs `attempt:read`. 409 `job.result_pending` until the job has finished, "
                        "409 `job.cancelled` for a cancelled job.",
            responses={**_AUTH, **_NOT_FOUND, **_job_conflict_responses(
                "The job has not finished yet, or was cancelled (`job_status` says which)",
                ("job.result_pending", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 has not finished yet", "processing"),
                ("job.cancelled", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 was cancelled: it has no result",
                 "cancelled"))})
async def get_job_result(job_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(require(perm.AI_JOB_READ)),
                         res: Resources = Depends(resources), state: KzoneState = Depends(kzone_state)) -> JobResult:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        job = await visible_job(session, job_id, principal)
        row = (await session.execute(text(
            "SELECT kind, status, result, error, result_key, created_at FROM kzone.kzone_ai_results"
            " WHERE job_id = :id"), {"id": job_id})).first()
    if job.status == "cancelled":
        raise job_conflict("job.cancelled", f"job {job_id} was cancelled: it has no result", job.status)
    if row is None or job.status in ("queued", "processing"):
        raise job_conflict("job.result_pending", f"job {job_id} has not finished yet", job.status)
    return JobResult(job_id=job_id, kind=row.kind, status=row.status, result=row.result, error=row.error,
                     keypoints_url=state.presign(request, row.result_key) if row.result_key else None,
                     created_at=row.created_at)


class JobCancelled(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "voice", "status": "cancelled",
        "cancelled_by": "7c1d2e3f-4051-4b6c-8d7e-8f90a1b2c3d4", "finished_at": "2026-11-27T12:00:04Z"}]})

    job_id: uuid.UUID
    kind: str
    status: Literal["cancelled"]
    cancelled_by: uuid.UUID | None
    finished_at: dt.datetime | None


@router.post("/jobs/{job_id}/cancel", response_model=JobCancelled, summary="Cancel a queued or running AI job",
             description="Needs `attempt:read`; the job's owner, or staff of its org. The job ends `cancelled` at "
                         "once (database and progress); the inference service sees that before its next step, "
                         "stops and frees its slot, and a result that still arrives is dropped. Cancelling a "
                         "cancelled job again answers the same; a job that already succeeded or failed is 409 "
                         "`job.finished`.",
             responses={**_AUTH, **_NOT_FOUND, **_job_conflict_responses(
                 "The job already succeeded or failed (`job_status` says which)",
                 ("job.finished", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 already succeeded", "succeeded"))})
async def cancel_job(job_id: uuid.UUID, principal: Principal = Depends(require(perm.AI_JOB_READ)),
                     res: Resources = Depends(resources)) -> JobCancelled:
    async with tenant_transaction(res.db(), principal.tenant()) as session:
        job = await visible_job(session, job_id, principal)
        row = (await session.execute(text(
            "UPDATE kzone.kzone_ai_jobs SET status = 'cancelled', cancelled_by = :by, finished_at = now(),"
            " error = 'cancelled' WHERE id = :id AND status IN ('queued', 'processing')"
            " RETURNING org_id, finished_at, cancelled_by"), {"id": job_id, "by": principal.user_id})).first()
        if row is None:
            row = (await session.execute(text(
                "SELECT org_id, status, finished_at, cancelled_by FROM kzone.kzone_ai_jobs WHERE id = :id"),
                {"id": job_id})).first()
            if row.status != "cancelled":
                raise job_conflict("job.finished", f"job {job_id} already {row.status}", row.status)
        # Inside the transaction, so the job is never cancelled in the database while its progress
        # still says running (inference reads only the progress hash).
        await _progress(res).finish(principal.zone_id, row.org_id, job_id, status="cancelled",
                                    error="cancelled", step="cancelled")
    return JobCancelled(job_id=job_id, kind=job.kind, status="cancelled", cancelled_by=row.cancelled_by,
                        finished_at=row.finished_at)
