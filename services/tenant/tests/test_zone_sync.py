"""Zone rows follow the registry on every migrate (issue #11: adding a zone is a registry edit):
a zone the migrations never knew gets its row — and orgs, under RLS — after the next upgrade; a
removed zone is retired with its orgs intact; ids never change hands; downgrades leave rows be."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import Engine, create_engine, pool, text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.db.migrations import downgrade, sync_url, upgrade
from megacity.testing import TestDatabase
from megacity.zones import REGISTRY_PATH, Registry, load_registry, registry_from
from services.tenant.orgs import queries as org_queries
from services.tenant.zones.service import ZoneConflict, sync_registry

LANG = {"key": "lang", "id": 10, "name": "Language Prep", "domains": ["langprepai.com"], "api_service": "tenant"}

ZoneEdit = Callable[[list[dict[str, Any]]], None]


@pytest.fixture
def registry_file(tmp_path: Path) -> Callable[[ZoneEdit], Path]:
    """A copy of zones.yaml with its `zones:` list edited."""
    def write(edit: ZoneEdit) -> Path:
        data = yaml.safe_load(REGISTRY_PATH.read_text())
        edit(data["zones"])
        path = tmp_path / f"zones-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
    return write


@pytest.fixture
def owner(test_db: TestDatabase) -> Iterator[Engine]:
    """tenant's owner role (what migrations and the sync run as)."""
    engine = create_engine(sync_url(test_db.owner_url("tenant")), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def zone_rows(db: TestDatabase) -> dict[int, tuple[Any, ...]]:
    with psycopg.connect(db.admin_url) as conn:
        rows = conn.execute("SELECT id, key, name, domains, retired_at IS NOT NULL FROM tenant.zones").fetchall()
    return {r[0]: r[1:] for r in rows}


def add_lang(zones: list[dict[str, Any]]) -> None:
    zones.append(dict(LANG))


async def test_migrate_writes_a_zone_the_migrations_never_knew(test_db: TestDatabase, registry_file) -> None:
    assert 10 not in zone_rows(test_db)  # the template was migrated with the nine zones
    with registry_from(registry_file(add_lang)):
        upgrade("tenant", test_db.owner_url("tenant"))  # already at head: only the sync has work
    assert zone_rows(test_db)[10] == ("lang", "Language Prep", ["langprepai.com"], False)

    # The row is what orgs need: an org of zone 10, seen under RLS by zone 10 only.
    engine = make_engine(test_db.app_url("tenant"), pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        async with tenant_transaction(sessions, TenantContext(10, role="zone_admin")) as s:
            org = await org_queries.insert_org(s, 10, "Seoul Language School", "free")
        async with tenant_transaction(sessions, TenantContext(10, role="zone_admin")) as s:
            assert [o.id for o in (await org_queries.list_orgs(s, 10, None, 10, 0)).rows] == [org.id]
        async with tenant_transaction(sessions, TenantContext(1, role="zone_admin")) as s:
            assert await org_queries.get_org(s, 10, org.id) is None
            assert (await s.execute(text("SELECT count(*) FROM tenant.orgs"))).scalar_one() == 0
    finally:
        await engine.dispose()


def test_sync_is_idempotent_and_follows_name_and_domain_edits(test_db: TestDatabase, owner: Engine) -> None:
    reg = load_registry(REGISTRY_PATH)
    with owner.begin() as conn:
        assert not sync_registry(conn, reg).changed  # the migration wrote exactly these rows
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    data["zones"][0].update(name="University Entrance Prep", domains=["univprepai.com", "univprep.kr"])
    add_lang(data["zones"])
    edited = Registry.model_validate(data)
    with owner.begin() as conn:
        result = sync_registry(conn, edited)
    assert (result.added, result.updated, result.retired) == (["lang"], ["univ"], [])
    assert zone_rows(test_db)[1] == ("univ", "University Entrance Prep", ["univprepai.com", "univprep.kr"], False)
    with owner.begin() as conn:
        assert not sync_registry(conn, edited).changed


async def test_a_removed_zone_is_retired_with_its_orgs_and_can_come_back(test_db: TestDatabase,
                                                                         registry_file) -> None:
    with psycopg.connect(test_db.admin_url) as conn:
        conn.execute("INSERT INTO tenant.orgs (zone_id, name) VALUES (9, 'DreamSeed Academy')")
    without = registry_file(lambda zones: zones.pop())  # dreamseed (id 9) leaves the registry
    with registry_from(without):
        upgrade("tenant", test_db.owner_url("tenant"))
        upgrade("tenant", test_db.owner_url("tenant"))  # again: nothing more to do
    assert zone_rows(test_db)[9] == ("dreamseed", "DreamSeed Portal", ["dreamseedai.com"], True)
    with psycopg.connect(test_db.admin_url) as conn:
        assert conn.execute("SELECT name FROM tenant.orgs WHERE zone_id = 9").fetchall() == [("DreamSeed Academy",)]
    upgrade("tenant", test_db.owner_url("tenant"))  # the bundled registry has it again
    assert zone_rows(test_db)[9][-1] is False


@pytest.mark.parametrize("edit", [
    pytest.param(lambda zones: zones.__setitem__(8, {**LANG, "id": 9}), id="a removed zone's id reused"),
    pytest.param(lambda zones: zones[0].update(id=11), id="old key on a new id"),
    pytest.param(lambda zones: zones[8].update(key="portal"), id="id renamed"),
])
def test_an_id_or_key_changing_hands_is_refused_and_nothing_is_written(test_db: TestDatabase, owner: Engine,
                                                                       edit: ZoneEdit) -> None:
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    edit(data["zones"])
    data["zones"][1]["name"] = "Changed"  # a harmless edit that must not be written either
    before = zone_rows(test_db)
    with pytest.raises(ZoneConflict, match="zone ids are permanent"), owner.begin() as conn:
        sync_registry(conn, Registry.model_validate(data))
    assert zone_rows(test_db) == before


def test_zone_rows_are_synced_only_at_head(test_db: TestDatabase, registry_file) -> None:
    """A downgrade runs env.py too: the sync (written for the newest table) must stay out of it."""
    with registry_from(registry_file(lambda zones: (add_lang(zones), zones.pop(0)))):
        downgrade("tenant", test_db.owner_url("tenant"), "0004")
        with psycopg.connect(test_db.admin_url) as conn:
            assert conn.execute("SELECT max(id) FROM tenant.zones").fetchone() == (9,)
        upgrade("tenant", test_db.owner_url("tenant"))
    rows = zone_rows(test_db)
    assert rows[10][-1] is False and rows[1] == ("univ", "University Prep", ["univprepai.com"], True)
