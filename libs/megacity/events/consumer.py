"""Idempotent JetStream consumers: effects happen once however often a message arrives.

Per message, in ONE database transaction: insert (consumer, Nats-Msg-Id) into the inbox with
ON CONFLICT DO NOTHING; if the row was new, run the handler. Commit, and only then ack. A crash
before the commit leaves nothing behind and the message is redelivered after `ack_wait`; a
crash after the commit leaves the inbox row, so the redelivery is recognised and just acked. A
redelivery that overlaps a still-running first attempt waits on the inbox row's lock.

A failing handler rolls back, and the message is nak'ed with the next `backoff` delay. After
`max_deliver` deliveries it is published, with error headers, to `<ns>.dlq.<tail>` and
terminated. The library, not the server, counts deliveries (the server's max_deliver is
unlimited): a message only leaves by ack or by reaching the DLQ, never silently, even when the
DLQ publish fails or a poison message kills the process before it can report anything.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.db.tenant import system_transaction
from megacity.events import envelope
from megacity.events.envelope import Event
from megacity.events.outbox import qualified
from megacity.events.streams import dlq_stream, dlq_subject, ensure_streams, events_filter, events_stream
from megacity.telemetry.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)
tracer = trace.get_tracer("megacity.events")

Handler = Callable[[AsyncSession, Event], Awaitable[None]]


def _header_value(value: str, limit: int = 1024) -> str:
    """NATS header values are single lines."""
    return " ".join(value.split())[:limit]


class IdempotentConsumer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        schema: str,
        namespace: str,
        durable: str,
        subjects: str,
        handler: Handler,
        *,
        max_deliver: int = 5,
        backoff: Sequence[float] = (1, 5, 30, 120),
        ack_wait: float = 30.0,
        batch: int = 10,
        fetch_timeout: float = 1.0,
    ) -> None:
        """`subjects` filters under `<ns>.events.`, e.g. "org.*"; `durable` names the consumer
        in JetStream and in the inbox, so keep it stable across deploys."""
        if max_deliver < 1 or not backoff:
            raise ValueError("max_deliver must be >= 1 and backoff non-empty")
        self.sessions, self.js, self.schema, self.namespace = sessions, js, schema, namespace
        self.durable, self.handler = durable, handler
        self.max_deliver, self.backoff, self.ack_wait = max_deliver, list(backoff), ack_wait
        self.batch, self.fetch_timeout = batch, fetch_timeout
        self._stream, self._dlq_stream = events_stream(namespace), dlq_stream(namespace)
        self._filter = events_filter(namespace, subjects)
        self._sub: JetStreamContext.PullSubscription | None = None
        self._stopping = asyncio.Event()
        self._claim = text(
            f"INSERT INTO {qualified(schema, 'inbox')} (consumer, msg_id) VALUES (:consumer, :msg_id)"
            " ON CONFLICT DO NOTHING RETURNING true"
        )

    async def start(self) -> None:
        """Create (or update) the durable pull consumer and bind to it. Idempotent."""
        if self._sub is not None:
            return
        await ensure_streams(self.js, self.namespace)
        config = ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            filter_subject=self._filter,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,  # counted here, so nothing is dropped without reaching the DLQ
            deliver_policy=DeliverPolicy.ALL,
        )
        await self.js.add_consumer(self._stream, config)
        self._sub = await self.js.pull_subscribe_bind(durable=self.durable, stream=self._stream)

    async def process_batch(self, timeout: float = 1.0) -> int:
        """Fetch up to `batch` messages (waiting at most `timeout` s) and handle them.

        Returns how many were handled. After `stop()`, messages not yet started are nak'ed
        so another replica gets them at once.
        """
        await self.start()
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(self.batch, timeout=timeout)
        except TimeoutError:  # nothing to do (nats-py raises both its own and the builtin one)
            return 0
        for i, msg in enumerate(msgs):
            if self._stopping.is_set():
                for rest in msgs[i:]:
                    await rest.nak()
                return i
            await self._handle(msg)
        return len(msgs)

    async def run(self) -> None:
        """Consume until `stop()`; the message in hand is finished first. NATS or database
        trouble is logged and retried with backoff, never raised."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self.process_batch(self.fetch_timeout)
                failures = 0
            except Exception:
                failures += 1
                log.exception("consumer %s failed (attempt %d); retrying", self.durable, failures)
                await self._unbind()
                try:
                    await asyncio.wait_for(self._stopping.wait(), min(30.0, 0.5 * 2**failures))
                except TimeoutError:
                    pass
        await self._unbind()

    def stop(self) -> None:
        """Ask `run()` to return once the current message is done."""
        self._stopping.set()

    async def close(self) -> None:
        """Stop and drop the subscription (the durable consumer stays in JetStream)."""
        self.stop()
        await self._unbind()

    async def _unbind(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:
                log.debug("unsubscribe failed; the connection is already gone", exc_info=True)

    def _delay(self, delivered: int) -> float:
        return self.backoff[min(delivered, len(self.backoff)) - 1]

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
        delivered = meta.num_delivered
        headers = dict(msg.headers or {})
        msg_id = headers.get(envelope.MSG_ID) or f"{meta.stream}:{meta.sequence.stream}"
        parent = propagate.extract(headers, context=Context())  # the producer span
        with tracer.start_as_current_span(
            f"{msg.subject} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.message.id": msg_id,
                "messaging.consumer.group.name": self.durable,
                "megacity.delivered": delivered,
            },
        ) as span:
            if delivered > self.max_deliver:
                # Earlier attempts ended without an outcome (process died, or the DLQ was down).
                await self._dead_letter(msg, headers, msg_id, delivered, "delivery limit reached")
                return
            try:
                event = envelope.decode(msg.data, msg_id=msg_id, subject=msg.subject,
                                        headers=headers, delivered=delivered)
            except (ValueError, KeyError, TypeError) as exc:  # retrying cannot fix a malformed body
                span.set_status(Status(StatusCode.ERROR, "bad envelope"))
                await self._dead_letter(msg, headers, msg_id, delivered, f"bad envelope: {exc!r}")
                return
            try:
                async with system_transaction(self.sessions) as session:
                    fresh = (await session.execute(
                        self._claim, {"consumer": self.durable, "msg_id": msg_id})).first() is not None
                    if fresh:
                        await self.handler(session, event)
            except Exception as exc:  # noqa: BLE001 - rolled back: no inbox row, no effects
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if delivered >= self.max_deliver:
                    await self._dead_letter(msg, headers, msg_id, delivered, f"{type(exc).__name__}: {exc}")
                else:
                    log.warning("consumer %s: %s failed on delivery %d: %r", self.durable, msg_id, delivered, exc)
                    EVENTS_CONSUMED.labels(self.schema, self.durable, "retry").inc()
                    await msg.nak(delay=self._delay(delivered))
                return
            span.set_attribute("megacity.duplicate", not fresh)
            await msg.ack()
            EVENTS_CONSUMED.labels(self.schema, self.durable, "ok" if fresh else "duplicate").inc()

    async def _dead_letter(self, msg: Msg, headers: dict[str, str], msg_id: str, delivered: int, error: str) -> None:
        dlq_headers = {
            **headers,
            # Per consumer: two consumers giving up on one event must both land in the DLQ.
            envelope.MSG_ID: f"{self.durable}:{msg_id}",
            "Mc-Original-Msg-Id": msg_id,
            "Mc-Original-Subject": msg.subject,
            "Mc-Consumer": self.durable,
            "Mc-Delivered": str(delivered),
            "Mc-Error": _header_value(error),
        }
        try:
            await self.js.publish(dlq_subject(self.namespace, msg.subject), msg.data,
                                  stream=self._dlq_stream, headers=dlq_headers)
        except Exception:
            log.exception("consumer %s: DLQ publish for %s failed; will retry", self.durable, msg_id)
            await msg.nak(delay=self._delay(delivered))
            return
        log.error("consumer %s: %s dead-lettered after %d deliveries: %s", self.durable, msg_id, delivered, error)
        EVENTS_CONSUMED.labels(self.schema, self.durable, "dead_letter").inc()
        await msg.term()
