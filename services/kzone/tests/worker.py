"""The inference side of the AI-job contract, played by a test through the real NATS broker:
pull `ai.job.*` messages kzone's outbox relay published, report progress into the job's Redis
hash, and publish `ai.result.<kind>` envelopes with Nats-Msg-Id `<job_id>:result` (results
shaped as inference sends them: `voice_result`)."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from megacity.events import ensure_streams, envelope, events_stream, subject
from megacity.job_progress import JobProgress
from megacity.redis_keys import RedisKeys


class ContractWorker:
    def __init__(self, nats_client: Any, redis_client: Any, namespace: str) -> None:
        self.js = nats_client.jetstream()
        self.namespace = namespace
        self.progress = JobProgress(redis_client, RedisKeys(namespace))
        self._sub: Any = None

    async def start(self) -> ContractWorker:
        await ensure_streams(self.js, self.namespace)
        self._sub = await self.js.pull_subscribe(f"{self.namespace}.events.ai.job.>", durable="test-inference",
                                                 stream=events_stream(self.namespace))
        return self

    async def next_job(self, timeout: float = 15.0) -> tuple[dict[str, Any], dict[str, Any]]:
        """(envelope, payload) of the next ai.job message, acked."""
        msgs = await self._sub.fetch(1, timeout=timeout)
        msg = msgs[0]
        await msg.ack()
        doc = json.loads(msg.data)
        assert msg.subject == subject(self.namespace, doc["type"])
        return doc, doc["data"]

    async def report(self, job: dict[str, Any], step: str, progress: float) -> None:
        await self.progress.update(job["zone_id"], job["org_id"], job["job_id"], step=step, progress=progress)

    async def publish_result(self, job: dict[str, Any], *, status: str = "succeeded", result: Any = None,
                             error: str | None = None, msg_id: str | None = None) -> None:
        payload = {"job_id": job["job_id"], "zone_id": job["zone_id"], "org_id": job["org_id"], "kind": job["kind"],
                   "status": status}
        if status == "succeeded":
            payload["result"] = result
        else:
            payload["error"] = error
        msg_id = msg_id or f"{job['job_id']}:result"
        body = envelope.encode(event_id=msg_id, event_type=f"ai.result.{job['kind']}", payload=payload,
                               zone_id=job["zone_id"], org_id=uuid.UUID(job["org_id"]), occurred_at=None)
        await self.js.publish(subject(self.namespace, f"ai.result.{job['kind']}"), body,
                              stream=events_stream(self.namespace), headers={envelope.MSG_ID: msg_id})


def words(text: str, prob: float = 0.95, step: float = 0.4) -> list[dict[str, Any]]:
    """The recogniser's words with timings, as the voice result carries them."""
    return [{"word": f" {w}", "start": round(i * step, 3), "end": round(i * step + step - 0.05, 3), "probability": prob}
            for i, w in enumerate(text.split())]


def voice_result(reference: str, heard: str, *, prob: float = 0.95, credit: dict[str, float] | None = None,
                 **extra: Any) -> dict[str, Any]:
    """A voice job's result as inference sends it: transcript, words with timings and the
    `pronunciation{…}` document (the real one is computed by services/inference/scoring.py), for
    a reading that lines up word for word with the reference. A heard word equal to its
    reference word is `correct` (score 100 × prob); any other is `substituted` with the score
    given in `credit` (what inference awards a similar spelling; 0 when not given)."""
    ref = [w.strip(".,!?").lower() for w in reference.split()]
    said = words(heard, prob)
    assert len(said) == len(ref), "the fake reading lines up word for word"
    alignment = []
    for r, w in zip(ref, said, strict=True):
        h = w["word"].strip(" .,!?").lower()
        op = "correct" if h == r else "substituted"
        alignment.append({"op": op, "reference": r, "heard": h, "start": w["start"], "end": w["end"],
                          "confidence": prob, "score": round(100 * prob, 1) if op == "correct" else (credit or {}).get(h, 0.0)})
    n = len(ref)
    correct = sum(a["op"] == "correct" for a in alignment)
    pronunciation = {
        "score": round(sum(a["score"] for a in alignment) / n, 1), "accuracy": round(correct / n, 3),
        "completeness": 1.0, "wer": round((n - correct) / n, 3), "reference_words": n, "heard_words": n,
        "counts": {"correct": correct, "substituted": n - correct, "missed": 0, "inserted": 0},
        "alignment": alignment}
    return {"text": heard, "words": said, "pronunciation": pronunciation, **extra}


async def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
