"""A grpc.aio server with the standard health service (NOT_SERVING until the service says it
is ready and again while draining), reflection, OpenTelemetry and our interceptor."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from megacity.grpc.interceptors import ServerInterceptor

Registrar = Callable[[grpc.aio.Server], None]


class GrpcServer:
    def __init__(self, service: str, host: str, port: int, registrars: Iterable[Registrar],
                 service_names: Iterable[str]) -> None:
        self.service = service
        self.server = grpc.aio.server(
            interceptors=[aio_server_interceptor(), ServerInterceptor(service)],  # type: ignore[no-untyped-call]
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        for register in registrars:
            register(self.server)
        self.service_names = list(service_names)
        reflection.enable_server_reflection(
            [*self.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME], self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")

    async def start(self) -> None:
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self._set_all(status)

    async def _set_all(self, status: int) -> None:
        for name in ["", *self.service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float = 10.0) -> None:
        """Drain: report NOT_SERVING, let in-flight calls finish within `grace`, then stop."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
