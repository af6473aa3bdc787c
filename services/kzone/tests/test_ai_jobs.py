"""AI jobs end to end on the kzone side, with the test playing the inference worker through the
real NATS JetStream broker (pulling `ai.job.*`, publishing `ai.result.*` shaped as inference
sends them), real Redis progress and real PostgreSQL results. kzone stores what inference
computed (score, alignment); the scoring itself is tested in services/inference."""
from __future__ import annotations

import json
import uuid

import httpx

from services.kzone.ai_results.service import voice_feedback_question
from services.kzone.tests.conftest import KZONE_HOST, KzoneHarness
from services.kzone.tests.media_samples import multipart, png, wav
from services.kzone.tests.worker import ContractWorker, voice_result, wait_for

REFERENCE = "The quick brown fox jumps over the lazy dog"


async def _progress(kz: KzoneHarness, job_id: str, headers: dict) -> httpx.Response:
    return await kz.client.get(f"/api/v1/jobs/{job_id}/progress", headers=headers)


async def _until_status(kz: KzoneHarness, job_id: str, headers: dict, *statuses: str) -> dict:
    async def check():
        resp = await _progress(kz, job_id, headers)
        return resp.json() if resp.status_code == 200 and resp.json()["status"] in statuses else None

    return await wait_for(check)


async def test_voice_job_through_the_broker(kzone: KzoneHarness, nats_client, redis_client) -> None:
    c = kzone.client
    user = uuid.uuid4()
    me = kzone.headers("student", user=user)
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    audio = wav(0.5)
    body, ctype = multipart({"reference_text": REFERENCE, "language": "en"}, {"audio": ("take.wav", audio, "audio/wav")})
    resp = await c.post("/api/v1/kzone/voice/analyze", content=body, headers={**me, "Content-Type": ctype})
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    job_id = accepted["job_id"]
    assert accepted["progress_url"] == f"/api/v1/jobs/{job_id}/progress"
    assert (await _progress(kzone, job_id, me)).json()["status"] == "queued"
    progress_key = f"{kzone.namespace}:z:6:o:{kzone.org_a}:job:{job_id}"
    assert 6 * 3600 - 60 < await redis_client.ttl(progress_key) <= 6 * 3600  # running: 6 h, slid on each update

    # The outbox relay published the job; the payload follows the contract.
    envelope, job = await worker.next_job()
    assert envelope["type"] == "ai.job.voice"
    assert {k: job[k] for k in ("job_id", "zone_id", "org_id", "kind")} == {
        "job_id": job_id, "zone_id": 6, "org_id": str(kzone.org_a), "kind": "voice"}
    key = job["input_ref"].removeprefix("fs://")
    assert key == f"kzone/audio/{accepted['input_media_id']}/original.wav"
    assert (kzone.object_root / key).read_bytes() == audio
    assert job["params"]["reference_text"] == REFERENCE and job["params"]["language"] == "en"

    await worker.report(job, "transcribing", 40.0)
    state = (await _progress(kzone, job_id, me)).json()
    assert (state["status"], state["step"], state["progress"]) == ("running", "transcribing", 40.0)

    # The transcript comes back with its pronunciation score and word alignment and the LLM's
    # feedback (all computed in the same inference job); kzone stores them.
    transcript = "The quick brown fox jumps over the lazy dog."
    await worker.publish_result(job, result=voice_result(
        REFERENCE, transcript, language="en", duration_seconds=3.6,
        feedback="Very clear! Keep the 'th' soft.", models={"stt": "whisper-base int8 cpu"}))
    state = await _until_status(kzone, job_id, me, "succeeded")
    assert state["progress"] == 100.0
    assert await redis_client.ttl(progress_key) > 6 * 3600  # the finished state stays cached (24 h)

    detail = (await c.get(f"/api/v1/kzone/jobs/{job_id}", headers=me)).json()
    assert detail["status"] == "succeeded" and detail["has_result"] and detail["finished_at"]
    assert detail["params"] == {"reference_text": REFERENCE, "language": "en", "content_type": "audio/wav",
                                "feedback": True}
    got = await c.get(httpx.URL(detail["input"]["url"]).raw_path.decode(), headers={"Host": KZONE_HOST})
    assert got.content == audio
    result = (await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)).json()["result"]
    assert result["transcript"] == transcript
    assert result["pronunciation_score"] == 95.0 and result["accuracy"] == 1.0 and result["wer"] == 0.0
    assert [a["op"] for a in result["alignment"]] == ["correct"] * 9
    assert result["counts"] == {"correct": 9, "substituted": 0, "missed": 0, "inserted": 0}
    assert result["reference_words"] == result["heard_words"] == 9 and result["completeness"] == 1.0
    assert result["alignment"][1] == {"op": "correct", "reference": "quick", "heard": "quick", "start": 0.4,
                                      "end": 0.75, "confidence": 0.95, "score": 95.0}
    assert result["feedback"] == "Very clear! Keep the 'th' soft." and result["feedback_status"] == "succeeded"
    assert result["duration"] == 3.6 and result["models"] == {"stt": "whisper-base int8 cpu"}

    # A duplicate delivery (same id, and a re-publish under another id) makes no second row.
    await worker.publish_result(job, result={"text": "something else entirely", "words": []})
    await worker.publish_result(job, result={"text": "something else entirely", "words": []},
                                msg_id=f"{job_id}:result:retry")
    await wait_for(lambda: _inbox_has(kzone, f"{job_id}:result:retry"))
    assert kzone.query("SELECT count(*) FROM kzone.kzone_ai_results WHERE job_id = %s", (job_id,)) == [(1,)]
    assert kzone.query("SELECT result->>'transcript' FROM kzone.kzone_ai_results WHERE job_id = %s",
                       (job_id,)) == [(transcript,)]

    # Another org's caller, and another student of the same org: 404 on progress, detail and result.
    for other in (kzone.headers("teacher", org=kzone.org_b), kzone.headers("student", org=kzone.org_b, user=user),
                  kzone.headers("student")):
        for url in (f"/api/v1/jobs/{job_id}/progress", f"/api/v1/kzone/jobs/{job_id}",
                    f"/api/v1/kzone/jobs/{job_id}/result"):
            resp = await c.get(url, headers=other)
            assert resp.status_code == 404 and resp.json()["code"] == "job.not_found", (url, resp.text)
    # Staff of the same org may look.
    assert (await c.get(f"/api/v1/kzone/jobs/{job_id}", headers=kzone.headers("teacher"))).status_code == 200


