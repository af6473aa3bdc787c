"""The outbox relay: publishes committed outbox rows to JetStream, in order, at least once.

Each pass locks a batch of unpublished rows (FOR UPDATE SKIP LOCKED, so several replicas
share the work without blocking), publishes each with `Nats-Msg-Id` = the row's event id and
waits for the PubAck, then marks the rows published in the same transaction. A crash between
publish and commit re-publishes the same ids later; JetStream's duplicate window drops them.
One relay per service keeps the stream in commit-id order; more replicas stay correct (no row
is lost or doubled) but may interleave their batches.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.db.tenant import system_transaction
from megacity.events import envelope
from megacity.events.outbox import qualified
from megacity.events.streams import ensure_streams, events_stream, subject
from megacity.telemetry.metrics import EVENTS_PUBLISHED, OUTBOX_PENDING

log = logging.getLogger(__name__)
tracer = trace.get_tracer("megacity.events")


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        schema: str,
        namespace: str,
        batch: int = 100,
        poll_interval: float = 0.2,
        max_backoff: float = 30.0,
    ) -> None:
        self.sessions, self.js, self.schema, self.namespace = sessions, js, schema, namespace
        self.batch, self.poll_interval, self.max_backoff = batch, poll_interval, max_backoff
        self._stream = events_stream(namespace)
        self._streams_ready = False
        self._stopping = asyncio.Event()
        outbox = qualified(schema, "outbox")
        self._select = text(
            "SELECT id, event_id, event_type, subject, payload, zone_id, org_id, traceparent, tracestate,"
            f" created_at FROM {outbox} WHERE published_at IS NULL ORDER BY id LIMIT :n"
            " FOR UPDATE SKIP LOCKED"
        )
        self._mark = text(f"UPDATE {outbox} SET published_at = now() WHERE id = ANY(:ids)")

    async def publish_pending(self) -> int:
        """One pass: publish up to `batch` rows. Returns how many; raises if NATS failed.

        Rows published before a failure are still marked, and the failing row and those after
        it stay for the next pass, so order is kept.
        """
        if not self._streams_ready:
            await ensure_streams(self.js, self.namespace)
            self._streams_ready = True
        error: Exception | None = None
        async with system_transaction(self.sessions) as session:
            rows = (await session.execute(self._select, {"n": self.batch})).mappings().all()
            done: list[int] = []
            for row in rows:
                try:
                    await self._publish(row)
                except Exception as exc:  # noqa: BLE001 - re-raised after the commit below
                    error = exc
                    break
                done.append(row["id"])
            if done:
                await session.execute(self._mark, {"ids": done})
        # Rows that were waiting at the start of this pass and are still unpublished.
        OUTBOX_PENDING.labels(self.schema).set(len(rows) - len(done))
        if error is not None:
            self._streams_ready = False  # the stream may be gone: re-create it next pass
            raise error
        return len(done)

    async def _publish(self, row: Any) -> None:
        full_subject = subject(self.namespace, row["subject"])
        msg_id = str(row["event_id"])
        stored = {k: row[k] for k in ("traceparent", "tracestate") if row[k]}
        # Parent = the request that wrote the row, not whatever the relay loop is doing.
        parent = propagate.extract(stored, context=Context())
        with tracer.start_as_current_span(
            f"{full_subject} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "publish",
                "messaging.destination.name": full_subject,
                "messaging.message.id": msg_id,
            },
        ):
            headers = {envelope.MSG_ID: msg_id}
            propagate.inject(headers)  # this producer span becomes the consumer span's parent
            body = envelope.encode(
                event_id=msg_id, event_type=row["event_type"], payload=row["payload"],
                zone_id=row["zone_id"], org_id=row["org_id"], occurred_at=row["created_at"],
            )
            await self.js.publish(full_subject, body, stream=self._stream, headers=headers)
        EVENTS_PUBLISHED.labels(self.schema, row["event_type"]).inc()

    async def run(self) -> None:
        """Publish until `stop()`. NATS or database trouble is logged and retried with
        exponential backoff; it never ends the loop (a service must outlive a NATS restart)."""
        failures = 0
        while not self._stopping.is_set():
            try:
                count = await self.publish_pending()
                failures = 0
            except Exception:
                failures += 1
                count = 0
                log.exception("outbox relay for %s failed (attempt %d); retrying", self.schema, failures)
            if count >= self.batch:
                continue  # more waiting: go again at once
            delay = min(self.max_backoff, self.poll_interval * 2**failures)
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Ask `run()` to return after the pass in progress."""
        self._stopping.set()
