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