async def test_voice_feedback_falls_back_to_a_tutor_job(kzone: KzoneHarness, nats_client, redis_client) -> None:
    """A replica without an LLM returns no feedback: kzone asks the tutor and completes the voice
    job only when that answer is in (or has failed)."""
    c = kzone.client
    me = kzone.headers("student")
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    body, ctype = multipart({"reference_text": REFERENCE}, {"audio": ("take.wav", wav(0.3), "audio/wav")})
    job_id = (await c.post("/api/v1/kzone/voice/analyze", content=body,
                           headers={**me, "Content-Type": ctype})).json()["job_id"]
    _, job = await worker.next_job()
    heard = "The quick brown box jumps over the lazy dog"
    # inference's score: fox→box (a similar spelling) earns 50 x similarity x confidence = 31.7.
    await worker.publish_result(job, result=voice_result(REFERENCE, heard, credit={"box": 31.7}, language="en"))
    _, tutor = await worker.next_job()
    assert tutor["kind"] == "tutor" and tutor["input_ref"] == f"inline:{heard}"
    assert tutor["params"]["purpose"] == "voice_feedback" and tutor["params"]["parent_job_id"] == job_id
    assert tutor["params"]["reference_answer"] == REFERENCE and "fox" in tutor["params"]["question"]
    assert "score 88/100" in tutor["params"]["question"]
    state = await _until_status(kzone, job_id, me, "running")
    assert state["step"] == "feedback"
    resp = await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)
    assert resp.status_code == 409 and resp.json()["code"] == "job.result_pending"
    assert (await c.get(f"/api/v1/kzone/jobs/{job_id}", headers=me)).json()["status"] == "processing"

    await worker.publish_result(tutor, result={"feedback": "Say 'fox' with a clear f.", "completion_tokens": 9})
    await _until_status(kzone, job_id, me, "succeeded")
    result = (await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)).json()["result"]
    assert result["feedback"] == "Say 'fox' with a clear f." and result["feedback_status"] == "succeeded"
    assert result["pronunciation_score"] == 88.0  # 8 x 95 + 31.7 (fox→box), over 9 words
    assert [(a["op"], a["reference"], a["heard"], a["score"]) for a in result["alignment"]][3] == \
        ("substituted", "fox", "box", 31.7)
    tutor_detail = (await c.get(f"/api/v1/kzone/jobs/{tutor['job_id']}", headers=me)).json()
    assert tutor_detail["parent_job_id"] == job_id and tutor_detail["status"] == "succeeded"


