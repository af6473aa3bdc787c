"""HTTP: /api/v1/orgs."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant import listing
from services.tenant.listing import PageRequest
from services.tenant.orgs import service
from services.tenant.orgs.schemas import OrgIn, OrgList, OrgOut, OrgPatch

router = APIRouter(prefix="/api/v1/orgs", tags=["orgs"])

OrgCreator = Annotated[Principal, Depends(require("org:create"))]
OrgReader = Annotated[Principal, Depends(require("org:read"))]
OrgUpdater = Annotated[Principal, Depends(require("org:update", "zone:update"))]
NOT_FOUND = (404, "org.not_found", "No such org in this zone")


@router.post("", status_code=201, response_model=OrgOut, summary="Create an org in this zone",
             description="Zone admins (and super admins) create orgs in the zone of the request's host.",
             responses=problems(DENIED))
async def create_org(body: OrgIn, principal: OrgCreator, res: ResourcesDep) -> OrgOut:
    return OrgOut.model_validate(await service.create_org(res, principal, body))


@router.get("", response_model=OrgList, summary="Orgs you may see in this zone",
            description="A zone admin sees every org of the zone; an org admin sees its own org.",
            responses=problems(DENIED, listing.PAGING_ERRORS))
async def list_orgs(principal: OrgReader, res: ResourcesDep, limit: int = Query(50, ge=1, le=500),
                    offset: int = listing.OFFSET, cursor: str | None = listing.CURSOR) -> OrgList:
    page = await service.list_orgs(res, principal, PageRequest(limit, offset, cursor))
    return OrgList(items=[OrgOut.model_validate(o) for o in page.items], total=page.total,
                   next_cursor=page.next_cursor)


@router.get("/{org_id}", response_model=OrgOut, summary="One org", responses=problems(DENIED, NOT_FOUND))
async def get_org(org_id: uuid.UUID, principal: OrgReader, res: ResourcesDep) -> OrgOut:
    return OrgOut.model_validate(await service.get_org(res, principal, org_id))


@router.patch("/{org_id}", response_model=OrgOut, summary="Update an org",
              description="`name` needs `org:update` (org admins, for their own org); `plan` and `status` "
                          "need `zone:update` (zone admins).",
              responses=problems(DENIED, NOT_FOUND, (400, "org.empty_update", "Nothing to update")))
async def update_org(org_id: uuid.UUID, body: OrgPatch, principal: OrgUpdater, res: ResourcesDep) -> OrgOut:
    return OrgOut.model_validate(await service.update_org(res, principal, org_id, body))
