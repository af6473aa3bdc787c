"""The real CPU model (Gemma 3 270M) through the Generate RPC, as the tutor asks it: the answer
passes the deterministic checker (answer_text.check: no echoed prompt, no repeated n-gram, no
turn marker, not empty). One short prompt: the model takes seconds per sentence on two cores."""
from __future__ import annotations

from mcproto.inference.v1 import inference_pb2 as pb
from services.inference.answer_text import check
from services.inference.tests.conftest import inference_service, stub_for

PROMPT = ("You are a patient language tutor. Answer the learner's question in two or three short, clear "
          "sentences. Do not ask questions.\n\nQuestion: What is the capital of South Korea?")


async def test_a_tutor_answer_from_the_real_model_is_clean(model_set, namespace):
    async with inference_service(model_set, namespace, models="llm") as svc, stub_for(svc) as stub:
        chunks = [c async for c in stub.Generate(pb.GenerateRequest(prompt=PROMPT, max_tokens=48), timeout=300)]
    *pieces, last = chunks
    answer = "".join(p.text for p in pieces)
    verdict = check(answer, PROMPT)
    print(f"\nanswer ({last.completion_tokens} tokens, {last.finish_reason}): {answer!r} -> {verdict.reasons}")
    assert last.done and last.finish_reason in ("stop", "length")
    assert verdict.clean, (answer, verdict.reasons)
