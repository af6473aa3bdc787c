"""The rules of notifications: any feature notifies users of an org inside its own transaction
(`notify`, `notify_admins`); a caller reads and marks only its own, in the org of its token."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.tenant import listing
from services.tenant.listing import Page, PageRequest
from services.tenant.notifications import queries
from services.tenant.notifications.queries import NotificationRow

NOTIFICATIONS_KEYSET = Keyset("tenant.notifications", created_at=dt.datetime, id=uuid.UUID)  # newest first


async def notify(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_ids: Iterable[uuid.UUID], kind: str,
                 title: str, data: dict[str, Any]) -> None:
    """Notify these users (in the caller's transaction: the notification exists iff the change does)."""
    await queries.insert_many(s, zone_id, org_id, user_ids, kind, title, data)


async def org_admins(s: AsyncSession, zone_id: int, org_id: uuid.UUID) -> list[uuid.UUID]:
    """The org admins of the org: who hears about the org's parent links."""
    return await queries.org_admins(s, zone_id, org_id)


async def list_mine(res: Resources, principal: Principal, org_id: uuid.UUID | None, unread: bool,
                    req: PageRequest) -> Page[NotificationRow]:
    org = acting_org(principal, org_id)
    after = listing.after(NOTIFICATIONS_KEYSET, req, res)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        found = await queries.list_mine(s, principal.zone_id, org, principal.user_id, unread, after, req.limit + 1)
    return listing.page(NOTIFICATIONS_KEYSET, found, req, res)


async def mark_read(res: Resources, principal: Principal, notification_id: uuid.UUID,
                    org_id: uuid.UUID | None = None) -> NotificationRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = await queries.mark_read(s, principal.zone_id, org, principal.user_id, notification_id)
    if row is None:
        raise AppError(404, "notification.not_found", f"notification {notification_id} does not exist or is not yours")
    return row
