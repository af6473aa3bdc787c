"""POST /api/v1/kzone/tutor/ask: validation codes, 503 while inference is down, and a real answer
streamed as SSE from the real inference service running the CPU LLM (Gemma 3 270M), including
a client that disconnects mid-answer (the generation is cancelled in inference)."""
from __future__ import annotations

import json
import socket
import uuid

import httpx
import pytest

from megacity.telemetry_testing import sample_value
from megacity.testing import run_service
from services.kzone.tests.conftest import KZONE_HOST, KZONE_ZONE_ID
from services.kzone.tests.worker import wait_for
from services.kzone.tutor.schemas import MAX_CONTEXT, MAX_QUESTION

ASK = "/api/v1/kzone/tutor/ask"
ROLE_LABELS = ("<start_of_turn>", "<end_of_turn>", "\nQuestion:", "\nUser:", "\nStudent:")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def _headers(token_mint, role: str = "student") -> dict[str, str]:
    token = token_mint.token(zone_id=KZONE_ZONE_ID, role=role, org_id=uuid.uuid4())
    return {"Host": KZONE_HOST, "Authorization": f"Bearer {token}"}


async def test_bad_questions_get_stable_codes_and_a_down_inference_is_503(test_db, namespace, token_mint,
                                                                          tmp_path, redis_client, nats_client):
    peers = {"inference": f"127.0.0.1:{_closed_port()}"}
    async with run_service("kzone", test_db, namespace, object_backend="fs", object_root=str(tmp_path),
                           secret_key="kzone-test-secret-key", grpc_peers=peers) as kz:
        token_mint.install(kz.app)
        me = _headers(token_mint)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kz.http_port}", timeout=30) as c:
            assert (await c.post(ASK, json={"question": "Hi?"}, headers={"Host": KZONE_HOST})).status_code == 401
            cases = [
                (b"not json", 400, "tutor.invalid_body"),
                (b"[1, 2]", 400, "tutor.invalid_body"),
                (json.dumps({"question": 5}).encode(), 400, "tutor.invalid_body"),
                (json.dumps({"question": "Why?", "extra": 1}).encode(), 400, "tutor.invalid_body"),
                (json.dumps({"question": "   "}).encode(), 400, "tutor.question_empty"),
                (json.dumps({"question": "x" * (MAX_QUESTION + 1)}).encode(), 413, "tutor.question_too_long"),
                (json.dumps({"question": "Why?", "context": "y" * (MAX_CONTEXT + 1)}).encode(), 413,
                 "tutor.context_too_long"),
            ]
            for body, status, code in cases:
                resp = await c.post(ASK, content=body, headers={**me, "Content-Type": "application/json"})
                assert (resp.status_code, resp.json()["code"]) == (status, code), body[:40]
                assert resp.headers["content-type"].startswith("application/problem+json")
            # A valid question while inference is unreachable: 503 before any stream starts.
            resp = await c.post(ASK, json={"question": "What does 안녕 mean?"}, headers=me)
            assert resp.status_code == 503 and resp.json()["code"] == "dependency.inference_unavailable"
            assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.slow
async def test_the_answer_streams_from_the_real_cpu_model_and_a_disconnect_cancels_it(
        test_db, namespace, token_mint, tmp_path, redis_client, nats_client):
    async with run_service("inference", None, namespace, models="llm", jobs_enabled=False) as inf:
        peers = {"inference": f"127.0.0.1:{inf.grpc_port}"}
        async with run_service("kzone", test_db, namespace, object_backend="fs", object_root=str(tmp_path),
                               secret_key="kzone-test-secret-key", grpc_peers=peers) as kz:
            token_mint.install(kz.app)
            me = _headers(token_mint)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kz.http_port}", timeout=300) as c:
                question = {"question": "Why is the sky blue?", "context": "A science lesson for beginners"}
                async with c.stream("POST", ASK, json=question, headers=me) as resp:
                    assert resp.status_code == 200
                    assert resp.headers["content-type"].startswith("text/event-stream")
                    body = (await resp.aread()).decode()
                events = _events(body)
                names = [name for name, _ in events]
                assert names[-1] == "done" and set(names[:-1]) == {"delta"}, body
                done = events[-1][1]
                assert done["finish_reason"] in ("stop", "length") and done["completion_tokens"] > 0
                assert done["model"].startswith("gemma-3-270m")
                answer = "".join(data["text"] for name, data in events if name == "delta")
                print(f"\ntutor answer ({done['completion_tokens']} tokens, {done['elapsed_ms']} ms): {answer!r}")
                assert answer.strip() and not any(label in answer for label in ROLE_LABELS)
                assert "Answer the learner's question" not in answer  # no echoed instruction

                # A client that leaves after the first sentence: inference stops generating.
                labels = {"model": "llm", "reason": "cancelled"}
                before = sample_value("mc_inference_rejected_total", labels) or 0.0
                long_one = {"question": "Explain, step by step and in detail, how Korean verbs are conjugated "
                                        "in the polite present tense."}
                async with c.stream("POST", ASK, json=long_one, headers=me) as resp:
                    assert resp.status_code == 200
                    async for line in resp.aiter_lines():
                        if line.startswith("event: done"):
                            pytest.skip("the model finished its answer within one sentence")
                        if line.startswith("event: delta"):
                            break
                # The stream is closed: kzone cancels its gRPC call, inference its generation.
                async def cancelled() -> bool:
                    return (sample_value("mc_inference_rejected_total", labels) or 0.0) > before

                await wait_for(cancelled, timeout=120, interval=0.2)
