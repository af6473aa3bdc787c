"""Kubernetes manifests (Deployment + Service per service) rendered from the zone registry.

One file per service under deploy/k8s/. Images are `megacity/<service>:<tag>` (set the tag
with kustomize or `kubectl set image`); secrets come from a Secret `megacity-<service>` holding
the service's `<NAME>_DATABASE_URL`, `<NAME>_MIGRATION_DATABASE_URL`, `<NAME>_REDIS_URL` and
`<NAME>_SECRET_KEY` (never in these files). GPU services are pinned to GPU nodes.
"""
from __future__ import annotations

from typing import Any

from megacity.zones import Registry, ServiceSpec, registry

IMAGE = "megacity/{service}:latest"
OTLP_ENDPOINT = "http://jaeger-collector:4317"
NATS_URL = "nats://nats:4222"
# Where the edge (Traefik) runs: the cluster's pod network. Only a peer there may set
# X-Forwarded-For; clients never are. Set it to your cluster's pod CIDR (issue #9).
EDGE_PEERS = '["10.0.0.0/8"]'


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "megacity"}


def _container(spec: ServiceSpec) -> dict[str, Any]:
    name, prefix = spec.name, spec.name.upper().replace("-", "_")
    env = {
        f"{prefix}_ENVIRONMENT": "production",
        f"{prefix}_HTTP_HOST": "0.0.0.0",
        f"{prefix}_GRPC_HOST": "0.0.0.0",
        f"{prefix}_NATS_URL": NATS_URL,
        # Services reach each other through their k8s Service (same name as the service).
        f"{prefix}_GRPC_PEER_TEMPLATE": "{service}:{port}",
        "OTEL_SERVICE_NAME": name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
        "OTEL_TRACES_EXPORTER": "otlp",
    }
    if spec.public:
        env[f"{prefix}_FORWARDED_ALLOW_IPS"] = EDGE_PEERS
    if spec.gpu:
        env[f"{prefix}_DEVICE"] = "cuda"
    resources: dict[str, Any] = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    if spec.gpu:
        resources = {"requests": {"cpu": "2", "memory": "8Gi"},
                     "limits": {"memory": "24Gi", "nvidia.com/gpu": 1}}
    # Public services are ready when their HTTP app is; gRPC-only ones when gRPC health says SERVING.
    readiness: dict[str, Any] = (
        {"httpGet": {"path": "/readyz", "port": "http"}} if spec.public else {"grpc": {"port": spec.grpc_port}})
    return {
        "name": name,
        "image": IMAGE.format(service=name),
        "command": ["python", "-m", f"services.{name}"],
        "ports": [{"name": "http", "containerPort": spec.http_port},
                  {"name": "grpc", "containerPort": spec.grpc_port}],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "envFrom": [{"secretRef": {"name": f"megacity-{name}"}}],
        "resources": resources,
        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5,
                         "failureThreshold": 120 if spec.gpu else 24},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**readiness, "periodSeconds": 5, "failureThreshold": 2},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }


def deployment(spec: ServiceSpec) -> dict[str, Any]:
    pod: dict[str, Any] = {
        # Graceful drain: readiness flips first, then gRPC / NATS drain before exit.
        "terminationGracePeriodSeconds": 60 if spec.gpu else 30,
        "containers": [_container(spec)],
    }
    if spec.gpu:
        pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name, "labels": _labels(spec.name)},
        "spec": {
            "replicas": 1 if spec.gpu else 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": spec.name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": _labels(spec.name),
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(spec.http_port),
                                             "prometheus.io/path": "/metrics"}},
                "spec": pod,
            },
        },
    }


def service(spec: ServiceSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "labels": _labels(spec.name)},
        "spec": {
            "selector": {"app.kubernetes.io/name": spec.name},
            "ports": [
                {"name": "http", "port": spec.http_port, "targetPort": "http", "appProtocol": "http"},
                {"name": "grpc", "port": spec.grpc_port, "targetPort": "grpc", "appProtocol": "kubernetes.io/h2c"},
            ],
        },
    }


def manifests(reg: Registry | None = None) -> dict[str, list[dict[str, Any]]]:
    """service name -> its documents (Deployment, Service)."""
    reg = reg or registry()
    return {name: [deployment(spec), service(spec)] for name, spec in reg.services.items()}
