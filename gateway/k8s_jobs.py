"""Jobs that hold owner or superuser credentials, so Deployments never do:

- `db-bootstrap-<tag>`: roles, schemas and default privileges (`python -m megacity.db.bootstrap`,
  superuser); first install and whenever a service is added;
- `<svc>-migrate-<tag>`: that service's Alembic migrations as its owner role, from the release's
  own image, before the release's Deployments roll out.

A Job's pod template cannot change, so each release gets new Job names (the tag is in them) and
re-applying a release's Jobs is a no-op. Migrations must keep the previous release working
(expand now, contract a release later): old pods run against the new schema until replaced.
"""
from __future__ import annotations

from typing import Any

from gateway import k8s_cluster as cluster
from gateway import k8s_pods
from gateway.k8s_network import MIGRATION
from gateway.k8s_secrets import DB_BOOTSTRAP, SecretRef, app_password, app_secret, owner_password, prefix
from gateway.k8s_services import WORKLOAD_SKIPS, Env
from megacity.db.migrations import has_migrations
from megacity.zones import Registry

BOOTSTRAP = "db-bootstrap"


def job_name(service: str) -> str:
    return f"{service}-migrate-{cluster.release_tag().replace('.', '-').lower()}"


def bootstrap_name() -> str:
    return f"{BOOTSTRAP}-{cluster.release_tag().replace('.', '-').lower()}"


def _owner_url(service: str) -> str:
    pg = cluster.POSTGRES
    return f"postgresql+psycopg://mc_{service}_owner:$({prefix(service)}_DB_OWNER_PASSWORD)@{pg.host}:{pg.port}/{cluster.DATABASE}"


def _job(name: str, workload: str, image: str, command: list[str], env: list[dict[str, Any]]) -> dict[str, Any]:
    tmp_vol, tmp_mount = k8s_pods.tmp_volume()
    c = {
        "name": "migrate", "image": image, "imagePullPolicy": "Always", "command": command, "env": env,
        "resources": k8s_pods.resources("100m", "256Mi", "1", "512Mi"),
        "securityContext": k8s_pods.container_security(), "volumeMounts": [tmp_mount],
    }
    pod = k8s_pods.pod_spec([c], [tmp_vol], service_account=f"{workload}-{MIGRATION}", restartPolicy="Never")
    labels = {**k8s_pods.labels(f"{workload}-{MIGRATION}", MIGRATION), "app.kubernetes.io/version": cluster.release_tag()}
    meta = k8s_pods.metadata(name, MIGRATION, k8s_pods.skips(WORKLOAD_SKIPS))
    meta["labels"] = labels
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {
        "backoffLimit": 3, "activeDeadlineSeconds": 1800, "ttlSecondsAfterFinished": 7 * 24 * 3600,
        "template": {"metadata": {"labels": labels}, "spec": pod}}}


def migration_job(service: str) -> dict[str, Any]:
    p = prefix(service)
    e = (Env().secret(f"{p}_DB_OWNER_PASSWORD", owner_password(service))
         .value(f"{p}_MIGRATION_DATABASE_URL", _owner_url(service)).value("OTEL_SDK_DISABLED", "true"))
    if service == "tenant":  # 0011 encrypts existing roster rows with the service's own keys, never dev ones
        e.value("TENANT_ENVIRONMENT", "production")
        for k in ("TENANT_PII_KEYS", "TENANT_PII_INDEX_KEY"):
            e.secret(k, SecretRef(app_secret(service), k))
    env = e.items
    run = f"import os; from megacity.db.migrations import upgrade; upgrade({service!r}, os.environ[{f'{p}_MIGRATION_DATABASE_URL'!r}])"
    return _job(job_name(service), service, cluster.image(service), ["python", "-c", run], env)


def bootstrap_job(reg: Registry) -> dict[str, Any]:
    """Reads each role's password from the Secret that already holds it (no second copy)."""
    pg = cluster.POSTGRES
    e = Env().secret("POSTGRES_PASSWORD", SecretRef(DB_BOOTSTRAP, "POSTGRES_PASSWORD"))
    e.value("MC_ADMIN_DATABASE_URL", f"postgresql://postgres:$(POSTGRES_PASSWORD)@{pg.host}:{pg.port}/{cluster.DATABASE}")
    services = [n for n in reg.services if has_migrations(n)]
    for name in services:
        e.secret(f"{prefix(name)}_DB_OWNER_PASSWORD", owner_password(name))
        e.secret(f"{prefix(name)}_DB_APP_PASSWORD", app_password(name))
    command = ["python", "-m", "megacity.db.bootstrap", *services]
    return _job(bootstrap_name(), BOOTSTRAP, cluster.image(cluster.TOOLS_IMAGE_OF), command, e.items)


def migration_manifests(reg: Registry) -> dict[str, list[dict[str, Any]]]:
    """File name under deploy/k8s -> documents: the bootstrap and one Job per service with tables."""
    files = {f"bootstrap/{BOOTSTRAP}": [k8s_pods.service_account(f"{BOOTSTRAP}-{MIGRATION}", MIGRATION),
                                        bootstrap_job(reg)]}
    for name in reg.services:
        if has_migrations(name):
            files[f"migrations/{name}"] = [k8s_pods.service_account(f"{name}-{MIGRATION}", MIGRATION),
                                           migration_job(name)]
    return files
