"""Traces (OpenTelemetry, configured by OTEL_* only), JSON logs with trace ids, Prometheus metrics."""
from megacity.telemetry.logs import get_logger, setup_logging
from megacity.telemetry.tracing import setup_tracing, tracer

__all__ = ["get_logger", "setup_logging", "setup_tracing", "tracer"]
