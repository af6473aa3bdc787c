"""Queued AI jobs over JetStream: one result per job, progress in Redis, fail fast on bad
input, retry with backoff then dead-letter on model failures."""
from __future__ import annotations

import asyncio
import json

from megacity.events import envelope
from megacity.job_progress import JobProgress
from megacity.redis_keys import RedisKeys
from megacity.telemetry_testing import sample_value
from services.inference import scoring
from services.inference.job_handlers import JobHandlers
from services.inference.tests.conftest import (
    SENTENCE,
    ZONE_ID,
    inference_service,
    new_id,
    publish_job,
    put_object,
)


def _succeeded(kind: str) -> float:
    return sample_value("mc_inference_jobs_total", {"kind": kind, "outcome": "succeeded"}) or 0.0


async def test_voice_job_one_result_with_score_feedback_and_progress(
        model_set, namespace, nats_client, results, redis_client, object_root, speech_wav):
    js = nats_client.jetstream()
    org_id, job_id = new_id(), new_id()
    progress = JobProgress(redis_client, RedisKeys(namespace))
    await progress.create(ZONE_ID, org_id, job_id, kind="voice", owner=new_id())  # what kzone does first
    ref = put_object(object_root, f"kzone/audio/{job_id}/original.wav", speech_wav)
    reader = results()
    async with inference_service(model_set, namespace, models="stt,llm", object_root=str(object_root),
                                 job_feedback_max_tokens=12):
        await publish_job(js, namespace, "voice", job_id=job_id, org_id=org_id, input_ref=ref,
                          params={"language": "en", "reference_text": SENTENCE})
        [(headers, event)] = await reader.wait_for(1, timeout=120)
        # kzone re-enqueues the same job (e.g. its outbox relay retried): the model runs again,
        # but JetStream keeps the one result (same Nats-Msg-Id).
        done_before = _succeeded("voice")
        await publish_job(js, namespace, "voice", job_id=job_id, org_id=org_id, input_ref=ref,
                          params={"language": "en", "reference_text": SENTENCE, "feedback": False})
        for _ in range(600):
            if _succeeded("voice") > done_before:
                break
            await asyncio.sleep(0.1)
        assert _succeeded("voice") == done_before + 1, "the re-enqueued job did not run"
        await reader.poll(1)
        state = await progress.get(ZONE_ID, org_id, job_id)
    assert len(reader.seen) == 1
    assert headers[envelope.MSG_ID] == f"{job_id}:result" and event.id == f"{job_id}:result"
    assert event.type == "ai.result.voice" and event.zone_id == ZONE_ID and str(event.org_id) == org_id
    data = event.payload
    assert (data["job_id"], data["kind"], data["status"], data["attempt"]) == (job_id, "voice", "succeeded", 1)
    result = data["result"]
    assert scoring.word_error_rate(SENTENCE, result["text"]) <= 0.2
    assert result["words"] and {"word", "start", "end", "probability"} <= set(result["words"][0])
    assert result["pronunciation"]["score"] >= 70
    # The word alignment kzone stores comes with the recogniser's timings.
    pron = result["pronunciation"]
    assert pron["reference_words"] == len(scoring.normalise(SENTENCE)) and sum(pron["counts"].values()) == \
        len(pron["alignment"])
    timed = [a for a in pron["alignment"] if a["op"] == "correct"]
    assert timed and all(a["start"] is not None and a["end"] >= a["start"] and a["score"] > 0 for a in timed)
    assert isinstance(result["feedback"], str) and result["feedback"]
    assert set(result["models"]) == {"stt", "llm"}
    assert len(json.dumps(data)) < 64 * 1024  # a small result
    # Progress went through the steps; finishing it is kzone's (after it stores the result).
    assert state["status"] == "running" and state["step"] == "publishing" and state["progress"] == 95.0


async def test_pose_job_stores_keypoints_and_scores_against_a_reference(
        model_set, namespace, nats_client, results, object_root, astronaut_jpeg, short_video):
    js = nats_client.jetstream()
    org_id, job_id = new_id(), new_id()
    photo = put_object(object_root, f"kzone/image/{job_id}/original.jpg", astronaut_jpeg)
    reference = put_object(object_root, "kzone/video/reference/original.mp4", short_video)
    reader = results()
    async with inference_service(model_set, namespace, models="pose", object_root=str(object_root)):
        await publish_job(js, namespace, "pose", job_id=job_id, org_id=org_id, input_ref=photo,
                          params={"reference_ref": reference, "max_frames": 5,
                                  "output_key": f"kzone/pose/{job_id}/keypoints.json"})
        [(_, event)] = await reader.wait_for(1, timeout=60)
    result = event.payload["result"]
    assert event.payload["status"] == "succeeded"
    assert result["keypoints_ref"] == f"fs://kzone/pose/{job_id}/keypoints.json"
    assert (result["frames"], result["detected_frames"], result["landmarks_per_frame"]) == (1, 1, 33)
    assert len(result["first_pose"]) == 33
    assert result["similarity"]["score"] > 90  # the reference video shows the same pose
    stored = json.loads((object_root / f"kzone/pose/{job_id}/keypoints.json").read_text())
    assert len(stored["frames"][0]["landmarks"]) == 33 and stored["width"] == 512
    assert stored["reference_ref"] == reference


