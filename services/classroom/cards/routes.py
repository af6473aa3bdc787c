"""HTTP: /api/v1/classroom/sessions/{id}/cards — the teacher shows and closes problem cards and
reads a card's tally. Participants answer over the WebSocket (`answer` frames)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.classroom.cards import service
from services.classroom.cards.schemas import CardIn, CardOut, ClosedOut, TallyOut
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState, state_of
from services.classroom.sessions import service as sessions
from services.classroom.sessions.routes import DENIED, ORG_REQUIRED, TENANT_DOWN

router = APIRouter(prefix="/api/v1/classroom/sessions/{session_id}/cards", tags=["cards"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
State = Annotated[ClassroomState, Depends(state_of)]
COMMON = (DENIED, ORG_REQUIRED, sessions.NOT_FOUND, TENANT_DOWN)


@router.post("", status_code=201, response_model=CardOut, summary="Show a card to the class",
             description="A chosen problem, or the next one rotated by grade/difficulty/type among the org's shared "
                         "problems and the class's own not shown yet. Closes the card on show. Everyone (late "
                         "joiners included) gets `card_shown` with server-stamped `shown_at`/`closes_at`.",
             responses=problems(*COMMON, sessions.EXPIRED, sessions.ENDED, service.NO_PROBLEM))
async def show_card(session_id: uuid.UUID, body: CardIn, principal: Runner, res: ResourcesDep, st: State) -> CardOut:
    return CardOut.model_validate(await service.show(res, st, principal, session_id, body))


@router.post("/current/close", response_model=ClosedOut, summary="Close the card on show",
             description="No more answers; everyone gets `card_closed` with the answer, the explanation and the "
                         "tally (with the wrong answers chosen), then the leaderboard.",
             responses=problems(*COMMON, service.NO_CARD))
async def close_card(session_id: uuid.UUID, principal: Runner, res: ResourcesDep, st: State) -> ClosedOut:
    return ClosedOut.model_validate(await service.close(res, st, principal, session_id))


@router.get("/{card_no}/tally", response_model=TallyOut, summary="A card's tally",
            description="The live counts (Redis, atomic) next to the stored live answers (PostgreSQL); they agree "
                        "once answers have settled, and closing the card rebuilds the live ones from the stored if "
                        "not. Homework answers are in the report.",
            responses=problems(*COMMON))
async def card_tally(session_id: uuid.UUID, principal: Runner, res: ResourcesDep,
                     card_no: int = Path(..., ge=1, le=100_000)) -> TallyOut:
    return TallyOut.model_validate(await service.tally(res, principal, session_id, card_no))
