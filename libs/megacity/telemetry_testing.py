"""In-memory span capture and cheap metric reads for tests.

The global TracerProvider can be set only once per process, so the first call installs an SDK
provider (or reuses one already installed) with an in-memory exporter, and every later call
returns that same exporter. The `span_exporter` fixture clears it around each test.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

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


def sample_value(name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """`REGISTRY.get_sample_value` reading only the collector that owns `name`.

    The registry's own lookup collects every metric of the process first; late in a long test
    run (every service's HTTP histograms by route and zone) that is seconds per call, and a test
    polling a counter in a loop starves the event loop it is waiting on.
    """
    collector = REGISTRY._names_to_collectors.get(name)
    if collector is None:
        return None
    wanted = dict(labels or {})
    for family in collector.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return sample.value
    return None
