"""Container health check: `python -m megacity.grpc.healthcheck PORT [SERVICE]` exits 0 only
when the gRPC health service answers SERVING."""
from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    port = sys.argv[1] if len(sys.argv) > 1 else "9100"
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        except grpc.RpcError as err:
            print(f"unhealthy: {err.code().name}")
            return 1
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))
    return 0 if resp.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
