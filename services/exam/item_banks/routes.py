"""HTTP face of item banks: `/api/v1/items/banks`."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.item_banks import service
from services.exam.item_banks.schemas import EXISTS, NOT_FOUND, BankIn, BankList, BankOut, BankPatch
from services.exam.problem_docs import ORG_BOUND

router = APIRouter(prefix="/api/v1/items/banks", tags=["item banks"])
ItemCreator = Annotated[Principal, Depends(require("item:create"))]
ItemReader = Annotated[Principal, Depends(require("item:read"))]
ItemUpdater = Annotated[Principal, Depends(require("item:update"))]


@router.post("", status_code=201, response_model=BankOut, summary="Create an item bank",
             responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, EXISTS))
async def create_bank(body: BankIn, principal: ItemCreator, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> BankOut:
    return BankOut.model_validate(await service.create_bank(res, principal, body, org_id))


@router.get("", response_model=BankList, summary="Item banks of your org", responses=problems(ORG_SCOPE, ORG_BOUND, DENIED))
async def list_banks(principal: ItemReader, res: ResourcesDep, org_id: uuid.UUID | None = ORG_ID) -> BankList:
    return BankList(items=[BankOut.model_validate(b) for b in await service.list_banks(res, principal, org_id)])


@router.get("/{bank_id}", response_model=BankOut, summary="One item bank",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND))
async def get_bank(bank_id: uuid.UUID, principal: ItemReader, res: ResourcesDep,
                   org_id: uuid.UUID | None = ORG_ID) -> BankOut:
    return BankOut.model_validate(await service.get_bank(res, principal, bank_id, org_id))


@router.patch("/{bank_id}", response_model=BankOut, summary="Rename a bank or change its scaling constant",
              description="A new scaling constant changes every item's model, so it bumps the bank version.",
              responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, EXISTS))
async def update_bank(bank_id: uuid.UUID, body: BankPatch, principal: ItemUpdater, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> BankOut:
    return BankOut.model_validate(await service.update_bank(res, principal, bank_id, body, org_id))
