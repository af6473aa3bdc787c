"""The tenant context of one request, set inside its transaction for Row-Level Security.

`set_config(name, value, true)` is transaction-local, so it is safe behind PgBouncer in
transaction mode and can never leak into the next request that gets the same connection.
Values are bound parameters: never formatted into SQL.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.roles import ROLES

_SET_CONTEXT = text(
    "SELECT set_config('app.zone_id', :zone_id, true), set_config('app.org_id', :org_id, true),"
    " set_config('app.role', :role, true), set_config('app.user_id', :user_id, true)"
)


@dataclass(frozen=True)
class TenantContext:
    """Who is asking, as far as the database needs to know. org_id None = zone-level actor."""

    zone_id: int
    org_id: uuid.UUID | None = None
    role: str = "guest"
    user_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.zone_id <= 0:
            raise ValueError("zone_id must be positive")

    def as_params(self) -> dict[str, str]:
        return {
            "zone_id": str(self.zone_id),
            "org_id": str(self.org_id) if self.org_id else "",
            "role": self.role,
            "user_id": str(self.user_id) if self.user_id else "",
        }


async def set_tenant(session: AsyncSession, ctx: TenantContext) -> None:
    """Set the tenant context on the session's open transaction (it ends with the transaction)."""
    await session.execute(_SET_CONTEXT, ctx.as_params())


@asynccontextmanager
async def tenant_transaction(
    sessions: async_sessionmaker[AsyncSession], ctx: TenantContext
) -> AsyncIterator[AsyncSession]:
    """One transaction with the tenant context set; commits on success, rolls back on error."""
    async with sessions() as session, session.begin():
        await set_tenant(session, ctx)
        yield session


@asynccontextmanager
async def system_transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A transaction with no tenant context: RLS shows no tenant rows. For outbox/inbox work."""
    async with sessions() as session, session.begin():
        yield session
