"""Outbox + relay against real PostgreSQL and NATS: only committed events, each exactly once."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import nats
import pytest
from sqlalchemy import text

from megacity.db import system_transaction
from megacity.events import OutboxRelay, add_event, events_stream, outbox_ddl, outbox_drop_ddl, prune, subject
from megacity.events.outbox import qualified
from megacity.testing import NATS_URL

ORG = uuid.UUID("11111111-2222-3333-4444-555555555555")


def test_names_and_identifiers():
    assert subject("mc", "org.created") == "mc.events.org.created"
    assert events_stream("mc") == "MC_EVENTS"
    for bad in ("org.*", "org..created", "org created", ""):
        with pytest.raises(ValueError):
            subject("mc", bad)
    for bad in ('x"; DROP TABLE y; --', "Tenant", "a.b"):
        with pytest.raises(ValueError):
            qualified(bad, "outbox")
    with pytest.raises(ValueError):
        outbox_ddl("bad-schema")


async def test_rolled_back_event_is_never_published(events_db, js, namespace, stream_count):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with system_transaction(events_db.sessions) as session:
            await add_event(session, events_db.schema, "org.created", {"name": "Gone"}, zone_id=1, org_id=ORG)
            await session.execute(text(f'INSERT INTO "{events_db.schema}".effects (msg_id) VALUES (:m)'), {"m": "x"})
            raise Boom  # the business change fails: the event must vanish with it

    relay = OutboxRelay(events_db.sessions, js, events_db.schema, namespace)
    assert await relay.publish_pending() == 0
    assert await stream_count(events_stream(namespace)) == 0
    assert events_db.query("SELECT count(*) FROM {s}.outbox") == [(0,)]
    assert events_db.query("SELECT count(*) FROM {s}.effects") == [(0,)]


async def test_committed_events_are_published_once_in_order(events_db, js, namespace, stream_count):
    async with system_transaction(events_db.sessions) as session:
        ids = [await add_event(session, events_db.schema, "org.created", {"n": i, "org": ORG}, zone_id=3, org_id=ORG)
               for i in range(3)]

    relay = OutboxRelay(events_db.sessions, js, events_db.schema, namespace, batch=2)
    assert await relay.publish_pending() == 2  # batch limit
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0  # a second pass finds nothing
    assert await stream_count(events_stream(namespace)) == 3
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(0,)]

    for seq, event_id in enumerate(ids, start=1):
        msg = await js.get_msg(events_stream(namespace), seq)
        assert msg.subject == f"{namespace}.events.org.created"
        assert msg.headers["Nats-Msg-Id"] == str(event_id)
        body = json.loads(msg.data)
        assert body["id"] == str(event_id) and body["type"] == "org.created"
        assert body["zone_id"] == 3 and body["org_id"] == str(ORG)
        assert body["data"] == {"n": seq - 1, "org": str(ORG)} and body["occurred_at"]


async def test_crash_between_publish_and_mark_is_deduplicated(events_db, js, namespace, stream_count):
    async with system_transaction(events_db.sessions) as session:
        event_id = await add_event(session, events_db.schema, "org.updated", {"v": 1}, zone_id=1, org_id=ORG)
    # The "crash": the UPDATE that marks the row fails after the PubAck, so the transaction
    # rolls back and the row stays unpublished although NATS has the message.
    events_db.query("CREATE FUNCTION {s}.crash() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$BEGIN RAISE EXCEPTION 'relay crashed'; END$$")
    events_db.query("CREATE TRIGGER crash BEFORE UPDATE ON {s}.outbox FOR EACH ROW EXECUTE FUNCTION {s}.crash()")
    relay = OutboxRelay(events_db.sessions, js, events_db.schema, namespace)
    with pytest.raises(Exception, match="relay crashed"):
        await relay.publish_pending()
    assert await stream_count(events_stream(namespace)) == 1
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(1,)]

    events_db.query("DROP TRIGGER crash ON {s}.outbox")
    restarted = OutboxRelay(events_db.sessions, js, events_db.schema, namespace)
    assert await restarted.publish_pending() == 1  # published again, same Nats-Msg-Id ...
    assert await stream_count(events_stream(namespace)) == 1  # ... and JetStream dropped the copy
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(0,)]
    assert (await js.get_msg(events_stream(namespace), 1)).headers["Nats-Msg-Id"] == str(event_id)


async def test_relay_outlives_nats_outage(events_db, js, namespace, stream_count):
    async with system_transaction(events_db.sessions) as session:
        await add_event(session, events_db.schema, "org.created", {}, zone_id=1, org_id=ORG)
    dead = await nats.connect(NATS_URL)
    await dead.close()
    relay = OutboxRelay(events_db.sessions, dead.jetstream(), events_db.schema, namespace, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.5)
    assert not task.done()  # failing, logging and backing off - not crashed
    relay.stop()
    await asyncio.wait_for(task, 5)
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(1,)]

    relay = OutboxRelay(events_db.sessions, js, events_db.schema, namespace, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    for _ in range(100):
        if await stream_count(events_stream(namespace)) == 1:
            break
        await asyncio.sleep(0.05)
    relay.stop()
    await asyncio.wait_for(task, 5)
    assert await stream_count(events_stream(namespace)) == 1
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(0,)]


async def test_add_event_stores_trace_context(events_db, span_exporter):
    from opentelemetry import trace

    with trace.get_tracer("test").start_as_current_span("request") as span:
        async with system_transaction(events_db.sessions) as session:
            await add_event(session, events_db.schema, "org.created", {}, zone_id=1)
    ctx = span.get_span_context()
    [(traceparent,)] = events_db.query("SELECT traceparent FROM {s}.outbox")
    assert traceparent.startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


async def test_prune_and_drop(events_db, js, namespace):
    async with system_transaction(events_db.sessions) as session:
        await add_event(session, events_db.schema, "org.created", {}, zone_id=1)
        await add_event(session, events_db.schema, "org.created", {}, zone_id=1)
    relay = OutboxRelay(events_db.sessions, js, events_db.schema, namespace, batch=1)
    assert await relay.publish_pending() == 1  # one published, one still pending
    events_db.query("INSERT INTO {s}.inbox (consumer, msg_id, processed_at) VALUES ('c', 'old', now() - '2 days'::interval)"
                    ", ('c', 'new', now())")
    async with system_transaction(events_db.sessions) as session:
        assert await prune(session, events_db.schema, older_than=dt.timedelta(days=1)) == (0, 1)
    async with system_transaction(events_db.sessions) as session:
        assert await prune(session, events_db.schema, older_than=dt.timedelta(0)) == (1, 1)
    assert events_db.query("SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL") == [(1,)]  # pending kept
    for statement in outbox_drop_ddl(events_db.schema):
        events_db.query(statement)
    assert events_db.query("SELECT to_regclass(%s), to_regclass(%s)",
                           (f"{events_db.schema}.outbox", f"{events_db.schema}.inbox")) == [(None, None)]
