"""Parent–student links (seed 001 §3.2.5): a parent asks by the student's email, the student (or
an org admin) approves or rejects, either side or an org admin revokes. Only an APPROVED link
lets a parent see the student (roster reads here; `CheckParentLink` for exam reports).

States: pending -> approved | rejected; pending | approved -> revoked. At most one open
(pending or approved) link per parent and student; closed links stay as history.
Publishes `parent_link.requested|approved|rejected|revoked`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.tenant.access import ADMIN_ROLES, DENIED, ORG_SCOPE, acting_org, ensure_org, org_context
from services.tenant.fields import Email
from services.tenant.users_client import user_by_email

router = APIRouter(prefix="/api/v1/parent-links", tags=["parent-links"])

LinkStatus = Literal["pending", "approved", "rejected", "revoked"]
_COLUMNS = ("id, org_id, parent_user_id, student_user_id, student_id, status, requested_at, decided_at,"
            " decided_by, revoked_at, revoked_by")
_EXAMPLE = {"id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "parent_user_id": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", "student_user_id":
            "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "student_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
            "status": "pending", "requested_at": "2026-03-01T09:00:00Z", "decided_at": None, "decided_by": None,
            "revoked_at": None, "revoked_by": None}
NOT_FOUND = problem_response(404, "parent_link.not_found", "No such link that you may act on")
NOT_PENDING = problem_response(409, "parent_link.not_pending", "Only a pending link can be approved or rejected")


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"student_email": "kim.minji@example.com"}]})

    student_email: Email


class LinkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    parent_user_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: uuid.UUID | None
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None


class LinkList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[LinkOut]


def _actor_filter(principal: Principal) -> str:
    """SQL condition for the links this caller may see: its own as parent or student, all for admins."""
    if principal.role == "parent":
        return "parent_user_id = :me"
    if principal.role == "student":
        return "student_user_id = :me"
    if principal.role in ADMIN_ROLES or principal.role == "super_admin":
        return "true"
    raise AppError(403, "parent_link.forbidden", f"role {principal.role} has no part in parent links")


async def _publish(s: AsyncSession, principal: Principal, row) -> None:
    await add_event(s, "tenant", f"parent_link.{'requested' if row.status == 'pending' else row.status}", {
        "link_id": str(row.id), "org_id": str(row.org_id), "parent_user_id": str(row.parent_user_id),
        "student_user_id": str(row.student_user_id), "student_id": str(row.student_id) if row.student_id else None,
        "status": row.status, "by": str(principal.user_id)}, zone_id=principal.zone_id, org_id=row.org_id)


@router.post("", status_code=201, response_model=LinkOut, summary="Parent: ask to be linked to a student",
             description="The student is found by email (in auth) and must be a student member of your org. "
                         "The link starts `pending` until the student or an org admin approves it.",
             responses={**DENIED, **problem_response(403, "parent_link.parent_only", "Only parents request links"),
                        **problem_response(404, "parent_link.student_not_found", "No student with that email here"),
                        **problem_response(409, "parent_link.exists", "You already have an open link to them")})
async def request_link(body: LinkRequest, principal: Principal = Depends(require("student:read")),
                       res: Resources = Depends(resources)) -> LinkOut:
    if principal.role != "parent":
        raise AppError(403, "parent_link.parent_only", "only parents request links to students")
    org = acting_org(principal, None)
    user = await user_by_email(res, principal.zone_id, body.student_email)
    not_found = AppError(404, "parent_link.student_not_found", "no student with that email in your org")
    if user is None or user.id == principal.user_id:
        raise not_found
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        member = (await s.execute(text(
            "SELECT 1 FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u AND role = 'student'"),
            {"z": principal.zone_id, "o": org, "u": user.id})).first()
        if member is None:
            raise not_found
        student_id = (await s.execute(text(
            "SELECT id FROM tenant.students WHERE zone_id = :z AND org_id = :o AND deleted_at IS NULL"
            " AND (user_id = :u OR (user_id IS NULL AND lower(email) = :email)) ORDER BY user_id NULLS LAST LIMIT 1"),
            {"z": principal.zone_id, "o": org, "u": user.id, "email": user.email.lower()})).scalar_one_or_none()
        row = (await s.execute(text(
            "INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id, student_id)"
            " VALUES (:z, :o, :p, :u, :sid) ON CONFLICT (zone_id, org_id, parent_user_id, student_user_id)"
            f" WHERE status IN ('pending', 'approved') DO NOTHING RETURNING {_COLUMNS}"),
            {"z": principal.zone_id, "o": org, "p": principal.user_id, "u": user.id, "sid": student_id})).first()
        if row is None:
            raise AppError(409, "parent_link.exists", "you already have a pending or approved link to this student")
        await _publish(s, principal, row)
    return LinkOut.model_validate(row._mapping)


@router.get("", response_model=LinkList, summary="Links you are part of (all of the org's, for admins)",
            responses={**ORG_SCOPE, **DENIED,
                       **problem_response(403, "parent_link.forbidden", "Your role has no part in links")})
async def list_links(status: LinkStatus | None = None, org_id: uuid.UUID | None = Query(None),
                     principal: Principal = Depends(require("student:read", "profile:read", "user:read")),
                     res: Resources = Depends(resources)) -> LinkList:
    who = _actor_filter(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = (await s.execute(text(
            f"SELECT {_COLUMNS} FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND {who}"
            " AND (CAST(:st AS text) IS NULL OR status = :st) ORDER BY requested_at DESC LIMIT 500"),
            {"z": principal.zone_id, "o": org, "me": principal.user_id, "st": status})).all()
    return LinkList(items=[LinkOut.model_validate(r._mapping) for r in rows])


async def _transition(link_id: uuid.UUID, principal: Principal, res: Resources, org_id: uuid.UUID | None, *,
                      allowed_from: tuple[str, ...], to: str) -> LinkOut:
    who = _actor_filter(principal)
    org = acting_org(principal, org_id)
    ctx: TenantContext = org_context(principal, org)
    stamp = "decided_at = now(), decided_by = :me" if to in ("approved", "rejected") else \
        "revoked_at = now(), revoked_by = :me"
    async with tenant_transaction(res.db(), ctx) as s:
        current = (await s.execute(text(
            f"SELECT status FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND id = :id AND {who}"
            " FOR UPDATE"), {"z": principal.zone_id, "o": org, "id": link_id, "me": principal.user_id})).first()
        if current is None:
            raise AppError(404, "parent_link.not_found", f"link {link_id} does not exist or is not yours")
        if current.status not in allowed_from:
            code = "parent_link.not_pending" if to in ("approved", "rejected") else "parent_link.not_open"
            raise AppError(409, code, f"link is {current.status}; cannot become {to}")
        row = (await s.execute(text(
            f"UPDATE tenant.parent_links SET status = :to, {stamp} WHERE zone_id = :z AND org_id = :o AND id = :id"
            f" RETURNING {_COLUMNS}"), {"to": to, "z": principal.zone_id, "o": org, "id": link_id,
                                         "me": principal.user_id})).one()
        await _publish(s, principal, row)
    return LinkOut.model_validate(row._mapping)


def _no_parent_decisions(principal: Principal) -> None:
    if principal.role == "parent":
        raise AppError(403, "parent_link.parent_cannot_decide", "the student or an org admin decides on a link")


@router.post("/{link_id}/approve", response_model=LinkOut, summary="Student or org admin: approve a pending link",
             responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **NOT_PENDING})
async def approve_link(link_id: uuid.UUID, org_id: uuid.UUID | None = Query(None),
                       principal: Principal = Depends(require("profile:update", "user:update")),
                       res: Resources = Depends(resources)) -> LinkOut:
    _no_parent_decisions(principal)
    return await _transition(link_id, principal, res, org_id, allowed_from=("pending",), to="approved")


@router.post("/{link_id}/reject", response_model=LinkOut, summary="Student or org admin: reject a pending link",
             responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **NOT_PENDING})
async def reject_link(link_id: uuid.UUID, org_id: uuid.UUID | None = Query(None),
                      principal: Principal = Depends(require("profile:update", "user:update")),
                      res: Resources = Depends(resources)) -> LinkOut:
    _no_parent_decisions(principal)
    return await _transition(link_id, principal, res, org_id, allowed_from=("pending",), to="rejected")


@router.post("/{link_id}/revoke", response_model=LinkOut,
             summary="Parent, student or org admin: revoke a pending or approved link",
             responses={**ORG_SCOPE, **DENIED, **NOT_FOUND,
                        **problem_response(409, "parent_link.not_open", "The link is already rejected or revoked")})
async def revoke_link(link_id: uuid.UUID, org_id: uuid.UUID | None = Query(None),
                      principal: Principal = Depends(require("student:read", "profile:update", "user:update")),
                      res: Resources = Depends(resources)) -> LinkOut:
    return await _transition(link_id, principal, res, org_id, allowed_from=("pending", "approved"), to="revoked")


async def check_parent_link(sessions, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                            student_id: uuid.UUID) -> tuple[bool, str, str]:
    """(approved, link_id, status) of the parent's most relevant link to the student (by user or
    roster id): an approved one if any, else the latest. ('', 'none') when there is none."""
    async with tenant_transaction(sessions, TenantContext(zone_id=zone_id, org_id=org_id)) as s:
        row = (await s.execute(text(
            "SELECT id, status FROM tenant.parent_links WHERE zone_id = :z AND org_id = :o AND parent_user_id = :p"
            " AND (student_user_id = :sid OR student_id = :sid)"
            " ORDER BY (status = 'approved') DESC, requested_at DESC LIMIT 1"),
            {"z": zone_id, "o": org_id, "p": parent_user_id, "sid": student_id})).first()
    if row is None:
        return False, "", "none"
    return row.status == "approved", str(row.id), row.status
