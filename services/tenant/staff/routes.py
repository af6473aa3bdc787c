"""HTTP: /api/v1/rosters/teachers and /api/v1/rosters/parents.

The two lists have the same five routes; `_add_routes(kind)` declares them once per kind (HTTP only:
each route calls one `staff.service` function with its `PersonKind`). Operation ids name the
kind (`list_teachers`, `create_parent`, ...)."""
from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.tenant import listing
from services.tenant.access import ORG_ID, ORG_NOT_ACTIVE
from services.tenant.listing import PageRequest
from services.tenant.pii import PII_UNAVAILABLE
from services.tenant.staff import service
from services.tenant.staff.schemas import PersonIn, PersonList, PersonOut, PersonPatch
from services.tenant.staff.service import PARENTS, TEACHERS, PersonKind

StaffReader = Annotated[Principal, Depends(require("user:read"))]
StaffCreator = Annotated[Principal, Depends(require("user:create"))]
StaffUpdater = Annotated[Principal, Depends(require("user:update"))]


router = APIRouter()


def _add_routes(kind: PersonKind) -> None:
    base, one = f"/api/v1/rosters/{kind.table}", kind.singular
    tags: list[str | Enum] = [kind.table]
    not_found = (404, f"{one}.not_found", f"No such {one} in your org")

    @router.get(base, tags=tags, response_model=PersonList, summary=f"{kind.table.title()} of your org",
                responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, listing.PAGING_ERRORS), operation_id=f"list_{kind.table}")
    async def list_people(principal: StaffReader, res: ResourcesDep, limit: int = Query(100, ge=1, le=1000),
                          offset: int = listing.OFFSET, cursor: str | None = listing.CURSOR,
                          org_id: uuid.UUID | None = ORG_ID) -> PersonList:
        page = await service.list_people(res, principal, kind, org_id, PageRequest(limit, offset, cursor))
        return PersonList(items=[PersonOut.model_validate(p) for p in page.items], total=page.total,
                          next_cursor=page.next_cursor)

    @router.post(base, tags=tags, status_code=201, response_model=PersonOut, summary=f"Add a {one} record",
                 responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, ORG_NOT_ACTIVE), operation_id=f"create_{one}")
    async def create_person(body: PersonIn, principal: StaffCreator, res: ResourcesDep,
                            org_id: uuid.UUID | None = ORG_ID) -> PersonOut:
        return PersonOut.model_validate(await service.create_person(res, principal, kind, org_id, body))

    @router.get(f"{base}/{{person_id}}", tags=tags, response_model=PersonOut, summary=f"One {one}",
                responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, not_found), operation_id=f"get_{one}")
    async def get_person(person_id: uuid.UUID, principal: StaffReader, res: ResourcesDep,
                         org_id: uuid.UUID | None = ORG_ID) -> PersonOut:
        return PersonOut.model_validate(await service.get_person(res, principal, kind, org_id, person_id))

    @router.patch(f"{base}/{{person_id}}", tags=tags, response_model=PersonOut, summary=f"Update a {one} record",
                  responses=problems(ORG_SCOPE, DENIED, PII_UNAVAILABLE, not_found, (400, f"{one}.invalid", "name cannot be null")),
                  operation_id=f"update_{one}")
    async def update_person(person_id: uuid.UUID, body: PersonPatch, principal: StaffUpdater, res: ResourcesDep,
                            org_id: uuid.UUID | None = ORG_ID) -> PersonOut:
        return PersonOut.model_validate(await service.update_person(res, principal, kind, org_id, person_id, body))

    @router.delete(f"{base}/{{person_id}}", tags=tags, status_code=204, response_class=Response, summary=f"Remove a {one} record",
                   description="Soft delete (`deleted_at`).", responses=problems(ORG_SCOPE, DENIED, not_found),
                   operation_id=f"delete_{one}")
    async def delete_person(person_id: uuid.UUID, principal: StaffUpdater, res: ResourcesDep,
                            org_id: uuid.UUID | None = ORG_ID) -> Response:
        await service.delete_person(res, principal, kind, org_id, person_id)
        return Response(status_code=204)


_add_routes(TEACHERS)
_add_routes(PARENTS)
