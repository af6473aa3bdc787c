"""HTTP: /api/v1/arena/notebook — the player's wrong-answer notebook and bookmarks."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.notebook import service
from services.arena.notebook.queries import EntryRow
from services.arena.notebook.schemas import NotebookEntry, NotebookPage
from services.arena.permissions import PLAY
from services.arena.questions.access import INVALID, INVALID_CURSOR, NOT_FOUND

router = APIRouter(prefix="/api/v1/arena/notebook", tags=["notebook"])
Player = Annotated[Principal, Depends(require(PLAY))]


def _out(row: EntryRow) -> NotebookEntry:
    return NotebookEntry(
        question_id=row.question_id, type=row.type, content=row.content, choices=row.choices,
        difficulty=row.difficulty, bookmarked=row.bookmarked, wrong_count=row.wrong_count, last_answer=row.last_answer,
        ai_feedback=row.ai_feedback, answer=row.answer if row.revealed else None,
        explanation=row.explanation if row.revealed else None, last_match_id=row.last_match_id,
        created_at=row.created_at, updated_at=row.updated_at)


@router.get("", response_model=NotebookPage, summary="Your notebook: wrong answers and bookmarks",
            description="Latest first. Wrong answers from matches arrive by themselves (with the grader's "
                        "feedback); `bookmarked=true` lists only bookmarks.",
            responses=problems(DENIED, INVALID_CURSOR, INVALID))
async def list_notebook(principal: Player, res: ResourcesDep, bookmarked: bool | None = None,
                        cursor: str | None = Query(None, max_length=2048),
                        limit: int = Query(50, ge=1, le=200)) -> NotebookPage:
    page = await service.list_entries(res, principal, bookmarked=bookmarked, cursor=cursor, limit=limit)
    return NotebookPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.put("/{question_id}", response_model=NotebookEntry, summary="Bookmark a question",
            description="Any question you can see; the right answer shows once you have played it.",
            responses=problems(DENIED, NOT_FOUND, INVALID))
async def bookmark(question_id: uuid.UUID, principal: Player, res: ResourcesDep) -> NotebookEntry:
    return _out(await service.bookmark(res, principal, question_id))


@router.delete("/{question_id}", status_code=204, response_class=Response, summary="Remove a notebook entry",
               description="The bookmark and the wrong-answer record of the question go together.",
               responses=problems(DENIED, NOT_FOUND, INVALID))
async def remove(question_id: uuid.UUID, principal: Player, res: ResourcesDep) -> Response:
    await service.remove(res, principal, question_id)
    return Response(status_code=204)
