"""HTTP: joining by code (anonymous), a participant's own state, and a teacher's actions on
participants (/api/v1/classroom/join, /participants/me, /sessions/{id}/participants)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from megacity.auth.dependencies import bearer_token, require
from megacity.auth.tokens import Principal
from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.classroom.participants import service
from services.classroom.participants.queries import ParticipantRow
from services.classroom.participants.schemas import (
    JoinIn,
    JoinInfo,
    JoinOut,
    MeOut,
    ParticipantList,
    ParticipantOut,
    ParticipantPatch,
)
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState, state_of
from services.classroom.sessions import service as sessions
from services.classroom.sessions.routes import DENIED, ORG_REQUIRED, TENANT_DOWN

router = APIRouter(prefix="/api/v1/classroom", tags=["participants"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
State = Annotated[ClassroomState, Depends(state_of)]
NOT_FOUND = (404, "classroom.session_not_found", "No session has this code")
NICK_INVALID = (422, "classroom.nickname_invalid", "A nickname is 1–20 characters, no control characters or links")
NICK_REJECTED = (422, "classroom.nickname_rejected", "The nickname did not pass the class's language filter")
TOKEN = (401, "classroom.participant_token_invalid", "The participant token is invalid or has expired")


@router.get("/join/{code}", response_model=JoinInfo, summary="What a join page needs to know about a code",
            description="Anonymous. Spaces, dashes and lower case in the code are forgiven.",
            responses=problems(NOT_FOUND, sessions.EXPIRED, sessions.ENDED))
async def join_info(code: str, zone: ZoneDep, res: ResourcesDep) -> JoinInfo:
    row = await service.session_for_code(res, zone, code)
    return JoinInfo(code=row.code, title=row.title, status="active", locked=row.locked,
                    friendly_nicknames=row.friendly_nicknames, approve_arrivals=row.approve_arrivals,
                    seconds_left=sessions.seconds_left(row))


@router.post("/join/{code}", status_code=201, response_model=JoinOut, summary="Join a session by code",
             description="Anonymous: a nickname (unique in the session, filtered) and an avatar give a seat and a "
                         "participant token. Keep the token: with it the WebSocket reconnects to the same seat, "
                         "nickname and points after any number of drops. Limited per code and per address "
                         "(sized for a whole school behind one address).",
             responses=problems(NOT_FOUND, sessions.EXPIRED, sessions.ENDED, service.LOCKED, service.TAKEN,
                                service.BANNED, NICK_INVALID, NICK_REJECTED, service.RATE))
async def join(code: str, body: JoinIn, zone: ZoneDep, request: Request, res: ResourcesDep, st: State) -> JoinOut:
    address = request.client.host if request.client else ""
    row, session, token = await service.join(res, st, zone, code, body, address)
    return JoinOut(participant_id=row.id, session_id=session.id, nickname=row.nickname, avatar=row.avatar,
                   status=row.status,  # type: ignore[arg-type]
                   token=token, ws_url=f"/api/v1/classroom/sessions/{session.code}/ws",
                   session=sessions.public_settings(session))


@router.get("/participants/me", response_model=MeOut, summary="The calling participant's seat",
            description="`Authorization: Bearer <participant token>`. A pending arrival polls this until the "
                        "teacher approves it (`status` becomes `active`).",
            responses=problems(TOKEN, service.BANNED))
async def me(request: Request, res: ResourcesDep) -> MeOut:
    _, row, session = await service.resolve(res, bearer_token(request))
    score, rank = await service.score_and_rank(res, session, row.id)
    return MeOut(participant_id=row.id, nickname=row.nickname, avatar=row.avatar,
                 status=row.status, score=score, rank=rank, mode=row.mode)  # type: ignore[arg-type]


def _out(row: ParticipantRow, score: int = 0) -> ParticipantOut:
    return ParticipantOut(id=row.id, nickname=row.nickname, avatar=row.avatar,
                          status=row.status, muted=row.muted,  # type: ignore[arg-type]
                          extra_time_seconds=row.extra_time_seconds, mode=row.mode,  # type: ignore[arg-type]
                          joined_at=row.joined_at, score=score)


@router.get("/sessions/{session_id}/participants", response_model=ParticipantList,
            summary="Participants of a session (teacher)", responses=problems(DENIED, ORG_REQUIRED,
                                                                               sessions.NOT_FOUND, TENANT_DOWN))
async def list_participants(session_id: uuid.UUID, principal: Runner, res: ResourcesDep) -> ParticipantList:
    session, rows = await service.list_for_staff(res, principal, session_id)
    scores = await service.scores(res, session)
    return ParticipantList(items=[_out(r, scores.get(str(r.id), 0)) for r in rows])


@router.patch("/sessions/{session_id}/participants/{participant_id}", response_model=ParticipantOut,
              summary="Approve, kick, ban, mute or give extra time",
              description="Kick and ban disconnect the participant (close 4403) and refuse its token; a banned "
                          "nickname stays taken. Mute is silent: the participant's messages reach only itself. "
                          "Extra time is added to every card for this participant.",
              responses=problems(DENIED, ORG_REQUIRED, sessions.NOT_FOUND, service.PARTICIPANT_NOT_FOUND,
                                 (409, "classroom.participant_banned", "A banned participant stays banned"),
                                 TENANT_DOWN))
async def change_participant(session_id: uuid.UUID, participant_id: uuid.UUID, body: ParticipantPatch,
                             principal: Runner, res: ResourcesDep, st: State) -> ParticipantOut:
    return _out(await service.change(res, st, principal, session_id, participant_id, body))