async def _inbox_has(kz: KzoneHarness, msg_id: str) -> bool:
    return bool(kz.query("SELECT 1 FROM kzone.inbox WHERE msg_id = %s", (msg_id,)))


async def test_pose_job_keypoints_object_and_similarity(kzone: KzoneHarness, nats_client, redis_client) -> None:
    c = kzone.client
    me = kzone.headers("student")
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    body, ctype = multipart({}, {"file": ("me.png", png(), "image/png"), "reference": ("ref.png", png(8, 8), "image/png")})
    resp = await c.post("/api/v1/kzone/dance/pose-detection", content=body, headers={**me, "Content-Type": ctype})
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    _, job = await worker.next_job()
    params = job["params"]
    assert job["kind"] == "pose" and params["media_kind"] == "image"
    assert params["output_key"] == f"kzone/pose/{accepted['input_media_id']}/keypoints.json"
    assert params["reference_ref"].startswith(f"fs://kzone/image/{accepted['reference_media_id']}/")

    # As inference does: the keypoints JSON written to the agreed key, the result referencing it.
    pose = [[0.5 + 0.01 * i, 0.2 + 0.02 * i, 0.0, 0.9] for i in range(33)]
    doc = {"width": 4, "height": 4, "fps": 0.0, "total_frames": 1,
           "frames": [{"index": 0, "timestamp": 0.0, "landmarks": pose}]}
    await kzone.storage.put_bytes(params["output_key"], json.dumps(doc).encode(), "application/json")
    await worker.publish_result(job, result={
        "keypoints_ref": f"fs://{params['output_key']}", "frames": 1, "detected_frames": 1, "width": 4, "height": 4,
        "fps": 0.0, "total_frames": 1, "landmarks_per_frame": 33, "first_pose": pose,
        "similarity": {"score": 97.5, "compared_frames": 1}, "models": {"pose": "mediapipe 0.10.21"}})
    await _until_status(kzone, job["job_id"], me, "succeeded")
    out = (await c.get(f"/api/v1/kzone/jobs/{job['job_id']}/result", headers=me)).json()
    result = out["result"]
    assert (result["frames"], result["frames_with_pose"], result["landmarks_per_frame"]) == (1, 1, 33)
    assert result["similarity"] == {"score": 97.5, "compared_frames": 1}
    assert result["keypoints_key"] == params["output_key"] and result["first_pose"][0] == [0.5, 0.2, 0.0, 0.9]
    got = await c.get(httpx.URL(out["keypoints_url"]).raw_path.decode(), headers={"Host": KZONE_HOST})
    assert got.status_code == 200 and got.json() == doc  # the keypoints live in object storage
    # Nothing big went to Redis: the progress hash holds only small fields.
    key = f"{kzone.namespace}:z:6:o:{kzone.org_a}:job:{job['job_id']}"
    assert all(len(v) < 10 * 1024 for v in (await redis_client.hgetall(key)).values())

    # Keypoints sent inline (no object written by inference) are stored by kzone at the same path;
    # a ref to a missing object fails the job instead of retrying forever.
    for inline in (True, False):
        body, ctype = multipart({}, {"file": ("me.png", png(), "image/png")})
        accepted = (await c.post("/api/v1/kzone/dance/pose-detection", content=body,
                                 headers={**me, "Content-Type": ctype})).json()
        _, job = await worker.next_job()
        if inline:
            await worker.publish_result(job, result={"keypoints": doc})
            await _until_status(kzone, job["job_id"], me, "succeeded")
            stored = kzone.object_root / f"kzone/pose/{accepted['input_media_id']}/keypoints.json"
            assert json.loads(stored.read_text()) == doc
            result = (await c.get(f"/api/v1/kzone/jobs/{job['job_id']}/result", headers=me)).json()["result"]
            assert result["frames_with_pose"] == 1 and result["similarity"] is None
        else:
            await worker.publish_result(job, result={"keypoints_ref": "fs://kzone/pose/nope/keypoints.json"})
            state = await _until_status(kzone, job["job_id"], me, "failed")
            assert "does not exist" in state["error"]


