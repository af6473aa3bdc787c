"""Redis client factory (redis-py asyncio) with timeouts so a dead Redis fails fast as a 503.

The pool blocks (up to `socket_timeout`) when all its connections are busy instead of raising at
once: a class answering together (hundreds of concurrent Redis calls in one process) waits a few
milliseconds for a connection rather than failing answers."""
from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

MAX_CONNECTIONS = 200


def make_redis(url: str, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=2,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
    )
    return aioredis.Redis(connection_pool=pool)
