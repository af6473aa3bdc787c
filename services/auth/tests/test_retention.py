"""Auth retention (issue #17 §2) on the real database as the app role: `auth.audit_logs` and
`auth.platform_audit` rows written at chosen ages in two zones go after `AUTH_AUDIT_RETENTION_DAYS`
(here 400) as the clock moves, never younger than a year whatever the clock, only through the
owner's functions (the app role still may not delete), bounded to the caller's zone by RLS;
published outbox rows go after 7 days."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.runtime import Resources
from megacity.telemetry_testing import sample_value
from megacity.testing import TestDatabase
from services.auth.retention.service import run_retention
from services.auth.settings import AuthSettings, Settings

DAY = dt.timedelta(days=1)
ZONES = (1, 2)
AGES = {"a420": 420 * DAY, "a380": 380 * DAY, "a300": 300 * DAY, "a1": DAY}


@pytest.fixture
async def res(test_db: TestDatabase) -> AsyncIterator[Resources]:
    settings = Settings(environment="test", database_url=test_db.app_url("auth"), audit_retention_days=400)
    assert isinstance(settings, AuthSettings)
    engine = make_engine(test_db.app_url("auth"), pool_size=2)
    try:
        yield Resources(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    finally:
        await engine.dispose()


async def _seed(db: TestDatabase, now: dt.datetime) -> None:
    for zone in ZONES:
        for label, age in AGES.items():
            await db.sql("INSERT INTO auth.audit_logs (zone_id, action, details, created_at)"
                         " VALUES (:z, 'auth.login', CAST(:d AS jsonb), :at)", z=zone, d=f'{{"label": "{label}"}}',
                         at=now - age)
            await db.sql("INSERT INTO auth.platform_audit (id, zone_id, service, action, actor_role, target_type,"
                         " target_id, occurred_at) VALUES (:id, :z, 'tenant', 'tenant.member.added', 'org_admin',"
                         " 'member', :label, :at)", id=uuid.uuid4(), z=zone, label=label, at=now - age)
    await db.sql("INSERT INTO auth.outbox (event_type, subject, payload, created_at, published_at) VALUES"
                 " ('t.old', 's', '{}', :old, :old), ('t.new', 's', '{}', :new, :new)",
                 old=now - 8 * DAY, new=now - DAY)


async def _left(db: TestDatabase) -> dict[str, dict[int, set[str]]]:
    out: dict[str, dict[int, set[str]]] = {"audit_logs": {}, "platform_audit": {}}
    for zone, label in await db.sql("SELECT zone_id, details->>'label' FROM auth.audit_logs"
                                    " WHERE details ? 'label'"):
        out["audit_logs"].setdefault(zone, set()).add(label)
    for zone, label in await db.sql("SELECT zone_id, target_id FROM auth.platform_audit"):
        out["platform_audit"].setdefault(zone, set()).add(label)
    return out


def _every(labels: set[str]) -> dict[str, dict[int, set[str]]]:
    return {t: {z: set(labels) for z in ZONES} for t in ("audit_logs", "platform_audit")}


def _settings(res: Resources) -> AuthSettings:
    assert isinstance(res.settings, AuthSettings)
    return res.settings


def _deleted(table: str) -> float:
    return sample_value("mc_retention_rows_deleted_total", {"service": "auth", "table": table}) or 0.0


async def test_audit_rows_go_after_their_year_as_the_clock_moves(res: Resources, test_db: TestDatabase) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(test_db, now)
    before = _deleted("platform_audit")

    # 1. The real clock, 400 days kept.
    report = await run_retention(res, _settings(res))
    assert not report.skipped
    assert await _left(test_db) == _every({"a380", "a300", "a1"})
    assert report.rows_deleted == {"audit_logs": 2, "platform_audit": 2, "outbox": 1, "inbox": 0,
                                   "account_emails": 0, "account_tokens": 0}
    assert _deleted("platform_audit") == before + 2
    assert [r[0] for r in await test_db.sql("SELECT event_type FROM auth.outbox")] == ["t.new"]

    # 2. 30 days on: the 380-day-old rows are past 400 days.
    await run_retention(res, _settings(res), now=now + 30 * DAY)
    assert await _left(test_db) == _every({"a300", "a1"})

    # 3. 200 days on the policy would take the 300-day-old rows, but the owner's functions keep
    # anything younger than a year of the real clock.
    far = await run_retention(res, _settings(res), now=now + 200 * DAY)
    assert far.rows_deleted["audit_logs"] == far.rows_deleted["platform_audit"] == 0
    assert await _left(test_db) == _every({"a300", "a1"})


async def test_the_app_role_still_cannot_delete_and_the_function_stays_in_its_zone(
        res: Resources, test_db: TestDatabase) -> None:
    now = dt.datetime.now(dt.UTC)
    await _seed(test_db, now)
    sessions = res.db()
    for table in ("audit_logs", "platform_audit"):
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="permission denied"):
            async with tenant_transaction(sessions, TenantContext(1, role="zone_admin")) as s:
                await s.execute(text(f"DELETE FROM auth.{table}"))
    # Zone 1's admin context, zone 2 asked for: RLS shows the function nothing.
    async with tenant_transaction(sessions, TenantContext(1, role="zone_admin")) as s:
        n = (await s.execute(text("SELECT auth.retention_delete_platform_audit(2, now(), 100)"))).scalar_one()
    assert n == 0
    async with tenant_transaction(sessions, TenantContext(2, role="zone_admin")) as s:
        n = (await s.execute(text("SELECT auth.retention_delete_platform_audit(2, now(), 100)"))).scalar_one()
    assert n == 2  # a420 and a380 of zone 2: never younger than a year, whatever the cutoff
    assert (await _left(test_db))["platform_audit"] == {1: set(AGES), 2: {"a300", "a1"}}


def test_audit_retention_is_at_least_a_year() -> None:
    with pytest.raises(ValueError):
        Settings(environment="test", audit_retention_days=30)
    assert Settings(environment="test").audit_retention_days == 365  # type: ignore[attr-defined]
