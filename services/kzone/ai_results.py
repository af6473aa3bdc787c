"""Consumes `ai.result.*` from the inference service and stores the outcome.

One message per finished job (Nats-Msg-Id `<job_id>:result`), payload `{job_id, zone_id, org_id,
kind, status: succeeded|failed|cancelled, result | error}`. A cancelled job stays cancelled:
whatever result still arrives for it is dropped (logged); inference's own `cancelled` result
ends a job that is not yet cancelled here the same way. Runs inside the idempotent consumer's
transaction (inbox row + effects commit together, then ack), under the job's tenant context.
Three guards keep a job to one result row: JetStream's duplicate window, the inbox, and the
unique `kzone_ai_results.job_id` (a late or re-published duplicate finds the row and stops).

Per kind:
- voice: the pronunciation score and the word alignment with timings come in the result (the
  inference service computes them in the voice job, `pronunciation{…}`); K-Zone stores them under
  its result's names (`pronunciation_score`, `alignment`, …) and scores nothing itself. The LLM
  feedback comes in the same result. When it is missing although asked for (that replica serves
  no LLM), a tutor job is queued for it, and the voice job stays `processing` until that job's
  result is folded into the voice result;
- pose: the keypoints JSON is an object (`kzone/pose/{media_id}/keypoints.json`, written by
  inference and referenced by `keypoints_ref`, or written here when sent inline); the result
  row keeps the summary (frames, first pose, similarity to the reference) and the object key;
- tutor: the feedback text; for a voice job's feedback, completes that voice job too.
Progress is finished in Redis only after the commit (`after_commit`).
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext
from megacity.events import Event, set_tenant
from megacity.events.envelope import dumps
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.kzone import tutor_prompts
from services.kzone.after_commit import after_commit
from services.kzone.ai_jobs import TUTOR_MAX_TOKENS, enqueue_job, inline_ref
from services.kzone.service_state import KzoneState
from services.kzone.storage import keys

log = get_logger("kzone.ai_results")

MAX_ERROR_CHARS = 2000


class JobFailed(Exception):
    """The result cannot be used (missing object, no pose…): the job fails, no retry."""


def _finish_later(session: AsyncSession, progress: JobProgress, zone: int, org: uuid.UUID, job_id: uuid.UUID,
                  status: str, error: str | None = None) -> None:
    async def _finish() -> None:
        await progress.finish(zone, org, job_id, status=status, error=error[:500] if error else None)

    after_commit(session, _finish, f"finish {job_id}")


async def _store_result(session: AsyncSession, job: Any, event: Event, status: str, *, result: Any = None,
                        error: str | None = None, result_key: str | None = None) -> bool:
    inserted = (await session.execute(text(
        "INSERT INTO kzone.kzone_ai_results (job_id, zone_id, org_id, kind, status, result, error, result_key,"
        " event_id) VALUES (:job, :zone, :org, :kind, :status, CAST(:result AS jsonb), :error, :key, :event)"
        " ON CONFLICT (job_id) DO NOTHING RETURNING id"),
        {"job": job.id, "zone": job.zone_id, "org": job.org_id, "kind": job.kind, "status": status,
         "result": dumps(result) if result is not None else None, "error": error, "key": result_key,
         "event": event.id})).first()
    return inserted is not None


async def _set_job(session: AsyncSession, job_id: uuid.UUID, status: str, error: str | None = None) -> None:
    finished = status in ("succeeded", "failed")
    await session.execute(text(
        "UPDATE kzone.kzone_ai_jobs SET status = :status, error = :error,"
        " finished_at = CASE WHEN :finished THEN now() ELSE finished_at END WHERE id = :id"),
        {"status": status, "error": error, "finished": finished, "id": job_id})


def make_result_handler(state: KzoneState):
    """The `ai.result.*` handler, bound to this process's storage."""

    async def on_ai_result(session: AsyncSession, event: Event, res: Resources) -> None:
        p = event.payload
        job_id = uuid.UUID(str(p["job_id"]))
        zone = int(p.get("zone_id") or event.zone_id or 0)
        org = uuid.UUID(str(p.get("org_id") or event.org_id))
        await set_tenant(session, TenantContext(zone_id=zone, org_id=org))
        job = (await session.execute(text(
            "SELECT id, zone_id, org_id, owner_id, kind, status, params, input_media_id, reference_media_id,"
            " parent_job_id FROM kzone.kzone_ai_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})).first()
        if job is None:
            log.warning("result for an unknown job (or another tenant's)", job_id=str(job_id), zone_id=zone)
            return
        if p.get("kind") not in (None, job.kind):
            log.warning("result kind does not match the job", job_id=str(job_id), kind=p.get("kind"))
            return
        exists = (await session.execute(text("SELECT 1 FROM kzone.kzone_ai_results WHERE job_id = :id"),
                                        {"id": job_id})).first()
        if exists is not None:
            log.info("duplicate result ignored", job_id=str(job_id), event_id=event.id)
            return
        progress = JobProgress(res.redis, res.keys)
        status = p.get("status")
        if status not in ("succeeded", "failed", "cancelled"):
            raise ValueError(f"result status must be succeeded, failed or cancelled, got {status!r}")
        if job.status == "cancelled":
            log.info("result for a cancelled job dropped", job_id=str(job_id), status=status)
            return
        if status == "cancelled":
            await session.execute(text(
                "UPDATE kzone.kzone_ai_jobs SET status = 'cancelled', finished_at = now(), error = 'cancelled'"
                " WHERE id = :id"), {"id": job_id})
            _finish_later(session, progress, job.zone_id, job.org_id, job.id, "cancelled", "cancelled")
            return
        if status == "failed":
            await _fail(session, progress, job, event, str(p.get("error") or "the AI job failed"))
            return
        result = p.get("result") if isinstance(p.get("result"), dict) else {}
        try:
            if job.kind == "voice":
                await _voice(session, progress, job, event, result)
            elif job.kind == "pose":
                await _pose(session, progress, job, event, result, state)
            else:
                await _tutor(session, progress, job, event, result)
        except JobFailed as exc:
            await _fail(session, progress, job, event, str(exc))

    return on_ai_result


async def _fail(session: AsyncSession, progress: JobProgress, job: Any, event: Event, error: str) -> None:
    error = error[:MAX_ERROR_CHARS]
    await _store_result(session, job, event, "failed", error=error)
    await _set_job(session, job.id, "failed", error)
    _finish_later(session, progress, job.zone_id, job.org_id, job.id, "failed", error)
    if job.parent_job_id is not None:
        await _fold_feedback(session, progress, job.parent_job_id, None, error)


def _pronunciation(job: Any, result: dict[str, Any]) -> dict[str, Any]:
    """The voice job's `pronunciation` document, under the names K-Zone's stored result uses."""
    doc = result.get("pronunciation")
    if not isinstance(doc, dict):
        log.warning("voice result without a pronunciation score", job_id=str(job.id))
        doc = {}
    alignment = doc.get("alignment")
    out = {"reference_words": doc.get("reference_words"), "heard_words": doc.get("heard_words"),
           "pronunciation_score": doc.get("score"), "accuracy": doc.get("accuracy"),
           "completeness": doc.get("completeness"), "wer": doc.get("wer"), "counts": doc.get("counts"),
           "alignment": alignment if isinstance(alignment, list) else []}
    if doc.get("alignment_truncated"):
        out["alignment_truncated"] = True
    return out


async def _voice(session: AsyncSession, progress: JobProgress, job: Any, event: Event, result: dict[str, Any]) -> None:
    params = job.params or {}
    transcript = str(result.get("text") or result.get("transcript") or "").strip()
    scoring = _pronunciation(job, result)
    wanted = bool(params.get("feedback", True))
    feedback = str(result.get("feedback") or "").strip() or None
    doc: dict[str, Any] = {
        "transcript": transcript, "language": result.get("language") or params.get("language"),
        "duration": result.get("duration_seconds", result.get("duration")),
        "reference_text": params.get("reference_text"), "models": result.get("models"), **scoring,
        "feedback": feedback, "feedback_status": "succeeded" if feedback else ("pending" if wanted else "skipped")}
    if feedback or not wanted:
        await _store_result(session, job, event, "succeeded", result=doc)
        await _set_job(session, job.id, "succeeded")
        _finish_later(session, progress, job.zone_id, job.org_id, job.id, "succeeded")
        return
    # No LLM on the replica that transcribed: ask the tutor (any replica serving the LLM).
    feedback_job = uuid.uuid4()
    doc["feedback_job_id"] = str(feedback_job)
    await _store_result(session, job, event, "succeeded", result=doc)
    await _set_job(session, job.id, "processing")
    reference_text = params.get("reference_text", "")
    await enqueue_job(
        session, progress, zone_id=job.zone_id, org_id=job.org_id, owner_id=job.owner_id, kind="tutor",
        job_id=feedback_job, input_ref=inline_ref(transcript or "(nothing was recognised)"), parent_job_id=job.id,
        params={"purpose": "voice_feedback", "parent_job_id": str(job.id),
                "question": tutor_prompts.voice_feedback_question(reference_text, scoring),
                "reference_answer": reference_text, "language": params.get("language"),
                "max_tokens": TUTOR_MAX_TOKENS})
    await progress.update(job.zone_id, job.org_id, job.id, step="feedback", progress=80.0)


async def _fold_feedback(session: AsyncSession, progress: JobProgress, voice_job_id: uuid.UUID,
                         feedback: str | None, error: str | None) -> None:
    """Put a feedback job's outcome into its voice job's result and complete the voice job."""
    parent = (await session.execute(text(
        "SELECT id, zone_id, org_id, status FROM kzone.kzone_ai_jobs WHERE id = :id FOR UPDATE"),
        {"id": voice_job_id})).first()
    if parent is None or parent.status != "processing":
        return
    patch = {"feedback": feedback, "feedback_status": "succeeded" if feedback else "failed"}
    if error:
        patch["feedback_error"] = error[:500]
    await session.execute(text(
        "UPDATE kzone.kzone_ai_results SET result = result || CAST(:patch AS jsonb), updated_at = now()"
        " WHERE job_id = :id"), {"patch": json.dumps(patch), "id": voice_job_id})
    await _set_job(session, voice_job_id, "succeeded")
    _finish_later(session, progress, parent.zone_id, parent.org_id, parent.id, "succeeded")


async def _tutor(session: AsyncSession, progress: JobProgress, job: Any, event: Event, result: dict[str, Any]) -> None:
    feedback = str(result.get("text") or result.get("feedback") or result.get("output") or "").strip()
    if not feedback:
        raise JobFailed("the model returned no text")
    doc = {"feedback": feedback, "purpose": (job.params or {}).get("purpose"),
           "answer_similarity": result.get("answer_similarity"), "finish_reason": result.get("finish_reason"),
           "completion_tokens": result.get("completion_tokens"), "models": result.get("models")}
    await _store_result(session, job, event, "succeeded", result=doc)
    await _set_job(session, job.id, "succeeded")
    _finish_later(session, progress, job.zone_id, job.org_id, job.id, "succeeded")
    if job.parent_job_id is not None:
        await _fold_feedback(session, progress, job.parent_job_id, feedback, None)


def _xyzv(point: Any) -> list[float]:
    values = ([point.get("x", 0), point.get("y", 0), point.get("z", 0), point.get("visibility", 0)]
              if isinstance(point, dict) else list(point)[:4])
    return [round(float(v), 4) for v in values]


def _inline_summary(doc: Any) -> dict[str, Any]:
    """Counts and the first pose of a keypoints document sent inline."""
    frames = doc.get("frames") if isinstance(doc, dict) else doc
    frames = frames if isinstance(frames, list) else []
    detected = [f for f in frames if isinstance(f, dict) and isinstance(f.get("landmarks"), list) and f["landmarks"]]
    first = detected[0]["landmarks"] if detected else None
    return {"frames": len(frames), "detected_frames": len(detected),
            "first_pose": [_xyzv(p) for p in first] if first else None}


async def _pose(session: AsyncSession, progress: JobProgress, job: Any, event: Event, result: dict[str, Any],
                state: KzoneState) -> None:
    storage = state.storage
    summary: dict[str, Any] = {}
    if result.get("keypoints_ref"):
        try:
            key = storage.key_from_ref(str(result["keypoints_ref"]))
        except ValueError as exc:
            raise JobFailed(f"keypoints_ref is not one of this deployment's objects: {exc}") from None
        if not await storage.exists(key):
            raise JobFailed(f"keypoints object {result['keypoints_ref']} does not exist")
    elif result.get("keypoints") is not None and job.input_media_id is not None:
        key = keys.pose_keypoints(job.input_media_id)
        await storage.put_bytes(key, dumps(result["keypoints"]).encode(), "application/json")
        summary = _inline_summary(result["keypoints"])
    else:
        raise JobFailed("the pose result has neither keypoints_ref nor keypoints")
    first = result.get("first_pose", summary.get("first_pose"))
    out: dict[str, Any] = {
        "keypoints_key": key,
        "frames": result["frames"] if isinstance(result.get("frames"), int) else summary.get("frames"),
        "frames_with_pose": result.get("detected_frames", summary.get("detected_frames")),
        "landmarks_per_frame": len(first) if isinstance(first, list) else 0,
        # The first detected pose (33 x [x, y, z, visibility], ~3 KB) so a client can draw it at once.
        "first_pose": [_xyzv(p) for p in first] if isinstance(first, list) else None,
        "width": result.get("width"), "height": result.get("height"), "fps": result.get("fps"),
        "total_frames": result.get("total_frames"),
        "similarity": result.get("similarity") if job.reference_media_id is not None else None,
        "models": result.get("models")}
    await _store_result(session, job, event, "succeeded", result=out, result_key=key)
    await _set_job(session, job.id, "succeeded")
    _finish_later(session, progress, job.zone_id, job.org_id, job.id, "succeeded")
