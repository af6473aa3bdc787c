"""HTTP: /api/v1/parent-links (requests, decisions, a parent's children) and
/api/v1/rosters/students/{id}/parent-codes (school-issued parent codes)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import CurrentPrincipal, require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant.access import ORG_NOT_ACTIVE
from services.tenant.parent_links import service
from services.tenant.parent_links.schemas import (
    ChildList,
    ChildOut,
    CodeIn,
    CodeOut,
    LinkList,
    LinkOut,
    LinkRequest,
    LinkRequested,
    LinkStatus,
)

router = APIRouter(prefix="/api/v1/parent-links", tags=["parent-links"])

# Parents and teachers hold `student:read`, students `profile:*`, org admins `user:*`. Asking for a
# link is open to any signed-in caller (guests too); the service admits parents and guests.
LinkReader = Annotated[Principal, Depends(require("student:read", "profile:read", "user:read"))]
LinkDecider = Annotated[Principal, Depends(require("profile:update", "user:update"))]
LinkRevoker = Annotated[Principal, Depends(require("student:read", "profile:update", "user:update"))]
NOT_FOUND = (404, "parent_link.not_found", "No such link that you may act on")
NOT_PENDING = (409, "parent_link.not_pending", "Only a pending link can be approved or rejected")
PARENT_CANNOT_DECIDE = (403, "parent_link.parent_cannot_decide", "The student or an org admin decides")
FORBIDDEN = (403, "parent_link.forbidden", "Your role has no part in links")


@router.post("", status_code=201, response_model=LinkRequested,
             summary="Parent or signed-in user: ask to be linked to a student",
             description="Name the student by account email (the student must be a student member of the org; "
                         "the link starts `pending` until the student or an org admin approves it) or present a "
                         "school-issued `parent_code` (the school's approval: the link starts `approved`, the code "
                         "is spent). A signed-in user with no role in the org (guest) names the org with `org_id` "
                         "(else 403 `org.membership_required`) and becomes its parent member "
                         "(`parent_role_granted`: sign in again to act as parent). "
                         "The student and the org admins are notified. Failed attempts (unknown email, wrong, used "
                         "or expired code) are counted: past the limit every attempt is 429 for a while.",
             responses=problems(DENIED, ORG_SCOPE, ORG_NOT_ACTIVE,
                                (403, "parent_link.parent_only", "Only parents and guests request links"),
                                (404, "parent_link.student_not_found", "No student with that email here"),
                                (404, "parent_link.code_invalid", "No such parent code in this org"),
                                (409, "parent_link.exists", "You already have an open link to them"),
                                (409, "parent_link.code_used", "The parent code was used already"),
                                (409, "parent_link.role_conflict", "You hold another role in this org"),
                                (409, "parent_link.student_not_registered", "The code's student has no account yet"),
                                (410, "parent_link.code_expired", "The parent code has expired"),
                                (422, "request.invalid", "Neither or both of student_email and parent_code"),
                                (422, "parent_link.one_of", "Neither or both (a caller of the service layer)"),
                                (429, "parent_link.too_many_attempts", "Too many failed attempts; see Retry-After"),
                                (503, "dependency.auth_unavailable", "Auth (user lookup) is unreachable"),
                                (503, "dependency.redis_unavailable", "The attempt counter is unreachable")))
async def request_link(body: LinkRequest, principal: CurrentPrincipal, res: ResourcesDep) -> LinkRequested:
    done = await service.ask_for_link(res, principal, body.student_email, body.parent_code, body.org_id)
    return LinkRequested.model_validate({**vars(done.link), "parent_role_granted": done.parent_role_granted})


@router.get("/children", response_model=ChildList, summary="Parent: your linked children, with names",
            description="Students of your approved links: roster name, grade and class (else the account's name).",
            responses=problems(ORG_SCOPE, DENIED, (403, "parent_link.parent_only", "Only parents have children"),
                               (503, "dependency.auth_unavailable", "Auth (user lookup) is unreachable")))
async def list_children(principal: LinkReader, res: ResourcesDep, org_id: uuid.UUID | None = Query(None)) -> ChildList:
    return ChildList(items=[ChildOut.model_validate({**vars(c.row), "name": c.name, "display_name": c.display_name})
                            for c in await service.children(res, principal, org_id)])


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


codes_router = APIRouter(prefix="/api/v1/rosters/students", tags=["parent-links"])
CodeIssuer = Annotated[Principal, Depends(require("student:read", "user:create"))]


@codes_router.post("/{student_id}/parent-codes", status_code=201, response_model=CodeOut,
                   summary="Teacher or org admin: issue a one-time parent code for a student",
                   description="The code is returned this once (only its hash is kept). A parent presents it to "
                               "`POST /api/v1/parent-links` to be linked at once; it is single use and expires "
                               "after `valid_days`.",
                   responses=problems(ORG_SCOPE, DENIED, ORG_NOT_ACTIVE,
                                      (403, "parent_code.staff_only", "Only teachers and admins issue codes"),
                                      (404, "student.not_found", "No such student on your org's roster")))
async def issue_parent_code(student_id: uuid.UUID, principal: CodeIssuer, res: ResourcesDep,
                            body: CodeIn = CodeIn(), org_id: uuid.UUID | None = Query(None)) -> CodeOut:
    issued = await service.issue_code(res, principal, student_id, org_id, body.valid_days)
    return CodeOut(id=issued.row.id, student_id=issued.row.student_id, code=issued.code,
                   expires_at=issued.row.expires_at)
