"""Prometheus metrics shared by every service (one registry per process, served on /metrics).

Labels are bounded: `route` is the route template (/api/v1/exams/{exam_id}), never the raw
path, and `zone` is a registry key or "none".
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "mc_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status", "zone"])
HTTP_LATENCY = Histogram(
    "mc_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route", "zone"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
GRPC_REQUESTS = Counter(
    "mc_grpc_server_handled_total", "gRPC calls handled", ["service", "method", "code"])
GRPC_LATENCY = Histogram(
    "mc_grpc_server_handling_seconds", "gRPC server latency", ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
DB_POOL = Gauge("mc_db_pool_connections", "DB pool connections", ["service", "state"])
EVENTS_PUBLISHED = Counter("mc_events_published_total", "Outbox events published", ["service", "event_type"])
EVENTS_CONSUMED = Counter(
    "mc_events_consumed_total", "Events consumed", ["service", "consumer", "result"])
OUTBOX_PENDING = Gauge(
    "mc_outbox_pending", "Outbox rows left unpublished by the relay's last pass (a backlog or NATS trouble)", ["service"])
SERVICE_READY = Gauge("mc_service_ready", "1 when the service is ready to serve", ["service"])
REDIS_CACHE_READS = Counter(
    "mc_redis_cache_reads_total", "Reads through a tracked client-side Redis cache: hit, miss (asked Redis) or "
    "bypass (tracking not live, asked Redis)", ["cache", "result"])
REDIS_CACHE_LIVE = Gauge(
    "mc_redis_cache_live", "1 while a tracked Redis cache receives invalidations (else every read goes to Redis)",
    ["cache"])
GC_PAUSE = Histogram(
    "mc_gc_pause_seconds", "Pauses of Python's cyclic garbage collector by generation (a collection stops the event "
    "loop: every request and WebSocket frame of the process waits)", ["service", "generation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))


def track_gc_pauses(service: str) -> None:
    """Observe every collection's pause in GC_PAUSE (once per process, from the runtime's serve)."""
    import gc
    import time

    if any(getattr(cb, "megacity_gc_pauses", False) for cb in gc.callbacks):
        return  # several runtimes in one process (tests, run_platform) would count each pause again
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            GC_PAUSE.labels(service, str(info["generation"])).observe(time.perf_counter() - started[0])

    on_gc.megacity_gc_pauses = True  # type: ignore[attr-defined]
    gc.callbacks.append(on_gc)
