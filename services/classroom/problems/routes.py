"""HTTP: /api/v1/classroom/problems — the org's problem bank (CRUD, CSV/xlsx import, template)."""
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
from services.classroom.permissions import PROBLEM_READ, PROBLEM_WRITE
from services.classroom.problems import import_file, service
from services.classroom.problems.queries import ProblemFilter
from services.classroom.problems.schemas import (
    IMPORT_INVALID,
    IMPORT_TOO_LARGE,
    INVALID,
    INVALID_CURSOR,
    INVALID_MULTIPART,
    NOT_FOUND,
    NOT_YOUR_CLASS,
    ORG_REQUIRED,
    ImportResult,
    ProblemIn,
    ProblemOut,
    ProblemPage,
    ProblemPatch,
    ProblemType,
)

router = APIRouter(prefix="/api/v1/classroom/problems", tags=["problems"])
ProblemReader = Annotated[Principal, Depends(require(PROBLEM_READ))]
ProblemWriter = Annotated[Principal, Depends(require(PROBLEM_WRITE))]

IMPORT_DESCRIPTION = (
    "Multipart upload, field `file`: CSV (UTF-8, with or without BOM) or .xlsx (first sheet), at most 2 MB and "
    f"{import_file.MAX_ROWS:,} rows. {import_file.__doc__.split('The file: ', 1)[1] if import_file.__doc__ else ''}"
    "All or nothing: one bad row and nothing is written — `422 classroom.import_invalid` lists up to 50 row "
    "errors `{row, column, code, detail}` in `errors` (`error_count` counts them all). A teacher may name only "
    "classes it is assigned to. `GET /imports/template.csv` is a file to start from.")
# The body is read by the handler after authentication and the permission check, so an
# anonymous or unauthorised caller cannot make the service spool an upload.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the problems, .csv or .xlsx"}}}}}}}
# Multipart framing around a 2 MB file stays far below this; a larger declared body is refused unread.
_MAX_DECLARED_BODY = import_file.MAX_BYTES + 64 * 1024


@router.get("", response_model=ProblemPage, summary="Problems of your org (newest first)",
            description="Filters combine. With `class_id`: that class's own problems and the shared ones "
                        "(class null). Pages by `cursor` (the previous page's `next_cursor`).",
            responses=problems(DENIED, ORG_REQUIRED, INVALID_CURSOR, INVALID))
async def list_problems(principal: ProblemReader, res: ResourcesDep, grade: int | None = Query(None, ge=1, le=12),
                        difficulty: int | None = Query(None, ge=1, le=5),
                        type: ProblemType | None = None,  # noqa: A002 - the API's name
                        class_id: uuid.UUID | None = None, cursor: str | None = Query(None, max_length=2048),
                        limit: int = Query(50, ge=1, le=200)) -> ProblemPage:
    where = ProblemFilter(grade=grade, difficulty=difficulty, type=type, class_id=class_id)
    listing = await service.list_problems(res, principal, where, cursor=cursor, limit=limit)
    return ProblemPage(items=[ProblemOut.model_validate(p) for p in listing.items], next_cursor=listing.next_cursor)


@router.post("", status_code=201, response_model=ProblemOut, summary="Create a problem",
             description="`class_id` null shares it with the org; a teacher may name only a class it is assigned "
                         "to. With `choices`, every accepted answer (\"|\"-separated) must name one of them.",
             responses=problems(DENIED, ORG_REQUIRED, NOT_YOUR_CLASS, INVALID))
async def create_problem(body: ProblemIn, principal: ProblemWriter, res: ResourcesDep) -> ProblemOut:
    return ProblemOut.model_validate(await service.create_problem(res, principal, body))


@router.get("/imports/template.csv", response_class=Response, summary="A CSV to start an import from",
            description="UTF-8 with BOM (Excel opens it as such): the header and one example row per kind.",
            responses={200: {"content": {"text/csv": {}}, "description": "the template"},
                       **problems(DENIED, ORG_REQUIRED)})
async def import_template(principal: ProblemReader) -> Response:
    del principal
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(service.TEMPLATE_ROWS)
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="problems-template.csv"'})


@router.post("/imports", status_code=201, response_model=ImportResult, summary="Import problems from CSV or .xlsx",
             description=IMPORT_DESCRIPTION, openapi_extra=UPLOAD_BODY,
             responses=problems(DENIED, ORG_REQUIRED, IMPORT_INVALID, IMPORT_TOO_LARGE, INVALID_MULTIPART, INVALID))
async def import_problems(request: Request, principal: ProblemWriter, res: ResourcesDep) -> ImportResult:
    async with uploaded_file(request, what=".csv or .xlsx", max_declared_bytes=_MAX_DECLARED_BODY,
                             too_large=service.import_too_large) as file:
        data = await file.read(import_file.MAX_BYTES + 1)
        filename = (file.filename or "")[:200]
    return await service.import_problems(res, principal, data, filename if is_storable(filename) else "")


@router.get("/{problem_id}", response_model=ProblemOut, summary="One problem",
            responses=problems(DENIED, ORG_REQUIRED, NOT_FOUND, INVALID))
async def get_problem(problem_id: uuid.UUID, principal: ProblemReader, res: ResourcesDep) -> ProblemOut:
    return ProblemOut.model_validate(await service.get_problem(res, principal, problem_id))


@router.patch("/{problem_id}", response_model=ProblemOut, summary="Change a problem",
              description="Only the fields sent change (`class_id: null` shares it with the org); the merged "
                          "problem must be valid as a whole. A teacher needs the problem's class and the one it "
                          "moves to.",
              responses=problems(DENIED, ORG_REQUIRED, NOT_FOUND, NOT_YOUR_CLASS, INVALID))
async def update_problem(problem_id: uuid.UUID, body: ProblemPatch, principal: ProblemWriter,
                         res: ResourcesDep) -> ProblemOut:
    return ProblemOut.model_validate(await service.update_problem(res, principal, problem_id, body))


@router.delete("/{problem_id}", status_code=204, response_class=Response, summary="Delete a problem",
               description="Cards already shown keep their answers; the problem is not offered again.",
               responses=problems(DENIED, ORG_REQUIRED, NOT_FOUND, NOT_YOUR_CLASS, INVALID))
async def delete_problem(problem_id: uuid.UUID, principal: ProblemWriter, res: ResourcesDep) -> Response:
    await service.delete_problem(res, principal, problem_id)
    return Response(status_code=204)
