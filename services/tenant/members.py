"""Memberships: which user holds which org role (org_admin, teacher, student, parent).

Users themselves live in auth; adding a member looks the user up there (`LookupUsers`) by
email or id. Every change publishes `member.added`, `member.role_changed` or `member.removed`
(payload `{user_id, org_id, role, previous_role}`) through the outbox, so auth revokes the
user's sessions when a role changes or goes away.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.tenant import listing
from services.tenant.access import DENIED, acting_org, ensure_org, org_context
from services.tenant.fields import Email
from services.tenant.users_client import lookup_users

router = APIRouter(prefix="/api/v1/orgs/{org_id}/members", tags=["members"])

OrgRole = Literal["org_admin", "teacher", "student", "parent"]
_EXAMPLE = {"user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
            "role": "teacher", "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"}
NOT_FOUND = problem_response(404, "member.not_found", "No such member in this org")


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "kim.teacher@example.com", "role": "teacher"},
        {"user_id": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "role": "student"}]})

    email: Email | None = None
    user_id: uuid.UUID | None = None
    role: OrgRole

    @model_validator(mode="after")
    def _one_identity(self) -> MemberIn:
        if (self.email is None) == (self.user_id is None):
            raise ValueError("give exactly one of email or user_id")
        return self


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "org_admin"}]})

    role: OrgRole


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    created_at: dt.datetime
    updated_at: dt.datetime


class MemberList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE], "total": 1, "next_cursor": None}]})

    items: list[MemberOut]
    total: int
    next_cursor: str | None = Field(None, description=listing.NEXT_CURSOR_DOC)


MEMBERS_KEYSET = Keyset("tenant.members", created_at=dt.datetime, user_id=uuid.UUID)  # ORDER BY created_at, user_id


_COLUMNS = "user_id, org_id, role, created_at, updated_at"


async def _publish(s: AsyncSession, kind: str, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID,
                   role: str | None, previous_role: str | None) -> None:
    await add_event(s, "tenant", f"member.{kind}", {"user_id": str(user_id), "org_id": str(org_id), "role": role,
                                                     "previous_role": previous_role},
                    zone_id=zone_id, org_id=org_id)


async def _lock_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The member's current role, with the member row and the org's admin rows locked, so two
    concurrent demotions or removals cannot both pass the last-admin check. 404 if not a member."""
    await s.execute(text("SELECT 1 FROM tenant.memberships WHERE zone_id = :z AND org_id = :o"
                         " AND role = 'org_admin' FOR UPDATE"), {"z": zone_id, "o": org_id})
    role = (await s.execute(text(
        "SELECT role FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u FOR UPDATE"),
        {"z": zone_id, "o": org_id, "u": user_id})).scalar_one_or_none()
    if role is None:
        raise AppError(404, "member.not_found", f"user {user_id} is not a member of this org")
    return role


