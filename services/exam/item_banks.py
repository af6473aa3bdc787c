"""Item banks: named pools of items with a version. Every change to a bank's items (create,
update, retire, import) or to its scaling constant bumps the version in the same transaction
and queues `exam.item_bank.changed` {item_bank_id, item_bank_version, change, item_ids} in the
outbox, so CAT replicas drop their cached copy of the old version.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, org_context

router = APIRouter(prefix="/api/v1/items/banks", tags=["item banks"])

EVENT_BANK_CHANGED = "exam.item_bank.changed"
_EXAMPLE = {"id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", "name": "Algebra I", "description": "Grade 10 algebra",
            "scaling_constant": 1.0, "version": 12, "item_count": 340, "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T10:00:00Z"}
NOT_FOUND = problem_response(404, "item_bank.not_found", "No such item bank in your org")
EXISTS = problem_response(409, "item_bank.exists", "A bank with this name exists in your org")
_COLUMNS = "id, name, description, scaling_constant, version, item_count, created_at, updated_at"


class BankIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Algebra I", "description": "Grade 10 algebra", "scaling_constant": 1.0}]})

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    scaling_constant: float = Field(1.0, gt=0, le=5, allow_inf_nan=False,
                                    description="D in the logistic models: 1.0, or 1.702 for the normal-ogive metric")


class BankPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"description": "Grade 10-11 algebra"}]})

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    scaling_constant: float | None = Field(None, gt=0, le=5, allow_inf_nan=False)


class BankOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    name: str
    description: str
    scaling_constant: float
    version: int = Field(description="bumped by every change to the bank's items")
    item_count: int = Field(description="active items")
    created_at: dt.datetime
    updated_at: dt.datetime


class BankList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[BankOut]


async def bump_version(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, change: str,
                       item_ids: Sequence[uuid.UUID] = ()) -> int:
    """Bump the bank's version (recounting active items) and queue exam.item_bank.changed, in
    the caller's transaction. Returns the new version."""
    version = (await s.execute(text(
        "UPDATE exam.item_banks SET version = version + 1, updated_at = now(),"
        " item_count = (SELECT count(*) FROM exam.items i WHERE i.zone_id = :z AND i.org_id = :o AND i.bank_id = :b"
        "  AND i.status = 'active')"
        " WHERE zone_id = :z AND org_id = :o AND id = :b RETURNING version"),
        {"z": zone_id, "o": org_id, "b": bank_id})).scalar_one()
    await add_event(s, "exam", EVENT_BANK_CHANGED, {
        "item_bank_id": str(bank_id), "item_bank_version": version, "change": change,
        "item_ids": [str(i) for i in item_ids[:100]], "items_changed": len(item_ids)}, zone_id=zone_id, org_id=org_id)
    return version


async def lock_bank(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, *, status: int = 404):
    """The bank row, locked against concurrent version bumps (FOR UPDATE); `status` is the error
    status when it does not exist (404 in a path, 422 when named in a body)."""
    row = (await s.execute(text(f"SELECT {_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o AND id = :b"
                                " FOR UPDATE"), {"z": zone_id, "o": org_id, "b": bank_id})).first()
    if row is None:
        raise AppError(status, "item_bank.not_found", f"item bank {bank_id} does not exist in your org")
    return row


@router.post("", status_code=201, response_model=BankOut, summary="Create an item bank",
             responses={**ORG_SCOPE, **DENIED, **EXISTS})
async def create_bank(body: BankIn, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("item:create")),
                      res: Resources = Depends(resources)) -> BankOut:
    org = acting_org(principal, org_id)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            row = (await s.execute(text(
                "INSERT INTO exam.item_banks (zone_id, org_id, name, description, scaling_constant, created_by)"
                f" VALUES (:z, :o, :name, :description, :d, :by) RETURNING {_COLUMNS}"),
                {"z": principal.zone_id, "o": org, "name": body.name, "description": body.description,
                 "d": body.scaling_constant, "by": principal.user_id})).one()
    except IntegrityError:
        raise AppError(409, "item_bank.exists", f"an item bank named {body.name!r} exists in your org") from None
    return BankOut.model_validate(row._mapping)


@router.get("", response_model=BankList, summary="Item banks of your org", responses={**ORG_SCOPE, **DENIED})
async def list_banks(org_id: uuid.UUID | None = ORG_ID, principal: Principal = Depends(require("item:read")),
                     res: Resources = Depends(resources)) -> BankList:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = (await s.execute(text(f"SELECT {_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                     " ORDER BY name LIMIT 1000"), {"z": principal.zone_id, "o": org})).all()
    return BankList(items=[BankOut.model_validate(r._mapping) for r in rows])


@router.get("/{bank_id}", response_model=BankOut, summary="One item bank", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def get_bank(bank_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                   principal: Principal = Depends(require("item:read")), res: Resources = Depends(resources)) -> BankOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = (await s.execute(text(f"SELECT {_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                    " AND id = :b"), {"z": principal.zone_id, "o": org, "b": bank_id})).first()
    if row is None:
        raise AppError(404, "item_bank.not_found", f"item bank {bank_id} does not exist in your org")
    return BankOut.model_validate(row._mapping)


@router.patch("/{bank_id}", response_model=BankOut, summary="Rename a bank or change its scaling constant",
              description="A new scaling constant changes every item's model, so it bumps the bank version.",
              responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **EXISTS})
async def update_bank(bank_id: uuid.UUID, body: BankPatch, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("item:update")),
                      res: Resources = Depends(resources)) -> BankOut:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            current = await lock_bank(s, principal.zone_id, org, bank_id)
            if changes:
                await s.execute(text(
                    "UPDATE exam.item_banks SET name = coalesce(:name, name), description = coalesce(:description, description),"
                    " scaling_constant = coalesce(:d, scaling_constant), updated_at = now()"
                    " WHERE zone_id = :z AND org_id = :o AND id = :b"),
                    {"name": changes.get("name"), "description": changes.get("description"),
                     "d": changes.get("scaling_constant"), "z": principal.zone_id, "o": org, "b": bank_id})
                if "scaling_constant" in changes and changes["scaling_constant"] != current.scaling_constant:
                    await bump_version(s, principal.zone_id, org, bank_id, "bank.scaling_constant")
            row = (await s.execute(text(f"SELECT {_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                        " AND id = :b"), {"z": principal.zone_id, "o": org, "b": bank_id})).one()
    except IntegrityError:
        raise AppError(409, "item_bank.exists", "an item bank with that name exists in your org") from None
    return BankOut.model_validate(row._mapping)
