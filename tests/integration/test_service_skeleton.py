"""The shared service skeleton: health/readiness over HTTP and gRPC, reflection, metrics,
problem-JSON errors, 503 for a dependency that is down, graceful drain on SIGTERM."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from megacity.testing import NATS_URL, REDIS_URL, run_service

ROOT = Path(__file__).resolve().parents[2]


async def _health(port: int, service: str = "") -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        resp = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return resp.status


@pytest.mark.parametrize("service", ["auth", "tenant", "exam", "cat", "kzone", "inference", "classroom", "arena",
                                     "web"])
async def test_every_service_starts_ready_and_serves_health(service, test_db, namespace) -> None:
    async with run_service(service, test_db, namespace) as rt:
        assert await _health(rt.grpc_port) == health_pb2.HealthCheckResponse.SERVING
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok", "service": service}
            assert (await client.get("/readyz")).status_code == 200
            spec = (await client.get("/openapi.json")).json()
            assert "/healthz" in spec["paths"]
            missing = (await client.get("/no-such-route", headers={"Host": "api.univprepai.com"}))
            assert missing.status_code == 404 and missing.json()["code"] == "route.not_found"
            assert missing.headers["content-type"] == "application/problem+json"
            metrics = (await client.get("/metrics")).text
            assert f'mc_http_requests_total{{method="GET",route="unmatched",service="{service}",status="404",zone="univ"}}' in metrics
        rt.app.state.ready = False  # what a drain looks like to a load balancer
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as client:
            resp = await client.get("/readyz")
            assert resp.status_code == 503 and resp.json()["code"] == "service.not_ready"


async def test_grpc_health_per_service_and_reflection(test_db, namespace) -> None:
    async with run_service("tenant", test_db, namespace) as rt:
        assert await _health(rt.grpc_port, "mcproto.tenant.v1.TenantService") == health_pb2.HealthCheckResponse.SERVING
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.grpc_port}") as ch:
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)

            async def requests():
                yield reflection_pb2.ServerReflectionRequest(list_services="")

            async for resp in stub.ServerReflectionInfo(requests()):
                names = {s.name for s in resp.list_services_response.service}
                break
        assert {"mcproto.tenant.v1.TenantService", "grpc.health.v1.Health"} <= names
        await rt.grpc.set_serving(False)
        assert await _health(rt.grpc_port) == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_grpc_errors_keep_their_code_across_the_hop(test_db, namespace) -> None:
    from mcproto.tenant.v1 import tenant_pb2, tenant_pb2_grpc
    from megacity.errors import AppError
    from megacity.grpc.client import call, make_channel

    async with run_service("tenant", test_db, namespace) as rt:
        async with make_channel(f"127.0.0.1:{rt.grpc_port}") as ch:
            stub = tenant_pb2_grpc.TenantServiceStub(ch)
            with pytest.raises(AppError) as err:
                await call(stub.GetOrg, tenant_pb2.GetOrgRequest(zone_id=1, org_id="not-a-uuid"), peer="tenant", timeout=2)
            assert (err.value.status, err.value.code) == (400, "request.invalid_uuid")
            with pytest.raises(AppError) as err:
                await call(stub.GetOrg, tenant_pb2.GetOrgRequest(zone_id=1, org_id="6f1c1a4e-0000-4000-8000-000000000000"),
                           peer="tenant", timeout=2)
            assert (err.value.status, err.value.code) == (404, "org.not_found")
            zone = await call(stub.GetZone, tenant_pb2.GetZoneRequest(zone_key="kzone-ai"), peer="tenant", timeout=2)
            assert (zone.id, list(zone.domains)) == (7, ["my-ktube.ai"])


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_peer_down_is_a_clear_503_and_recovers(test_db, namespace) -> None:
    port = _dead_port()
    async with run_service("exam", test_db, namespace, grpc_peers={"tenant": f"127.0.0.1:{port}"}) as exam:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{exam.http_port}") as client:
            resp = await client.post("/api/v1/diagnostics/probe", headers={"Host": "api.univprepai.com"})
            assert resp.status_code == 503, resp.text
            assert resp.json()["code"] == "dependency.tenant_unavailable"
            async with run_service("tenant", test_db, namespace, grpc_port=port):
                for _ in range(50):  # the channel reconnects within its (short) backoff
                    resp = await client.post("/api/v1/diagnostics/probe", headers={"Host": "api.univprepai.com"})
                    if resp.status_code != 503:
                        break
                    await asyncio.sleep(0.1)
                assert resp.status_code == 201, resp.text


async def test_database_down_is_a_clear_503(test_db, namespace) -> None:
    dead = f"postgresql://mc_kzone_app@127.0.0.1:{_dead_port()}/nope"
    async with run_service("kzone", test_db, namespace, database_url=dead) as kzone:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kzone.http_port}") as client:
            resp = await client.get("/api/v1/kzone/mesh-probes/6f1c1a4e-0000-4000-8000-000000000000",
                                    headers={"Host": "api.my-ktube.com"})
            assert resp.status_code == 503 and resp.json()["code"] == "dependency.database_unavailable"


async def test_bad_input_is_a_4xx_with_a_stable_code(test_db, namespace) -> None:
    async with run_service("kzone", test_db, namespace) as kzone:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kzone.http_port}") as client:
            resp = await client.get("/api/v1/kzone/mesh-probes/not-a-uuid", headers={"Host": "api.my-ktube.com"})
            assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
            resp = await client.get("/api/v1/kzone/mesh-probes/6f1c1a4e-0000-4000-8000-000000000000",
                                    headers={"Host": "api.nowhere.test"})
            assert resp.status_code == 404 and resp.json()["code"] == "zone.unknown_host"


async def test_sigterm_drains_and_exits_cleanly(test_db, namespace) -> None:
    http_port, grpc_port = _dead_port(), _dead_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'libs'}", "TENANT_HTTP_PORT": str(http_port),
           "TENANT_GRPC_PORT": str(grpc_port), "TENANT_DATABASE_URL": test_db.app_url("tenant"),
           "TENANT_REDIS_URL": REDIS_URL, "TENANT_NATS_URL": NATS_URL, "TENANT_EVENTS_NAMESPACE": namespace,
           "TENANT_ENVIRONMENT": "test", "OTEL_TRACES_EXPORTER": "none"}
    proc = subprocess.Popen([sys.executable, "-m", "services.tenant"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            for _ in range(150):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "not ready")
        assert await _health(grpc_port) == health_pb2.HealthCheckResponse.SERVING
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=20)
        assert proc.returncode == 0, out.decode()
        assert b'"service stopped"' in out or b"service stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
