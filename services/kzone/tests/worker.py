"""The inference side of the AI-job contract, played by a test through the real NATS broker:
pull `ai.job.*` messages kzone's outbox relay published, report progress into the job's Redis
hash, and publish `ai.result.<kind>` envelopes with Nats-Msg-Id `<job_id>:result`."""
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