async def test_tutor_job_gives_feedback_and_answer_similarity(model_set, namespace, nats_client, results):
    js = nats_client.jetstream()
    org_id, job_id = new_id(), new_id()
    reader = results()
    async with inference_service(model_set, namespace, models="llm,embed"):
        await publish_job(js, namespace, "tutor", job_id=job_id, org_id=org_id,
                          input_ref="inline:Annyeonghaseyo means hello.",
                          params={"question": "What does 안녕하세요 mean?",
                                  "reference_answer": "It means hello, a polite greeting.", "max_tokens": 16})
        [(_, event)] = await reader.wait_for(1, timeout=120)
    result = event.payload["result"]
    assert event.payload["status"] == "succeeded"
    assert result["feedback"] and result["completion_tokens"] > 0
    assert result["answer_similarity"] > 30


async def test_bad_input_fails_at_once_and_malformed_messages_are_dead_lettered(
        model_set, namespace, nats_client, results, object_root):
    js = nats_client.jetstream()
    org_id, missing_job, escape_job = new_id(), new_id(), new_id()
    reader = results()
    dlq = results(dlq=True)
    async with inference_service(model_set, namespace, models="stt", object_root=str(object_root)):
        await publish_job(js, namespace, "voice", job_id=missing_job, org_id=org_id,
                          input_ref="fs://kzone/audio/nothing/original.wav")
        await publish_job(js, namespace, "voice", job_id=escape_job, org_id=org_id, input_ref="fs://../etc/passwd")
        await js.publish(f"{namespace}.events.ai.job.voice", b"not json",
                         headers={envelope.MSG_ID: new_id()})
        results = await reader.wait_for(2, timeout=30)
        dead = await dlq.wait_for(1, timeout=30)
    by_job = {event.payload["job_id"]: event.payload for _, event in results}
    assert by_job[missing_job]["status"] == "failed" and by_job[missing_job]["attempt"] == 1
    assert by_job[missing_job]["error"]["code"] == "inference.object_not_found"
    assert by_job[escape_job]["error"]["code"] == "inference.bad_input_ref"
    [(headers, body)] = dead
    assert body == b"not json" and "bad job message" in headers["Mc-Error"]


async def test_model_failures_retry_with_backoff_then_fail_and_dead_letter(
        model_set, namespace, nats_client, results, object_root, astronaut_jpeg, monkeypatch):
    js = nats_client.jetstream()
    org_id, flaky_job, broken_job = new_id(), new_id(), new_id()
    photo = put_object(object_root, "kzone/image/p/original.jpg", astronaut_jpeg)
    attempts: dict[str, int] = {}
    real_pose = JobHandlers.pose

    async def unreliable_pose(self, job, progress, deadline):
        attempts[job.job_id] = attempts.get(job.job_id, 0) + 1
        if job.job_id == broken_job or attempts[job.job_id] == 1:
            raise RuntimeError("GPU fell off the bus")
        return await real_pose(self, job, progress, deadline)

    monkeypatch.setattr(JobHandlers, "pose", unreliable_pose)
    reader = results()
    dlq = results(dlq=True)
    async with inference_service(model_set, namespace, models="pose", object_root=str(object_root),
                                 job_max_deliver=3, job_backoff_seconds=[0.2, 0.4]):
        await publish_job(js, namespace, "pose", job_id=flaky_job, org_id=org_id, input_ref=photo)
        await publish_job(js, namespace, "pose", job_id=broken_job, org_id=org_id, input_ref=photo)
        results = await reader.wait_for(2, timeout=60)
        dead = await dlq.wait_for(1, timeout=30)
    by_job = {event.payload["job_id"]: event.payload for _, event in results}
    assert by_job[flaky_job]["status"] == "succeeded" and by_job[flaky_job]["attempt"] == 2
    assert by_job[broken_job]["status"] == "failed" and by_job[broken_job]["attempt"] == 3
    assert by_job[broken_job]["error"]["code"] == "inference.job_failed"
    assert "GPU fell off the bus" in by_job[broken_job]["error"]["detail"]
    assert attempts == {flaky_job: 2, broken_job: 3}
    [(headers, _)] = dead
    assert headers["Mc-Delivered"] == "3" and headers["Mc-Original-Subject"].endswith("ai.job.pose")
