"""Kubernetes manifests rendered from the zone registry (deploy/k8s/, `python -m gateway generate`).

Files: `namespace.yaml` (Namespace with Pod Security "restricted" enforced, default-deny and the
namespace-wide NetworkPolicies), `<service>.yaml` per service, `pgbouncer.yaml`, `edge.yaml`
(Traefik + edge answers), `alerting.yaml` (Alertmanager, node-exporter), `backup.yaml` (pgBackRest CronJobs),
`bootstrap/db-bootstrap.yaml`, `migrations/<service>.yaml`, and `secrets/*.example` (Secret keys, never
values). Helm-less rollout
of release <tag>, in order (server-side apply: the edge's route ConfigMap outgrows client-side
apply's annotation):

    kubectl apply --server-side -f deploy/k8s/namespace.yaml
    # once: create every Secret from its template in deploy/k8s/secrets/ (deploy/k8s/README.md)
    kubectl apply --server-side -f deploy/k8s/bootstrap/     # first install; again when a service is added
    kubectl -n megacity wait --for=condition=complete --timeout=15m job/db-bootstrap-<tag>
    kubectl apply --server-side -f deploy/k8s/migrations/
    kubectl -n megacity wait --for=condition=complete --timeout=30m \\
        job -l app.kubernetes.io/component=migration,app.kubernetes.io/version=<tag>
    kubectl apply --server-side -f deploy/k8s/               # Deployments roll out on the new schema

Pieces: `k8s_cluster` (addresses, images, the release tag), `k8s_pods` (restricted pods, probes,
drain), `k8s_services`, `k8s_pgbouncer`, `k8s_edge`, `k8s_jobs`, `k8s_network`, `k8s_secrets`,
`k8s_alerting` (Alertmanager, node-exporter).
"""
from __future__ import annotations

from typing import Any

from gateway import k8s_alerting, k8s_backup, k8s_edge, k8s_jobs, k8s_network, k8s_pgbouncer, k8s_secrets, k8s_services
from gateway.k8s_cluster import NAMESPACE
from gateway.k8s_pods import PART_OF
from megacity.zones import Registry, registry


def namespace() -> dict[str, Any]:
    pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    pss["pod-security.kubernetes.io/enforce-version"] = "latest"
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/part-of": PART_OF, **pss}}}


def manifests(reg: Registry | None = None) -> dict[str, list[dict[str, Any]]]:
    """File name under deploy/k8s (without .yaml) -> its documents."""
    reg = reg or registry()
    files: dict[str, list[dict[str, Any]]] = {
        "namespace": [namespace(), *k8s_network.namespace_policies(), k8s_network.migration_policy(),
                      *k8s_network.data_store_policies(reg)],
    }
    for spec in reg.services.values():
        files[spec.name] = k8s_services.manifests(reg, spec)
    files["pgbouncer"] = k8s_pgbouncer.manifests(reg)
    files["edge"] = k8s_edge.manifests(reg)
    files["alerting"] = k8s_alerting.manifests()
    files["backup"] = k8s_backup.manifests()
    files.update(k8s_jobs.migration_manifests(reg))
    return files


def secret_templates(reg: Registry | None = None) -> dict[str, str]:
    """File name under deploy/k8s/secrets -> template text (keys only)."""
    return {**k8s_secrets.templates(reg or registry()), **k8s_alerting.secret_templates()}
