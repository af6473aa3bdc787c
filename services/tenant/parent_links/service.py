"""The rules of parent–student links.

Who asks: a parent of the org, or a signed-in user with no role in it (a guest, naming the
org), by the student's email (pending) or by a school-issued parent code (approved at once).
A guest who asks becomes a `parent` member of the org in the same transaction: the parent role
is a plain tenant membership, and a parent sees only its approved-linked children.
States: pending -> approved | rejected (the student or an org admin decides; never the parent);
pending | approved -> revoked (the parent, the student or an org admin). At most one open
(pending or approved) link per parent and student; closed links stay as history. A caller acts
only on links it is part of (admins: all of the org's); others' links are 404.
Publishes `parent_link.requested|approved|rejected|revoked` (payload `via`: email, parent_code,
decision) and `parent_code.issued`; notifies the student and the org admins of a new link, the
parent of a decision.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.roles import ADMIN_ROLES, STAFF_ROLES
from megacity.runtime import Resources
from services.tenant.access import ensure_org
from services.tenant.members.queries import insert_member
from services.tenant.notifications import service as notifications
from services.tenant.parent_links import codes, queries
from services.tenant.parent_links.queries import ChildRow, CodeRow, LinkRow, LinkSide
from services.tenant.pii import tenant_pii
from services.tenant.users_client import lookup_users

DECISIONS = ("approved", "rejected")
# Failed attempts that count towards the guessing limit (codes.AttemptGuard).
COUNTED_FAILURES = frozenset({"parent_link.code_invalid", "parent_link.code_used", "parent_link.code_expired",
                              "parent_link.student_not_found"})


@dataclass(frozen=True)
class LinkRequested:
    link: LinkRow
    parent_role_granted: bool  # this request made the caller a parent member: sign in again


@dataclass(frozen=True)
class IssuedCode:
    row: CodeRow
    code: str  # shown once


@dataclass(frozen=True)
class Child:
    row: ChildRow
    name: str | None
    display_name: str | None


@dataclass(frozen=True)
class LinkCheck:
    """What `CheckParentLink` answers: only `approved` lets the parent see the student."""

    approved: bool
    link_id: str  # '' when there is no link
    status: str  # 'none' when there is no link


def _side(principal: Principal) -> LinkSide:
    """The links this caller takes part in: its own as parent or student, all for admins."""
    if principal.role == "parent":
        return "parent"
    if principal.role == "student":
        return "student"
    if principal.role in ADMIN_ROLES:
        return "all"
    raise AppError(403, "parent_link.forbidden", f"role {principal.role} has no part in parent links")


def _notice(link: LinkRow, via: str) -> dict[str, Any]:
    return {"link_id": str(link.id), "org_id": str(link.org_id), "parent_user_id": str(link.parent_user_id),
            "student_user_id": str(link.student_user_id),
            "student_id": str(link.student_id) if link.student_id else None, "status": link.status, "via": via}


async def _publish(s: AsyncSession, principal: Principal, link: LinkRow, via: str = "decision") -> None:
    await add_event(s, "tenant", f"parent_link.{'requested' if link.status == 'pending' else link.status}",
                    {**_notice(link, via), "by": str(principal.user_id)}, zone_id=principal.zone_id, org_id=link.org_id)


async def _notify_new_link(s: AsyncSession, principal: Principal, link: LinkRow, parent_name: str, via: str) -> None:
    """A new link (pending, or approved by a code) is news for the student and the org's admins.
    The parent is named by display name, never by email: notification rows are stored in plain
    text, and no email or phone may sit unencrypted in tenant's tables (issue #17 §3)."""
    name = await queries.student_name(s, principal.zone_id, link.org_id, link.student_id)
    who = parent_name or "a parent"
    title = (f"{who} asked to be linked as a parent of {name or 'a student'}" if link.status == "pending" else
             f"{who} is now linked as a parent of {name or 'a student'} (school parent code)")
    admins = await notifications.org_admins(s, principal.zone_id, link.org_id)
    await notifications.notify(s, principal.zone_id, link.org_id, [link.student_user_id, *admins],
                               f"parent_link.{'requested' if link.status == 'pending' else 'approved'}", title,
                               _notice(link, via))


