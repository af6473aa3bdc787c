"""Question embeddings through the inference service's `Embed` (all-MiniLM-L6-v2, 384 dimensions,
L2-normalised: cosine similarity is the dot product).

Never called inside a database transaction (no gRPC while a transaction is open). `embed` turns
any refusal of inference into 503 `dependency.inference_unavailable`; `embed_or_none` answers None
instead, for the paths that store a question with `embedding_status='pending'` and let the
backfill (`questions.service.backfill_embeddings`) embed it later.
"""
from __future__ import annotations

from collections.abc import Sequence

import grpc

from mcproto.inference.v1 import inference_pb2, inference_pb2_grpc
from megacity.errors import AppError, from_grpc_error
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger

log = get_logger("arena.embeddings")

PEER = "inference"
DIMENSIONS = 384  # migration 0001: questions.embedding vector(384)
# Texts per call: inference batches 64 at a time; larger calls only hold one slot longer.
BATCH = 256
# A create waits this long for its embedding before storing the question as pending.
TIMEOUT_SECONDS = 10.0

Vector = list[float]


def unavailable(cause: str) -> AppError:
    return AppError(503, f"dependency.{PEER}_unavailable", f"embeddings are unavailable now ({cause}); retry shortly")


async def embed(res: Resources, texts: Sequence[str], timeout: float = TIMEOUT_SECONDS) -> list[Vector]:
    """One 384-d vector per text, in order; 503 `dependency.inference_unavailable` when inference
    refuses, is down, or answers with vectors of another size."""
    stub = inference_pb2_grpc.InferenceServiceStub(res.channel("inference"))
    out: list[Vector] = []
    for start in range(0, len(texts), BATCH):
        batch = list(texts[start:start + BATCH])
        try:
            reply = await stub.Embed(inference_pb2.EmbedRequest(texts=batch), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            raise unavailable(from_grpc_error(err, PEER).code) from err
        if len(reply.embeddings) != len(batch) or any(len(e.values) != DIMENSIONS for e in reply.embeddings):
            raise unavailable(f"expected {len(batch)} vectors of {DIMENSIONS} dimensions")
        out.extend(list(e.values) for e in reply.embeddings)
    return out


async def embed_or_none(res: Resources, texts: Sequence[str], timeout: float = TIMEOUT_SECONDS) -> list[Vector] | None:
    """`embed`, or None when inference cannot embed now (the caller stores the rows as pending)."""
    if not texts:
        return []
    try:
        return await embed(res, texts, timeout)
    except AppError as err:
        log.warning("embedding deferred: inference unavailable", detail=err.detail, texts=len(texts))
        return None


async def embed_one_or_none(res: Resources, text: str, timeout: float = TIMEOUT_SECONDS) -> Vector | None:
    vectors = await embed_or_none(res, [text], timeout)
    return vectors[0] if vectors else None


def literal(vector: Sequence[float]) -> str:
    """pgvector's text form ('[0.1,0.2,...]'), bound as a parameter and cast with CAST(:v AS vector)."""
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"
