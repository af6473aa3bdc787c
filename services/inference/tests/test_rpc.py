"""The four RPCs on real models (CPU): speech, pose, embeddings, streamed generation."""
from __future__ import annotations

import grpc
import numpy as np
import pytest

from mcproto.inference.v1 import inference_pb2 as pb
from services.inference import scoring
from services.inference.backends.pose import LEFT_HIP, NOSE, RIGHT_HIP
from services.inference.tests.conftest import SENTENCE, inference_service, stub_for


def _error_code(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-error-code", "")


async def test_transcribes_a_spoken_sentence_with_word_timings(model_set, namespace, speech_wav):
    async with inference_service(model_set, namespace, models="stt") as svc, stub_for(svc) as stub:
        reply = await stub.Transcribe(pb.TranscribeRequest(audio=speech_wav, language="en"), timeout=120)
    assert scoring.word_error_rate(SENTENCE, reply.text) <= 0.2, reply.text
    assert reply.language == "en" and reply.model.startswith("whisper-base")
    assert 3.0 < reply.duration_seconds < 10.0
    assert len(reply.words) >= 10
    starts = [w.start for w in reply.words]
    assert starts == sorted(starts)
    assert all(w.end >= w.start and 0.0 < w.probability <= 1.0 for w in reply.words)
    assert reply.words[-1].end <= reply.duration_seconds + 0.5
    # The reference text scores well; a different sentence scores far lower.
    words = [{"word": w.word, "probability": w.probability} for w in reply.words]
    right = scoring.pronunciation(SENTENCE, words)
    wrong = scoring.pronunciation("The quick brown fox jumps over the lazy dog by the river.", words)
    assert right["score"] >= 70 and right["accuracy"] >= 0.8
    assert wrong["score"] < right["score"] - 40


async def test_pose_on_a_photograph_of_a_person(model_set, namespace, astronaut_jpeg):
    async with inference_service(model_set, namespace, models="pose") as svc, stub_for(svc) as stub:
        reply = await stub.EstimatePose(pb.EstimatePoseRequest(media=astronaut_jpeg, media_type="image/jpeg"),
                                        timeout=60)
    assert (reply.width, reply.height, reply.total_frames) == (512, 512, 1)
    [frame] = reply.frames
    assert len(frame.landmarks) == 33
    nose, l_hip, r_hip = frame.landmarks[NOSE], frame.landmarks[LEFT_HIP], frame.landmarks[RIGHT_HIP]
    assert nose.visibility > 0.9
    assert nose.y < min(l_hip.y, r_hip.y) - 0.3  # the head is well above the hips
    assert 0.3 < nose.x < 0.6 and 0.1 < nose.y < 0.4  # her face, left of centre, in the top part
    # A half-length portrait: the face (0-10) and shoulders (11, 12) are in view.
    visible = [lm for lm in frame.landmarks if lm.visibility > 0.5]
    assert all(frame.landmarks[i].visibility > 0.5 for i in range(13))
    assert all(0.0 <= lm.x <= 1.0 and 0.0 <= lm.y <= 1.0 for lm in visible)


async def test_pose_on_video_samples_frames(model_set, namespace, short_video):
    async with inference_service(model_set, namespace, models="pose") as svc, stub_for(svc) as stub:
        every = await stub.EstimatePose(pb.EstimatePoseRequest(media=short_video, media_type="video/mp4",
                                                               max_frames=50), timeout=60)
        sampled = await stub.EstimatePose(pb.EstimatePoseRequest(media=short_video, max_frames=5), timeout=60)
    assert every.total_frames == 20 and every.fps == pytest.approx(25.0)
    assert len(every.frames) == 20
    assert all(len(f.landmarks) == 33 for f in every.frames)
    assert [f.index for f in sampled.frames] == [0, 4, 8, 12, 16]
    assert [f.timestamp for f in sampled.frames] == pytest.approx([0.0, 0.16, 0.32, 0.48, 0.64])
    # The same person in every frame: consecutive poses are nearly identical.
    similarity = scoring.pose_similarity([[(lm.x, lm.y) for lm in f.landmarks] for f in sampled.frames],
                                         [[(lm.x, lm.y) for lm in f.landmarks] for f in every.frames])
    assert similarity is not None and similarity["score"] > 95


async def test_embeddings_have_384_dimensions_and_similar_sentences_are_closer(model_set, namespace):
    texts = ["A man is playing a guitar.", "Someone is playing an instrument.", "The stock market fell sharply today."]
    async with inference_service(model_set, namespace, models="embed") as svc, stub_for(svc) as stub:
        reply = await stub.Embed(pb.EmbedRequest(texts=texts), timeout=60)
    assert reply.model == "all-MiniLM-L6-v2" and reply.dimensions == 384
    vectors = np.array([e.values for e in reply.embeddings])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


async def test_generate_streams_tokens(model_set, namespace):
    async with inference_service(model_set, namespace, models="llm") as svc, stub_for(svc) as stub:
        chunks = [c async for c in stub.Generate(pb.GenerateRequest(prompt="The capital of France is", max_tokens=12),
                                                 timeout=120)]
    *pieces, last = chunks
    assert last.done and last.finish_reason in ("length", "stop") and last.completion_tokens > 0
    # The cleaned stream (answer_text.StreamCleaner) releases whole sentences, each its own chunk.
    assert pieces and all(p.text and not p.done for p in pieces)
    assert "".join(p.text for p in pieces).strip()
    assert last.model.startswith("gemma-3-270m")


async def test_bad_input_is_a_clear_4xx(model_set, namespace):
    async with inference_service(model_set, namespace, models="pose,embed") as svc, stub_for(svc) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as bad_image:
            await stub.EstimatePose(pb.EstimatePoseRequest(media=b"not an image", media_type="image/png"), timeout=30)
        with pytest.raises(grpc.aio.AioRpcError) as bad_video:
            await stub.EstimatePose(pb.EstimatePoseRequest(media=b"\x00" * 1000, media_type="video/mp4"), timeout=30)
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await stub.Embed(pb.EmbedRequest(texts=[]), timeout=30)
        with pytest.raises(grpc.aio.AioRpcError) as disabled:
            await stub.Transcribe(pb.TranscribeRequest(audio=b"RIFF"), timeout=30)
    assert bad_image.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _error_code(bad_image.value) == "inference.bad_media"
    assert bad_video.value.code() == grpc.StatusCode.INVALID_ARGUMENT and _error_code(bad_video.value) == "inference.bad_media"
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert disabled.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert _error_code(disabled.value) == "inference.model_disabled"


async def test_undecodable_audio_is_invalid_argument(model_set, namespace):
    async with inference_service(model_set, namespace, models="stt") as svc, stub_for(svc) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Transcribe(pb.TranscribeRequest(audio=b"this is not audio at all" * 10), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _error_code(err.value) == "inference.bad_media"
