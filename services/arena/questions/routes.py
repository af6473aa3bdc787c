"""HTTP: /api/v1/arena/questions — the question bank (CRUD, CSV/xlsx import, template)."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.multipart import uploaded_file
from megacity.request_text import is_storable
from megacity.runtime import ResourcesDep
from services.arena.permissions import QUESTION_READ, QUESTION_WRITE
from services.arena.questions import import_file, service
from services.arena.questions.access import INVALID, INVALID_CURSOR, NOT_FOUND, ORG_REQUIRED, SHARED_FORBIDDEN
from services.arena.questions.queries import QuestionFilter
from services.arena.questions.schemas import (
    DUPLICATE,
    IMPORT_INVALID,
    IMPORT_TOO_LARGE,
    INVALID_MULTIPART,
    ImportResult,
    QuestionIn,
    QuestionOut,
    QuestionPage,
    QuestionPatch,
    QuestionType,
)
from services.arena.questions.service import Saved

router = APIRouter(prefix="/api/v1/arena/questions", tags=["questions"])
Reader = Annotated[Principal, Depends(require(QUESTION_READ))]
Writer = Annotated[Principal, Depends(require(QUESTION_WRITE))]
AllowDuplicate = Annotated[bool, Query(description="store it even when a near-duplicate exists (the check is "
                                                   "skipped; `duplicate_check: skipped`)")]

QUESTION_INVALID = (422, "arena.question_invalid", "The merged question is not valid as a whole")
IN_USE = (409, "arena.question_in_use", "A match played the question; it cannot be deleted")
INFERENCE_NOTE = ("The question is embedded with MiniLM through the inference service; when inference is "
                  "unavailable it is stored all the same with `embedding_status: pending` and `duplicate_check: "
                  "pending` (embedded later, unchecked). ")
IMPORT_DESCRIPTION = (
    "Multipart upload, field `file`: CSV (UTF-8, with or without BOM) or .xlsx (first sheet), at most 2 MB and "
    f"{import_file.MAX_ROWS:,} rows. {(import_file.__doc__ or '').split('The file: ', 1)[-1]}"
    "All or nothing: one bad row, or one row that duplicates a question of the bank or an earlier row, and "
    "nothing is written — `422 arena.import_invalid` lists the rows `{row, column, code, detail, duplicate_of, "
    "duplicate_of_row, similarity}`. `shared=true` (zone admins) imports zone-shared questions.")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the questions, .csv or .xlsx"}}}}}}}
_MAX_DECLARED_BODY = import_file.MAX_BYTES + 64 * 1024


def _out(saved: Saved) -> QuestionOut:
    row = saved.row
    return QuestionOut(**{n: getattr(row, n) for n in QuestionOut.model_fields if hasattr(row, n)},
                       shared=row.org_id is None, duplicate_check=saved.duplicate_check)


@router.get("", response_model=QuestionPage, summary="Questions you can see (newest first)",
            description="Zone-shared questions and your org's (zone admins: every org's of the zone). Filters "
                        "combine; pages by `cursor` (the previous page's `next_cursor`).",
            responses=problems(DENIED, INVALID_CURSOR, INVALID))
async def list_questions(principal: Reader, res: ResourcesDep, type: QuestionType | None = None,  # noqa: A002
                         category_id: uuid.UUID | None = None, difficulty: int | None = Query(None, ge=1, le=5),
                         shared: bool | None = Query(None, description="true: shared only; false: org rows only"),
                         cursor: str | None = Query(None, max_length=2048),
                         limit: int = Query(50, ge=1, le=200)) -> QuestionPage:
    where = QuestionFilter(type=type, category_id=category_id, shared=shared, difficulty=difficulty)
    listing = await service.list_questions(res, principal, where, cursor=cursor, limit=limit)
    return QuestionPage(items=[_out(Saved(r, "done" if r.embedding_status == "ready" else "pending"))
                               for r in listing.items], next_cursor=listing.next_cursor)


@router.post("", status_code=201, response_model=QuestionOut, summary="Create a question",
             description=INFERENCE_NOTE + "A confirmed near-duplicate of a question you can see is refused with "
                         "`409 arena.duplicate_question` naming it (`duplicate_of`).",
             responses=problems(DENIED, ORG_REQUIRED, SHARED_FORBIDDEN, NOT_FOUND, DUPLICATE, INVALID))
async def create_question(body: QuestionIn, principal: Writer, res: ResourcesDep,
                          allow_duplicate: AllowDuplicate = False) -> QuestionOut:
    return _out(await service.create_question(res, principal, body, allow_duplicate=allow_duplicate))


@router.get("/imports/template.csv", response_class=Response, summary="A CSV to start an import from",
            description="UTF-8 with BOM: the header and one example row per question type.",
            responses={200: {"content": {"text/csv": {}}, "description": "the template"}, **problems(DENIED)})
async def import_template(principal: Reader) -> Response:
    del principal
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(service.TEMPLATE_ROWS)
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="questions-template.csv"'})


@router.post("/imports", status_code=201, response_model=ImportResult, summary="Import questions from CSV or .xlsx",
             description=IMPORT_DESCRIPTION, openapi_extra=UPLOAD_BODY,
             responses=problems(DENIED, ORG_REQUIRED, SHARED_FORBIDDEN, IMPORT_INVALID, IMPORT_TOO_LARGE,
                                INVALID_MULTIPART, INVALID))
async def import_questions(request: Request, principal: Writer, res: ResourcesDep, allow_duplicate: AllowDuplicate = False,
                           shared: bool = Query(False, description="zone-shared questions (zone admins)")
                           ) -> ImportResult:
    async with uploaded_file(request, what=".csv or .xlsx", max_declared_bytes=_MAX_DECLARED_BODY,
                             too_large=service.import_too_large) as file:
        data = await file.read(import_file.MAX_BYTES + 1)
        filename = (file.filename or "")[:200]
    return await service.import_questions(res, principal, data, filename if is_storable(filename) else "",
                                          shared=shared, allow_duplicate=allow_duplicate)


@router.get("/{question_id}", response_model=QuestionOut, summary="One question",
            responses=problems(DENIED, NOT_FOUND, INVALID))
async def get_question(question_id: uuid.UUID, principal: Reader, res: ResourcesDep) -> QuestionOut:
    row = await service.get_question(res, principal, question_id)
    return _out(Saved(row, "done" if row.embedding_status == "ready" else "pending"))


@router.patch("/{question_id}", response_model=QuestionOut, summary="Change a question",
              description="Only the fields sent change; the merged question must be valid as a whole. A new "
                          "content is embedded again and checked for duplicates. " + INFERENCE_NOTE,
              responses=problems(DENIED, SHARED_FORBIDDEN, NOT_FOUND, DUPLICATE, QUESTION_INVALID, INVALID))
async def update_question(question_id: uuid.UUID, body: QuestionPatch, principal: Writer, res: ResourcesDep,
                          allow_duplicate: AllowDuplicate = False) -> QuestionOut:
    return _out(await service.update_question(res, principal, question_id, body, allow_duplicate=allow_duplicate))


@router.delete("/{question_id}", status_code=204, response_class=Response, summary="Delete a question",
               description="Refused for a question a match has played (its rounds keep it).",
               responses=problems(DENIED, SHARED_FORBIDDEN, NOT_FOUND, IN_USE, INVALID))
async def delete_question(question_id: uuid.UUID, principal: Writer, res: ResourcesDep) -> Response:
    await service.delete_question(res, principal, question_id)
    return Response(status_code=204)
