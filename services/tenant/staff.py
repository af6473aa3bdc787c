"""Teacher and parent records of an org (name, email, phone, optional auth user; soft delete).

Both have the same shape, so one router factory builds `/api/v1/rosters/teachers` and
`/api/v1/rosters/parents`. Org admins manage them (`user:read`, `user:create`, `user:update`).
"""
from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.tenant import listing
from services.tenant.access import DENIED, ORG_NOT_ACTIVE, ORG_SCOPE, acting_org, ensure_org, org_context
from services.tenant.fields import Email, Name, Phone

ORG_ID = Query(None, description="Zone-level callers: the org to act on (others: their own org)")
_COLUMNS = "id, org_id, user_id, name, email, phone, created_at, updated_at"
_EXAMPLE = {"id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "user_id": None, "name": "Park Jisoo", "email": "park@example.com", "phone": "01098765432",
            "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"}


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Park Jisoo", "email": "park@example.com", "phone": "010-9876-5432"}]})

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    user_id: uuid.UUID | None = None


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "010-1111-2222"}]})

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    user_id: uuid.UUID | None = None


class PersonOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    email: str | None
    phone: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PersonList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[PersonOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)


def person_router(table: str, singular: str) -> APIRouter:
    """CRUD for one of the person tables (`teachers`, `parents`); the table name is a constant."""
    if table not in ("teachers", "parents"):
        raise ValueError(table)
    router = APIRouter(prefix=f"/api/v1/rosters/{table}", tags=[table])
    code = f"{singular}.not_found"
    keyset = Keyset(f"tenant.{table}", name=str, id=uuid.UUID)  # ORDER BY name, id
    not_found = problem_response(404, code, f"No such {singular} in your org")

    def missing(person_id: uuid.UUID) -> AppError:
        return AppError(404, code, f"{singular} {person_id} does not exist in this org")

    @router.get("", response_model=PersonList, summary=f"{table.title()} of your org",
                responses={**ORG_SCOPE, **DENIED, **listing.PAGING_ERRORS}, operation_id=f"list_{table}")
    async def list_people(limit: int = Query(100, ge=1, le=1000), offset: int = listing.OFFSET,
                          cursor: str | None = listing.CURSOR, org_id: uuid.UUID | None = ORG_ID,
                          principal: Principal = Depends(require("user:read")),
                          res: Resources = Depends(resources)) -> PersonList:
        org = acting_org(principal, org_id)
        after = listing.after(keyset, cursor, offset, res)
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await ensure_org(s, principal.zone_id, org)
            rows = (await s.execute(text(
                f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.{table}"
                " WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL) AS q"
                " WHERE CAST(:after_name AS text) IS NULL OR (name, id) > (:after_name, :after_id)"
                " ORDER BY name, id LIMIT :l OFFSET :off"),
                {"z": principal.zone_id, "o": org, "after_name": after[0] if after else None,
                 "after_id": after[1] if after else None, "l": limit + 1, "off": offset})).all()
        page, nxt = listing.page(keyset, rows, limit, res)
        return PersonList(items=[PersonOut.model_validate(r._mapping) for r in page],
                          total=rows[0].total if rows else 0, next_cursor=nxt)

    @router.post("", status_code=201, response_model=PersonOut, summary=f"Add a {singular} record",
                 responses={**ORG_SCOPE, **DENIED, **ORG_NOT_ACTIVE}, operation_id=f"create_{singular}")
    async def create_person(body: PersonIn, org_id: uuid.UUID | None = ORG_ID,
                            principal: Principal = Depends(require("user:create")),
                            res: Resources = Depends(resources)) -> PersonOut:
        org = acting_org(principal, org_id)
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await ensure_org(s, principal.zone_id, org, active=True)
            row = (await s.execute(text(
                f"INSERT INTO tenant.{table} (zone_id, org_id, user_id, name, email, phone)"
                f" VALUES (:z, :o, :u, :name, :email, :phone) RETURNING {_COLUMNS}"),
                {"z": principal.zone_id, "o": org, "u": body.user_id, "name": body.name, "email": body.email,
                 "phone": body.phone})).one()
        return PersonOut.model_validate(row._mapping)

    @router.get("/{person_id}", response_model=PersonOut, summary=f"One {singular}",
                responses={**ORG_SCOPE, **DENIED, **not_found}, operation_id=f"get_{singular}")
    async def get_person(person_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                         principal: Principal = Depends(require("user:read")),
                         res: Resources = Depends(resources)) -> PersonOut:
        org = acting_org(principal, org_id)
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            row = (await s.execute(text(
                f"SELECT {_COLUMNS} FROM tenant.{table} WHERE zone_id = :z AND org_id = :o AND id = :id"
                " AND deleted_at IS NULL"), {"z": principal.zone_id, "o": org, "id": person_id})).first()
        if row is None:
            raise missing(person_id)
        return PersonOut.model_validate(row._mapping)

    @router.patch("/{person_id}", response_model=PersonOut, summary=f"Update a {singular} record",
                  responses={**ORG_SCOPE, **DENIED, **not_found,
                             **problem_response(400, f"{singular}.invalid", "name cannot be null")},
                  operation_id=f"update_{singular}")
    async def update_person(person_id: uuid.UUID, body: PersonPatch, org_id: uuid.UUID | None = ORG_ID,
                            principal: Principal = Depends(require("user:update")),
                            res: Resources = Depends(resources)) -> PersonOut:
        org = acting_org(principal, org_id)
        changes = body.model_dump(exclude_unset=True)
        if changes.get("name", "") is None:
            raise AppError(400, f"{singular}.invalid", "name cannot be null")
        sets = "".join(f"{f} = :{f}, " for f in changes)
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            row = (await s.execute(text(
                f"UPDATE tenant.{table} SET {sets}updated_at = now()"
                f" WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING {_COLUMNS}"),
                {**changes, "z": principal.zone_id, "o": org, "id": person_id})).first()
        if row is None:
            raise missing(person_id)
        return PersonOut.model_validate(row._mapping)

    @router.delete("/{person_id}", status_code=204, response_class=Response, summary=f"Remove a {singular} record",
                   description="Soft delete (`deleted_at`).", responses={**ORG_SCOPE, **DENIED, **not_found},
                   operation_id=f"delete_{singular}")
    async def delete_person(person_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                            principal: Principal = Depends(require("user:update")),
                            res: Resources = Depends(resources)) -> Response:
        org = acting_org(principal, org_id)
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            found = (await s.execute(text(
                f"UPDATE tenant.{table} SET deleted_at = now(), updated_at = now()"
                " WHERE zone_id = :z AND org_id = :o AND id = :id AND deleted_at IS NULL RETURNING id"),
                {"z": principal.zone_id, "o": org, "id": person_id})).first()
        if found is None:
            raise missing(person_id)
        return Response(status_code=204)

    return router


teachers_router = person_router("teachers", "teacher")
parents_router = person_router("parents", "parent")
