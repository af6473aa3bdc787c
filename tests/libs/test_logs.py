"""JSON log lines carry the service name and the current trace id, for Jaeger <-> logs lookups."""
from __future__ import annotations

import json
import logging

from megacity.telemetry.logs import get_logger, setup_logging
from megacity.telemetry.tracing import tracer


def test_log_lines_are_json_with_trace_id(capsys, span_exporter) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("exam")
        with tracer("test").start_as_current_span("work") as span:
            get_logger("test").info("attempt scored", attempt_id="a1")
            logging.getLogger("uvicorn.error").warning("stdlib line")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    trace_id = format(span.get_span_context().trace_id, "032x")
    ours = next(line for line in lines if line["event"] == "attempt scored")
    assert ours["trace_id"] == trace_id and ours["service"] == "exam" and ours["attempt_id"] == "a1"
    stdlib = next(line for line in lines if line["event"] == "stdlib line")
    assert stdlib["trace_id"] == trace_id and stdlib["level"] == "warning"


def test_tracing_is_a_no_op_without_an_exporter_and_sdk_with_one() -> None:
    """Fresh interpreters: the global provider can be set only once per process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("from opentelemetry.sdk.trace import TracerProvider; from megacity.telemetry.tracing import setup_tracing;"
            "print(isinstance(setup_tracing('exam'), TracerProvider))")
    env = {**os.environ, "PYTHONPATH": f"{root}:{root / 'libs'}"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    for exporter, expected in (("none", "False"), ("console", "True")):
        out = subprocess.run([sys.executable, "-c", code], env={**env, "OTEL_TRACES_EXPORTER": exporter},
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == expected, exporter
