"""The one service skeleton: start-up, readiness and graceful shutdown for all six services.

Start: logging + tracing -> migrations (if asked) -> DB/Redis clients (and the tracked Redis
cache of the token denylist, set up in the background; reads go to Redis until it is) -> gRPC server
(health NOT_SERVING) -> HTTP server -> `on_start` hooks (e.g. loading models) -> NATS
(background, retried) with outbox relay, consumers and `workers` -> ready (health SERVING,
/readyz 200).
Stop (SIGTERM/SIGINT): not ready -> stop taking events -> drain gRPC and HTTP -> `on_stop`
hooks -> stop cache tracking -> close clients.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import grpc
import nats
import uvicorn
from fastapi import Depends, FastAPI, Request
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from megacity.auth.verifier import REVOCATION_KEY_PARTS
from megacity.db import make_engine, make_sessionmaker
from megacity.errors import dependency_unavailable
from megacity.grpc.client import make_channel
from megacity.grpc.server import GrpcServer, Registrar
from megacity.http_app import instrument_app
from megacity.redis_cache import TrackedCache
from megacity.redis_client import make_redis
from megacity.redis_keys import RedisKeys, zone_prefixes
from megacity.settings import ServiceSettings
from megacity.telemetry import backend_metrics
from megacity.telemetry.logs import get_logger, setup_logging
from megacity.telemetry.metrics import SERVICE_READY, track_gc_pauses
from megacity.telemetry.tracing import setup_tracing

log = get_logger("megacity.runtime")

EventHandler = Callable[[AsyncSession, Any, "Resources"], Awaitable[None]]


class Worker(Protocol):
    """A background loop that needs NATS (e.g. a JetStream pull consumer without a database):
    `run()` until `stop()` is called; the runtime stops it first when draining."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ConsumerSpec:
    """An idempotent event consumer this service runs: durable name, subject filter, handler."""

    durable: str
    event_types: str
    handler: EventHandler
    max_deliver: int = 5


@dataclass
class Resources:
    """Clients a service's handlers use; one instance per process, on app.state.resources."""

    settings: ServiceSettings
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    redis: Any = None
    keys: RedisKeys = field(default_factory=RedisKeys)
    # Reads of the token denylist (and the service's `cached_key_parts`) go through this
    # client-side cache; it falls back to Redis by itself while tracking is not live.
    cache: TrackedCache | None = None
    nats: NatsClient | None = None
    js: JetStreamContext | None = None
    _channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    def channel(self, peer: str) -> grpc.aio.Channel:
        """A cached channel to a peer service's gRPC server."""
        if peer not in self._channels:
            self._channels[peer] = make_channel(self.settings.peer_target(peer))
        return self._channels[peer]

    @property
    def cached_reads(self) -> Any:
        """Where tracked keys (token denylist, ...) are read: the cache, or Redis when there is none."""
        return self.cache if self.cache is not None else self.redis

    def db(self) -> async_sessionmaker[AsyncSession]:
        if self.sessions is None:
            raise dependency_unavailable("database")
        return self.sessions

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()


async def resources(request: Request) -> Resources:
    """FastAPI dependency: the process's Resources (async: a sync dependency costs a thread-pool hop)."""
    res: Resources = request.app.state.resources
    return res


# `res: ResourcesDep` in a route instead of repeating `Depends(resources)`.
ResourcesDep = Annotated[Resources, Depends(resources)]


