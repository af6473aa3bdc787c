"""Demo data for `make run`: one demo org per zone, with stable ids so re-running is a no-op.

Written through the app role with a super_admin context, so it exercises the same RLS
policies as the service does.
"""
from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.zones import registry
from services.tenant.settings import Settings

DEMO_NAMESPACE = uuid.UUID("6d656761-6369-7479-2d64-656d6f2d6f72")


def demo_org_id(zone_key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, zone_key)


async def seed(database_url: str) -> int:
    engine = make_engine(database_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    created = 0
    try:
        for zone in registry().zones:
            async with tenant_transaction(sessions, TenantContext(zone.id, role="super_admin")) as s:
                result = await s.execute(text(
                    "INSERT INTO tenant.orgs (id, zone_id, name, plan) VALUES (:id, :zone_id, :name, 'demo')"
                    " ON CONFLICT (id) DO NOTHING"),
                    {"id": demo_org_id(zone.key), "zone_id": zone.id, "name": f"{zone.name} Demo Academy"})
                created += result.rowcount  # type: ignore[attr-defined]  # CursorResult of an INSERT
    finally:
        await engine.dispose()
    return created


if __name__ == "__main__":
    n = asyncio.run(seed(Settings().database_url))
    print(f"demo orgs created: {n}")
