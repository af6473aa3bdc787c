"""HTTP: /api/v1/notifications (the caller's own, in the org of its token)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from megacity.auth.dependencies import CurrentPrincipal
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant import listing
from services.tenant.access import ORG_ID
from services.tenant.listing import PageRequest
from services.tenant.notifications import service
from services.tenant.notifications.schemas import NotificationList, NotificationOut

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", response_model=NotificationList, summary="Your notifications, newest first",
            description="Only your own, in the org of your token. Page with `cursor` (`next_cursor`).",
            responses=problems(ORG_SCOPE, DENIED, (400, "request.invalid_cursor", "A cursor this listing did not issue")))
async def list_notifications(principal: CurrentPrincipal, res: ResourcesDep,
                             unread: bool = Query(False, description="Only those not read yet"),
                             limit: int = Query(50, ge=1, le=200), cursor: str | None = listing.CURSOR,
                             org_id: uuid.UUID | None = ORG_ID) -> NotificationList:
    page = await service.list_mine(res, principal, org_id, unread, PageRequest(limit, 0, cursor))
    return NotificationList(items=[NotificationOut.model_validate(r) for r in page.items], total=page.total,
                            next_cursor=page.next_cursor)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark one of yours read",
             description="Idempotent: reading it again keeps the first `read_at`.",
             responses=problems(ORG_SCOPE, DENIED, (404, "notification.not_found", "No such notification of yours")))
async def read_notification(notification_id: uuid.UUID, principal: CurrentPrincipal, res: ResourcesDep,
                            org_id: uuid.UUID | None = ORG_ID) -> NotificationOut:
    return NotificationOut.model_validate(await service.mark_read(res, principal, notification_id, org_id))
