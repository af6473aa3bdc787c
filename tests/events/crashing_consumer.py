"""A consumer process that dies mid-message, for the crash tests (run as a subprocess).

    python crashing_consumer.py DB_URL NATS_URL NAMESPACE SCHEMA DURABLE before-commit|after-commit

Its handler writes the effect row, then the process kills itself with os._exit(1): either
inside the transaction (nothing committed) or right after COMMIT and before the ack.
Exits 0 only if it found no message, which the test treats as a failure.
"""
from __future__ import annotations

import asyncio
import os
import sys

import nats
from sqlalchemy import event as sa_event
from sqlalchemy import text

from megacity.db import make_engine, make_sessionmaker
from megacity.events import Event, IdempotentConsumer


async def main(db_url: str, nats_url: str, namespace: str, schema: str, durable: str, mode: str) -> None:
    async def handler(session, event: Event) -> None:
        await session.execute(text(f'INSERT INTO "{schema}".effects (msg_id) VALUES (:m)'), {"m": event.id})
        if mode == "before-commit":
            os._exit(1)
        sa_event.listen(session.sync_session, "after_commit", lambda _s: os._exit(1))

    nc = await nats.connect(nats_url)
    consumer = IdempotentConsumer(make_sessionmaker(make_engine(db_url)), nc.jetstream(), schema, namespace,
                                  durable, "org.*", handler, ack_wait=1.0)
    await consumer.process_batch(timeout=10)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
