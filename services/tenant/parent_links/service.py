"""The rules of parent–student links.

States: pending -> approved | rejected (the student or an org admin decides; never the parent);
pending | approved -> revoked (the parent, the student or an org admin). At most one open
(pending or approved) link per parent and student; closed links stay as history. A caller acts
only on links it is part of (admins: all of the org's); others' links are 404.
Publishes `parent_link.requested|approved|rejected|revoked`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.roles import ADMIN_ROLES
from megacity.runtime import Resources
from services.tenant.access import ensure_org
from services.tenant.parent_links import queries
from services.tenant.parent_links.queries import LinkRow, LinkSide
from services.tenant.users_client import user_by_email

DECISIONS = ("approved", "rejected")


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


async def _publish(s: AsyncSession, principal: Principal, link: LinkRow) -> None:
    await add_event(s, "tenant", f"parent_link.{'requested' if link.status == 'pending' else link.status}", {
        "link_id": str(link.id), "org_id": str(link.org_id), "parent_user_id": str(link.parent_user_id),
        "student_user_id": str(link.student_user_id), "student_id": str(link.student_id) if link.student_id else None,
        "status": link.status, "by": str(principal.user_id)}, zone_id=principal.zone_id, org_id=link.org_id)


async def request_link(res: Resources, principal: Principal, student_email: str) -> LinkRow:
    """A parent asks to be linked to a student member of its org, found by email in auth
    (looked up before the transaction). The link starts `pending`."""
    if principal.role != "parent":
        raise AppError(403, "parent_link.parent_only", "only parents request links to students")
    org = acting_org(principal, None)
    user = await user_by_email(res, principal.zone_id, student_email)
    not_found = AppError(404, "parent_link.student_not_found", "no student with that email in your org")
    if user is None or user.id == principal.user_id:
        raise not_found
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        if not await queries.is_student_member(s, principal.zone_id, org, user.id):
            raise not_found
        student_id = await queries.roster_record_of(s, principal.zone_id, org, user.id, user.email)
        link = await queries.insert_link(s, principal.zone_id, org, principal.user_id, user.id, student_id)
        if link is None:
            raise AppError(409, "parent_link.exists", "you already have a pending or approved link to this student")
        await _publish(s, principal, link)
    return link


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