async def test_failed_tutor_job(kzone: KzoneHarness, nats_client, redis_client) -> None:
    c = kzone.client
    me = kzone.headers("student")
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={
        "question": "How do you say thank you?", "answer": "gamsahamnida", "language": "en"})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    _, job = await worker.next_job()
    assert job["kind"] == "tutor" and job["input_ref"] == "inline:gamsahamnida"
    assert job["params"]["question"] == "How do you say thank you?" and job["params"]["purpose"] == "answer_feedback"
    await worker.publish_result(job, status="failed", error="RESOURCE_EXHAUSTED: LLM queue full")
    state = await _until_status(kzone, job_id, me, "failed")
    assert state["error"] == "RESOURCE_EXHAUSTED: LLM queue full"
    detail = (await c.get(f"/api/v1/kzone/jobs/{job_id}", headers=me)).json()
    assert detail["status"] == "failed" and detail["error"] == "RESOURCE_EXHAUSTED: LLM queue full"
    out = (await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)).json()
    assert out["status"] == "failed" and out["result"] is None
    # Bad input and unknown ids.
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={"question": "", "answer": "x"})
    assert resp.status_code == 422
    resp = await c.get(f"/api/v1/kzone/jobs/{uuid.uuid4()}", headers=me)
    assert resp.status_code == 404 and resp.json()["code"] == "job.not_found"


async def test_cancel_a_running_job(kzone: KzoneHarness, nats_client, redis_client) -> None:
    """Cancelled at once (database and progress, which inference watches); inference's own
    `cancelled` result and a late success are both dropped; finished jobs cannot be cancelled."""
    c = kzone.client
    me_id = uuid.uuid4()
    me = kzone.headers("student", user=me_id)
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={
        "question": "How do you say thank you?", "answer": "gamsahamnida", "language": "en"})
    job_id = resp.json()["job_id"]
    _, job = await worker.next_job()
    await worker.report(job, "generating", 40.0)

    classmate = await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=kzone.headers("student"))
    assert classmate.status_code == 404 and classmate.json()["code"] == "job.not_found"
    other_org = await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=kzone.headers("teacher", org=kzone.org_b))
    assert other_org.status_code == 404
    out = await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=me)
    assert out.status_code == 200, out.text
    assert (out.json()["status"], out.json()["cancelled_by"]) == ("cancelled", str(me_id))
    state = (await _progress(kzone, job_id, me)).json()
    assert state["status"] == "cancelled"  # what inference checks before each step
    again = await c.post(f"/api/v1/kzone/jobs/{job_id}/cancel", headers=me)
    assert again.status_code == 200 and again.json() == out.json()
    result = await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)
    assert result.status_code == 409 and result.json()["code"] == "job.cancelled"

    await worker.publish_result(job, status="cancelled", error="cancelled by the owner")
    await worker.publish_result(job, status="succeeded", result={"text": "late"}, msg_id=f"{job_id}:late")
    await wait_for(lambda: _inbox_has(kzone, f"{job_id}:late"))
    assert await _inbox_has(kzone, f"{job_id}:result")
    detail = (await c.get(f"/api/v1/kzone/jobs/{job_id}", headers=me)).json()
    assert (detail["status"], detail["has_result"]) == ("cancelled", False)

    # a job inference cancelled on its own (say, its owner's progress hash said so) ends cancelled here too
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={"question": "Hello?", "answer": "annyeong"})
    second = resp.json()["job_id"]
    _, job2 = await worker.next_job()
    await worker.publish_result(job2, status="cancelled", error="cancelled")
    assert (await _until_status(kzone, second, me, "cancelled"))["status"] == "cancelled"
    assert (await c.get(f"/api/v1/kzone/jobs/{second}", headers=me)).json()["status"] == "cancelled"

    # a finished job cannot be cancelled
    resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={"question": "Bye?", "answer": "annyeong"})
    third = resp.json()["job_id"]
    _, job3 = await worker.next_job()
    await worker.publish_result(job3, status="failed", error="LLM down")
    await _until_status(kzone, third, me, "failed")
    late = await c.post(f"/api/v1/kzone/jobs/{third}/cancel", headers=me)
    assert late.status_code == 409 and late.json()["code"] == "job.finished"


