"""docker-compose.yml (+ GPU overlay), k8s manifests, Prometheus and Grafana files: valid, and
consistent with the zone registry."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import kubernetes_validate
import pytest
import yaml

from megacity.db.migrations import has_migrations
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[2]
# The venv's `docker-compose` script always exits 0; the Go binary it wraps reports errors.
COMPOSE_BIN = Path(compose.__file__).parent / "docker-compose"
COMPOSE_FILE = ROOT / "docker-compose.yml"
GPU_OVERLAY = ROOT / "deploy/compose.gpu.yml"
# No database role at all (no bootstrap password, no wait for db-init or PgBouncer): the pages.
NO_DATABASE = {"web"}


def required_vars() -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text()))


def compose_config(*files: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(COMPOSE_BIN), "--project-directory", str(ROOT)]
    for f in files:
        args += ["-f", str(f)]
    # No inherited environment (and no .env): only what the test passes.
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([*args, "--env-file", os.devnull, "config", "--format", "json"],
                          capture_output=True, text=True, env={**base, **(env or {})}, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def dummy_secrets() -> dict[str, str]:
    return {name: f"dummy{i:02d}secretvalue" for i, name in enumerate(sorted(required_vars()))}


@pytest.fixture(scope="module")
def compose_model(dummy_secrets: dict[str, str]) -> dict[str, Any]:
    proc = compose_config(COMPOSE_FILE, env=dummy_secrets)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_refuses_to_start_without_secrets() -> None:
    proc = compose_config(COMPOSE_FILE)
    assert proc.returncode != 0 and "required variable" in proc.stderr


def test_compose_services_match_registry(compose_model: dict[str, Any]) -> None:
    reg = registry()
    services = compose_model["services"]
    for name, spec in reg.services.items():
        svc, prefix = services[name], name.upper()
        env = svc["environment"]
        assert svc["hostname"] == name and env["OTEL_SERVICE_NAME"] == name
        assert svc["command"] == ["python", "-m", f"services.{name}"]
        assert svc["build"]["args"] == {"SERVICE": name, "HTTP_PORT": str(spec.http_port),
                                        "GRPC_PORT": str(spec.grpc_port)}
        assert svc["build"]["dockerfile"] == "deploy/docker/service.Dockerfile"
        if has_migrations(name):  # services with tables: app role via PgBouncer, owner direct
            assert env[f"{prefix}_DATABASE_URL"].startswith(f"postgresql+psycopg://mc_{name}_app:")
            assert "@pgbouncer:6432/" in env[f"{prefix}_DATABASE_URL"]
            assert env[f"{prefix}_MIGRATION_DATABASE_URL"].startswith(f"postgresql+psycopg://mc_{name}_owner:")
            assert "@postgres:5432/" in env[f"{prefix}_MIGRATION_DATABASE_URL"]
        else:  # cat, inference and web keep no tables
            assert f"{prefix}_DATABASE_URL" not in env and f"{prefix}_MIGRATION_DATABASE_URL" not in env
        assert env[f"{prefix}_ENVIRONMENT"] == "compose"
        assert env[f"{prefix}_GRPC_PEER_TEMPLATE"] == "{service}:{port}"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317" and env["OTEL_TRACES_EXPORTER"] == "otlp"
        for key in ("REDIS_URL", "NATS_URL", "SECRET_KEY"):
            assert env[f"{prefix}_{key}"], key
        check = " ".join(svc["healthcheck"]["test"])
        assert f"megacity.grpc.healthcheck {spec.grpc_port}" in check and f":{spec.http_port}/readyz" in check
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        if name in NO_DATABASE:
            assert not {"db-init", "pgbouncer", "postgres"} & set(svc["depends_on"]), name
            continue
        assert svc["depends_on"]["db-init"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["pgbouncer"]["condition"] == "service_healthy"
    # web's admin health page reads each service's /readyz by its compose hostname.
    template = services["web"]["environment"]["WEB_HEALTH_URL_TEMPLATE"]
    assert template.format(service="auth", port=8101) == "http://auth:8101"
    db_init = services["db-init"]
    assert db_init["command"] == ["python", "-m", "megacity.db.bootstrap"]
    assert db_init["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in reg.services:
        assert (f"{name.upper()}_DB_APP_PASSWORD" in db_init["environment"]) == (name not in NO_DATABASE), name


def test_compose_every_long_running_container_has_a_healthcheck(compose_model: dict[str, Any]) -> None:
    one_shot = {"db-init"}
    no_shell = {"nats-exporter"}  # scratch image; Prometheus watches it
    for name, svc in compose_model["services"].items():
        if name not in one_shot | no_shell:
            assert svc.get("healthcheck", {}).get("test"), name


def test_compose_names_no_zone(compose_model: dict[str, Any]) -> None:
    """Adding a zone is one registry edit: no compose file lists zone keys or their buckets (kzone
    makes the static-<zone> buckets at start)."""
    for path in (COMPOSE_FILE, ROOT / "deploy/compose.local.yml", GPU_OVERLAY):
        text = path.read_text()
        for zone in registry().zones:
            assert f"static-{zone.key}" not in text, (path, zone.key)
    assert "minio-init" not in compose_model["services"]


def test_compose_gpu_overlay(dummy_secrets: dict[str, str]) -> None:
    proc = compose_config(COMPOSE_FILE, GPU_OVERLAY, env=dummy_secrets)
    assert proc.returncode == 0, proc.stderr
    inference = json.loads(proc.stdout)["services"]["inference"]
    assert inference["environment"]["INFERENCE_DEVICE"] == "cuda"
    devices = inference["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]


def test_k8s_manifests_validate_and_match_registry() -> None:
    reg = registry()
    seen = {}
    for path in sorted((ROOT / "deploy/k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
            seen[(doc["kind"], doc["metadata"]["name"])] = doc
    for name, spec in reg.services.items():
        deployment = seen[("Deployment", name)]
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": spec.http_port, "grpc": spec.grpc_port}
        assert "readinessProbe" in container and "livenessProbe" in container
        if spec.gpu:
            assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
            assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
            assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
        else:
            assert "nodeSelector" not in pod
        assert seen[("Service", name)]["spec"]["selector"] == {"app.kubernetes.io/name": name}


def test_prometheus_scrapes_every_service_and_rules_load() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "megacity")
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"{n}:{s.http_port}" for n, s in registry().services.items()}
    rules = yaml.safe_load((ROOT / "deploy/prometheus" / config["rule_files"][0]).read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"ServiceDown", "High5xxRatio", "HighP99Latency", "NatsConsumerLag", "DeadLetterGrowth"} <= alerts


def test_grafana_provisioning_and_dashboard() -> None:
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/datasources.yml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/megacity.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in ("mc_http_requests_total", "mc_http_request_duration_seconds_bucket", "mc_grpc_server_handled_total",
                   "mc_db_pool_connections", "jetstream_consumer_num_pending", "DCGM_FI_DEV_GPU_UTIL"):
        assert metric in exprs
    assert {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p} <= uids