async def _grant_parent_role(s: AsyncSession, principal: Principal, org: uuid.UUID) -> bool:
    """Make the caller a parent member of the org (True) unless it is one already (False); a member
    with another role cannot become a parent here (409)."""
    role = await queries.member_role(s, principal.zone_id, org, principal.user_id)
    if role == "parent":
        return False
    if role is not None:
        raise AppError(409, "parent_link.role_conflict",
                       f"you are a {role} of this org; an org admin must change your role to parent")
    if await insert_member(s, principal.zone_id, org, principal.user_id, "parent") is None:
        return False  # a concurrent request of the same user made it a member first
    await add_event(s, "tenant", "member.added", {"user_id": str(principal.user_id), "org_id": str(org),
                                                  "role": "parent", "previous_role": None},
                    zone_id=principal.zone_id, org_id=org)
    await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                       target_type="membership", target_id=principal.user_id, action="tenant.member.added",
                       after={"user_id": str(principal.user_id), "role": "parent", "via": "parent_link"})
    return True


def _requesting_org(principal: Principal, org_id: uuid.UUID | None) -> uuid.UUID:
    """A guest names the org it asks in; a parent acts on the org of its token."""
    if principal.role == "guest":
        if org_id is None:
            raise AppError(403, "org.membership_required",
                           "this token is not bound to an org: name the org (org_id) you ask to be linked in")
        return org_id
    if principal.role != "parent":
        raise AppError(403, "parent_link.parent_only", "only parents (or signed-in users with no role) request links")
    return acting_org(principal, org_id)


async def request_link(res: Resources, principal: Principal, student_email: str | None = None,
                       parent_code: str | None = None, org_id: uuid.UUID | None = None) -> LinkRow:
    """`ask_for_link`, answering just the link."""
    return (await ask_for_link(res, principal, student_email, parent_code, org_id)).link


async def ask_for_link(res: Resources, principal: Principal, student_email: str | None = None,
                       parent_code: str | None = None, org_id: uuid.UUID | None = None) -> LinkRequested:
    """A parent or a guest asks to be linked to a student of an org, naming the student by email
    (the link starts `pending`) or presenting a school-issued parent code (the school's approval:
    the link starts `approved` and the code is spent). A guest becomes a parent member of the org
    in the same transaction (`member.added`); it signs in again to act as that parent. Failed
    attempts count towards `codes.AttemptGuard`; the student and the org admins are notified."""
    org = _requesting_org(principal, org_id)
    if (student_email is None) == (parent_code is None):
        raise AppError(422, "parent_link.one_of", "give either student_email or parent_code")
    guard = codes.AttemptGuard(res.redis, res.keys)
    await guard.check(principal.zone_id, org, principal.user_id)
    try:
        if parent_code is not None:
            return await _redeem_code(res, principal, org, parent_code)
        return await _request_by_email(res, principal, org, student_email or "")
    except AppError as err:
        if err.code in COUNTED_FAILURES:
            await guard.record_failure(principal.zone_id, org, principal.user_id)
        raise


async def _request_by_email(res: Resources, principal: Principal, org: uuid.UUID, student_email: str) -> LinkRequested:
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
    users = await lookup_users(res, principal.zone_id, emails=[student_email], user_ids=[principal.user_id])
    wanted = student_email.strip().lower()
    user = next((u for u in users if u.email.lower() == wanted), None)
    parent_name = next((u.display_name for u in users if u.id == principal.user_id), "")
    not_found = AppError(404, "parent_link.student_not_found", "no student with that email in this org")
    if user is None or user.id == principal.user_id:
        raise not_found
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        if not await queries.is_student_member(s, principal.zone_id, org, user.id):
            raise not_found
        granted = await _grant_parent_role(s, principal, org)
        student_id = await queries.roster_record_of(s, principal.zone_id, org, user.id,
                                                    tenant_pii(res.settings).index.email(user.email))
        link = await queries.insert_link(s, principal.zone_id, org, principal.user_id, user.id, student_id)
        if link is None:
            raise AppError(409, "parent_link.exists", "you already have a pending or approved link to this student")
        await _publish(s, principal, link, "email")
        await _notify_new_link(s, principal, link, parent_name, "email")
    return LinkRequested(link, granted)


