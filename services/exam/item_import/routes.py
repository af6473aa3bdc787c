"""HTTP face of the item import: `/api/v1/items/imports`."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.item_import import service
from services.exam.item_import.schemas import FILE_REFUSED, NOT_FOUND, ImportReport
from services.exam.problem_docs import ORG_BOUND

router = APIRouter(prefix="/api/v1/items/imports", tags=["item import"])
ItemCreator = Annotated[Principal, Depends(require("item:create"))]
ItemReader = Annotated[Principal, Depends(require("item:read"))]


def _report(result: service.ImportResult) -> ImportReport:
    return ImportReport(**vars(result.head), errors=result.errors, unchanged_rows=result.unchanged_rows,
                        errors_truncated=result.errors_truncated)


@router.post("", status_code=201, response_model=ImportReport, summary="Import items from CSV or .xlsx",
             description=service.__doc__, responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, *FILE_REFUSED))
async def import_items(principal: ItemCreator, res: ResourcesDep,
                       bank_id: uuid.UUID = Query(..., description="the bank the items go to"),
                       mode: Literal["valid_rows", "all_or_nothing"] = Query(
                           "valid_rows", description="valid_rows: import the good rows and report the bad ones; "
                                                     "all_or_nothing: any bad row rejects the whole file"),
                       file: UploadFile = File(..., description="CSV (UTF-8) or .xlsx, header row first"),
                       org_id: uuid.UUID | None = ORG_ID) -> ImportReport:
    data = await file.read(service.MAX_BYTES + 1)
    return _report(await service.import_items(res, principal, bank_id, filename=file.filename or "upload",
                                              data=data, mode=mode, org_id=org_id))


@router.get("/{import_id}", response_model=ImportReport, summary="An import's report",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND))
async def get_import(import_id: uuid.UUID, principal: ItemReader, res: ResourcesDep,
                     org_id: uuid.UUID | None = ORG_ID) -> ImportReport:
    return _report(await service.get_import(res, principal, import_id, org_id))
