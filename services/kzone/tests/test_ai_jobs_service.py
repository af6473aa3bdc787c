"""AI job submit and cancel through `ai_jobs/service.py` itself (no HTTP), against the running
service's real PostgreSQL, Redis and NATS: what a submit writes (media rows, job row, progress
hash, the `ai.job.<kind>` event the outbox relay publishes), that a failed submit leaves no
progress hash, and who may cancel what."""
from __future__ import annotations

import uuid

import pytest

from megacity.auth.permissions import permissions_for
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from services.kzone.ai_jobs import service
from services.kzone.ai_jobs.schemas import TutorFeedbackIn, VoiceForm
from services.kzone.service_state import KzoneState
from services.kzone.storage import keys
from services.kzone.tests.conftest import KZONE_ZONE_ID, KzoneHarness
from services.kzone.tests.media_samples import png, wav
from services.kzone.tests.worker import ContractWorker
from services.kzone.upload_stream import StoredMedia


def _principal(role: str, org: uuid.UUID | None, user: uuid.UUID | None = None) -> Principal:
    return Principal(user_id=user or uuid.uuid4(), zone_id=KZONE_ZONE_ID, org_id=org, role=role,
                     permissions=frozenset(permissions_for(role)), jti=uuid.uuid4().hex, iat=0, exp=0)


def _parts(kz: KzoneHarness) -> tuple[Resources, KzoneState, JobProgress]:
    res: Resources = kz.runtime.resources
    return res, kz.runtime.app.state.kzone, JobProgress(res.redis, res.keys)


async def _stored(state: KzoneState, kind: str, ext: str, content_type: str, data: bytes,
                  filename: str) -> StoredMedia:
    """A media file committed to storage, as `upload_stream` leaves it before the service runs."""
    media_id = uuid.uuid4()
    key = keys.original(kind, media_id, ext)
    await state.storage.put_bytes(key, data, content_type)
    return StoredMedia(media_id=media_id, kind=kind, content_type=content_type, key=key, filename=filename,
                       size=len(data), sha256="0" * 64)


async def _progress_keys(kz: KzoneHarness, redis_client, org: uuid.UUID) -> set[str]:
    return {k.decode() if isinstance(k, bytes) else k
            async for k in redis_client.scan_iter(match=f"{kz.namespace}:z:{KZONE_ZONE_ID}:o:{org}:job:*")}


async def test_submit_writes_job_media_progress_and_event(kzone: KzoneHarness, nats_client, redis_client) -> None:
    res, state, progress = _parts(kzone)
    worker = await ContractWorker(nats_client, redis_client, kzone.namespace).start()
    student = _principal("student", kzone.org_a)

    # tutor: no media, the answer travels inline
    tutor = await service.submit_tutor(res, student, TutorFeedbackIn(
        question="How do you say thank you?", answer="gamsahamnida", reference_answer="감사합니다"))
    assert (tutor.kind, tutor.input_media_id, tutor.reference_media_id) == ("tutor", None, None)
    assert kzone.query("SELECT kind, status, owner_id, org_id FROM kzone.kzone_ai_jobs WHERE id = %s",
                       (tutor.job_id,)) == [("tutor", "queued", student.user_id, kzone.org_a)]
    hash_ = await progress.get(KZONE_ZONE_ID, kzone.org_a, tutor.job_id)
    assert hash_ is not None and (hash_["status"], hash_["owner"]) == ("queued", str(student.user_id))
    envelope, job = await worker.next_job()
    assert envelope["type"] == "ai.job.tutor" and job["job_id"] == str(tutor.job_id)
    assert job["input_ref"] == "inline:gamsahamnida"
    assert job["params"]["purpose"] == "answer_feedback" and job["params"]["max_tokens"] == service.TUTOR_MAX_TOKENS

    # voice: the stored audio becomes an `ai_input` media row and the job's input
    audio = await _stored(state, "audio", "wav", "audio/wav", wav(0.2), "take.wav")
    form = VoiceForm.parse({"reference_text": "  Annyeong   haseyo ", "language": "KO", "feedback": "no"})
    voice = await service.submit_voice(res, state.storage, student, audio, form)
    assert (voice.kind, voice.input_media_id) == ("voice", audio.media_id)
    assert kzone.query("SELECT purpose, owner_id, storage_key FROM kzone.kzone_media WHERE id = %s",
                       (audio.media_id,)) == [("ai_input", student.user_id, audio.key)]
    _, job = await worker.next_job()
    assert job["job_id"] == str(voice.job_id) and job["input_ref"] == f"fs://{audio.key}"
    assert job["params"] == {"reference_text": "Annyeong haseyo", "language": "ko", "content_type": "audio/wav",
                             "feedback": False}

    # pose with a reference: two media rows; where the keypoints go is the job's plumbing
    photo = await _stored(state, "image", "png", "image/png", png(), "me.png")
    model = await _stored(state, "image", "png", "image/png", png(8, 8), "model.png")
    pose = await service.submit_pose(res, state.storage, student, photo, model)
    assert (pose.input_media_id, pose.reference_media_id) == (photo.media_id, model.media_id)
    _, job = await worker.next_job()
    assert job["params"]["output_key"] == keys.pose_keypoints(photo.media_id)
    assert job["params"]["reference_ref"] == f"fs://{model.key}"
    view = await service.get_job(res, student, pose.job_id)
    assert "output_key" not in view.params and "reference_ref" not in view.params
    assert view.input is not None and view.reference is not None and view.reference.id == model.media_id


