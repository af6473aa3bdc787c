"""HTTP: /api/v1/parent-links."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant.parent_links import service
from services.tenant.parent_links.schemas import LinkList, LinkOut, LinkRequest, LinkStatus

router = APIRouter(prefix="/api/v1/parent-links", tags=["parent-links"])

# Parents and teachers hold `student:read`, students `profile:*`, org admins `user:*`.
LinkRequester = Annotated[Principal, Depends(require("student:read"))]
LinkReader = Annotated[Principal, Depends(require("student:read", "profile:read", "user:read"))]
LinkDecider = Annotated[Principal, Depends(require("profile:update", "user:update"))]
LinkRevoker = Annotated[Principal, Depends(require("student:read", "profile:update", "user:update"))]
NOT_FOUND = (404, "parent_link.not_found", "No such link that you may act on")
NOT_PENDING = (409, "parent_link.not_pending", "Only a pending link can be approved or rejected")
PARENT_CANNOT_DECIDE = (403, "parent_link.parent_cannot_decide", "The student or an org admin decides")
FORBIDDEN = (403, "parent_link.forbidden", "Your role has no part in links")


@router.post("", status_code=201, response_model=LinkOut, summary="Parent: ask to be linked to a student",
             description="The student is found by email (in auth) and must be a student member of your org. "
                         "The link starts `pending` until the student or an org admin approves it.",
             responses=problems(DENIED, (403, "parent_link.parent_only", "Only parents request links"),
                                (404, "parent_link.student_not_found", "No student with that email here"),
                                (409, "parent_link.exists", "You already have an open link to them")))
async def request_link(body: LinkRequest, principal: LinkRequester, res: ResourcesDep) -> LinkOut:
    return LinkOut.model_validate(await service.request_link(res, principal, body.student_email))


@router.get("", response_model=LinkList, summary="Links you are part of (all of the org's, for admins)",
            responses=problems(ORG_SCOPE, DENIED, FORBIDDEN))
async def list_links(principal: LinkReader, res: ResourcesDep, status: LinkStatus | None = None,
                     org_id: uuid.UUID | None = Query(None)) -> LinkList:
    return LinkList(items=[LinkOut.model_validate(r) for r in await service.list_links(res, principal, org_id, status)])


@router.post("/{link_id}/approve", response_model=LinkOut, summary="Student or org admin: approve a pending link",
             responses=problems(ORG_SCOPE, DENIED, PARENT_CANNOT_DECIDE, FORBIDDEN, NOT_FOUND, NOT_PENDING))
async def approve_link(link_id: uuid.UUID, principal: LinkDecider, res: ResourcesDep,
                       org_id: uuid.UUID | None = Query(None)) -> LinkOut:
    return LinkOut.model_validate(await service.approve_link(res, principal, link_id, org_id))


@router.post("/{link_id}/reject", response_model=LinkOut, summary="Student or org admin: reject a pending link",
             responses=problems(ORG_SCOPE, DENIED, PARENT_CANNOT_DECIDE, FORBIDDEN, NOT_FOUND, NOT_PENDING))
async def reject_link(link_id: uuid.UUID, principal: LinkDecider, res: ResourcesDep,
                      org_id: uuid.UUID | None = Query(None)) -> LinkOut:
    return LinkOut.model_validate(await service.reject_link(res, principal, link_id, org_id))


@router.post("/{link_id}/revoke", response_model=LinkOut,
             summary="Parent, student or org admin: revoke a pending or approved link",
             responses=problems(ORG_SCOPE, DENIED, FORBIDDEN, NOT_FOUND,
                                (409, "parent_link.not_open", "The link is already rejected or revoked")))
async def revoke_link(link_id: uuid.UUID, principal: LinkRevoker, res: ResourcesDep,
                      org_id: uuid.UUID | None = Query(None)) -> LinkOut:
    return LinkOut.model_validate(await service.revoke_link(res, principal, link_id, org_id))
