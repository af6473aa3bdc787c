"""HTTP: /api/v1/arena/questions/{id}/similar and /explain — retrieval over question embeddings."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.arena.permissions import PLAY, QUESTION_READ
from services.arena.questions.access import INVALID, NOT_FOUND
from services.arena.similar import service
from services.arena.similar.schemas import (
    INFERENCE_DOWN,
    NOT_EMBEDDED,
    NOT_SEEN,
    ExplainIn,
    Explanation,
    SimilarList,
    SimilarQuestion,
    Source,
)

router = APIRouter(prefix="/api/v1/arena/questions", tags=["similar"])
Player = Annotated[Principal, Depends(require(PLAY, QUESTION_READ))]


@router.get("/{question_id}/similar", response_model=SimilarList, summary="Questions like this one to practise",
            description="The nearest questions by meaning (MiniLM embeddings, pgvector) that you can see — the "
                        "zone's shared ones and your org's — leaving out the ones you have played in a match. "
                        "Answers are not included.",
            responses=problems(DENIED, NOT_FOUND, NOT_EMBEDDED, INVALID))
async def similar_questions(question_id: uuid.UUID, principal: Player, res: ResourcesDep,
                            limit: int = Query(5, ge=1, le=20)) -> SimilarList:
    found = await service.similar_questions(res, principal, question_id, limit)
    return SimilarList(items=[SimilarQuestion(
        id=f.question.id, type=f.question.type, content=f.question.content, choices=f.question.choices,
        difficulty=f.question.difficulty, shared=f.question.org_id is None, similarity=round(f.similarity, 4),
        category_ids=f.question.category_ids) for f in found])


@router.post("/{question_id}/explain", response_model=Explanation, summary="Explain the answer, citing related "
                                                                          "questions",
             description="The LLM explains the right answer (and what was wrong with `answer`, when sent) from the "
                         "question's own explanation and its nearest related questions, citing them by id. Players "
                         "may ask about questions they have played; staff about any they can see.",
             responses=problems(DENIED, NOT_SEEN, NOT_EMBEDDED, INFERENCE_DOWN, INVALID))
async def explain(question_id: uuid.UUID, principal: Player, res: ResourcesDep,
                  body: ExplainIn | None = None) -> Explanation:
    done = await service.explain(res, principal, question_id, body.answer if body else "")
    return Explanation(question_id=done.question_id, explanation=done.text, cited=done.cited,
                       sources=[Source(id=s.question.id, content=s.question.content,
                                       similarity=round(s.similarity, 4)) for s in done.sources])