async def _redeem_code(res: Resources, principal: Principal, org: uuid.UUID, code: str) -> LinkRequested:
    parents = await lookup_users(res, principal.zone_id, user_ids=[principal.user_id])
    parent_name = parents[0].display_name if parents else ""
    digest = codes.code_hash(res.settings.secret_key, code)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        found = await queries.lock_code(s, principal.zone_id, org, digest)
        if found is None:
            raise AppError(404, "parent_link.code_invalid", "no such parent code in this org")
        row, expired = found
        if row.used_at is not None:
            raise AppError(409, "parent_link.code_used", "this parent code has been used already")
        if expired:
            raise AppError(410, "parent_link.code_expired", "this parent code has expired; ask the school for a new one")
        student = await queries.live_student(s, principal.zone_id, org, row.student_id)
        if student is None:
            raise AppError(404, "parent_link.code_invalid", "the student of this code is no longer on the roster")
        if student.user_id is None:
            raise AppError(409, "parent_link.student_not_registered",
                           "the student has no account yet; the code stays valid until they join")
        if student.user_id == principal.user_id:
            raise AppError(404, "parent_link.code_invalid", "no such parent code in this org")
        granted = await _grant_parent_role(s, principal, org)
        current = await queries.open_link(s, principal.zone_id, org, principal.user_id, student.user_id)
        if current is not None and current.status == "approved":
            raise AppError(409, "parent_link.exists", "you are linked to this student already")
        if current is not None:  # a pending request by email: the code approves it
            link = await queries.set_link_status(s, principal.zone_id, org, current.id, "approved", row.created_by)
        else:
            made = await queries.insert_link(s, principal.zone_id, org, principal.user_id, student.user_id,
                                             student.id, approved_by=row.created_by)
            assert made is not None  # no open link exists (locked above)
            link = made
        await queries.use_code(s, principal.zone_id, org, row.id, principal.user_id, link.id)
        await _publish(s, principal, link, "parent_code")
        await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="parent_link", target_id=link.id, action="tenant.parent_link.approved",
                           before={"status": current.status if current else None},
                           after={"status": "approved", "via": "parent_code", "code_id": str(row.id),
                                  "code_issued_by": str(row.created_by), "parent_user_id": str(link.parent_user_id),
                                  "student_user_id": str(link.student_user_id)})
        await _notify_new_link(s, principal, link, parent_name, "parent_code")
    return LinkRequested(link, granted)


async def issue_code(res: Resources, principal: Principal, student_id: uuid.UUID, org_id: uuid.UUID | None,
                     valid_days: int) -> IssuedCode:
    """A teacher or org admin issues a one-time parent code for a live roster student; the code is
    returned this once (only its HMAC is kept). Publishes `parent_code.issued` (no code in it)."""
    if principal.role not in STAFF_ROLES:
        raise AppError(403, "parent_code.staff_only", "only teachers and admins issue parent codes")
    org = acting_org(principal, org_id)
    code = codes.new_code()
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org, active=True)
        if await queries.live_student(s, principal.zone_id, org, student_id) is None:
            raise AppError(404, "student.not_found", f"student {student_id} is not on your org's roster")
        row = await queries.insert_code(s, principal.zone_id, org, student_id,
                                        codes.code_hash(res.settings.secret_key, code), principal.user_id,
                                        dt.timedelta(days=valid_days))
        await add_event(s, "tenant", "parent_code.issued", {
            "code_id": str(row.id), "org_id": str(org), "student_id": str(student_id), "by": str(principal.user_id),
            "expires_at": row.expires_at.isoformat()}, zone_id=principal.zone_id, org_id=org)
    return IssuedCode(row, code)


