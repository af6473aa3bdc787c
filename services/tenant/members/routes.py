"""HTTP: /api/v1/orgs/{org_id}/members."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant import listing
from services.tenant.access import ORG_NOT_ACTIVE
from services.tenant.listing import PageRequest
from services.tenant.members import service
from services.tenant.members.schemas import MemberIn, MemberList, MemberOut, MemberPatch, OrgRole

router = APIRouter(prefix="/api/v1/orgs/{org_id}/members", tags=["members"])

# Admins read members (`user:read`); teachers (`student:read`) only the students of their classes.
MemberReader = Annotated[Principal, Depends(require("user:read", "student:read"))]
MemberCreator = Annotated[Principal, Depends(require("user:create"))]
MemberUpdater = Annotated[Principal, Depends(require("user:update"))]
ORG_NOT_FOUND = (404, "org.not_found", "No such org in this zone")
NOT_FOUND = (404, "member.not_found", "No such member in this org")
DEPENDENCY = (503, "dependency.auth_unavailable", "Auth (user names and emails) is unavailable")
LAST_ADMIN = (409, "member.last_admin", "An org keeps at least one org admin")


@router.get("", response_model=MemberList, summary="Members of an org, with names and emails",
            description="Each member carries its `name` and `email` from auth. Org and zone admins see every "
                        "member; a teacher only the student members on the roster of a class it is assigned to.",
            responses=problems(DENIED, ORG_NOT_FOUND, listing.PAGING_ERRORS, DEPENDENCY))
async def list_members(org_id: uuid.UUID, principal: MemberReader, res: ResourcesDep, role: OrgRole | None = None,
                       limit: int = Query(100, ge=1, le=1000), offset: int = listing.OFFSET,
                       cursor: str | None = listing.CURSOR) -> MemberList:
    page = await service.list_members(res, principal, org_id, role, PageRequest(limit, offset, cursor))
    return MemberList(items=[MemberOut(**asdict(m.member), name=m.name, email=m.email) for m in page.items],
                      total=page.total, next_cursor=page.next_cursor)


@router.post("", status_code=201, response_model=MemberOut, summary="Add a user to an org with a role",
             description="The user must exist in auth for this zone (looked up by email or id).",
             responses=problems(DENIED, (404, "member.user_not_found", "No such user in this zone"),
                                (409, "member.exists", "The user is already a member; change the role"),
                                ORG_NOT_FOUND, ORG_NOT_ACTIVE))
async def add_member(org_id: uuid.UUID, body: MemberIn, principal: MemberCreator, res: ResourcesDep) -> MemberOut:
    return MemberOut.model_validate(await service.add_member(res, principal, org_id, body))


@router.patch("/{user_id}", response_model=MemberOut, summary="Change a member's role",
              description="Publishes `member.role_changed`; auth then revokes the user's sessions.",
              responses=problems(DENIED, NOT_FOUND, ORG_NOT_FOUND, LAST_ADMIN))
async def change_role(org_id: uuid.UUID, user_id: uuid.UUID, body: MemberPatch, principal: MemberUpdater,
                      res: ResourcesDep) -> MemberOut:
    return MemberOut.model_validate(await service.change_role(res, principal, org_id, user_id, body.role))


@router.delete("/{user_id}", status_code=204, response_class=Response, summary="Remove a member from an org",
               description="Publishes `member.removed`; auth then revokes the user's sessions.",
               responses=problems(DENIED, NOT_FOUND, ORG_NOT_FOUND, LAST_ADMIN))
async def remove_member(org_id: uuid.UUID, user_id: uuid.UUID, principal: MemberUpdater,
                        res: ResourcesDep) -> Response:
    await service.remove_member(res, principal, org_id, user_id)
    return Response(status_code=204)
