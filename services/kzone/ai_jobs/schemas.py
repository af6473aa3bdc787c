"""Request and response models of AI jobs, and the OpenAPI shape of their 409s."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.errors import AppError
from megacity.http_app import PROBLEM, PROBLEM_SCHEMA

JobKind = Literal["voice", "pose", "tutor"]
MAX_REFERENCE_TEXT = 1000


@dataclass(frozen=True)
class VoiceForm:
    """The text fields of a voice-analysis upload (multipart, so parsed here, not by pydantic)."""

    reference_text: str
    language: str | None
    feedback: bool

    FIELDS = frozenset({"reference_text", "language", "feedback"})

    @classmethod
    def parse(cls, fields: dict[str, str]) -> VoiceForm:
        """422 `request.invalid` for a missing or overlong reference text, a language that is not
        an ISO code, or a feedback flag that is not a boolean."""
        reference_text = " ".join(fields.get("reference_text", "").split())
        if not reference_text or len(reference_text) > MAX_REFERENCE_TEXT:
            raise AppError(422, "request.invalid", f"reference_text is required (1-{MAX_REFERENCE_TEXT} characters)",
                           {"errors": [{"loc": ["body", "reference_text"], "msg": "required, 1-1000 characters",
                                        "type": "value_error"}]})
        language = (fields.get("language") or "").strip().lower() or None
        if language is not None and not (2 <= len(language) <= 8 and language.replace("-", "").isalpha()):
            raise AppError(422, "request.invalid", "language must be an ISO code such as en or ko")
        feedback_raw = (fields.get("feedback") or "true").strip().lower()
        if feedback_raw not in ("true", "false", "1", "0", "yes", "no"):
            raise AppError(422, "request.invalid", "feedback must be true or false")
        return cls(reference_text, language, feedback_raw in ("true", "1", "yes"))


_JOB_CONFLICT_SCHEMA: dict[str, Any] = {**PROBLEM_SCHEMA, "required": [*PROBLEM_SCHEMA["required"], "job_status"],
                                        "properties": {**PROBLEM_SCHEMA["properties"], "job_status": {
                                            "type": "string", "description": "the job's status now",
                                            "enum": ["queued", "processing", "succeeded", "failed", "cancelled"]}}}


def job_conflict_responses(documented: dict[int | str, dict[str, Any]], description: str,
                           *cases: tuple[str, str, str]) -> dict[int | str, dict[str, Any]]:
    """`documented` (from `problems(...)`) plus the 409 of `service.job_conflict` problems, which
    has its own schema (`job_status`): one example per (code, detail, job_status)."""
    if 409 in documented:
        raise ValueError("409 is documented by the job-conflict entry alone")
    examples = {code: {"summary": code, "value": {
        "type": "about:blank", "title": "Conflict", "status": 409, "code": code, "detail": detail,
        "job_status": job_status}} for code, detail, job_status in cases}
    return {**documented, 409: {"description": description,
                                "content": {PROBLEM: {"schema": _JOB_CONFLICT_SCHEMA, "examples": examples}}}}


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

    @classmethod
    def queued(cls, job_id: uuid.UUID, kind: JobKind, input_media_id: uuid.UUID | None = None,
               reference_media_id: uuid.UUID | None = None) -> JobAccepted:
        return cls(job_id=job_id, kind=kind, status="queued", input_media_id=input_media_id,
                   reference_media_id=reference_media_id, progress_url=f"/api/v1/jobs/{job_id}/progress",
                   events_url=f"/api/v1/jobs/{job_id}/events", detail_url=f"/api/v1/kzone/jobs/{job_id}",
                   result_url=f"/api/v1/kzone/jobs/{job_id}/result")


class TutorFeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "How do you say 'thank you' politely in Korean?", "answer": "감사합니다 (gamsahamnida)",
        "reference_answer": "감사합니다", "language": "en"}]})

    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=4000)
    reference_answer: str | None = Field(default=None, max_length=4000)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[a-z]{2})?$", description="Language of the feedback")
    content_id: uuid.UUID | None = Field(default=None, description="Catalogue content the question is about")


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


class JobCancelled(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "voice", "status": "cancelled",
        "cancelled_by": "7c1d2e3f-4051-4b6c-8d7e-8f90a1b2c3d4", "finished_at": "2026-11-27T12:00:04Z"}]})

    job_id: uuid.UUID
    kind: str
    status: Literal["cancelled"]
    cancelled_by: uuid.UUID | None
    finished_at: dt.datetime | None
