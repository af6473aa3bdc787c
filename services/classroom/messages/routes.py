"""HTTP: /api/v1/classroom/sessions/{id}/messages — the teacher's view of the chat (with held and
hidden messages), sending as the teacher, and hiding or showing a message. Participants chat over
the WebSocket (`chat` frames)."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.classroom.messages import service
from services.classroom.messages.schemas import MessageAck, MessageIn, MessageList, MessageOut
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState, state_of
from services.classroom.sessions import service as sessions
from services.classroom.sessions.routes import DENIED, ORG_REQUIRED, TENANT_DOWN

router = APIRouter(prefix="/api/v1/classroom/sessions/{session_id}/messages", tags=["chat"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
State = Annotated[ClassroomState, Depends(state_of)]
COMMON = (DENIED, ORG_REQUIRED, sessions.NOT_FOUND, TENANT_DOWN)


@router.get("", response_model=MessageList, summary="The chat as the teacher sees it",
            description="Newest last; held (awaiting approval) and hidden (filtered, muted or hidden by a teacher) "
                        "messages included unless `status` narrows it.",
            responses=problems(*COMMON))
async def list_messages(session_id: uuid.UUID, principal: Runner, res: ResourcesDep,
                        status: Literal["visible", "held", "hidden"] | None = None,
                        limit: int = Query(100, ge=1, le=500)) -> MessageList:
    rows = await service.list_for_staff(res, principal, session_id, status, limit)
    return MessageList(items=[MessageOut.model_validate(r, from_attributes=True) for r in rows])


@router.post("", status_code=201, response_model=MessageAck, summary="Send a message as the teacher",
             responses=problems(*COMMON, sessions.EXPIRED, sessions.ENDED, service.INVALID, service.REJECTED, service.RATE))
async def send_message(session_id: uuid.UUID, body: MessageIn, principal: Runner, res: ResourcesDep,
                       st: State) -> MessageAck:
    return MessageAck.model_validate(await service.teacher_send(res, st, principal, session_id, body.body))


@router.post("/{message_id}/hide", response_model=MessageOut, summary="Hide a message",
             description="Everyone gets `message_hidden`; the message stays stored (moderated).",
             responses=problems(*COMMON, service.MESSAGE_NOT_FOUND))
async def hide_message(session_id: uuid.UUID, message_id: uuid.UUID, principal: Runner, res: ResourcesDep,
                       st: State) -> MessageOut:
    row = await service.moderate(res, st, principal, session_id, message_id, visible=False)
    return MessageOut.model_validate(row, from_attributes=True)


@router.post("/{message_id}/show", response_model=MessageOut, summary="Approve a held message or unhide one",
             description="Everyone gets it as a `chat` frame.",
             responses=problems(*COMMON, service.MESSAGE_NOT_FOUND))
async def show_message(session_id: uuid.UUID, message_id: uuid.UUID, principal: Runner, res: ResourcesDep,
                       st: State) -> MessageOut:
    row = await service.moderate(res, st, principal, session_id, message_id, visible=True)
    return MessageOut.model_validate(row, from_attributes=True)
