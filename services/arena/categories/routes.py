"""HTTP: /api/v1/arena/categories — the question category tree (org and zone-shared)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.categories import service
from services.arena.categories.queries import CategoryRow
from services.arena.categories.schemas import (
    BAD_PARENT,
    CYCLE,
    EXISTS,
    NOT_EMPTY,
    CategoryIn,
    CategoryList,
    CategoryOut,
    CategoryPatch,
)
from services.arena.permissions import PLAY, QUESTION_READ, QUESTION_WRITE
from services.arena.questions.access import INVALID, NOT_FOUND, ORG_REQUIRED, SHARED_FORBIDDEN

router = APIRouter(prefix="/api/v1/arena/categories", tags=["categories"])
Reader = Annotated[Principal, Depends(require(PLAY, QUESTION_READ))]  # players pick a topic
Writer = Annotated[Principal, Depends(require(QUESTION_WRITE))]


def _out(row: CategoryRow) -> CategoryOut:
    return CategoryOut(id=row.id, org_id=row.org_id, parent_id=row.parent_id, name=row.name,
                       shared=row.org_id is None, path=row.path or [row.name], created_at=row.created_at)


@router.get("", response_model=CategoryList, summary="The category tree you can see",
            description="Zone-shared categories and your org's (zone admins: every org's of the zone), depth "
                        "first; build the tree from `parent_id`.",
            responses=problems(DENIED))
async def list_categories(principal: Reader, res: ResourcesDep) -> CategoryList:
    return CategoryList(items=[_out(r) for r in await service.list_categories(res, principal)])


@router.post("", status_code=201, response_model=CategoryOut, summary="Create a category",
             description="`shared: true` (zone and super admins) makes a zone-shared category, whose parent must "
                         "be shared too; an org category may sit below a shared one.",
             responses=problems(DENIED, ORG_REQUIRED, SHARED_FORBIDDEN, NOT_FOUND, EXISTS, BAD_PARENT, INVALID))
async def create_category(body: CategoryIn, principal: Writer, res: ResourcesDep) -> CategoryOut:
    return _out(await service.create_category(res, principal, body))


@router.patch("/{category_id}", response_model=CategoryOut, summary="Rename or move a category",
              description="A move below the category itself or one of its descendants is refused "
                          "(`arena.category_cycle`).",
              responses=problems(DENIED, SHARED_FORBIDDEN, NOT_FOUND, EXISTS, CYCLE, BAD_PARENT, INVALID))
async def update_category(category_id: uuid.UUID, body: CategoryPatch, principal: Writer,
                          res: ResourcesDep) -> CategoryOut:
    return _out(await service.update_category(res, principal, category_id, body))


@router.delete("/{category_id}", status_code=204, response_class=Response, summary="Delete a category",
               description="Only a category without children; its links to questions go with it.",
               responses=problems(DENIED, SHARED_FORBIDDEN, NOT_FOUND, NOT_EMPTY, INVALID))
async def delete_category(category_id: uuid.UUID, principal: Writer, res: ResourcesDep) -> Response:
    await service.delete_category(res, principal, category_id)
    return Response(status_code=204)
