"""Orgs (schools, academies, institutions): zone admins create and list them in their zone, org
admins read and rename theirs; plan and status belong to the zone level (`zone:update`).

Publishes `org.created` and `org.updated` through the outbox, in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.tenant import listing
from services.tenant.access import DENIED, org_not_found

router = APIRouter(prefix="/api/v1/orgs", tags=["orgs"])

PLAN = r"^[a-z][a-z0-9_-]{0,31}$"
OrgStatus = Literal["active", "suspended", "deleted"]
_EXAMPLE = {"id": "1f0e2d3c-4b5a-4968-8776-655443322110", "zone_id": 1, "name": "Seoul Science Academy",
            "plan": "standard", "status": "active", "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z"}
_COLUMNS = "id, zone_id, name, plan, status, created_at, updated_at"


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Seoul Science Academy", "plan": "standard"}]})

    name: str = Field(min_length=1, max_length=200)
    plan: str = Field("free", pattern=PLAN)


class OrgPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Seoul Science Academy (Gangnam)"}, {"status": "suspended"}]})

    name: str | None = Field(None, min_length=1, max_length=200)
    plan: str | None = Field(None, pattern=PLAN)
    status: OrgStatus | None = None


class OrgOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    zone_id: int
    name: str
    plan: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class OrgList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[OrgOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)


ORGS_KEYSET = Keyset("tenant.orgs", name=str, id=uuid.UUID)  # ORDER BY name, id


def _out(row) -> OrgOut:
    return OrgOut.model_validate(row._mapping)


@router.post("", status_code=201, response_model=OrgOut, summary="Create an org in this zone",
             description="Zone admins (and super admins) create orgs in the zone of the request's host.",
             responses=DENIED)
async def create_org(body: OrgIn, principal: Principal = Depends(require("org:create")),
                     res: Resources = Depends(resources)) -> OrgOut:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = (await s.execute(text(
            f"INSERT INTO tenant.orgs (zone_id, name, plan) VALUES (:z, :name, :plan) RETURNING {_COLUMNS}"),
            {"z": principal.zone_id, "name": body.name, "plan": body.plan})).one()
        await add_event(s, "tenant", "org.created", {"org_id": str(row.id), "zone_id": row.zone_id, "name": row.name,
                                                     "plan": row.plan, "status": row.status},
                        zone_id=row.zone_id, org_id=row.id)
    return _out(row)


@router.get("", response_model=OrgList, summary="Orgs you may see in this zone",
            description="A zone admin sees every org of the zone; an org admin sees its own org.",
            responses={**DENIED, **listing.PAGING_ERRORS})
async def list_orgs(limit: int = Query(50, ge=1, le=500), offset: int = listing.OFFSET,
                    cursor: str | None = listing.CURSOR, principal: Principal = Depends(require("org:read")),
                    res: Resources = Depends(resources)) -> OrgList:
    after = listing.after(ORGS_KEYSET, cursor, offset, res)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        rows = (await s.execute(text(
            f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.orgs WHERE zone_id = :z) AS q"
            " WHERE CAST(:after_name AS text) IS NULL OR (name, id) > (:after_name, :after_id)"
            " ORDER BY name, id LIMIT :limit OFFSET :offset"),
            {"z": principal.zone_id, "after_name": after[0] if after else None, "after_id": after[1] if after else None,
             "limit": limit + 1, "offset": offset})).all()
    page, nxt = listing.page(ORGS_KEYSET, rows, limit, res)
    return OrgList(items=[_out(r) for r in page], total=rows[0].total if rows else 0, next_cursor=nxt)


@router.get("/{org_id}", response_model=OrgOut, summary="One org",
            responses={**DENIED, **problem_response(404, "org.not_found", "No such org in this zone")})
async def get_org(org_id: uuid.UUID, principal: Principal = Depends(require("org:read")),
                  res: Resources = Depends(resources)) -> OrgOut:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = (await s.execute(text(f"SELECT {_COLUMNS} FROM tenant.orgs WHERE zone_id = :z AND id = :id"),
                               {"z": principal.zone_id, "id": org_id})).first()
    if row is None:
        raise org_not_found(org_id)
    return _out(row)


@router.patch("/{org_id}", response_model=OrgOut, summary="Update an org",
              description="`name` needs `org:update` (org admins, for their own org); `plan` and `status` "
                          "need `zone:update` (zone admins).",
              responses={**DENIED, **problem_response(404, "org.not_found", "No such org in this zone"),
                         **problem_response(400, "org.empty_update", "Nothing to update")})
async def update_org(org_id: uuid.UUID, body: OrgPatch,
                     principal: Principal = Depends(require("org:update", "zone:update")),
                     res: Resources = Depends(resources)) -> OrgOut:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise AppError(400, "org.empty_update", "give at least one of name, plan, status")
    for field, permission in (("name", "org:update"), ("plan", "zone:update"), ("status", "zone:update")):
        if field in changes and not principal.can(permission):
            raise AppError(403, "auth.permission_denied", f"role {principal.role} may not change {field}"
                                                          f" ({permission})")
    ctx: TenantContext = principal.tenant()
    sets = ", ".join(f"{f} = :{f}" for f in changes)
    async with tenant_transaction(res.db(), ctx) as s:
        row = (await s.execute(text(
            f"UPDATE tenant.orgs SET {sets}, updated_at = now() WHERE zone_id = :z AND id = :id RETURNING {_COLUMNS}"),
            {**changes, "z": principal.zone_id, "id": org_id})).first()
        if row is None:
            raise org_not_found(org_id)
        await add_event(s, "tenant", "org.updated", {"org_id": str(org_id), "zone_id": row.zone_id,
                                                     "changes": changes}, zone_id=row.zone_id, org_id=org_id)
    return _out(row)
