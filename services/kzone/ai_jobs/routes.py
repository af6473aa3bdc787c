"""AI jobs over HTTP: submit (`/voice/analyze`, `/dance/pose-detection`, `/tutor/feedback`,
202 with the job id), then read (`/jobs/{id}`, `/jobs/{id}/result`) or cancel.

Polling: `GET /api/v1/jobs/{id}/progress` (Redis only, shared router) while running; then the
DB-backed `GET /api/v1/kzone/jobs/{id}` / `.../result` once.
"""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problem_response, problems
from megacity.runtime import ResourcesDep
from services.kzone import permissions as perm
from services.kzone.ai_jobs import service
from services.kzone.ai_jobs.queries import MediaRefRow
from services.kzone.ai_jobs.schemas import (
    MAX_REFERENCE_TEXT,
    JobAccepted,
    JobCancelled,
    JobDetail,
    JobResult,
    MediaRef,
    TutorFeedbackIn,
    VoiceForm,
    job_conflict_responses,
)
from services.kzone.api_docs import AUTH_ERRORS, ORG_REQUIRED, UPLOAD_ERRORS, multipart_body
from services.kzone.service_state import KzoneStateDep, ObjectUrls, ObjectUrlsDep, org_member
from services.kzone.upload_stream import FileField, UploadReceiver

router = APIRouter(prefix="/api/v1/kzone", tags=["ai-jobs"])

JobUploader = Annotated[Principal, Depends(org_member(perm.AI_JOB_CREATE))]  # the org is checked before the upload is read
JobSubmitter = Annotated[Principal, Depends(require(perm.AI_JOB_CREATE))]
JobReader = Annotated[Principal, Depends(require(perm.AI_JOB_READ))]

_NOT_FOUND = problem_response(404, "job.not_found", "No such job (or not yours)")
_AUDIO = frozenset({"audio"})
_VISUAL = frozenset({"video", "image"})


def _media(row: MediaRefRow | None, urls: ObjectUrls) -> MediaRef | None:
    if row is None:
        return None
    return MediaRef(id=row.id, kind=row.media_kind, content_type=row.content_type, size_bytes=row.size_bytes,
                    url=urls(row.storage_key))


@router.post("/voice/analyze", status_code=202, response_model=JobAccepted,
             summary="Analyse a spoken attempt: transcript, word alignment, pronunciation score, LLM feedback",
             description="Needs `kzone:job_create`. multipart/form-data: `audio` (mp3, wav, ogg, flac, m4a, aac or "
                         "webm; checked by magic bytes), `reference_text` (what the learner should have said), "
                         "optional `language` (ISO code, e.g. `en`, `ko`; auto-detected when absent) and "
                         "`feedback` (`true` by default: an LLM writes feedback once the score is known). "
                         "Answers 202 with the job id; poll the progress URL.",
             responses=problems(UPLOAD_ERRORS, ORG_REQUIRED),
             openapi_extra=multipart_body({
                 "audio": {"type": "string", "format": "binary"},
                 "reference_text": {"type": "string", "maxLength": MAX_REFERENCE_TEXT,
                                    "example": "The quick brown fox jumps over the lazy dog"},
                 "language": {"type": "string", "example": "en"},
                 "feedback": {"type": "boolean", "default": True}}, ["audio", "reference_text"]))