async def test_job_conflicts_keep_the_http_status_in_status(kzone: KzoneHarness, nats_client, redis_client) -> None:
    """RFC 9457 (issue #9): a 409's `status` is the integer HTTP status; the job's own status is
    `job_status` (result pending, cancelled, and cancelling a finished job), as documented."""
    c = kzone.client
    me = kzone.headers("student")
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()

    async def submit(answer: str) -> str:
        resp = await c.post("/api/v1/kzone/tutor/feedback", headers=me, json={"question": "Hi?", "answer": answer})
        assert resp.status_code == 202, resp.text
        return resp.json()["job_id"]

    def conflict(resp: httpx.Response, code: str, job_status: str) -> None:
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["status"] == 409 and isinstance(body["status"], int)
        assert (body["code"], body["job_status"], body["title"]) == (code, job_status, "Conflict")

    pending = await submit("annyeong")
    conflict(await c.get(f"/api/v1/kzone/jobs/{pending}/result", headers=me), "job.result_pending", "queued")

    assert (await c.post(f"/api/v1/kzone/jobs/{pending}/cancel", headers=me)).status_code == 200
    conflict(await c.get(f"/api/v1/kzone/jobs/{pending}/result", headers=me), "job.cancelled", "cancelled")

    done = await submit("gamsahamnida")
    for _ in range(2):  # the cancelled job's message, then this one's
        _, job = await worker.next_job()
        if job["job_id"] == done:
            await worker.publish_result(job, result={"text": "Well done."})
    await _until_status(kzone, done, me, "succeeded")
    conflict(await c.post(f"/api/v1/kzone/jobs/{done}/cancel", headers=me), "job.finished", "succeeded")

    # The OpenAPI document describes `job_status` and shows it in an example.
    paths = kzone.runtime.app.openapi()["paths"]
    for path, method, code in (("/api/v1/kzone/jobs/{job_id}/result", "get", "job.cancelled"),
                               ("/api/v1/kzone/jobs/{job_id}/cancel", "post", "job.finished")):
        doc = paths[path][method]["responses"]["409"]["content"]["application/problem+json"]
        assert doc["schema"]["properties"]["status"]["type"] == "integer"
        assert "job_status" in doc["schema"]["properties"] and "job_status" in doc["schema"]["required"]
        example = doc["examples"][code]["value"]
        assert example["status"] == 409 and example["code"] == code and isinstance(example["job_status"], str)


def test_feedback_question_uses_the_stored_score_and_copes_without_one() -> None:
    """The tutor question is built from the stored voice result (inference's score and alignment);
    a result that came without `pronunciation` (stored as nulls) still gives a question."""
    stored = {"pronunciation_score": 88.0, "alignment": [
        {"op": "correct", "reference": "the"}, {"op": "substituted", "reference": "fox"},
        {"op": "missed", "reference": "dog"}, {"op": "inserted", "reference": None}]}
    question = voice_feedback_question(REFERENCE, stored)
    assert "score 88/100" in question and "practise: fox, dog." in question
    bare = voice_feedback_question(REFERENCE, {"pronunciation_score": None, "alignment": []})
    assert "/100" not in bare and "practise: none." in bare
