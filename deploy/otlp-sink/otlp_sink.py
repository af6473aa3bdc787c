"""An OTLP/gRPC trace receiver that can be asked what it received: Jaeger's stand-in in
deploy/compose.local.yml (no Jaeger image without a registry), under the hostname `jaeger`.

- OTLP/gRPC on :4317 (what every service's OTEL_EXPORTER_OTLP_ENDPOINT names);
- Jaeger's query API subset on :16686: `GET /api/traces/<trace id hex>` ->
  {"data": [{"traceID", "spans": [{spanID, operationName, references, processID}],
  "processes": {pid: {"serviceName"}}}]}, so a test written against it runs against Jaeger too;
- `GET /healthz` for the compose healthcheck.
Spans are kept in memory, the newest MAX_SPANS (a test fixture, not a store).
"""
from __future__ import annotations

import collections
import json
import os
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

MAX_SPANS = int(os.environ.get("OTLP_SINK_MAX_SPANS", "200000"))
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


class SpanStore:
    """Spans by trace id, oldest evicted first once MAX_SPANS are held."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._order: collections.deque[str] = collections.deque()
        self._traces: dict[str, list[dict[str, Any]]] = {}
        self._limit = limit

    def add(self, trace_id: str, span: dict[str, Any]) -> None:
        with self._lock:
            self._traces.setdefault(trace_id, []).append(span)
            self._order.append(trace_id)
            while len(self._order) > self._limit:
                old = self._order.popleft()
                spans = self._traces.get(old)
                if spans:
                    spans.pop(0)
                    if not spans:
                        del self._traces[old]

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._traces.get(trace_id, []))


STORE = SpanStore(MAX_SPANS)


class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the OTLP RPC name
        for resource_spans in request.resource_spans:
            service = "unknown"
            for attr in resource_spans.resource.attributes:
                if attr.key == "service.name":
                    service = attr.value.string_value
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    STORE.add(span.trace_id.hex(), {
                        "spanID": span.span_id.hex(),
                        "parentSpanID": span.parent_span_id.hex(),
                        "operationName": span.name,
                        "kind": KINDS.get(span.kind, str(span.kind)),
                        "serviceName": service,
                        "startTime": span.start_time_unix_nano // 1000,
                        "duration": (span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                    })
        return trace_service_pb2.ExportTraceServiceResponse()


def jaeger_trace(trace_id: str) -> dict[str, Any]:
    """One trace in the shape of Jaeger's `GET /api/traces/<id>`."""
    spans, processes = [], {}
    for span in STORE.trace(trace_id):
        pid = "p-" + span["serviceName"]
        processes[pid] = {"serviceName": span["serviceName"], "tags": []}
        refs = ([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": span["parentSpanID"]}]
                if span["parentSpanID"] else [])
        spans.append({"traceID": trace_id, "spanID": span["spanID"], "operationName": span["operationName"],
                      "references": refs, "startTime": span["startTime"], "duration": span["duration"],
                      "tags": [{"key": "span.kind", "type": "string", "value": span["kind"]}],
                      "processID": pid})
    return {"data": [{"traceID": trace_id, "spans": spans, "processes": processes}] if spans else [],
            "errors": None if spans else [{"code": 404, "msg": "trace not found"}]}


class QueryHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's method name
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif self.path.startswith("/api/traces/"):
            trace_id = self.path.removeprefix("/api/traces/").split("?")[0].lower()
            body = jaeger_trace(trace_id)
            self._reply(200 if body["data"] else 404, body)
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet access log
        return


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceReceiver(), server)
    server.add_insecure_port(f"0.0.0.0:{os.environ.get('OTLP_GRPC_PORT', '4317')}")
    server.start()
    http = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("OTLP_QUERY_PORT", "16686"))), QueryHandler)
    print("otlp-sink: OTLP/gRPC on :4317, query API on :16686", flush=True)
    http.serve_forever()


if __name__ == "__main__":
    main()
