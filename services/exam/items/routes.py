"""HTTP face of items: `/api/v1/items`."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.items import service
from services.exam.items.schemas import (
    BANK_NOT_FOUND,
    CODE_EXISTS,
    IN_USE,
    INVALID,
    INVALID_CURSOR,
    NOT_FOUND,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
)
from services.exam.problem_docs import ORG_BOUND

router = APIRouter(prefix="/api/v1/items", tags=["items"])
ItemCreator = Annotated[Principal, Depends(require("item:create"))]
ItemReader = Annotated[Principal, Depends(require("item:read"))]
ItemUpdater = Annotated[Principal, Depends(require("item:update"))]


@router.post("", status_code=201, response_model=ItemOut, summary="Create an item in a bank",
             description="Bumps the bank version and publishes `exam.item_bank.changed`.",
             responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, CODE_EXISTS, BANK_NOT_FOUND))
async def create_item(body: ItemIn, principal: ItemCreator, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> ItemOut:
    return ItemOut.model_validate(await service.create_item(res, principal, body, org_id))


@router.get("", response_model=ItemPage, summary="Items of your org (newest first)",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, INVALID_CURSOR))
async def list_items(principal: ItemReader, res: ResourcesDep, bank_id: uuid.UUID | None = None,
                     content_area: str | None = Query(None, max_length=64),
                     status: Literal["active", "retired"] | None = "active",
                     q: str | None = Query(None, max_length=200, description="substring of code or stem"),
                     cursor: str | None = None, limit: int = Query(50, ge=1, le=500),
                     org_id: uuid.UUID | None = ORG_ID) -> ItemPage:
    where = service.ItemFilter(bank_id=bank_id, content_area=content_area, status=status, q=q)
    listing = await service.list_items(res, principal, where, cursor=cursor, limit=limit, org_id=org_id)
    return ItemPage(items=[ItemOut.model_validate(i) for i in listing.items], next_cursor=listing.next_cursor)


@router.get("/{item_id}", response_model=ItemOut, summary="One item (with its key and IRT parameters)",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND))
async def get_item(item_id: uuid.UUID, principal: ItemReader, res: ResourcesDep,
                   org_id: uuid.UUID | None = ORG_ID) -> ItemOut:
    return ItemOut.model_validate(await service.get_item(res, principal, item_id, org_id))


@router.patch("/{item_id}", response_model=ItemOut, summary="Change an item",
              description="The merged item must be valid as a whole. Bumps the item's revision and the bank version.",
              responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, CODE_EXISTS, INVALID))
async def update_item(item_id: uuid.UUID, body: ItemPatch, principal: ItemUpdater, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> ItemOut:
    return ItemOut.model_validate(await service.update_item(res, principal, item_id, body, org_id))


@router.delete("/{item_id}", response_model=ItemOut, summary="Retire an item",
               description="Retired items are never given again; past responses keep referring to them. "
                           "An item on a published fixed-form exam cannot be retired.",
               responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, IN_USE))
async def retire_item(item_id: uuid.UUID, principal: ItemUpdater, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> ItemOut:
    return ItemOut.model_validate(await service.retire_item(res, principal, item_id, org_id))