async def analyze_voice(request: Request, principal: JobUploader, res: ResourcesDep,
                        state: KzoneStateDep) -> JobAccepted:
    async with UploadReceiver(request, state.storage, files=[FileField("audio", _AUDIO)],
                              text_fields=VoiceForm.FIELDS, max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        form = VoiceForm.parse(upload.fields)
        await upload.store()
        job = await service.submit_voice(res, state.storage, principal, upload.files["audio"].stored(), form)
        upload.keep()
    return JobAccepted.queued(job.job_id, job.kind, job.input_media_id)


@router.post("/dance/pose-detection", status_code=202, response_model=JobAccepted,
             summary="Detect pose landmarks in a dance video or photo, optionally scored against a reference",
             description="Needs `kzone:job_create`. multipart/form-data: `file` (video: mp4, mov, webm, mkv, avi; "
                         "or image: jpeg, png, gif, webp) and optional `reference` (same kinds). The keypoints (33 "
                         "landmarks per frame) are stored as an object at `kzone/pose/{media_id}/keypoints.json`; "
                         "with a reference, the result has a similarity score (0-100).",
             responses=problems(UPLOAD_ERRORS, ORG_REQUIRED),
             openapi_extra=multipart_body({"file": {"type": "string", "format": "binary"},
                                           "reference": {"type": "string", "format": "binary"}}, ["file"]))
async def detect_pose(request: Request, principal: JobUploader, res: ResourcesDep,
                      state: KzoneStateDep) -> JobAccepted:
    async with UploadReceiver(request, state.storage,
                              files=[FileField("file", _VISUAL), FileField("reference", _VISUAL, required=False)],
                              text_fields=frozenset(), max_file_bytes=state.settings.max_upload_bytes) as upload:
        await upload.receive()
        await upload.store()
        reference = upload.files.get("reference")
        job = await service.submit_pose(res, state.storage, principal, upload.files["file"].stored(),
                                        reference.stored() if reference is not None else None)
        upload.keep()
    return JobAccepted.queued(job.job_id, job.kind, job.input_media_id, job.reference_media_id)


@router.post("/tutor/feedback", status_code=202, response_model=JobAccepted,
             summary="Ask the AI tutor for feedback on a learner's answer",
             description="Needs `kzone:job_create`. The inference service's LLM writes the feedback as a queued "
                         "job (with the answer's similarity to `reference_answer` where embeddings are served); "
                         "poll its progress, then read the result.",
             responses=problems(AUTH_ERRORS, ORG_REQUIRED))
async def tutor_feedback(body: TutorFeedbackIn, principal: JobSubmitter, res: ResourcesDep) -> JobAccepted:
    job = await service.submit_tutor(res, principal, body)
    return JobAccepted.queued(job.job_id, job.kind)


@router.get("/jobs/{job_id}", response_model=JobDetail, summary="An AI job, from the database",
            description="Needs `kzone:job_read`. Call once when progress says the job finished (not for polling). "
                        "Another org's job, or another user's job for a non-staff caller, is 404.",
            responses=problems(AUTH_ERRORS, _NOT_FOUND))
async def get_job(job_id: uuid.UUID, principal: JobReader, res: ResourcesDep, urls: ObjectUrlsDep) -> JobDetail:
    view = await service.get_job(res, principal, job_id)
    job = view.job
    return JobDetail(job_id=job.id, kind=job.kind, status=job.status, owner_id=job.owner_id,
                     created_at=job.created_at, finished_at=job.finished_at, error=job.error,
                     parent_job_id=job.parent_job_id, params=view.params, input=_media(view.input, urls),
                     reference=_media(view.reference, urls), has_result=view.has_result,
                     result_url=f"/api/v1/kzone/jobs/{job_id}/result")


@router.get("/jobs/{job_id}/result", response_model=JobResult, summary="An AI job's result, from the database",
            description="Needs `kzone:job_read`. 409 `job.result_pending` until the job has finished, "
                        "409 `job.cancelled` for a cancelled job.",
            responses=job_conflict_responses(
                problems(AUTH_ERRORS, _NOT_FOUND), "The job has not finished yet, or was cancelled (`job_status` says which)",
                ("job.result_pending", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 has not finished yet", "processing"),
                ("job.cancelled", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 was cancelled: it has no result",
                 "cancelled")))
async def get_job_result(job_id: uuid.UUID, principal: JobReader, res: ResourcesDep,
                         urls: ObjectUrlsDep) -> JobResult:
    row = await service.get_result(res, principal, job_id)
    return JobResult(job_id=job_id, kind=row.kind, status=row.status, result=row.result, error=row.error,
                     keypoints_url=urls(row.result_key) if row.result_key else None, created_at=row.created_at)


@router.post("/jobs/{job_id}/cancel", response_model=JobCancelled, summary="Cancel a queued or running AI job",
             description="Needs `kzone:job_read`; the job's owner, or staff of its org. The job ends `cancelled` at "
                         "once (database and progress); the inference service sees that before its next step, "
                         "stops and frees its slot, and a result that still arrives is dropped. Cancelling a "
                         "cancelled job again answers the same; a job that already succeeded or failed is 409 "
                         "`job.finished`.",
             responses=job_conflict_responses(
                 problems(AUTH_ERRORS, _NOT_FOUND), "The job already succeeded or failed (`job_status` says which)",
                 ("job.finished", "job 5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3 already succeeded", "succeeded")))
async def cancel_job(job_id: uuid.UUID, principal: JobReader, res: ResourcesDep) -> JobCancelled:
    done = await service.cancel_job(res, principal, job_id)
    return JobCancelled(job_id=done.job_id, kind=done.kind, status="cancelled", cancelled_by=done.cancelled_by,
                        finished_at=done.finished_at)
