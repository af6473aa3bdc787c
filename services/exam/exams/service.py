"""Exams: draft -> published -> archived. A fixed exam is an ordered form of items from one
bank; an adaptive exam draws from a whole bank through the CAT engine with its CAT settings.
Drafts can be changed; a published exam is frozen (students take it); an archived one starts no
new attempts (running attempts may finish). Publishing and archiving queue
`exam.exam.published` / `exam.exam.archived` in the outbox.

Teachers and org admins manage exams (`exam:create|update`); everyone with `exam:read` lists
them, students only published ones (and never a fixed exam's form).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.exam.cat_settings import CatSettingsIn
from services.exam.exam_store import ExamRow, exam_not_found, load_exam
from services.exam.exams import queries
from services.exam.exams.schemas import ExamIn, ExamPatch

# Newest first: ORDER BY created_at DESC, id DESC (megacity.pagination).
EXAMS_KEYSET = Keyset("exam.exams", created_at=dt.datetime, id=uuid.UUID)


@dataclass(frozen=True)
class ExamView:
    exam: ExamRow
    for_student: bool = False  # hide the fixed form


@dataclass(frozen=True)
class ExamFilter:
    status: Literal["draft", "published", "archived"] | None = None
    kind: Literal["fixed", "adaptive"] | None = None
    class_id: uuid.UUID | None = None
    item_bank_id: uuid.UUID | None = None
    q: str | None = None


@dataclass(frozen=True)
class ExamListing:
    items: list[ExamRow]
    next_cursor: str | None
    for_student: bool


def check_kind(kind: str, item_ids: list[uuid.UUID], cat: CatSettingsIn | None) -> None:
    if kind == "adaptive" and item_ids:
        raise ValueError("item_ids are for fixed exams; an adaptive exam draws from its whole bank")
    if kind == "fixed" and cat is not None:
        raise ValueError("cat_settings are for adaptive exams")
    if len(set(item_ids)) != len(item_ids):
        raise ValueError("item_ids must not repeat an item")


async def _check_refs(s: AsyncSession, zone_id: int, org: uuid.UUID, bank_id: uuid.UUID,
                      item_ids: list[uuid.UUID]) -> None:
    if not await queries.bank_exists(s, zone_id, org, bank_id):
        raise AppError(422, "item_bank.not_found", f"item bank {bank_id} does not exist in your org")
    if item_ids:
        found = await queries.active_item_ids(s, zone_id, org, bank_id, item_ids)
        missing = [str(i) for i in item_ids if i not in found]
        if missing:
            raise AppError(422, "exam.unknown_items", f"{len(missing)} item(s) are not active items of the bank",
                           {"item_ids": missing[:50]})


def _cat_json(cat: CatSettingsIn | None, kind: str) -> str | None:
    if kind != "adaptive":
        return None
    return (cat or CatSettingsIn()).model_dump_json()


async def create_exam(res: Resources, principal: Principal, body: ExamIn, org_id: uuid.UUID | None = None) -> ExamRow:
    """A new draft."""
    org = acting_org(principal, org_id)
    try:
        check_kind(body.kind, body.item_ids, body.cat_settings)
    except ValueError as exc:
        raise AppError(422, "exam.invalid", str(exc)) from None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await _check_refs(s, principal.zone_id, org, body.item_bank_id, body.item_ids)
        return await queries.insert_exam(s, principal.zone_id, org, {
            "title": body.title, "description": body.description, "kind": body.kind, "bank": body.item_bank_id,
            "items": body.item_ids, "limit": body.time_limit_seconds, "cat": _cat_json(body.cat_settings, body.kind),
            "mean": body.scale_mean, "sd": body.scale_sd, "class_id": body.class_id,
            "max_attempts": body.max_attempts, "by": principal.user_id})


async def list_exams(res: Resources, principal: Principal, where: ExamFilter, *, cursor: str | None, limit: int,
                     org_id: uuid.UUID | None = None) -> ExamListing:
    """Newest first; students see published exams only (another status: an empty page)."""
    org = acting_org(principal, org_id)
    student_view = not is_staff(principal)
    status = where.status
    if student_view:
        if status not in (None, "published"):
            return ExamListing(items=[], next_cursor=None, for_student=True)
        status = "published"
    after = EXAMS_KEYSET.decode(cursor, res.settings.secret_key)
    q = where.q
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if q else None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.list_exams(s, principal.zone_id, org, status=status, kind=where.kind,
                                        class_id=where.class_id, bank_id=where.item_bank_id, like=like, after=after,
                                        limit=limit + 1)
    page, nxt = EXAMS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ExamListing(items=list(page), next_cursor=nxt, for_student=student_view)


async def get_exam(res: Resources, principal: Principal, exam_id: uuid.UUID,
                   org_id: uuid.UUID | None = None) -> ExamView:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = await load_exam(s, principal.zone_id, org, exam_id)
    if not is_staff(principal) and row.status != "published":
        raise exam_not_found(exam_id)
    return ExamView(row, for_student=not is_staff(principal))


async def update_exam(res: Resources, principal: Principal, exam_id: uuid.UUID, body: ExamPatch,
                      org_id: uuid.UUID | None = None) -> ExamRow:
    """Change a draft; the merged exam must be consistent."""
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        cur = await load_exam(s, principal.zone_id, org, exam_id, lock="UPDATE")
        if cur.status != "draft":
            raise AppError(409, "exam.not_draft", f"exam is {cur.status}; only drafts can be changed")
        bank = changes.get("item_bank_id") or cur.bank_id
        items = body.item_ids if "item_ids" in changes and body.item_ids is not None else list(cur.item_ids or [])
        cat = body.cat_settings if "cat_settings" in changes else (
            CatSettingsIn.model_validate(cur.cat_settings) if cur.cat_settings else None)
        try:
            check_kind(cur.kind, items, cat if cur.kind == "fixed" else None)
        except ValueError as exc:
            raise AppError(422, "exam.invalid", str(exc)) from None
        await _check_refs(s, principal.zone_id, org, bank, items)
        merged = {k: changes.get(k, getattr(cur, k)) for k in (
            "title", "description", "time_limit_seconds", "scale_mean", "scale_sd", "class_id", "max_attempts")}
        for k in ("title", "scale_mean", "scale_sd"):
            if merged[k] is None:
                raise AppError(422, "exam.invalid", f"{k} cannot be null")
        return await queries.update_exam(s, principal.zone_id, org, exam_id, {
            **merged, "bank": bank, "items": items, "cat": _cat_json(cat, cur.kind)})


async def _publishable(s: AsyncSession, zone_id: int, org: uuid.UUID, exam: ExamRow) -> None:
    problems: list[str] = []
    if exam.kind == "fixed":
        if not exam.item_ids:
            problems.append("a fixed exam needs at least one item")
        else:
            try:
                await _check_refs(s, zone_id, org, exam.bank_id, list(exam.item_ids))
            except AppError as err:
                problems.append(err.detail)
    else:
        areas = await queries.active_items_by_area(s, zone_id, org, exam.bank_id)
        if not areas:
            problems.append("the item bank has no active items")
        blueprint = (exam.cat_settings or {}).get("blueprint") or {}
        empty = sorted(a for a, share in blueprint.items() if share > 0 and a not in areas)
        if empty:
            problems.append(f"blueprint areas without active items: {', '.join(empty)}")
    if problems:
        raise AppError(422, "exam.not_publishable", "; ".join(problems), {"problems": problems})


async def _transition(res: Resources, principal: Principal, exam_id: uuid.UUID, org_id: uuid.UUID | None,
                      *, to: Literal["published", "archived"]) -> ExamRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        cur = await load_exam(s, principal.zone_id, org, exam_id, lock="UPDATE")
        if cur.status == to:
            return cur  # idempotent
        if to == "published":
            if cur.status != "draft":
                raise AppError(409, "exam.not_draft", f"exam is {cur.status}; only drafts can be published")
            await _publishable(s, principal.zone_id, org, cur)
        row = await queries.set_status(s, principal.zone_id, org, exam_id, to)
        await add_event(s, "exam", f"exam.exam.{to}", {
            "exam_id": str(exam_id), "kind": row.kind, "title": row.title, "item_bank_id": str(row.bank_id),
            "class_id": str(row.class_id) if row.class_id else None}, zone_id=principal.zone_id, org_id=org)
        await record_audit(s, schema="exam", actor=principal, zone_id=principal.zone_id, org_id=org, target_type="exam",
                           target_id=exam_id, action=f"exam.exam.{to}", before={"status": cur.status},
                           after={"status": to, "title": row.title, "kind": row.kind})
    return row


async def publish_exam(res: Resources, principal: Principal, exam_id: uuid.UUID,
                       org_id: uuid.UUID | None = None) -> ExamRow:
    """Check the form (fixed) or the bank and blueprint (adaptive), then publish (idempotent)."""
    return await _transition(res, principal, exam_id, org_id, to="published")


async def archive_exam(res: Resources, principal: Principal, exam_id: uuid.UUID,
                       org_id: uuid.UUID | None = None) -> ExamRow:
    """No new attempts; running ones may finish (idempotent)."""
    return await _transition(res, principal, exam_id, org_id, to="archived")
