"""What K-Zone does with an AI job's result (`ai.result.*` from the inference service).

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
  no LLM), a tutor job is queued for it (`voice_feedback_question`), and the voice job stays
  `processing` until that job's result is folded into the voice result;
- pose: the keypoints JSON is an object (`kzone/pose/{media_id}/keypoints.json`, written by
  inference and referenced by `keypoints_ref`, or written here when sent inline); the result
  row keeps the summary (frames, first pose, similarity to the reference) and the object key;
- tutor: the feedback text; for a voice job's feedback, completes that voice job too.
Progress is finished in Redis only after the commit (`after_commit`).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.db import TenantContext, set_tenant
from megacity.db.after_commit import after_commit
from megacity.events.envelope import dumps
from megacity.job_progress import JobProgress
from megacity.telemetry.logs import get_logger
from services.kzone.ai_jobs.service import TUTOR_MAX_TOKENS, enqueue_job, inline_ref
from services.kzone.ai_results import queries
from services.kzone.ai_results.queries import ResultJob
from services.kzone.storage import ObjectStorage, keys

log = get_logger("kzone.ai_results")

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class AiResult:
    """An `ai.result.<kind>` event, as inference sent it (status and kind not yet checked)."""

    event_id: str
    job_id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    kind: str | None
    status: Any
    result: dict[str, Any]
    error: Any = None


class JobFailed(Exception):
    """The result cannot be used (missing object, no pose…): the job fails, no retry."""


@dataclass(frozen=True)
class _Context:
    session: AsyncSession
    progress: JobProgress
    storage: ObjectStorage
    event_id: str

    def finish_later(self, zone: int, org: uuid.UUID, job_id: uuid.UUID, status: str,
                     error: str | None = None) -> None:
        """Finish the progress hash once the transaction has committed."""
        async def _finish() -> None:
            await self.progress.finish(zone, org, job_id, status=status, error=error[:500] if error else None)

        after_commit(self.session, _finish, f"finish {job_id}")


def voice_feedback_question(reference_text: str, scoring: dict[str, Any]) -> str:
    """What K-Zone asks the tutor (an `ai.job.tutor` job) when a voice job came back without LLM
    feedback: the reading task, phrased as the tutor's question, with the learner's transcript
    as the answer and the reference text as the model answer (inference wraps these in its own
    prompt). `scoring`: the stored voice result's score and alignment (computed by inference)."""
    trouble = [a["reference"] for a in scoring.get("alignment") or ()
               if isinstance(a, dict) and a.get("op") in ("substituted", "missed") and a.get("reference")][:8]
    score = scoring.get("pronunciation_score")
    rated = f"Pronunciation score {score:.0f}/100; " if isinstance(score, int | float) else ""
    return (f"Read this sentence aloud: \"{reference_text}\". The answer below is what speech recognition "
            f"heard. {rated}words to practise: "
            f"{', '.join(trouble) or 'none'}. Give pronunciation feedback and one practice tip.")


async def record_result(session: AsyncSession, progress: JobProgress, storage: ObjectStorage, msg: AiResult) -> None:
    """Store one result in the consumer's transaction (see the module doc). ValueError for a
    status that is none of succeeded, failed, cancelled (the consumer retries, then dead-letters)."""
    await set_tenant(session, TenantContext(zone_id=msg.zone_id, org_id=msg.org_id))
    job = await queries.job_for_update(session, msg.job_id)
    if job is None:
        log.warning("result for an unknown job (or another tenant's)", job_id=str(msg.job_id), zone_id=msg.zone_id)
        return
    if msg.kind not in (None, job.kind):
        log.warning("result kind does not match the job", job_id=str(msg.job_id), kind=msg.kind)
        return
    if await queries.result_exists(session, msg.job_id):
        log.info("duplicate result ignored", job_id=str(msg.job_id), event_id=msg.event_id)
        return
    if msg.status not in ("succeeded", "failed", "cancelled"):
        raise ValueError(f"result status must be succeeded, failed or cancelled, got {msg.status!r}")
    if job.status == "cancelled":
        log.info("result for a cancelled job dropped", job_id=str(msg.job_id), status=msg.status)
        return
    ctx = _Context(session, progress, storage, msg.event_id)
    if msg.status == "cancelled":
        await queries.mark_cancelled(session, job.id)
        ctx.finish_later(job.zone_id, job.org_id, job.id, "cancelled", "cancelled")
        return
    if msg.status == "failed":
        await _fail(ctx, job, str(msg.error or "the AI job failed"))
        return
    try:
        if job.kind == "voice":
            await _voice(ctx, job, msg.result)
        elif job.kind == "pose":
            await _pose(ctx, job, msg.result)
        else:
            await _tutor(ctx, job, msg.result)
    except JobFailed as exc:
        await _fail(ctx, job, str(exc))


