"""OpenTelemetry set-up from the standard variables only.

OTEL_SERVICE_NAME names the service; OTEL_TRACES_EXPORTER picks `otlp` (default when
OTEL_EXPORTER_OTLP_ENDPOINT is set), `console` or `none`. The OTLP exporter sends in a
background thread and only logs when the collector is missing, so Jaeger being down never
takes a service with it.
"""
from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter


def setup_tracing(service_name: str) -> trace.TracerProvider:
    """Install the global tracer provider once; a provider already installed (tests) is kept.

    With no exporter configured, tracing stays the API's no-op and the runtime does not
    instrument HTTP: nothing is recorded and nothing is paid per request. (A hop with tracing
    off therefore does not carry a caller's trace on; configure OTEL_* on every service.)
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    default = "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none"
    exporters = [e.strip() for e in os.environ.get("OTEL_TRACES_EXPORTER", default).split(",") if e.strip()]
    exporters = [e for e in exporters if e != "none"]
    if not exporters:
        return current
    name = os.environ.get("OTEL_SERVICE_NAME", service_name)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    for exporter in exporters:
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif exporter == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER={exporter!r} is not supported (otlp, console, none)")
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str = "megacity") -> trace.Tracer:
    return trace.get_tracer(name)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