class _UvicornServer(uvicorn.Server):
    """Uvicorn without its own signal handling: the runtime decides when to drain."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        app: FastAPI,
        grpc_registrars: Iterable[Callable[[Resources], Registrar]] = (),
        grpc_service_names: Iterable[str] = (),
        consumers: Iterable[ConsumerSpec] = (),
        outbox: bool = False,
        on_start: Iterable[Callable[[Resources], Awaitable[None]]] = (),
        workers: Iterable[Callable[[Resources], Worker]] = (),
        on_stop: Iterable[Callable[[Resources], Awaitable[None]]] = (),
        cached_key_parts: Iterable[tuple[str, ...]] = (),
    ) -> None:
        self.settings = settings
        self.app = app
        self.resources = Resources(settings=settings, keys=RedisKeys(settings.redis_key_prefix))
        app.state.resources = self.resources
        self._registrars = list(grpc_registrars)
        self._grpc_names = list(grpc_service_names)
        self._consumer_specs = list(consumers)
        self._outbox = outbox
        self._on_start = list(on_start)
        self._worker_factories = list(workers)
        self._on_stop = list(on_stop)
        self._cached_parts = [*REVOCATION_KEY_PARTS, *cached_key_parts]
        self._workers: list[Any] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.grpc: GrpcServer | None = None
        self.http: _UvicornServer | None = None
        self.http_port = 0
        self.grpc_port = 0
        self._stopping = asyncio.Event()
        self._cache_task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.settings.service_name

    async def start(self) -> None:
        s = self.settings
        if isinstance(setup_tracing(s.service_name), SdkTracerProvider):
            instrument_app(self.app)
        if s.migrate_on_start and s.migration_database_url:
            from megacity.db.migrations import has_migrations, upgrade

            if has_migrations(s.service_name):
                await asyncio.to_thread(upgrade, s.service_name, s.migration_database_url)
        r = self.resources
        if s.database_url:
            r.engine = make_engine(s.database_url, pool_size=s.database_pool_size,
                                   prepare_threshold=s.database_prepare_threshold)
            r.sessions = make_sessionmaker(r.engine)
        r.redis = make_redis(s.redis_url)
        r.cache = TrackedCache(r.redis, zone_prefixes(r.keys, self._cached_parts), name=f"{self.name}-redis")
        self._cache_task = asyncio.create_task(r.cache.run(), name=f"{self.name}-redis-cache")
        assert s.grpc_port is not None and s.http_port is not None, "settings fill ports in from the registry"
        self.grpc = GrpcServer(s.service_name, s.grpc_host, s.grpc_port,
                               [make(r) for make in self._registrars], self._grpc_names)
        self.grpc_port = self.grpc.port
        await self.grpc.start()
        config = uvicorn.Config(self.app, host=s.http_host, port=s.http_port, log_config=None,
                                lifespan="off", access_log=False, timeout_graceful_shutdown=10,
                                proxy_headers=True, forwarded_allow_ips=list(s.forwarded_allow_ips),
                                # WebSockets (classroom, arena): the sans-I/O protocol keeps less per socket
                                # (~8 KB less RSS each at 1,000 sockets); per-message deflate would compress
                                # every frame again for every recipient and keep a zlib state per socket;
                                # client frames are small (the realtime protocol refuses > 4 KB anyway).
                                ws="websockets-sansio", ws_per_message_deflate=False, ws_max_size=65536)
        self.http = _UvicornServer(config)
        self._tasks.append(asyncio.create_task(self.http.serve(), name=f"{self.name}-http"))
        while not self.http.started:
            if self._tasks[0].done():
                self._tasks[0].result()  # re-raise why HTTP failed to start (e.g. port in use)
            await asyncio.sleep(0.01)
        self.http_port = self.http.servers[0].sockets[0].getsockname()[1]
        for hook in self._on_start:
            await hook(r)
        if self._outbox or self._consumer_specs or self._worker_factories:
            self._tasks.append(asyncio.create_task(self._events(), name=f"{self.name}-events"))
        await self._set_ready(True)
        log.info("service started", http_port=self.http_port, grpc_port=self.grpc_port)

    async def _set_ready(self, ready: bool) -> None:
        self.app.state.ready = ready
        SERVICE_READY.labels(self.name).set(1 if ready else 0)
        if self.grpc:
            await self.grpc.set_serving(ready)

    async def _connect_nats(self) -> None:
        """Connect, retrying until NATS answers: a broker that is down delays events, not start-up."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self.resources.nats = await nats.connect(
                    self.settings.nats_url, name=self.name, connect_timeout=2,
                    max_reconnect_attempts=-1, reconnect_time_wait=1)
                self.resources.js = self.resources.nats.jetstream()
                return
            except Exception as exc:  # noqa: BLE001 - any connect failure means "try again"
                log.warning("nats unavailable, retrying", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _events(self) -> None:
        from megacity.events import IdempotentConsumer, OutboxRelay, ensure_streams

        await self._connect_nats()
        r, ns = self.resources, self.settings.events_namespace
        if self._stopping.is_set() or r.js is None:
            return
        await ensure_streams(r.js, ns)
        if self._outbox:
            self._workers.append(OutboxRelay(r.db(), r.js, schema=self.name, namespace=ns))
        for spec in self._consumer_specs:
            async def handler(session: AsyncSession, event: Any, _h: EventHandler = spec.handler) -> None:
                await _h(session, event, r)

            self._workers.append(IdempotentConsumer(
                r.db(), r.js, schema=self.name, namespace=ns, durable=f"{self.name}-{spec.durable}",
                subjects=spec.event_types, handler=handler, max_deliver=spec.max_deliver))
        self._workers.extend(make(r) for make in self._worker_factories)
        if self._stopping.is_set():
            # stop() ran during ensure_streams and saw none of these workers: never start them
            # (a started one would be cancelled mid-subscription and stall the NATS drain).
            return
        await asyncio.gather(*(w.run() for w in self._workers))

    async def stop(self, grace: float = 10.0) -> None:
        self._stopping.set()
        await self._set_ready(False)
        for worker in self._workers:
            worker.stop()
        if self.grpc:
            await self.grpc.stop(grace)
        if self.http:
            self.http.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout=grace)
        for t in self._tasks:
            t.cancel()
        if self.resources.nats is not None and not self.resources.nats.is_closed:
            with contextlib.suppress(Exception):
                await self.resources.nats.drain()
        for hook in self._on_stop:
            with contextlib.suppress(Exception):
                await hook(self.resources)
        if self._cache_task is not None:
            self.resources.cache.stop()  # type: ignore[union-attr]
            self._cache_task.cancel()
            await asyncio.gather(self._cache_task, return_exceptions=True)
        await self.resources.close()
        log.info("service stopped")

    async def sample_backends(self) -> None:
        """Gauges the alert rules read: pool use against capacity, Redis memory and evictions,
        consumer lag and dead-letter depth (megacity.telemetry.backend_metrics)."""
        from megacity.events import IdempotentConsumer
        from megacity.events.streams import dlq_stream, events_stream

        r, ns = self.resources, self.settings.events_namespace
        await backend_metrics.sample(
            self.name, pool=r.engine.pool if r.engine is not None else None, redis=r.redis, js=r.js,
            consumers=[(events_stream(ns), w.durable) for w in self._workers if isinstance(w, IdempotentConsumer)],
            dlq_stream=dlq_stream(ns) if r.js is not None else None)

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT, then drain and stop."""
        setup_logging(self.name, self.settings.log_level)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        await self.start()
        # Everything loaded at start-up (modules, app, clients) lives as long as the process:
        # move it out of the collector's reach, or each full collection walks it all again
        # (~100 ms pauses under load, the p99 of every request). Not in start(): tests start
        # many runtimes in one process and would pin each one's objects.
        gc.collect()
        gc.freeze()
        track_gc_pauses(self.name)
        while not self._stopping.is_set():
            await self.sample_backends()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=5)
        await self.stop()


def main(build: Callable[[], ServiceRuntime]) -> None:
    """Entry point of `python -m services.<name>`."""
    asyncio.run(build().serve())
