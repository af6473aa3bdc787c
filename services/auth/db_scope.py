"""Transactions of the auth service: the shared tenant context plus, where needed, an auth scope.

The restrictive RLS policies of migration 0002 let a user see only their own row and sessions
(zone admins: the zone). Flows that act before anyone is authenticated — register, login,
refresh, an event about a user — declare `service`; gRPC directory lookups declare `directory`
(read only). The scope, like the tenant context, is transaction-local and a bound parameter.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.auth.tokens import Principal
from megacity.db import TenantContext, set_tenant

Scope = Literal["service", "directory"]
_SET_SCOPE = text("SELECT set_config('app.auth_scope', :scope, true)")


async def set_scope(session: AsyncSession, scope: Scope) -> None:
    await session.execute(_SET_SCOPE, {"scope": scope})


@asynccontextmanager
async def scoped_transaction(sessions: async_sessionmaker[AsyncSession], zone_id: int,
                             scope: Scope) -> AsyncIterator[AsyncSession]:
    """A zone's transaction on behalf of the auth service itself (nobody authenticated yet)."""
    async with sessions() as session, session.begin():
        await set_tenant(session, TenantContext(zone_id=zone_id))
        await set_scope(session, scope)
        yield session


@asynccontextmanager
async def user_transaction(sessions: async_sessionmaker[AsyncSession], zone_id: int, user_id: uuid.UUID,
                           role: str, org_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
    """A transaction acting as one user (RLS: their own rows, or the zone when an admin)."""
    async with sessions() as session, session.begin():
        await set_tenant(session, TenantContext(zone_id=zone_id, org_id=org_id, role=role, user_id=user_id))
        yield session


def principal_transaction(sessions: async_sessionmaker[AsyncSession], p: Principal):
    return user_transaction(sessions, p.zone_id, p.user_id, p.role, p.org_id)
