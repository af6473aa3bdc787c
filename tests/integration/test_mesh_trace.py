"""One request through the mesh: HTTP into exam -> gRPC to tenant -> outbox event -> consumed by
kzone. Every span shares one trace id, with the right parent/child links."""
from __future__ import annotations

import asyncio
import socket

import httpx
from opentelemetry.trace import SpanKind

from gateway.local_edge import EdgeConfig, LocalEdge
from megacity.testing import run_service


async def _wait_for_receipt(client: httpx.AsyncClient, probe_id: str, host: str) -> httpx.Response:
    for _ in range(100):
        resp = await client.get(f"/api/v1/kzone/mesh-probes/{probe_id}", headers={"Host": host})
        if resp.status_code == 200:
            return resp
        await asyncio.sleep(0.1)
    raise AssertionError(f"probe never reached kzone: {resp.status_code} {resp.text}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_probe_yields_one_trace_across_three_services(test_db, namespace, span_exporter, tmp_path) -> None:
    async with run_service("tenant", test_db, namespace) as tenant, run_service("kzone", test_db, namespace) as kzone, \
            run_service("exam", test_db, namespace, grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}) as exam:
        host = "api.univprepai.com"
        edge = LocalEdge(EdgeConfig(listen_port=_free_port(), upstreams={"exam": f"127.0.0.1:{exam.http_port}"}),
                         tmp_path / "edge")
        with edge:
            async with httpx.AsyncClient(base_url=edge.url) as client:
                resp = await client.post("/api/v1/diagnostics/probe", json={"note": "trace"}, headers={"Host": host})
                assert resp.status_code == 201, resp.text
                assert resp.headers["x-served-by"] == "exam"
                body = resp.json()
                assert body["zone"] == "univ" and body["recorded_by"] == "tenant"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kzone.http_port}") as client:
            receipt = (await _wait_for_receipt(client, body["probe_id"], host)).json()
        assert receipt["entry_service"] == "exam" and receipt["zone"] == "univ"
        metrics = (await httpx.AsyncClient().get(f"http://127.0.0.1:{kzone.http_port}/metrics")).text
        assert 'mc_events_published_total{event_type="diagnostics.probe.recorded",service="tenant"}' in metrics
        assert 'mc_events_consumed_total{consumer="kzone-probes",result="ok",service="kzone"}' in metrics

    trace_id = int(body["trace_id"], 16)
    spans = [s for s in span_exporter.get_finished_spans() if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in spans}

    def one(kind: SpanKind, name_part: str):
        found = [s for s in spans if s.kind == kind and name_part in s.name]
        assert len(found) == 1, (kind, name_part, [(s.name, s.kind) for s in spans])
        return found[0]

    http_server = one(SpanKind.SERVER, "/api/v1/diagnostics/probe")
    grpc_client = one(SpanKind.CLIENT, "RecordMeshProbe")
    grpc_server = one(SpanKind.SERVER, "RecordMeshProbe")
    producer = one(SpanKind.PRODUCER, "diagnostics.probe.recorded")
    consumer = one(SpanKind.CONSUMER, "diagnostics.probe.recorded")

    def ancestors(span) -> list[int]:
        chain = []
        while span.parent is not None and span.parent.span_id in by_id:
            chain.append(span.parent.span_id)
            span = by_id[span.parent.span_id]
        return chain

    assert http_server.parent is None or http_server.parent.span_id not in by_id  # the root
    assert http_server.context.span_id in ancestors(grpc_client)
    assert grpc_server.parent.span_id == grpc_client.context.span_id
    assert grpc_server.context.span_id in ancestors(producer)
    assert consumer.parent.span_id == producer.context.span_id
    assert {s.resource.attributes.get("service.name") for s in spans}  # spans carry a resource
