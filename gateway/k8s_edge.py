"""The k8s edge: Traefik with the file provider, reading the same dynamic config compose and the
native edge use (`gateway.traefik.dynamic_config(reg, K8S)`, from a ConfigMap), plus the edge's
own answers service (`python -m gateway.edge_answers`).

TLS: several Traefik replicas cannot share an ACME account's file storage, so in k8s the
certificates come from Secrets `edge-tls-<zone>` (kubernetes.io/tls, e.g. issued by cert-manager
for the zone's domains and `*.` of each), listed in a second dynamic file. The Service is a
LoadBalancer with `externalTrafficPolicy: Local`, so Traefik sees client addresses (rate limits,
the admin allow-list).
"""
from __future__ import annotations

import hashlib
from typing import Any

import yaml

from gateway import k8s_cluster as cluster
from gateway import k8s_network, k8s_pods, traefik
from gateway.k8s_network import EDGE, EDGE_ANSWERS, EDGE_ANSWERS_PORT
from gateway.k8s_secrets import tls_secret
from gateway.k8s_services import IMAGE_SKIPS
from megacity.zones import Registry

COMPONENT = "edge"
# Unprivileged ports in the pod (no NET_BIND_SERVICE); the Service answers on 80/443.
PORTS = {"web": (8000, 80), "websecure": (8443, 443)}
STATIC_DIR = "/etc/traefik/static"
DYNAMIC_DIR = "/etc/traefik/dynamic"
CERTS_DIR = "/etc/traefik/certs"


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=120)


def static_config() -> dict[str, Any]:
    addresses = {name: f":{pod}" for name, (pod, _) in PORTS.items()}
    return traefik.static_config(traefik.K8S, acme=False, dynamic_dir=DYNAMIC_DIR, addresses=addresses)


def certificates(reg: Registry) -> dict[str, Any]:
    return {"tls": {"certificates": [
        {"certFile": f"{CERTS_DIR}/{z.key}/tls.crt", "keyFile": f"{CERTS_DIR}/{z.key}/tls.key"} for z in reg.zones]}}


def _configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s_pods.metadata(name, COMPONENT), "data": data}


def traefik_manifests(reg: Registry) -> list[dict[str, Any]]:
    static = _dump(static_config())
    dynamic = {"routes.yml": _dump(traefik.dynamic_config(reg, traefik.K8S)), "certificates.yml": _dump(certificates(reg))}
    tmp_vol, tmp_mount = k8s_pods.tmp_volume("64Mi")
    certs = {"name": "certs", "projected": {"defaultMode": 0o440, "sources": [
        {"secret": {"name": tls_secret(z.key), "items": [{"key": "tls.crt", "path": f"{z.key}/tls.crt"},
                                                          {"key": "tls.key", "path": f"{z.key}/tls.key"}]}}
        for z in reg.zones]}}
    ops = traefik.OPS_PORT
    c = {
        "name": EDGE, "image": cluster.TRAEFIK_IMAGE, "imagePullPolicy": "Always",
        "args": [f"--configFile={STATIC_DIR}/traefik.yml"],
        "ports": [*({"name": n, "containerPort": pod, "protocol": "TCP"} for n, (pod, _) in PORTS.items()),
                  {"name": "ops", "containerPort": ops, "protocol": "TCP"}],
        "resources": k8s_pods.resources("250m", "256Mi", "2", "1Gi"),
        **k8s_pods.http_probes("ops", ready="/ping", live="/ping"),
        "lifecycle": k8s_pods.prestop_drain(),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [tmp_mount,
                         {"name": "static", "mountPath": STATIC_DIR, "readOnly": True},
                         {"name": "dynamic", "mountPath": DYNAMIC_DIR, "readOnly": True},
                         {"name": "certs", "mountPath": CERTS_DIR, "readOnly": True}],
    }
    volumes = [tmp_vol, {"name": "static", "configMap": {"name": f"{EDGE}-static"}},
               {"name": "dynamic", "configMap": {"name": f"{EDGE}-dynamic"}}, certs]
    pod = k8s_pods.pod_spec([c], volumes, service_account=EDGE, spread=EDGE)
    # The static config is read at start only: a change rolls the pods. Dynamic files are watched.
    digest = hashlib.sha256(static.encode()).hexdigest()[:16]
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(ops), "prometheus.io/path": "/metrics",
              "megacity/static-config-sha": digest}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(EDGE, COMPONENT), "spec": {
        "type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": k8s_pods.selector(EDGE),
        "ports": [{"name": n, "port": public, "targetPort": n, "protocol": "TCP"} for n, (_, public) in PORTS.items()]}}
    return [
        k8s_pods.service_account(EDGE, COMPONENT),
        _configmap(f"{EDGE}-static", {"traefik.yml": static}),
        _configmap(f"{EDGE}-dynamic", dynamic),
        k8s_pods.deployment(EDGE, COMPONENT, pod, replicas=None, strategy=k8s_pods.ROLLING,
                            annotations=k8s_pods.skips(IMAGE_SKIPS), pod_annotations=scrape),
        service,
        k8s_pods.hpa(EDGE, COMPONENT),
        k8s_pods.pdb(EDGE, COMPONENT),
    ]


def answers_manifests() -> list[dict[str, Any]]:
    tmp_vol, tmp_mount = k8s_pods.tmp_volume("16Mi")
    c = {
        "name": EDGE_ANSWERS, "image": cluster.image(EDGE_ANSWERS), "imagePullPolicy": "Always",
        "command": ["python", "-m", "gateway.edge_answers", "--host", "0.0.0.0", "--port", str(EDGE_ANSWERS_PORT)],
        "ports": [{"name": "http", "containerPort": EDGE_ANSWERS_PORT, "protocol": "TCP"}],
        "resources": k8s_pods.resources("50m", "64Mi", "500m", "256Mi"),
        **k8s_pods.http_probes("http", ready="/healthz", live="/healthz"),
        "lifecycle": k8s_pods.prestop_drain(),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [tmp_mount],
    }
    pod = k8s_pods.pod_spec([c], [tmp_vol], service_account=EDGE_ANSWERS, spread=EDGE_ANSWERS)
    return [
        k8s_pods.service_account(EDGE_ANSWERS, COMPONENT),
        k8s_pods.deployment(EDGE_ANSWERS, COMPONENT, pod, replicas=2, strategy=k8s_pods.ROLLING,
                            annotations=k8s_pods.skips(IMAGE_SKIPS)),
        {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(EDGE_ANSWERS, COMPONENT), "spec": {
            "selector": k8s_pods.selector(EDGE_ANSWERS),
            "ports": [{"name": "http", "port": EDGE_ANSWERS_PORT, "targetPort": "http", "protocol": "TCP"}]}},
        k8s_pods.pdb(EDGE_ANSWERS, COMPONENT),
    ]


def manifests(reg: Registry) -> list[dict[str, Any]]:
    web, websecure = PORTS["web"][0], PORTS["websecure"][0]
    return [*traefik_manifests(reg), *answers_manifests(),
            *k8s_network.edge_policies(reg, web, websecure, traefik.OPS_PORT)]
