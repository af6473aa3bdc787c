"""InferenceService gRPC: Transcribe, EstimatePose, Generate (streaming), Embed.

Every call goes through its model's gate (hard concurrency limit, bounded queue, deadline) and
runs the model in a worker thread; see gate.py. Errors are AppErrors, mapped by the shared
interceptor to gRPC status + `x-error-code`.
"""
from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator

import grpc

from mcproto.inference.v1 import inference_pb2, inference_pb2_grpc
from megacity.errors import AppError
from megacity.runtime import Resources
from services.inference import media, metrics
from services.inference.backends.llm import Finish, GenerateParams, cleaned
from services.inference.gate import CancelToken, deadline_exceeded, time_left
from services.inference.models import InferenceState

SERVICE_NAME = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _need(data: bytes, what: str) -> None:
    if not data:
        raise AppError(400, "inference.empty_media", f"{what} is empty")


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, state: InferenceState) -> None:
        self.state = state
        self.settings = state.settings

    async def Transcribe(self, request: inference_pb2.TranscribeRequest,
                         context: grpc.aio.ServicerContext) -> inference_pb2.TranscribeResponse:
        backend = self.state.backend("stt")
        _need(request.audio, "audio")
        if len(request.audio) > self.settings.max_media_bytes:
            raise AppError(400, "inference.media_too_large", "audio is larger than the limit")
        language = request.language.strip().lower() or None
        result = await self.state.call("stt", backend.transcribe, io.BytesIO(request.audio), language,
                                       deadline=_deadline(context))
        return inference_pb2.TranscribeResponse(
            text=result.text, duration_seconds=result.duration_seconds, language=result.language,
            language_probability=result.language_probability, model=backend.description,
            words=[inference_pb2.Word(word=w.word, start=w.start, end=w.end, probability=w.probability)
                   for w in result.words])

    async def EstimatePose(self, request: inference_pb2.EstimatePoseRequest,
                           context: grpc.aio.ServicerContext) -> inference_pb2.EstimatePoseResponse:
        backend = self.state.backend("pose")
        _need(request.media, "media")
        if request.max_frames < 0 or request.sample_fps < 0:
            raise AppError(400, "request.invalid", "max_frames and sample_fps must not be negative")
        deadline = _deadline(context)
        rgb = media.decode_image(request.media) if media.looks_like_image(request.media, request.media_type) else None
        if rgb is not None:
            result = await self.state.call("pose", backend.estimate_image, rgb, deadline=deadline)
        elif request.media_type.startswith("image/"):
            raise AppError(400, "inference.bad_media", "the image could not be decoded")
        else:
            with media.temp_file(request.media) as path:
                result = await self.state.call("pose", backend.estimate_video, path, request.max_frames,
                                               request.sample_fps, deadline=deadline)
        return inference_pb2.EstimatePoseResponse(
            width=result.width, height=result.height, fps=result.fps, total_frames=result.total_frames,
            model=backend.description,
            frames=[inference_pb2.PoseFrame(
                index=f.index, timestamp=f.timestamp,
                landmarks=[inference_pb2.Landmark(x=x, y=y, z=z, visibility=v) for x, y, z, v in f.landmarks])
                for f in result.frames])

    async def Embed(self, request: inference_pb2.EmbedRequest,
                    context: grpc.aio.ServicerContext) -> inference_pb2.EmbedResponse:
        backend = self.state.backend("embed")
        texts = list(request.texts)
        if not texts:
            raise AppError(400, "request.invalid", "texts must not be empty")
        if len(texts) > self.settings.embed_max_texts:
            raise AppError(400, "request.invalid", f"at most {self.settings.embed_max_texts} texts per call")
        if any(len(t) > self.settings.embed_max_chars for t in texts):
            raise AppError(400, "request.invalid", f"a text is longer than {self.settings.embed_max_chars} characters")
        vectors = await self.state.call("embed", backend.embed, texts, deadline=_deadline(context))
        return inference_pb2.EmbedResponse(model=backend.name, dimensions=backend.dimensions,
                                           embeddings=[inference_pb2.Embedding(values=v) for v in vectors])

    async def Generate(self, request: inference_pb2.GenerateRequest,
                       context: grpc.aio.ServicerContext) -> AsyncIterator[inference_pb2.GenerateChunk]:
        backend = self.state.backend("llm")
        params = generate_params(self.settings, request.prompt, request.max_tokens, request.temperature,
                                 request.top_p)
        deadline = _deadline(context)
        token = CancelToken(deadline)
        gate = self.state.gate("llm")
        started = time.perf_counter()
        async with gate.slot(time_left(deadline)):
            # Admitted: say so now (headers before the first sentence), so a caller such as kzone's
            # tutor knows the call was accepted before it starts its own response.
            await context.send_initial_metadata(())
            try:
                pieces = backend.stream(params, token, gate)
                if self.settings.llm_clean_output:
                    pieces = cleaned(pieces, params.prompt, token)
                async for piece in pieces:
                    if isinstance(piece, Finish):
                        if piece.reason == "deadline":
                            raise deadline_exceeded("llm")
                        yield inference_pb2.GenerateChunk(done=True, finish_reason=piece.reason,
                                                          completion_tokens=piece.completion_tokens,
                                                          model=backend.description)
                    else:
                        yield inference_pb2.GenerateChunk(text=piece)
            finally:
                metrics.MODEL_LATENCY.labels("llm", backend.backend).observe(time.perf_counter() - started)


def generate_params(settings, prompt: str, max_tokens: int, temperature: float, top_p: float) -> GenerateParams:
    if not prompt.strip():
        raise AppError(400, "request.invalid", "prompt must not be empty")
    if len(prompt) > 32_000:
        raise AppError(400, "request.invalid", "prompt is longer than 32000 characters")
    if max_tokens < 0 or temperature < 0 or not 0 <= top_p <= 1:
        raise AppError(400, "request.invalid", "max_tokens and temperature must be >= 0, top_p in [0, 1]")
    return GenerateParams(prompt=prompt, max_tokens=min(max_tokens or settings.llm_default_max_tokens,
                                                         settings.llm_max_tokens),
                          temperature=temperature, top_p=top_p or 1.0,
                          repetition_penalty=settings.llm_repetition_penalty,
                          no_repeat_ngram_size=settings.llm_no_repeat_ngram_size)


def registrar(state: InferenceState):
    def make(res: Resources):
        return lambda server: inference_pb2_grpc.add_InferenceServiceServicer_to_server(
            InferenceServicer(state), server)

    return make
