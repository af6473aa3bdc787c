"""Gauges read from the backends every few seconds: Redis memory and evictions (from INFO), the
database pool's use against its capacity, and JetStream consumer lag and dead-letter depth.

The alert rules (deploy/prometheus/alerts.yml) need these and nothing else reports them: the
request metrics only see what passes through a service, not Redis nearing `maxmemory`
(seed 004: alarm at 70 % and on any eviction) or a consumer falling behind. Every replica
reports the same Redis and stream values; the rules take the max across replicas.

`sample()` never raises: a backend that does not answer within the timeout keeps its last
values and counts one `mc_backend_sample_errors_total{backend}`.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from megacity.telemetry.metrics import DB_POOL

log = logging.getLogger(__name__)

REDIS_USED_MEMORY = Gauge("mc_redis_used_memory_bytes", "Redis used_memory (INFO memory)")
REDIS_MAXMEMORY = Gauge("mc_redis_maxmemory_bytes", "Redis maxmemory (INFO memory); 0 means no limit")
REDIS_POLICY = Gauge("mc_redis_maxmemory_policy", "1 for Redis' current maxmemory-policy", ["policy"])
CONSUMER_PENDING = Gauge(
    "mc_events_consumer_pending", "Messages in the stream this durable consumer has not been given yet (num_pending)",
    ["service", "consumer"])
CONSUMER_ACK_PENDING = Gauge(
    "mc_events_consumer_ack_pending", "Messages delivered to the consumer and not yet acked (num_ack_pending)",
    ["service", "consumer"])
DLQ_MESSAGES = Gauge("mc_events_dlq_messages", "Messages held in a dead-letter stream", ["stream"])
SAMPLE_ERRORS = Counter("mc_backend_sample_errors_total", "Backend reads for these gauges that failed", ["backend"])


class RedisEvictions(Collector):
    """Redis' own evicted_keys count (INFO stats), exposed as the counter it is:
    mc_redis_evicted_keys_total. It restarts at 0 with Redis, as counters do."""

    help = "Keys Redis evicted since it started (INFO stats evicted_keys)"

    def __init__(self) -> None:
        self.value: float | None = None

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily("mc_redis_evicted_keys", self.help)]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily("mc_redis_evicted_keys", self.help)
        if self.value is not None:
            family.add_metric([], self.value)
        yield family


REDIS_EVICTED_KEYS = RedisEvictions()
REGISTRY.register(REDIS_EVICTED_KEYS)


def sample_db_pool(service: str, pool: Any) -> None:
    """Checked-out connections, the pool's size and its capacity (size + max_overflow): the
    pool blocks new transactions once checked_out reaches max."""
    DB_POOL.labels(service, "checked_out").set(pool.checkedout())
    DB_POOL.labels(service, "size").set(pool.size())
    overflow = getattr(pool, "_max_overflow", None)  # SQLAlchemy keeps it private; -1 = unbounded
    if isinstance(overflow, int) and overflow >= 0:
        DB_POOL.labels(service, "max").set(pool.size() + overflow)


async def sample_redis(redis: Any) -> None:
    info = await redis.info()
    REDIS_USED_MEMORY.set(float(info["used_memory"]))
    REDIS_MAXMEMORY.set(float(info["maxmemory"]))
    REDIS_EVICTED_KEYS.value = float(info["evicted_keys"])
    REDIS_POLICY.clear()
    REDIS_POLICY.labels(str(info["maxmemory_policy"])).set(1)


async def sample_consumers(service: str, js: Any, consumers: Iterable[tuple[str, str]]) -> None:
    """`consumers`: (stream, durable) pairs this service consumes."""
    for stream, durable in consumers:
        info = await js.consumer_info(stream, durable)
        CONSUMER_PENDING.labels(service, durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(service, durable).set(info.num_ack_pending or 0)


async def sample_dlq(js: Any, stream: str) -> None:
    info = await js.stream_info(stream)
    DLQ_MESSAGES.labels(stream).set(info.state.messages)


async def _guarded(backend: str, work: Awaitable[None], timeout: float) -> None:
    try:
        await asyncio.wait_for(work, timeout)
    except Exception as exc:  # noqa: BLE001 - a backend being down must not stop the service
        SAMPLE_ERRORS.labels(backend).inc()
        log.debug("sampling %s failed: %s", backend, exc)


async def sample(service: str, *, pool: Any = None, redis: Any = None, js: Any = None,
                 consumers: Iterable[tuple[str, str]] = (), dlq_stream: str | None = None,
                 timeout: float = 2.0) -> None:
    """Refresh every gauge this process can: call it from the service's periodic loop."""
    if pool is not None:
        sample_db_pool(service, pool)
    if redis is not None:
        await _guarded("redis", sample_redis(redis), timeout)
    if js is not None:
        consumers = list(consumers)
        if consumers:
            await _guarded("nats", sample_consumers(service, js, consumers), timeout)
        if dlq_stream:
            await _guarded("nats", sample_dlq(js, dlq_stream), timeout)
