"""HTTP: /api/v1/classroom/moderation/words — an org admin's own block and allow words, added to
the built-in Korean and English lists for every chat line and nickname in the org's sessions."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.classroom.moderation import service
from services.classroom.moderation.filter import MAX_WORD_CHARS
from services.classroom.moderation.schemas import WordIn, WordList, WordOut
from services.classroom.permissions import MODERATION

router = APIRouter(prefix="/api/v1/classroom/moderation", tags=["moderation"])
Moderation = Annotated[Principal, Depends(require(MODERATION))]

TOKEN = (401, "auth.token_missing", "An access token is required")
DENIED = (403, "auth.permission_denied", "Your role may not change the org's moderation words")
ORG_REQUIRED = (403, "classroom.org_required", "This action needs a token scoped to an org")
INVALID = (422, "request.invalid", "Request failed validation")
WORD = Path(min_length=1, max_length=MAX_WORD_CHARS * 4, description="The word (URL-encoded; stored trimmed, "
                                                                      "NFC and casefolded)", examples=["멍청이"])


@router.get("/words", response_model=WordList, summary="Your org's moderation words",
            description="The org's own block and allow words (the built-in lists are not listed).",
            responses=problems(TOKEN, DENIED, ORG_REQUIRED))
async def list_words(principal: Moderation, res: ResourcesDep) -> WordList:
    rows = await service.list_words(res, principal)
    return WordList(items=[WordOut.model_validate(r) for r in rows])


@router.put("/words/{word}", response_model=WordOut, summary="Add a word or change how it is matched",
            description="201 when the word is new, 200 when it existed (its lang and kind are replaced). "
                        "Takes effect at once on this replica and within 30 s on the others.",
            responses={201: {"description": "The word was added", "model": WordOut},
                       **problems(TOKEN, DENIED, ORG_REQUIRED, service.INVALID, INVALID)})
async def put_word(body: WordIn, principal: Moderation, res: ResourcesDep, response: Response,
                   word: str = WORD) -> WordOut:
    row, created = await service.put_word(res, principal, word, body.lang, body.kind)
    response.status_code = 201 if created else 200
    return WordOut.model_validate(row)


@router.delete("/words/{word}", status_code=204, response_class=Response, summary="Remove a word",
               responses=problems(TOKEN, DENIED, ORG_REQUIRED, service.NOT_FOUND))
async def delete_word(principal: Moderation, res: ResourcesDep, word: str = WORD) -> Response:
    await service.delete_word(res, principal, word)
    return Response(status_code=204)
