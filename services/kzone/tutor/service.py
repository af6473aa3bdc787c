"""Ask the tutor: build the LLM's prompt, open inference's streaming Generate over gRPC and turn
its chunks into SSE events.

The call is opened (and admitted by inference's gate, which then sends its initial metadata)
before the HTTP response starts, so an unreachable or refusing inference service is a plain 503
`dependency.inference_unavailable`; after the first byte, a failure is an `error` event. The
answer arrives in whole sentences: inference cleans the stream (echoed instructions, invented
follow-up turns and loops are cut, and generation stops there; services/inference/answer_text.py).
Closing the generator (the client went away) cancels the gRPC call, and inference stops
generating within one token.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
from starlette.types import Receive

from mcproto.inference.v1 import inference_pb2, inference_pb2_grpc
from megacity.errors import AppError, from_grpc_error
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.kzone.tutor.schemas import TutorAskIn, event

log = get_logger("kzone.tutor")

PEER = "inference"
# One to three sentences; a bigger budget only gives a small model room to wander.
MAX_TOKENS = 96
# The whole answer, generation on a busy CPU included.
TIMEOUT_SECONDS = 120.0

INSTRUCTIONS = ("You are a patient language tutor. Answer the learner's question in two or three short, "
                "clear sentences. Do not ask questions.")


def tutor_prompt(question: str, context: str | None = None) -> str:
    """The user turn sent to the LLM (inference wraps it in the model's chat template)."""
    prompt = INSTRUCTIONS + "\n\n"
    if context:
        prompt += f"What the learner is studying: {context}\n"
    return prompt + f"Question: {question}"


def unavailable(err: grpc.aio.AioRpcError) -> AppError:
    """Any refusal of inference before the answer starts (down, draining, busy, LLM not served)
    is the same thing to the learner: retry shortly."""
    cause = from_grpc_error(err, PEER)
    return AppError(503, f"dependency.{PEER}_unavailable", f"the tutor cannot answer now ({cause.code}); retry shortly")


async def open_answer(res: Resources, ask: TutorAskIn) -> grpc.aio.UnaryStreamCall:
    """The Generate call, admitted by inference (raises 503 before any byte is sent)."""
    stub = inference_pb2_grpc.InferenceServiceStub(res.channel(PEER))
    call = stub.Generate(inference_pb2.GenerateRequest(prompt=tutor_prompt(ask.question, ask.context),
                                                       max_tokens=MAX_TOKENS), timeout=TIMEOUT_SECONDS)
    try:
        await call.wait_for_connection()
    except grpc.aio.AioRpcError as err:
        raise unavailable(err) from err
    except BaseException:
        call.cancel()
        raise
    return call


async def answer_events(call: grpc.aio.UnaryStreamCall, receive: Receive | None = None) -> AsyncIterator[bytes]:
    """`delta` events, then `done`, or an `error` event (problem JSON). `receive`: the ASGI
    receive channel, watched for `http.disconnect` so that a client that goes away cancels the
    gRPC call at once (not only when the next sentence fails to send)."""
    started = time.perf_counter()
    gone = asyncio.Event()

    async def watch() -> None:
        assert receive is not None
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()
        call.cancel()

    watcher = asyncio.create_task(watch()) if receive is not None else None
    try:
        while True:
            try:
                chunk = await call.read()
            except asyncio.CancelledError:
                if gone.is_set():  # our own cancel: the client left, nobody to answer
                    log.info("tutor client disconnected; generation cancelled")
                    return
                raise
            if chunk is grpc.aio.EOF:
                yield event("error", AppError(502, f"upstream.{PEER}_error",
                                              "the answer ended without its last chunk").problem())
                return
            if chunk.text:
                yield event("delta", {"text": chunk.text})
            if chunk.done:
                yield event("done", {"finish_reason": chunk.finish_reason, "completion_tokens": chunk.completion_tokens,
                                     "model": chunk.model, "elapsed_ms": round((time.perf_counter() - started) * 1000)})
                return
    except grpc.aio.AioRpcError as err:
        problem = from_grpc_error(err, PEER)  # e.g. 503 dependency.inference_unavailable, 504 ...deadline_exceeded
        log.warning("tutor answer failed mid-stream", code=problem.code)
        yield event("error", problem.problem())
    finally:
        if watcher is not None:
            watcher.cancel()
        if not call.done():
            call.cancel()
