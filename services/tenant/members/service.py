"""The rules of memberships: the user must exist in auth (looked up by email or id, outside any
transaction), an org keeps at least one org admin, and every change is an outbox event
(`member.added|role_changed|removed`, payload `{user_id, org_id, role, previous_role}`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.tenant import listing
from services.tenant.access import ensure_org
from services.tenant.classes.service import ensure_staff, teacher_scope
from services.tenant.listing import Page, PageRequest
from services.tenant.members import queries
from services.tenant.members.queries import MemberRow, UserMembership
from services.tenant.members.schemas import MemberIn
from services.tenant.pii import tenant_pii
from services.tenant.users_client import User, lookup_users

_LOOKUP_BATCH = 500  # ids per LookupUsers call (auth takes at most 1000)
MEMBERS_KEYSET = Keyset("tenant.members", created_at=dt.datetime, user_id=uuid.UUID)  # ORDER BY created_at, user_id


async def _publish(s: AsyncSession, kind: str, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID,
                   role: str | None, previous_role: str | None) -> None:
    await add_event(s, "tenant", f"member.{kind}", {"user_id": str(user_id), "org_id": str(org_id), "role": role,
                                                     "previous_role": previous_role},
                    zone_id=zone_id, org_id=org_id)


async def _lock_member(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    role = await queries.lock_member(s, zone_id, org_id, user_id)
    if role is None:
        raise AppError(404, "member.not_found", f"user {user_id} is not a member of this org")
    return role


async def _keep_an_admin(s: AsyncSession, zone_id: int, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    if await queries.count_other_admins(s, zone_id, org_id, user_id) == 0:
        raise AppError(409, "member.last_admin", "an org keeps at least one org admin")


@dataclass(frozen=True)
class NamedMember:
    """A member with the name and email auth holds for the user (None: auth has no such user)."""

    member: MemberRow
    name: str | None
    email: str | None


async def list_members(res: Resources, principal: Principal, org_id: uuid.UUID, role: str | None,
                       req: PageRequest) -> Page[NamedMember]:
    """The org's members with their names and emails (from auth, looked up after the
    transaction). Admins see every member; a teacher only the students of its assigned classes."""
    ensure_staff(principal, "user:read")
    org = acting_org(principal, org_id)
    after = listing.after(MEMBERS_KEYSET, req, res)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        found = await queries.list_members(s, principal.zone_id, org, role, after, req.limit + 1, req.offset,
                                           teacher_scope(principal))
    page = listing.page(MEMBERS_KEYSET, found, req, res)
    users: dict[uuid.UUID, User] = {}
    ids = [m.user_id for m in page.items]
    for start in range(0, len(ids), _LOOKUP_BATCH):
        users.update((u.id, u) for u in await lookup_users(res, principal.zone_id, user_ids=ids[start:start + _LOOKUP_BATCH]))
    named = [NamedMember(m, users[m.user_id].display_name or None if m.user_id in users else None,
                         users[m.user_id].email if m.user_id in users else None) for m in page.items]
    return Page(named, page.total, page.next_cursor)


async def add_member(res: Resources, principal: Principal, org_id: uuid.UUID, body: MemberIn) -> MemberRow:
    """Add an auth user (by email or id) to the org; a student member claims the roster record
    with its email."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
    users = await lookup_users(res, principal.zone_id, emails=[body.email] if body.email else [],
                               user_ids=[body.user_id] if body.user_id else [])
    if not users:
        raise AppError(404, "member.user_not_found", "no user with that email or id in this zone")
    user = users[0]
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        member = await queries.insert_member(s, principal.zone_id, org, user.id, body.role)
        if member is None:
            raise AppError(409, "member.exists", "the user is already a member of this org; change the role instead")
        if body.role == "student":
            await queries.claim_student_record(s, principal.zone_id, org, user.id,
                                                   tenant_pii(res.settings).index.email(user.email))
        await _publish(s, "added", principal.zone_id, org, user.id, body.role, None)
        await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="membership", target_id=user.id, action="tenant.member.added",
                           after={"user_id": str(user.id), "role": body.role})
    return member


async def change_role(res: Resources, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID,
                      role: str) -> MemberRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        previous = await _lock_member(s, principal.zone_id, org, user_id)
        if previous == "org_admin" and role != "org_admin":
            await _keep_an_admin(s, principal.zone_id, org, user_id)
        member = await queries.set_role(s, principal.zone_id, org, user_id, role)
        if previous != role:
            await _publish(s, "role_changed", principal.zone_id, org, user_id, role, previous)
            await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                               target_type="membership", target_id=user_id, action="tenant.member.role_changed",
                               before={"role": previous}, after={"role": role})
    return member


async def remove_member(res: Resources, principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        previous = await _lock_member(s, principal.zone_id, org, user_id)
        if previous == "org_admin":
            await _keep_an_admin(s, principal.zone_id, org, user_id)
        await queries.delete_member(s, principal.zone_id, org, user_id)
        await _publish(s, "removed", principal.zone_id, org, user_id, None, previous)
        await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="membership", target_id=user_id, action="tenant.member.removed",
                           before={"user_id": str(user_id), "role": previous})


async def memberships_of_user(res: Resources, zone_id: int, user_id: uuid.UUID) -> list[UserMembership]:
    """Memberships of one user in the orgs of one zone (active orgs only: a suspended org's
    members cannot sign in to it), for auth at login. Reads across the zone's orgs through the
    zone-level RLS policy, and only that zone."""
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, role="zone_admin")) as s:
        return await queries.active_memberships_of_user(s, zone_id, user_id)