async def _succeed(ctx: _Context, job: ResultJob, doc: dict[str, Any], result_key: str | None = None) -> None:
    await queries.insert_result(ctx.session, job, ctx.event_id, "succeeded", result=doc, result_key=result_key)
    await queries.set_job_status(ctx.session, job.id, "succeeded")
    ctx.finish_later(job.zone_id, job.org_id, job.id, "succeeded")


async def _fail(ctx: _Context, job: ResultJob, error: str) -> None:
    error = error[:MAX_ERROR_CHARS]
    await queries.insert_result(ctx.session, job, ctx.event_id, "failed", error=error)
    await queries.set_job_status(ctx.session, job.id, "failed", error)
    ctx.finish_later(job.zone_id, job.org_id, job.id, "failed", error)
    if job.parent_job_id is not None:
        await _fold_feedback(ctx, job.parent_job_id, None, error)


def _pronunciation(job: ResultJob, result: dict[str, Any]) -> dict[str, Any]:
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


async def _voice(ctx: _Context, job: ResultJob, result: dict[str, Any]) -> None:
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
        await _succeed(ctx, job, doc)
        return
    # No LLM on the replica that transcribed: ask the tutor (any replica serving the LLM).
    feedback_job = uuid.uuid4()
    doc["feedback_job_id"] = str(feedback_job)
    await queries.insert_result(ctx.session, job, ctx.event_id, "succeeded", result=doc)
    await queries.set_job_status(ctx.session, job.id, "processing")
    reference_text = params.get("reference_text", "")
    await enqueue_job(
        ctx.session, ctx.progress, zone_id=job.zone_id, org_id=job.org_id, owner_id=job.owner_id, kind="tutor",
        job_id=feedback_job, input_ref=inline_ref(transcript or "(nothing was recognised)"), parent_job_id=job.id,
        params={"purpose": "voice_feedback", "parent_job_id": str(job.id),
                "question": voice_feedback_question(reference_text, scoring),
                "reference_answer": reference_text, "language": params.get("language"),
                "max_tokens": TUTOR_MAX_TOKENS})
    await ctx.progress.update(job.zone_id, job.org_id, job.id, step="feedback", progress=80.0)


async def _fold_feedback(ctx: _Context, voice_job_id: uuid.UUID, feedback: str | None, error: str | None) -> None:
    """Put a feedback job's outcome into its voice job's result and complete the voice job."""
    parent = await queries.parent_for_update(ctx.session, voice_job_id)
    if parent is None or parent.status != "processing":
        return
    patch = {"feedback": feedback, "feedback_status": "succeeded" if feedback else "failed"}
    if error:
        patch["feedback_error"] = error[:500]
    await queries.merge_into_result(ctx.session, voice_job_id, patch)
    await queries.set_job_status(ctx.session, voice_job_id, "succeeded")
    ctx.finish_later(parent.zone_id, parent.org_id, parent.id, "succeeded")


async def _tutor(ctx: _Context, job: ResultJob, result: dict[str, Any]) -> None:
    feedback = str(result.get("text") or result.get("feedback") or result.get("output") or "").strip()
    if not feedback:
        raise JobFailed("the model returned no text")
    doc = {"feedback": feedback, "purpose": (job.params or {}).get("purpose"),
           "answer_similarity": result.get("answer_similarity"), "finish_reason": result.get("finish_reason"),
           "completion_tokens": result.get("completion_tokens"), "models": result.get("models")}
    await _succeed(ctx, job, doc)
    if job.parent_job_id is not None:
        await _fold_feedback(ctx, job.parent_job_id, feedback, None)


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


async def _pose(ctx: _Context, job: ResultJob, result: dict[str, Any]) -> None:
    storage = ctx.storage
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
    await _succeed(ctx, job, out, result_key=key)
