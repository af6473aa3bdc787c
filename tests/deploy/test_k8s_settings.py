"""Every service's settings class loads from the environment its k8s Deployment gives it, as the
kubelet would build it (literal values, Secret keys, `$(VAR)` expanded from earlier entries), so a
variable missing from the manifests fails `make test` instead of a pod at start-up. Secret
values are throwaway ones of the right shape; the migration and bootstrap Jobs get the same check
for the variables their commands read."""
from __future__ import annotations

import importlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from gateway import k8s_cluster, k8s_jobs
from megacity.db.migrations import has_migrations, sync_url
from megacity.settings import ServiceSettings
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy/k8s"
REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def throwaway(key: str) -> str:
    """A value shaped like what the Secret key holds (URL-safe, as the templates require)."""
    if key.endswith("PII_KEYS"):
        return Fernet.generate_key().decode()
    if key.endswith("ACCESS_KEY_ID"):
        return "AK" + secrets.token_hex(9).upper()
    return secrets.token_hex(24)


def kubelet_env(container: dict[str, Any]) -> dict[str, str]:
    """The process environment: `$(VAR)` resolves to a variable defined earlier in the list,
    `$$` is a literal `$`, anything else stays as written (kubelet's rules)."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = REFERENCE.sub(
                lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), item["value"])
        else:
            source = item["valueFrom"]
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
            assert ref is not None, f"{item['name']}: only Secret/ConfigMap keys are expected"
            env[item["name"]] = throwaway(ref["key"])
    assert "envFrom" not in container, "every variable is listed, so this test sees all of them"
    return env


def workload(kind: str, name: str) -> dict[str, Any]:
    for path in K8S_DIR.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
    raise AssertionError(f"{kind}/{name} is not in deploy/k8s")


def container_env(kind: str, name: str) -> dict[str, str]:
    return kubelet_env(workload(kind, name)["spec"]["template"]["spec"]["containers"][0])


def load_settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    prefix = service.upper().replace("-", "_") + "_"
    for key in list(os.environ):
        if key.startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings_class = importlib.import_module(f"services.{service}.settings").Settings
    settings: ServiceSettings = settings_class()
    return settings


@pytest.mark.parametrize("service", list(registry().services))
def test_settings_load_from_the_deployment_env(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = registry().services[service]
    env = container_env("Deployment", service)
    assert not [v for v in env.values() if "$(" in v], "every $(VAR) resolves to an earlier variable"
    s = load_settings(service, env, monkeypatch)
    assert s.environment == "production" and s.service_name == service
    assert (s.http_port, s.grpc_port, s.http_host) == (spec.http_port, spec.grpc_port, "0.0.0.0")
    assert s.migrate_on_start is False and s.migration_database_url == ""
    if has_migrations(service):
        url = make_url(s.database_url)
        assert (url.username, url.host, url.port) == (f"mc_{service}_app", k8s_cluster.PGBOUNCER.host, k8s_cluster.PGBOUNCER.port)
    else:
        assert s.database_url == ""
    assert make_url(s.redis_url.replace("redis://", "postgresql://")).host == k8s_cluster.REDIS.host
    assert s.nats_url.startswith(f"nats://{service}:") and s.nats_url.endswith(f"@{k8s_cluster.NATS.host}:4222")
    assert s.jwks_url == f"http://{k8s_cluster.service_host('auth')}:{registry().services['auth'].http_port}/.well-known/jwks.json"
    for peer, peer_spec in registry().services.items():
        assert s.peer_target(peer) == f"dns:///{k8s_cluster.grpc_host(peer)}:{peer_spec.grpc_port}"
    if spec.public:
        assert s.forwarded_allow_ips == [k8s_cluster.POD_CIDR]
    assert env["OTEL_SERVICE_NAME"] == service


def test_object_storage_and_gpu_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    kzone: Any = load_settings("kzone", container_env("Deployment", "kzone"), monkeypatch)
    assert kzone.storage_backend == "s3" and kzone.s3_access_key_id and kzone.s3_secret_access_key
    assert kzone.s3_endpoint_url == f"http://{k8s_cluster.OBJECTS.host}:{k8s_cluster.OBJECTS.port}"
    assert kzone.s3_public_endpoint_url.startswith("https://")
    inference: Any = load_settings("inference", container_env("Deployment", "inference"), monkeypatch)
    assert inference.device == "cuda" and inference.s3_endpoint_url == kzone.s3_endpoint_url
    assert Path(inference.stt_model).is_absolute() and Path(inference.llm_gpu_model).is_absolute()


def test_web_probes_each_service_by_its_cluster_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin health page reads every service's /readyz at its Service's cluster DNS name."""
    web: Any = load_settings("web", container_env("Deployment", "web"), monkeypatch)
    for name, spec in registry().services.items():
        assert web.health_url(name, spec.http_port) == f"http://{k8s_cluster.service_host(name)}:{spec.http_port}"


def test_a_variable_missing_from_the_manifest_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    env = container_env("Deployment", "auth")
    del env["AUTH_PII_KEYS"]
    with pytest.raises(ValidationError, match="AUTH_PII_KEYS"):
        load_settings("auth", env, monkeypatch)
    env = container_env("Deployment", "exam")
    del env["EXAM_SECRET_KEY"]
    with pytest.raises(ValidationError, match="secret_key"):
        load_settings("exam", env, monkeypatch)


@pytest.mark.parametrize("service", [n for n in registry().services if has_migrations(n)])
def test_migration_job_env_gives_what_its_command_reads(service: str) -> None:
    job = workload("Job", k8s_jobs.job_name(service))
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = kubelet_env(container)
    name = f"{service.upper()}_MIGRATION_DATABASE_URL"
    assert f"os.environ[{name!r}]" in container["command"][-1]
    url = make_url(sync_url(env[name]))
    assert (url.username, url.host, url.database) == (f"mc_{service}_owner", k8s_cluster.POSTGRES.host, k8s_cluster.DATABASE)
    assert url.password == env[f"{service.upper()}_DB_OWNER_PASSWORD"]


def test_bootstrap_job_env_gives_every_role_password() -> None:
    job = workload("Job", k8s_jobs.bootstrap_name())
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = kubelet_env(container)
    assert make_url(env["MC_ADMIN_DATABASE_URL"]).host == k8s_cluster.POSTGRES.host
    services = container["command"][3:]
    assert services == [n for n in registry().services if has_migrations(n)]
    for name in services:
        # megacity.db.bootstrap reads <SVC>_DB_OWNER_PASSWORD / <SVC>_DB_APP_PASSWORD.
        assert env[f"{name.upper()}_DB_OWNER_PASSWORD"] and env[f"{name.upper()}_DB_APP_PASSWORD"]