async def children(res: Resources, principal: Principal, org_id: uuid.UUID | None) -> list[Child]:
    """The parent's approved-linked students with names: the roster record's name, grade and class,
    else (no roster record) the student's display name in auth, looked up after the transaction."""
    if principal.role != "parent":
        raise AppError(403, "parent_link.parent_only", "only parents have children here")
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        rows = await queries.children(s, principal.zone_id, org, principal.user_id)
    users = {u.id: u for u in await lookup_users(res, principal.zone_id, user_ids=[r.student_user_id for r in rows])} \
        if rows else {}
    out = []
    for r in rows:
        user = users.get(r.student_user_id)
        display = user.display_name if user is not None else ""
        out.append(Child(r, r.name or display or (user.email if user is not None else None), display or None))
    return out


async def list_links(res: Resources, principal: Principal, org_id: uuid.UUID | None,
                     status: str | None) -> list[LinkRow]:
    """The links the caller is part of (all of the org's for admins), newest first."""
    side = _side(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await ensure_org(s, principal.zone_id, org)
        return await queries.list_links(s, principal.zone_id, org, side, principal.user_id, status)


async def _transition(res: Resources, principal: Principal, link_id: uuid.UUID, org_id: uuid.UUID | None, *,
                      allowed_from: tuple[str, ...], to: str) -> LinkRow:
    """Move a link the caller takes part in; a decision (approved, rejected) notifies the parent."""
    side = _side(principal)
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        current = await queries.lock_link_status(s, principal.zone_id, org, link_id, side, principal.user_id)
        if current is None:
            raise AppError(404, "parent_link.not_found", f"link {link_id} does not exist or is not yours")
        if current not in allowed_from:
            code = "parent_link.not_pending" if to in DECISIONS else "parent_link.not_open"
            raise AppError(409, code, f"link is {current}; cannot become {to}")
        link = await queries.set_link_status(s, principal.zone_id, org, link_id, to, principal.user_id)
        await _publish(s, principal, link)
        await record_audit(s, schema="tenant", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="parent_link", target_id=link_id, action=f"tenant.parent_link.{to}",
                           before={"status": current}, after={"status": to, "parent_user_id": str(link.parent_user_id),
                                                              "student_user_id": str(link.student_user_id)})
        if to in DECISIONS:
            name = await queries.student_name(s, principal.zone_id, org, link.student_id)
            await notifications.notify(s, principal.zone_id, org, [link.parent_user_id], f"parent_link.{to}",
                                       f"Your link to {name or 'the student'} was {to}", _notice(link, "decision"))
    return link


def _no_parent_decisions(principal: Principal) -> None:
    if principal.role == "parent":
        raise AppError(403, "parent_link.parent_cannot_decide", "the student or an org admin decides on a link")


async def approve_link(res: Resources, principal: Principal, link_id: uuid.UUID,
                       org_id: uuid.UUID | None = None) -> LinkRow:
    """The student (or an org admin) approves a pending link."""
    _no_parent_decisions(principal)
    return await _transition(res, principal, link_id, org_id, allowed_from=("pending",), to="approved")


async def reject_link(res: Resources, principal: Principal, link_id: uuid.UUID,
                      org_id: uuid.UUID | None = None) -> LinkRow:
    """The student (or an org admin) rejects a pending link."""
    _no_parent_decisions(principal)
    return await _transition(res, principal, link_id, org_id, allowed_from=("pending",), to="rejected")


async def revoke_link(res: Resources, principal: Principal, link_id: uuid.UUID,
                      org_id: uuid.UUID | None = None) -> LinkRow:
    """Either side (or an org admin) ends a pending or approved link."""
    return await _transition(res, principal, link_id, org_id, allowed_from=("pending", "approved"), to="revoked")


async def check_parent_link(res: Resources, zone_id: int, org_id: uuid.UUID, parent_user_id: uuid.UUID,
                            student_id: uuid.UUID) -> LinkCheck:
    """The parent's most relevant link to the student (by user or roster id): an approved one if
    any, else the latest; ('', 'none') when there is none. For other services (exam reports)."""
    async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, org_id=org_id)) as s:
        link = await queries.most_relevant_link(s, zone_id, org_id, parent_user_id, student_id)
    if link is None:
        return LinkCheck(False, "", "none")
    return LinkCheck(link.status == "approved", str(link.id), link.status)
