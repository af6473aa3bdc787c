"""HTTP face of taking an exam.

- `POST /api/v1/exams/{exam_id}/start` — one active attempt per student and exam (a second
  start answers 409 `attempt.already_active` with its id, to resume). Adaptive exams get their
  first item from CAT; a start that fails leaves nothing behind.
- `POST /api/v1/attempts/{attempt_id}/responses` — the response is committed to PostgreSQL
  before anything else happens and before it is acknowledged. Adaptive exams then tell CAT and
  get the next item; if CAT is down the reply is 503 `dependency.cat_unavailable` with
  `response_stored: true`, and re-sending the same answer later is safe (idempotent).
- `GET /api/v1/attempts/{attempt_id}` — resume after a disconnect: the current item again.
- `POST /api/v1/attempts/{attempt_id}/submit` — finish and score (idempotent).
The time limit is the server's: after `deadline_at` (+2 s grace) answers are refused (409
`attempt.time_expired`) and the attempt is scored as `expired` — on the next request or by the
background sweeper, whichever comes first. The rules and their failure cases: `service.py`.
"""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from megacity.auth.dependencies import require
from megacity.auth.org_scope import DENIED, ORG_ID, ORG_SCOPE
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.exam.attempts import service
from services.exam.attempts.schemas import (
    EXPIRED,
    NOT_FOUND,
    RESPONSE_REFUSED,
    START_REFUSED,
    AttemptOut,
    ResponseAck,
    ResponseIn,
)
from services.exam.problem_docs import ATTEMPT_BUSY, CAT_DOWN, ORG_BOUND, PARENT_LINK

router = APIRouter(prefix="/api/v1", tags=["attempts"])
AttemptTaker = Annotated[Principal, Depends(require("attempt:create"))]
AttemptReader = Annotated[Principal, Depends(require("attempt:read"))]


@router.post("/exams/{exam_id}/start", status_code=201, response_model=AttemptOut, tags=["attempts"],
             summary="Start an attempt (adaptive exams: the first item comes from CAT)",
             responses=problems(DENIED, ORG_BOUND, *START_REFUSED, ATTEMPT_BUSY, CAT_DOWN))
async def start_attempt(exam_id: uuid.UUID, principal: AttemptTaker, res: ResourcesDep) -> AttemptOut:
    return AttemptOut.model_validate(await service.start_attempt(res, principal, exam_id))


@router.get("/attempts/{attempt_id}", response_model=AttemptOut, summary="An attempt; resume it after a disconnect",
            description="While in progress the reply carries the item to show now (the same one until it is "
                        "answered). After the time limit the attempt is scored and shows its result.",
            responses=problems(ORG_SCOPE, ORG_BOUND, DENIED, NOT_FOUND, ATTEMPT_BUSY, CAT_DOWN, PARENT_LINK))
async def get_attempt(attempt_id: uuid.UUID, principal: AttemptReader, res: ResourcesDep,
                      org_id: uuid.UUID | None = ORG_ID) -> AttemptOut:
    return AttemptOut.model_validate(await service.get_attempt(res, principal, attempt_id, org_id))


@router.post("/attempts/{attempt_id}/responses", status_code=201, response_model=ResponseAck,
             summary="Answer the current item (stored before it is acknowledged)",
             responses=problems(DENIED, ORG_BOUND, NOT_FOUND, EXPIRED, *RESPONSE_REFUSED, ATTEMPT_BUSY, CAT_DOWN))
async def submit_response(attempt_id: uuid.UUID, body: ResponseIn, principal: AttemptTaker,
                          res: ResourcesDep) -> ResponseAck:
    return ResponseAck.model_validate(await service.submit_response(res, principal, attempt_id, body.item_id,
                                                                    body.answer))


@router.post("/attempts/{attempt_id}/submit", response_model=AttemptOut, summary="Finish the attempt and score it",
             description="Idempotent: a finished attempt answers with its result. Publishes "
                         "`exam.attempt.completed`.",
             responses=problems(DENIED, ORG_BOUND, NOT_FOUND, ATTEMPT_BUSY))
async def submit_attempt(attempt_id: uuid.UUID, principal: AttemptTaker, res: ResourcesDep) -> AttemptOut:
    return AttemptOut.model_validate(await service.finish_attempt(res, principal, attempt_id))
