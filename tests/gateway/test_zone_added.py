"""Adding a zone is one registry edit plus `make gateway` (issue #11): a tenth zone, `lang`
(langprepai.com, id 10), in a copy of zones.yaml reaches every generated edge/deploy file, the
database (tenant's migrate syncs zone rows), object storage (its `static-lang` bucket) and a real
Traefik, which routes `api.langprepai.com` to a real tenant service answering as that zone."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from gateway.__main__ import rendered
from gateway.local_edge import EdgeConfig, LocalEdge, free_port
from megacity.db.migrations import upgrade
from megacity.testing import TestDatabase, TokenMint, run_service
from megacity.zones import REGISTRY_PATH, ZONES_FILE_ENV, Registry, load_registry, registry, registry_from
from services.kzone.storage.buckets import ensure_zone_buckets
from services.kzone.storage.filesystem import FilesystemStorage

LANG = {"key": "lang", "id": 10, "name": "Language Prep", "domains": ["langprepai.com"], "api_service": "tenant"}
HOSTS = [f"{p}.langprepai.com" for p in ("www", "app", "api", "static", "admin")]


def zones_file(tmp_path: Path, *extra: dict[str, Any], name: str = "zones.yaml") -> Path:
    """zones.yaml with `extra` zones appended: what an operator's edit looks like."""
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    data["zones"].extend(extra)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def lang_file(tmp_path: Path) -> Path:
    return zones_file(tmp_path, LANG)


@pytest.fixture
def lang(lang_file: Path) -> Iterator[Registry]:
    """`registry()` is the ten-zone registry inside the test (this process and its children)."""
    with registry_from(lang_file) as reg:
        yield reg


def test_a_registry_file_is_read_from_anywhere_without_touching_the_process_registry(lang_file: Path) -> None:
    nine = registry()
    assert [z.key for z in load_registry(lang_file).zones][-1] == "lang"
    assert registry() is nine  # loading another file leaves the cached registry alone
    with registry_from(lang_file) as reg:
        assert registry() is reg and reg.resolve_host("API.langprepai.com:8080").zone.id == 10
    assert registry() is not reg and registry().resolve_host("api.langprepai.com") is None
    child = subprocess.run(
        [sys.executable, "-c", "from megacity.zones import registry; print(registry().zone_by_id(10).key)"],
        env={"PYTHONPATH": ".:libs", ZONES_FILE_ENV: str(lang_file)}, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2])
    assert child.stdout.strip() == "lang"


@pytest.mark.parametrize(("zone", "error"), [
    ({**LANG, "domains": ["univprepai.com"]}, "a domain belongs to one zone only"),
    ({**LANG, "key": "Lang Prep"}, "lowercase letters, digits and '-'"),
    ({**LANG, "domains": ["langprepai.com/"]}, "not lowercase domain names"),
    ({**LANG, "id": 9}, "zone keys and ids must be unique"),
    ({**LANG, "api_service": "lang"}, "unknown api_service"),
])
def test_a_bad_zone_entry_is_refused_with_a_reason(tmp_path: Path, zone: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        load_registry(zones_file(tmp_path, zone))


def test_every_generated_file_that_knows_zones_knows_the_new_one(lang_file: Path) -> None:
    before, after = rendered(), rendered(load_registry(lang_file))
    assert before.keys() == after.keys()
    per_zone = {path for path, text in before.items() if "univprepai.com" in text}
    assert Path("gateway/traefik/dynamic/routes.yml") in per_zone and Path("deploy/k8s/edge.yaml") in per_zone
    for path in per_zone:
        assert all(host in after[path] for host in HOSTS), path
    # Everything else (services, Prometheus scrape jobs: the zone is a label on every series, not
    # a target) is zone-independent, so the new zone changes nothing there.
    assert {path for path in before if before[path] != after[path]} == per_zone
    assert Path("deploy/prometheus/prometheus.yml") not in per_zone

    routers = yaml.safe_load(after[Path("gateway/traefik/dynamic/routes.yml")].split("\n", 1)[1])["http"]
    zone_api = [r for r in routers["routers"].values() if r["rule"].startswith("Host(`api.langprepai.com`) && "
                                                                              "(Path(`/api/v1/zone`)")]
    assert [r["service"] for r in zone_api] == ["svc-tenant"]
    static = [r for r in routers["routers"].values() if r["rule"] == "Host(`static.langprepai.com`)"]
    assert len(static) == 1
    prefixes = [routers["middlewares"][m]["addPrefix"]["prefix"] for m in static[0]["middlewares"]
                if "addPrefix" in routers["middlewares"].get(m, {})]
    assert prefixes == ["/static-lang"]


async def test_the_new_zone_end_to_end_through_traefik(lang: Registry, test_db: TestDatabase, namespace: str,
                                                       token_mint: TokenMint, tmp_path: Path) -> None:
    # Database: the migrations never heard of zone 10; the migrate step writes its row.
    upgrade("tenant", test_db.owner_url("tenant"))
    with psycopg.connect(test_db.admin_url) as conn:
        assert conn.execute("SELECT key, name, domains, retired_at FROM tenant.zones WHERE id = 10").fetchall() == [
            ("lang", "Language Prep", ["langprepai.com"], None)]

    # Object storage: the zone's bucket behind static.langprepai.com.
    assert "static-lang" in await ensure_zone_buckets(FilesystemStorage(tmp_path / "objects", b"k"))

    async with run_service("tenant", test_db, namespace) as tenant:
        token_mint.install(tenant.app)
        edge = LocalEdge(EdgeConfig(listen_port=free_port(), upstreams={"tenant": f"127.0.0.1:{tenant.http_port}"}),
                         state_dir=tmp_path / "edge", reg=lang)
        (edge.state_dir / "static" / "lang").mkdir(parents=True)
        (edge.state_dir / "static" / "lang" / "hello.txt").write_text("annyeong")
        with edge:
            async with httpx.AsyncClient(base_url=edge.url, timeout=20) as client:
                zone = await client.get("/api/v1/zone", headers={"Host": "api.langprepai.com"})
                assert zone.status_code == 200, zone.text
                assert zone.json() == {"key": "lang", "id": 10, "name": "Language Prep",
                                       "domains": ["langprepai.com"]}
                assert (zone.headers["x-zone"], zone.headers["x-served-by"]) == ("lang", "tenant")

                admin = {"Host": "api.langprepai.com",
                         "Authorization": f"Bearer {token_mint.token(zone_id=10, role='zone_admin')}"}
                created = await client.post("/api/v1/orgs", json={"name": "Busan Language School"}, headers=admin)
                assert created.status_code == 201, created.text
                assert created.json()["zone_id"] == 10
                listed = await client.get("/api/v1/orgs", headers=admin)
                assert [o["name"] for o in listed.json()["items"]] == ["Busan Language School"]
                other = {"Host": "api.langprepai.com",
                         "Authorization": f"Bearer {token_mint.token(zone_id=1, role='zone_admin')}"}
                assert (await client.get("/api/v1/orgs", headers=other)).status_code == 403

                static = await client.get("/hello.txt", headers={"Host": "static.langprepai.com"})
                assert (static.status_code, static.text) == (200, "annyeong")