async def test_a_failed_submit_leaves_no_progress_hash_and_no_rows(kzone: KzoneHarness, redis_client) -> None:
    """The progress hash is created inside the transaction (before the event can be published);
    when the commit then fails, the hash goes too."""
    res, state, _ = _parts(kzone)
    student = _principal("student", kzone.org_a)
    # This test's database refuses, at COMMIT, a job whose question says so (a deferred check).
    kzone.query("""
        CREATE FUNCTION kzone.refuse_marked_job() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.params->>'question' = 'refused at commit' THEN
                RAISE EXCEPTION 'job refused at commit';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_marked_job AFTER INSERT ON kzone.kzone_ai_jobs
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kzone.refuse_marked_job();""")
    await service.submit_tutor(res, student, TutorFeedbackIn(question="accepted", answer="a"))
    before = await _progress_keys(kzone, redis_client, kzone.org_a)
    assert len(before) == 1
    with pytest.raises(Exception, match="job refused at commit"):
        await service.submit_tutor(res, student, TutorFeedbackIn(question="refused at commit", answer="a"))
    assert await _progress_keys(kzone, redis_client, kzone.org_a) == before
    assert kzone.query("SELECT params->>'question' FROM kzone.kzone_ai_jobs") == [("accepted",)]

    # A media row that cannot be written (its id is taken) fails the submit the same way.
    audio = await _stored(state, "audio", "wav", "audio/wav", wav(0.2), "take.wav")
    form = VoiceForm.parse({"reference_text": "hello"})
    await service.submit_voice(res, state.storage, student, audio, form)
    before = await _progress_keys(kzone, redis_client, kzone.org_a)
    with pytest.raises(Exception, match="duplicate key"):
        await service.submit_voice(res, state.storage, student, audio, form)
    assert await _progress_keys(kzone, redis_client, kzone.org_a) == before
    assert kzone.query("SELECT count(*) FROM kzone.kzone_ai_jobs") == [(2,)]

    # A zone-level token (no org) may not submit: nothing is written.
    with pytest.raises(AppError) as err:
        await service.submit_tutor(res, _principal("zone_admin", None), TutorFeedbackIn(question="q", answer="a"))
    assert (err.value.status, err.value.code) == (403, "kzone.org_required")
    assert kzone.query("SELECT count(*) FROM kzone.kzone_ai_jobs") == [(2,)]


async def test_cancel_rules(kzone: KzoneHarness) -> None:
    res, _, progress = _parts(kzone)
    owner = _principal("student", kzone.org_a)
    queued = await service.submit_tutor(res, owner, TutorFeedbackIn(question="Hi?", answer="annyeong"))

    # A classmate, and staff of another org, get 404 as for a job that does not exist.
    for stranger in (_principal("student", kzone.org_a), _principal("teacher", kzone.org_b),
                     _principal("student", kzone.org_b, owner.user_id)):
        with pytest.raises(AppError) as err:
            await service.cancel_job(res, stranger, queued.job_id)
        assert (err.value.status, err.value.code) == (404, "job.not_found")
    assert kzone.query("SELECT status FROM kzone.kzone_ai_jobs WHERE id = %s", (queued.job_id,)) == [("queued",)]

    done = await service.cancel_job(res, owner, queued.job_id)
    assert (done.job_id, done.kind, done.cancelled_by) == (queued.job_id, "tutor", owner.user_id)
    assert done.finished_at is not None
    assert kzone.query("SELECT status, cancelled_by, error FROM kzone.kzone_ai_jobs WHERE id = %s",
                       (queued.job_id,)) == [("cancelled", owner.user_id, "cancelled")]
    state = await progress.get(KZONE_ZONE_ID, kzone.org_a, queued.job_id)
    assert state is not None and (state["status"], state["step"]) == ("cancelled", "cancelled")
    # Again: the same answer. And there is no result.
    assert await service.cancel_job(res, owner, queued.job_id) == done
    with pytest.raises(AppError) as err:
        await service.get_result(res, owner, queued.job_id)
    assert (err.value.status, err.value.code, err.value.extra) == (409, "job.cancelled", {"job_status": "cancelled"})

    # Staff of the owner's org may cancel it; nobody may cancel a finished job.
    processing = await service.submit_tutor(res, owner, TutorFeedbackIn(question="Bye?", answer="annyeong"))
    kzone.query("UPDATE kzone.kzone_ai_jobs SET status = 'processing' WHERE id = %s", (processing.job_id,))
    teacher = _principal("teacher", kzone.org_a)
    assert (await service.cancel_job(res, teacher, processing.job_id)).cancelled_by == teacher.user_id
    finished = await service.submit_tutor(res, owner, TutorFeedbackIn(question="Ok?", answer="ne"))
    kzone.query("UPDATE kzone.kzone_ai_jobs SET status = 'succeeded', finished_at = now() WHERE id = %s",
                (finished.job_id,))
    with pytest.raises(AppError) as err:
        await service.cancel_job(res, owner, finished.job_id)
    assert (err.value.status, err.value.code, err.value.extra) == (409, "job.finished", {"job_status": "succeeded"})
    assert kzone.query("SELECT status FROM kzone.kzone_ai_jobs WHERE id = %s", (finished.job_id,)) == [("succeeded",)]
