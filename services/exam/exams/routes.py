"""HTTP face of exams: `/api/v1/exams`."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.exams import service
from services.exam.exams.schemas import (
    BANK_NOT_FOUND,
    INVALID,
    INVALID_CURSOR,
    NOT_DRAFT,
    NOT_FOUND,
    NOT_PUBLISHABLE,
    UNKNOWN_ITEMS,
    ExamIn,
    ExamOut,
    ExamPage,
    ExamPatch,
)
from services.exam.problem_docs import ORG_BOUND

router = APIRouter(prefix="/api/v1/exams", tags=["exams"])
ExamCreator = Annotated[Principal, Depends(require("exam:create"))]
ExamReader = Annotated[Principal, Depends(require("exam:read"))]
ExamUpdater = Annotated[Principal, Depends(require("exam:update"))]


@router.post("", status_code=201, response_model=ExamOut, summary="Create an exam (a draft)",
             responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, INVALID, BANK_NOT_FOUND, UNKNOWN_ITEMS))
async def create_exam(body: ExamIn, principal: ExamCreator, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> ExamOut:
    return ExamOut.from_row(await service.create_exam(res, principal, body, org_id))


@router.get("", response_model=ExamPage, summary="Exams of your org, newest first (cursor pagination)",
            description="Students see published exams only.",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, INVALID_CURSOR))
async def list_exams(principal: ExamReader, res: ResourcesDep,
                     status: Literal["draft", "published", "archived"] | None = None,
                     kind: Literal["fixed", "adaptive"] | None = None, class_id: uuid.UUID | None = None,
                     item_bank_id: uuid.UUID | None = None,
                     q: str | None = Query(None, max_length=200, description="substring of the title"),
                     cursor: str | None = None, limit: int = Query(20, ge=1, le=100),
                     org_id: uuid.UUID | None = ORG_ID) -> ExamPage:
    where = service.ExamFilter(status=status, kind=kind, class_id=class_id, item_bank_id=item_bank_id, q=q)
    page = await service.list_exams(res, principal, where, cursor=cursor, limit=limit, org_id=org_id)
    return ExamPage(items=[ExamOut.from_row(r, for_student=page.for_student) for r in page.items],
                    next_cursor=page.next_cursor)


@router.get("/{exam_id}", response_model=ExamOut, summary="One exam",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND))
async def get_exam(exam_id: uuid.UUID, principal: ExamReader, res: ResourcesDep,
                   org_id: uuid.UUID | None = ORG_ID) -> ExamOut:
    view = await service.get_exam(res, principal, exam_id, org_id)
    return ExamOut.from_row(view.exam, for_student=view.for_student)


@router.patch("/{exam_id}", response_model=ExamOut, summary="Change a draft exam",
              responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, NOT_DRAFT, INVALID, BANK_NOT_FOUND,
                                 UNKNOWN_ITEMS))
async def update_exam(exam_id: uuid.UUID, body: ExamPatch, principal: ExamUpdater, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> ExamOut:
    return ExamOut.from_row(await service.update_exam(res, principal, exam_id, body, org_id))


@router.post("/{exam_id}/publish", response_model=ExamOut, summary="Publish a draft (students can start it)",
             description="Checks the form (fixed) or the bank and blueprint (adaptive) first. "
                         "Publishes `exam.exam.published`.",
             responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, NOT_DRAFT, NOT_PUBLISHABLE))
async def publish_exam(exam_id: uuid.UUID, principal: ExamUpdater, res: ResourcesDep,
                       org_id: uuid.UUID | None = ORG_ID) -> ExamOut:
    return ExamOut.from_row(await service.publish_exam(res, principal, exam_id, org_id))


@router.post("/{exam_id}/archive", response_model=ExamOut, summary="Archive an exam (no new attempts)",
             description="Attempts in progress may still be finished. Publishes `exam.exam.archived`.",
             responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND))
async def archive_exam(exam_id: uuid.UUID, principal: ExamUpdater, res: ResourcesDep,
                       org_id: uuid.UUID | None = ORG_ID) -> ExamOut:
    return ExamOut.from_row(await service.archive_exam(res, principal, exam_id, org_id))