async def _other_admins(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> int:
    return (await s.execute(text(
        "SELECT count(*) FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND role = 'org_admin'"
        " AND user_id <> :u"), {"z": zone_id, "o": org_id, "u": user_id})).scalar_one()


@router.get("", response_model=MemberList, summary="Members of an org",
            responses={**DENIED, **problem_response(404, "org.not_found", "No such org in this zone"),
                       **listing.PAGING_ERRORS})
async def list_members(org_id: uuid.UUID, role: OrgRole | None = None, limit: int = Query(100, ge=1, le=1000),
                       offset: int = listing.OFFSET, cursor: str | None = listing.CURSOR,
                       principal: Principal = Depends(require("user:read")),
                       res: Resources = Depends(resources)) -> MemberList:
    org = acting_org(principal, org_id)
    after = listing.after(MEMBERS_KEYSET, cursor, offset, res)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = (await s.execute(text(
            f"SELECT * FROM (SELECT {_COLUMNS}, count(*) OVER () AS total FROM tenant.memberships"
            " WHERE zone_id = :z AND org_id = :o AND (CAST(:role AS text) IS NULL OR role = :role)) AS q"
            " WHERE CAST(:after_at AS timestamptz) IS NULL OR (created_at, user_id) > (:after_at, :after_id)"
            " ORDER BY created_at, user_id LIMIT :limit OFFSET :offset"),
            {"z": principal.zone_id, "o": org, "role": role, "after_at": after[0] if after else None,
             "after_id": after[1] if after else None, "limit": limit + 1, "offset": offset})).all()
    page, nxt = listing.page(MEMBERS_KEYSET, rows, limit, res)
    return MemberList(items=[MemberOut.model_validate(r._mapping) for r in page], total=rows[0].total if rows else 0,
                      next_cursor=nxt)


@router.post("", status_code=201, response_model=MemberOut, summary="Add a user to an org with a role",
             description="The user must exist in auth for this zone (looked up by email or id).",
             responses={**DENIED, **problem_response(404, "member.user_not_found", "No such user in this zone"),
                        **problem_response(409, "member.exists", "The user is already a member; change the role"),
                        **problem_response(404, "org.not_found", "No such org in this zone")})
async def add_member(org_id: uuid.UUID, body: MemberIn, principal: Principal = Depends(require("user:create")),
                     res: Resources = Depends(resources)) -> MemberOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
    users = await lookup_users(res, principal.zone_id, emails=[body.email] if body.email else [],
                               user_ids=[body.user_id] if body.user_id else [])
    if not users:
        raise AppError(404, "member.user_not_found", "no user with that email or id in this zone")
    user = users[0]
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = (await s.execute(text(
            "INSERT INTO tenant.memberships (zone_id, org_id, user_id, role) VALUES (:z, :o, :u, :role)"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"),
            {"z": principal.zone_id, "o": org, "u": user.id, "role": body.role})).first()
        if row is None:
            raise AppError(409, "member.exists", "the user is already a member of this org; change the role instead")
        if body.role == "student":  # a roster record with the user's email becomes theirs
            await s.execute(text(
                "UPDATE tenant.students SET user_id = :u, updated_at = now() WHERE zone_id = :z AND org_id = :o"
                " AND user_id IS NULL AND deleted_at IS NULL AND lower(email) = :email"),
                {"u": user.id, "z": principal.zone_id, "o": org, "email": user.email.lower()})
        await _publish(s, "added", principal.zone_id, org, user.id, body.role, None)
    return MemberOut.model_validate(row._mapping)


@router.patch("/{user_id}", response_model=MemberOut, summary="Change a member's role",
              description="Publishes `member.role_changed`; auth then revokes the user's sessions.",
              responses={**DENIED, **NOT_FOUND,
                         **problem_response(409, "member.last_admin", "An org keeps at least one org admin")})
async def change_role(org_id: uuid.UUID, user_id: uuid.UUID, body: MemberPatch,
                      principal: Principal = Depends(require("user:update")),
                      res: Resources = Depends(resources)) -> MemberOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        previous = await _lock_member(s, principal.zone_id, org, user_id)
        if previous == "org_admin" and body.role != "org_admin" \
                and await _other_admins(s, principal.zone_id, org, user_id) == 0:
            raise AppError(409, "member.last_admin", "an org keeps at least one org admin")
        row = (await s.execute(text(
            "UPDATE tenant.memberships SET role = :role, updated_at = CASE WHEN role = :role THEN updated_at"
            " ELSE now() END WHERE zone_id = :z AND org_id = :o AND user_id = :u"
            f" RETURNING {_COLUMNS}"), {"role": body.role, "z": principal.zone_id, "o": org, "u": user_id})).one()
        if previous != body.role:
            await _publish(s, "role_changed", principal.zone_id, org, user_id, body.role, previous)
    return MemberOut.model_validate(row._mapping)


@router.delete("/{user_id}", status_code=204, response_class=Response, summary="Remove a member from an org",
               description="Publishes `member.removed`; auth then revokes the user's sessions.",
               responses={**DENIED, **NOT_FOUND,
                          **problem_response(409, "member.last_admin", "An org keeps at least one org admin")})
async def remove_member(org_id: uuid.UUID, user_id: uuid.UUID, principal: Principal = Depends(require("user:update")),
                        res: Resources = Depends(resources)) -> Response:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        previous = await _lock_member(s, principal.zone_id, org, user_id)
        if previous == "org_admin" and await _other_admins(s, principal.zone_id, org, user_id) == 0:
            raise AppError(409, "member.last_admin", "an org keeps at least one org admin")
        await s.execute(text("DELETE FROM tenant.memberships WHERE zone_id = :z AND org_id = :o AND user_id = :u"),
                        {"z": principal.zone_id, "o": org, "u": user_id})
        await _publish(s, "removed", principal.zone_id, org, user_id, None, previous)
    return Response(status_code=204)
