"""HTTP: /api/v1/classroom/sessions — start, read, change, extend and end live sessions, and the
QR code of the join URL. Teachers act on their classes' sessions, org admins on any of the org."""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from megacity.auth import org_scope
from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.http_app import problems
from megacity.runtime import ResourcesDep
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState, state_of
from services.classroom.sessions import qr, service
from services.classroom.sessions.queries import SessionRow
from services.classroom.sessions.schemas import ExtendIn, SessionIn, SessionList, SessionOut, SessionPatch

router = APIRouter(prefix="/api/v1/classroom/sessions", tags=["sessions"])
Runner = Annotated[Principal, Depends(require(SESSION_RUN))]
State = Annotated[ClassroomState, Depends(state_of)]

# 401 (no or bad token) and 403 (role lacks the permission), as every protected endpoint documents.
DENIED = org_scope.DENIED
ORG_REQUIRED = (403, "classroom.org_required", "This action needs a token scoped to an org")
NOT_YOUR_CLASS = (404, "classroom.not_your_class", "The class does not exist in your org or is not yours")
TENANT_DOWN = (503, "dependency.tenant_unavailable", "The tenant service (class assignments) is unavailable")


def session_out(st: ClassroomState, row: SessionRow) -> SessionOut:
    base = f"/api/v1/classroom/sessions/{row.id}"
    homework = service.open_homework_of(row)
    return SessionOut(
        id=row.id, class_id=row.class_id, teacher_id=row.teacher_id, code=row.code, title=row.title,
        status=row.live_status(service.now()),  # type: ignore[arg-type]
        started_at=row.started_at, expires_at=row.expires_at, ended_at=row.ended_at,
        seconds_left=service.seconds_left(row), locked=row.locked, approve_arrivals=row.approve_arrivals,
        friendly_nicknames=row.friendly_nicknames, scoring=row.scoring,  # type: ignore[arg-type]
        chat_mode=row.chat_mode,  # type: ignore[arg-type]
        slow_mode_seconds=row.slow_mode_seconds, card_seconds=row.card_seconds,
        join_url=service.join_url(st, row.zone_id, row.code), qr_svg_url=f"{base}/qr.svg", qr_png_url=f"{base}/qr.png",
        ws_url=f"/api/v1/classroom/sessions/{row.code}/ws",
        homework_code=homework[0] if homework else None, homework_until=homework[1] if homework else None)


@router.post("", status_code=201, response_model=SessionOut, summary="Start a live session for a class",
             description="An 8-character code (no 0/O/1/I/L) unique among active sessions, the join URL "
                         "`https://app.<domain>/join/<CODE>` and its QR code. The session expires 30 minutes "
                         "after start unless extended. One active session per class. Publishes "
                         "`classroom.session.started`.",
             responses=problems(DENIED, ORG_REQUIRED, NOT_YOUR_CLASS, service.ACTIVE, service.CODE_UNAVAILABLE,
                                TENANT_DOWN))
async def start_session(body: SessionIn, principal: Runner, res: ResourcesDep, st: State) -> SessionOut:
    return session_out(st, await service.start(res, st, principal, body))


@router.get("", response_model=SessionList, summary="Sessions of your classes",
            description="Newest first. A teacher sees its classes' sessions, an org admin the org's.",
            responses=problems(DENIED, ORG_REQUIRED, TENANT_DOWN))
async def list_sessions(principal: Runner, res: ResourcesDep, st: State,
                        status: Literal["active", "ended", "expired"] | None = None,
                        limit: int = Query(50, ge=1, le=200)) -> SessionList:
    rows = await service.list_sessions(res, principal, status, limit)
    return SessionList(items=[session_out(st, r) for r in rows])


@router.get("/{session_id}", response_model=SessionOut, summary="One session",
            description="With its open homework's `homework_code` and `homework_until` (both null when none "
                        "is open), so a console opened later can show the homework's code and link.",
            responses=problems(DENIED, ORG_REQUIRED, service.NOT_FOUND, TENANT_DOWN))
async def get_session(session_id: uuid.UUID, principal: Runner, res: ResourcesDep, st: State) -> SessionOut:
    return session_out(st, await service.load_for_staff(res, principal, session_id))


@router.patch("/{session_id}", response_model=SessionOut, summary="Change a running session's settings",
              description="Lock or unlock joining, turn on approval of new arrivals, chat mode (open, hold "
                          "for approval, off), slow mode, scoring, card time. The class gets `session_updated`.",
              responses=problems(DENIED, ORG_REQUIRED, service.NOT_FOUND, service.EXPIRED, service.ENDED,
                                 TENANT_DOWN))
async def update_session(session_id: uuid.UUID, body: SessionPatch, principal: Runner, res: ResourcesDep,
                         st: State) -> SessionOut:
    return session_out(st, await service.update(res, st, principal, session_id, body))


@router.post("/{session_id}/extend", response_model=SessionOut, summary="Extend a running session",
             description="Adds minutes to the later of now and the current expiry; at most "
                         "`CLASSROOM_MAX_SESSION_MINUTES` after start. The class gets `session_extended`.",
             responses=problems(DENIED, ORG_REQUIRED, service.NOT_FOUND, service.EXPIRED, service.ENDED,
                                service.TOO_LONG, TENANT_DOWN))
async def extend_session(session_id: uuid.UUID, body: ExtendIn, principal: Runner, res: ResourcesDep,
                         st: State) -> SessionOut:
    return session_out(st, await service.extend(res, st, principal, session_id, body.minutes))


@router.post("/{session_id}/end", response_model=SessionOut, summary="End a session",
             description="Everyone connected gets `session_ended` and is disconnected (close 4410); the code "
                         "stops working (410). Publishes `classroom.session.ended`.",
             responses=problems(DENIED, ORG_REQUIRED, service.NOT_FOUND, service.EXPIRED, service.ENDED,
                                TENANT_DOWN))
async def end_session(session_id: uuid.UUID, principal: Runner, res: ResourcesDep, st: State) -> SessionOut:
    return session_out(st, await service.end(res, st, principal, session_id))


_QR_RESPONSES = problems(DENIED, ORG_REQUIRED, service.NOT_FOUND, TENANT_DOWN)


@router.get("/{session_id}/qr.svg", response_class=Response, summary="QR code of the join URL (SVG)",
            responses={200: {"content": {"image/svg+xml": {}}}, **_QR_RESPONSES})
async def qr_svg(session_id: uuid.UUID, principal: Runner, res: ResourcesDep, st: State) -> Response:
    row = await service.load_for_staff(res, principal, session_id)
    return Response(qr.qr_svg(service.join_url(st, row.zone_id, row.code)), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


@router.get("/{session_id}/qr.png", response_class=Response, summary="QR code of the join URL (PNG)",
            responses={200: {"content": {"image/png": {}}}, **_QR_RESPONSES})
async def qr_png(session_id: uuid.UUID, principal: Runner, res: ResourcesDep, st: State,
                 scale: int = Query(8, ge=2, le=32)) -> Response:
    row = await service.load_for_staff(res, principal, session_id)
    return Response(qr.qr_png(service.join_url(st, row.zone_id, row.code), scale), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=300"})


