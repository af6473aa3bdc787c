"""Pieces every pod of the platform shares: Pod Security "restricted" contexts, the /tmp
emptyDir a read-only root needs, probes, the preStop drain and object metadata.

Drain: on deletion a pod leaves the Service endpoints while its preStop sleeps (`DRAIN_SLEEP`),
so kube-proxy and the edge stop sending before SIGTERM; then the runtime flips readiness, drains
gRPC (10 s), HTTP (10 s) and NATS. `terminationGracePeriodSeconds` covers both with room.
"""
from __future__ import annotations

from typing import Any

from gateway.k8s_cluster import NAMESPACE, UID

PART_OF = "megacity"
DRAIN_SLEEP = 10
GRACE_SECONDS = 60
TMP = "/tmp"


def labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": PART_OF}


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def skips(reasons: dict[str, str]) -> dict[str, str]:
    """checkov's inline skips (`checkov.io/skip<N>: CKV_K8S_xx=<reason>`), each with its reason."""
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), 1)}


def metadata(name: str, component: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "labels": labels(name, component)}
    if annotations:
        meta["annotations"] = annotations
    return meta


def pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "privileged": False,
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def tmp_volume(size: str = "256Mi") -> tuple[dict[str, Any], dict[str, Any]]:
    """(volume, mount): a writable /tmp on a read-only root."""
    return {"name": "tmp", "emptyDir": {"sizeLimit": size}}, {"name": "tmp", "mountPath": TMP}


def http_probes(port: int | str, *, ready: str = "/readyz", live: str = "/healthz",
                startup_failures: int = 30, startup_period: int = 5) -> dict[str, Any]:
    """Startup and liveness on `live`, readiness on `ready` (false while starting or draining)."""
    def get(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": port}, "timeoutSeconds": 3}

    return {
        "startupProbe": {**get(live), "periodSeconds": startup_period, "failureThreshold": startup_failures},
        "livenessProbe": {**get(live), "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**get(ready), "periodSeconds": 5, "failureThreshold": 2},
    }


def tcp_probes(port: int | str) -> dict[str, Any]:
    check = {"tcpSocket": {"port": port}, "timeoutSeconds": 3}
    return {"livenessProbe": {**check, "periodSeconds": 10, "failureThreshold": 3},
            "readinessProbe": {**check, "periodSeconds": 5, "failureThreshold": 2}}


def prestop_drain(seconds: int = DRAIN_SLEEP) -> dict[str, Any]:
    return {"preStop": {"sleep": {"seconds": seconds}}}


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str, **extra_limits: Any) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit, **extra_limits}}


def pod_spec(containers: list[dict[str, Any]], volumes: list[dict[str, Any]], *, service_account: str,
             grace: int = GRACE_SECONDS, spread: str | None = None, **extra: Any) -> dict[str, Any]:
    """A restricted pod: own ServiceAccount without an API token, non-root, RuntimeDefault seccomp."""
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": grace,
        "containers": containers,
        "volumes": volumes,
        **extra,
    }
    if spread:
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector(spread)}}]
    return spec


def service_account(name: str, component: str) -> dict[str, Any]:
    """One per workload, never the namespace default; no API token (nothing here calls the API)."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(name, component),
            "automountServiceAccountToken": False}


def pdb(name: str, component: str, *, min_available: int | None = 1, max_unavailable: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": selector(name)}}
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    else:
        spec["minAvailable"] = min_available
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(name, component),
            "spec": spec}


def hpa(name: str, component: str, *, min_replicas: int = 2, max_replicas: int = 10, cpu: int = 70) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(name, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas, "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}}],
            # Scale in slowly: a replica that leaves drains its streams and consumers.
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                       "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
        },
    }


def deployment(name: str, component: str, pod: dict[str, Any], *, replicas: int | None,
               strategy: dict[str, Any], annotations: dict[str, str] | None = None,
               pod_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """`replicas` None: an HPA owns the count (applying the manifest never resets it)."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(name)},
        "revisionHistoryLimit": 5,
        "strategy": strategy,
        "template": {"metadata": {"labels": labels(name, component),
                                  **({"annotations": pod_annotations} if pod_annotations else {})},
                     "spec": pod},
    }
    if replicas is not None:
        spec = {"replicas": replicas, **spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(name, component, annotations),
            "spec": spec}


ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
