"""HTTP: homework — the teacher opens and closes a session's cards as homework
(/sessions/{id}/homework); absent students look the code up, join, list the cards and answer them
(/homework/...), anonymous or with a homework participant token."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from megacity.auth.dependencies import bearer_token, require
from megacity.auth.tokens import Principal
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.classroom.homework import service
from services.classroom.homework.schemas import (
    HomeworkAnswerIn,
    HomeworkAnswerOut,
    HomeworkCard,
    HomeworkCards,
    HomeworkIn,
    HomeworkInfo,
    HomeworkJoinIn,
    HomeworkJoinOut,
    HomeworkOut,
    HomeworkProblem,
)
from services.classroom.participants import service as participants
from services.classroom.participants.routes import NICK_INVALID, NICK_REJECTED, TOKEN
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState, state_of
from services.classroom.sessions import service as sessions
from services.classroom.sessions.routes import DENIED, ORG_REQUIRED, TENANT_DOWN

router = APIRouter(prefix="/api/v1/classroom", tags=["homework"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
State = Annotated[ClassroomState, Depends(state_of)]
STAFF = (DENIED, ORG_REQUIRED, sessions.NOT_FOUND, TENANT_DOWN)
STUDENT = (TOKEN, service.HOMEWORK_ONLY, participants.BANNED, service.CLOSED)


@router.post("/sessions/{session_id}/homework", response_model=HomeworkOut, summary="Open a session as homework",
             description="A second code (`https://app.<domain>/homework/<CODE>`) under which absent students work "
                         "through the session's cards at their own pace until `until` (1–30 days from now); they "
                         "appear in the report with mode `homework`. Works during or after the session. Reopening "
                         "an open homework keeps its code and moves `until`.",
             responses=problems(*STAFF, service.NO_CARDS, service.CODE_UNAVAILABLE))
async def open_homework(session_id: uuid.UUID, body: HomeworkIn, principal: Runner, res: ResourcesDep) -> HomeworkOut:
    row = await service.open_homework(res, principal, session_id, body.days)
    assert row.homework_code is not None and row.homework_until is not None
    return HomeworkOut(code=row.homework_code, until=row.homework_until,
                       join_url=service.join_url(row.zone_id, row.homework_code))


@router.delete("/sessions/{session_id}/homework", status_code=204, response_class=Response,
               summary="Close a session's homework",
               description="The code stops working (404) and homework tokens are refused (410). Answers stay.",
               responses=problems(*STAFF))
async def close_homework(session_id: uuid.UUID, principal: Runner, res: ResourcesDep) -> Response:
    await service.close_homework(res, principal, session_id)
    return Response(status_code=204)


# /homework/cards before /homework/{code}: a literal path wins only if it is declared first.
@router.get("/homework/cards", response_model=HomeworkCards, summary="The homework's cards (homework participant)",
            description="`Authorization: Bearer <participant token of mode homework>` (from joining by the homework "
                        "code). The session's cards in order — never their answers — and whether you answered each "
                        "and got it right.",
            responses=problems(*STUDENT))
async def list_cards(request: Request, res: ResourcesDep) -> HomeworkCards:
    session, items = await service.cards(res, bearer_token(request))
    assert session.homework_until is not None
    return HomeworkCards(title=session.title, until=session.homework_until, items=[
        HomeworkCard(card_no=c.card_no,
                     problem=HomeworkProblem(type=c.type or "", prompt=c.prompt or "", choices=c.choices,
                                             read_aloud=bool(c.read_aloud)),
                     answered=mine is not None, correct=mine.correct if mine is not None else None)
        for c, mine in items])


@router.post("/homework/cards/{card_no}/answer", response_model=HomeworkAnswerOut,
             summary="Answer one homework card",
             description="Checked like a live answer; 1,000 points if correct (accuracy scoring, no clock). One "
                         "answer per card. The reply carries the expected answer and the explanation.",
             responses=problems(*STUDENT, service.CARD_NOT_FOUND, service.ANSWERED))
async def answer_card(body: HomeworkAnswerIn, request: Request, res: ResourcesDep, st: State,
                      card_no: int = Path(..., ge=1, le=100_000)) -> HomeworkAnswerOut:
    got = await service.answer(res, st, bearer_token(request), card_no, body.answer)
    return HomeworkAnswerOut(card_no=got.card_no, correct=got.correct, points=got.points, answer=got.answer,
                             explanation=got.explanation)


@router.get("/homework/{code}", response_model=HomeworkInfo, summary="What a homework page needs to know",
            description="Anonymous. Spaces, dashes and lower case in the code are forgiven.",
            responses=problems(service.NOT_FOUND, service.CLOSED))
async def homework_info(code: str, zone: ZoneDep, res: ResourcesDep) -> HomeworkInfo:
    row, cards = await service.for_code(res, zone, code)
    assert row.homework_code is not None and row.homework_until is not None
    return HomeworkInfo(code=row.homework_code, title=row.title, cards=cards, until=row.homework_until)


@router.post("/homework/{code}/join", status_code=201, response_model=HomeworkJoinOut,
             summary="Join a session's homework",
             description="Anonymous: a nickname (the live join's rules; unique in the session, filtered) and an "
                         "avatar give a homework seat and a participant token (mode `homework`) that expires "
                         "when the homework closes.",
             responses=problems(service.NOT_FOUND, service.CLOSED, participants.TAKEN, participants.BANNED,
                                NICK_INVALID, NICK_REJECTED, participants.RATE))
async def join(code: str, body: HomeworkJoinIn, zone: ZoneDep, request: Request, res: ResourcesDep,
               st: State) -> HomeworkJoinOut:
    address = request.client.host if request.client else ""
    got = await service.join(res, st, zone, code, body, address)
    assert got.session.homework_until is not None
    return HomeworkJoinOut(participant_id=got.participant.id, nickname=got.participant.nickname,
                           avatar=got.participant.avatar, token=got.token, until=got.session.homework_until,
                           cards=got.cards)
