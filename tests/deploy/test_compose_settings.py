"""Every service's settings class loads from the environment compose gives its container, for
docker-compose.yml alone (production) and with deploy/compose.local.yml: a variable compose
forgets, or one the settings refuse outside development, fails `make test` instead of a
container start. Compose interpolates with the throwaway secrets of deploy/compose-env.sh; no
Docker engine is needed. Also: the images can be built from what their contexts carry."""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import compose
import pytest

from megacity.db.migrations import has_migrations
from megacity.settings import ServiceSettings
from megacity.zones import registry

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BIN = Path(compose.__file__).parent / "docker-compose"
BASE = ROOT / "docker-compose.yml"
LOCAL = ROOT / "deploy/compose.local.yml"
VARIANTS = {"production": (BASE,), "local": (BASE, LOCAL)}


@pytest.fixture(scope="module")
def throwaway_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("compose") / "compose.env"
    env.write_text(subprocess.run(["sh", str(ROOT / "deploy/compose-env.sh")], check=True, capture_output=True,
                                  text=True, timeout=30).stdout)
    return env


def compose_model(env_file: Path, files: tuple[Path, ...]) -> dict[str, Any]:
    args = [str(COMPOSE_BIN), "--project-directory", str(ROOT), "--env-file", str(env_file)]
    for f in files:
        args += ["-f", str(f)]
    # Only the env file counts: nothing inherited from this shell.
    proc = subprocess.run([*args, "config", "--format", "json"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
                          check=False)
    assert proc.returncode == 0, proc.stderr
    model: dict[str, Any] = json.loads(proc.stdout)
    return model


def load_settings(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The service's own settings class, reading exactly the container's environment."""
    for key in list(os.environ):
        if key.startswith(name.upper() + "_") or key.startswith("OTEL_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = importlib.import_module(f"services.{name}.settings").Settings()
    assert isinstance(settings, ServiceSettings)
    return settings


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(registry().services))
def test_settings_load_from_compose_environment(name: str, variant: str, throwaway_env: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    model = compose_model(throwaway_env, VARIANTS[variant])
    env = {k: str(v) for k, v in model["services"][name]["environment"].items()}
    settings = load_settings(name, env, monkeypatch)
    assert settings.environment == "compose" and settings.service_name == name
    assert settings.http_host == settings.grpc_host == "0.0.0.0"

    # Every peer is reached by its compose hostname, never the container's own loopback.
    assert settings.peer_target("tenant") == f"tenant:{registry().services['tenant'].grpc_port}"
    jwks = urlsplit(settings.jwks_url)
    if registry().services[name].public and name != "auth":  # verifies tokens: auth's keys, from auth
        assert (jwks.hostname, jwks.port) == ("auth", registry().services["auth"].http_port), settings.jwks_url
    redis = urlsplit(settings.redis_url)
    assert redis.hostname == "redis" and redis.password, "Redis without its password"

    # NATS requires authentication: the URL carries the user and password the server was given.
    nats = urlsplit(settings.nats_url)
    command = model["services"]["nats"]["command"]
    assert nats.hostname == "nats" and nats.username and nats.password
    assert command[command.index("--user") + 1] == nats.username
    assert command[command.index("--pass") + 1] == nats.password

    if has_migrations(name):
        assert urlsplit(settings.database_url).hostname == "pgbouncer"
        assert urlsplit(settings.migration_database_url).hostname == "postgres"
    else:
        assert settings.database_url == ""  # cat and inference keep no tables
    assert model["services"][name]["healthcheck"]["test"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_kzone_presigns_with_the_public_object_address(variant: str, throwaway_env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    model = compose_model(throwaway_env, VARIANTS[variant])
    settings = load_settings("kzone", dict(model["services"]["kzone"]["environment"]), monkeypatch)
    assert settings.storage_backend == "s3"  # type: ignore[attr-defined]
    public = urlsplit(settings.s3_public_endpoint_url)  # type: ignore[attr-defined]
    assert public.hostname and public.hostname != "minio", settings.s3_public_endpoint_url  # type: ignore[attr-defined]


def test_local_overlay_builds_every_image_it_starts(throwaway_env: Path) -> None:
    """No registry here: every container the local stack starts comes from a local build (or an
    image another of its services builds)."""
    services = compose_model(throwaway_env, (BASE, LOCAL))["services"]
    built = {svc["image"] for svc in services.values() if "build" in svc}
    for name, svc in services.items():
        if "production" in svc.get("profiles", []):
            continue
        assert "build" in svc or (svc["image"] in built and svc.get("pull_policy") == "never"), name
    assert services["jaeger"]["build"]["target"] == "otlp-sink"


def included(path: str, ignore_file: Path) -> bool:
    """Whether `path` (relative to the context) survives a .dockerignore of `**` + `!` lines."""
    keep = False
    for raw in ignore_file.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern == "**" or any(fnmatch(p, pattern) for p in prefixes) or fnmatch(path, pattern):
            keep = negate
    return keep


@pytest.mark.parametrize("dockerfile", ["service.Dockerfile", "local.Dockerfile", "infra.Dockerfile", "backup.Dockerfile"])
def test_every_copied_file_is_in_the_build_context(dockerfile: str) -> None:
    """What a Dockerfile COPYs or bind-mounts from the context, its .dockerignore must let in."""
    path = ROOT / "deploy/docker" / dockerfile
    ignore = path.with_name(dockerfile + ".dockerignore")
    text = path.read_text().replace("\\\n", " ")
    sources: list[str] = []
    for line in text.splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            sources += line.split()[1:-1]
        sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", line)
    sources = [s.replace("${SERVICE}", "exam").rstrip("/") for s in sources]
    assert sources, dockerfile
    for source in sources:
        assert (ROOT / source).exists() or source.startswith(".state/"), source
        # A bind-mounted folder may be let in part by part (infra images see only wheelhouse/tools).
        partly = any(line.startswith(f"!{source}/") for line in ignore.read_text().splitlines())
        assert included(source, ignore) or partly, f"{dockerfile} copies {source}, which {ignore.name} leaves out"
