"""In-memory span capture for tests.

The global TracerProvider can be set only once per process, so the first call installs an SDK
provider (or reuses one already installed) with an in-memory exporter, and every later call
returns that same exporter. The `span_exporter` fixture clears it around each test.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_exporter: InMemorySpanExporter | None = None


def install_span_exporter() -> InMemorySpanExporter:
    global _exporter
    if _exporter is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            trace.set_tracer_provider(TracerProvider())
            provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            raise RuntimeError(f"a non-SDK tracer provider is already installed: {provider!r}")
        _exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
    return _exporter


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    exporter = install_span_exporter()
    exporter.clear()
    yield exporter
    exporter.clear()
