"""Exams: draft -> published -> archived. A fixed exam is an ordered form of items from one
bank; an adaptive exam draws from a whole bank through the CAT engine with its CAT settings.
Drafts can be changed; a published exam is frozen (students take it); an archived one starts no
new attempts (running attempts may finish).

Teachers and org admins manage exams (`exam:create|update`); everyone with `exam:read` lists
them, students only published ones.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
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
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, is_staff, org_context
from services.exam.cat_settings import EXAMPLE as CAT_EXAMPLE
from services.exam.cat_settings import CatSettingsIn

router = APIRouter(prefix="/api/v1/exams", tags=["exams"])
# Newest first: ORDER BY created_at DESC, id DESC (megacity.pagination).
EXAMS_KEYSET = Keyset("exam.exams", created_at=dt.datetime, id=uuid.UUID)

EXAM_COLUMNS = ("id, title, description, kind, status, bank_id, item_ids, time_limit_seconds, cat_settings, scale_mean,"
                " scale_sd, class_id, max_attempts, created_by, created_at, updated_at, published_at, archived_at")
_BANK = "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
_IN_EXAMPLE = {"title": "Algebra placement (adaptive)", "description": "Finds your level in 10-25 items",
               "kind": "adaptive", "item_bank_id": _BANK, "time_limit_seconds": 2400, "cat_settings": CAT_EXAMPLE,
               "class_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
_FIXED_EXAMPLE = {"title": "Unit 3 quiz", "kind": "fixed", "item_bank_id": _BANK, "time_limit_seconds": 900,
                  "item_ids": ["8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "9f2a1b3c-4d5e-4f6a-8b7c-2d3e4f5a6b7c"]}
_OUT_EXAMPLE = {"id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876", **_IN_EXAMPLE, "status": "published", "item_ids": [],
                "item_count": 0, "scale_mean": 500.0, "scale_sd": 100.0, "max_attempts": None,
                "created_by": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d", "created_at": "2026-03-01T09:00:00Z",
                "updated_at": "2026-03-01T09:30:00Z", "published_at": "2026-03-01T09:30:00Z", "archived_at": None}
NOT_FOUND = problem_response(404, "exam.not_found", "No such exam in your org")
NOT_DRAFT = problem_response(409, "exam.not_draft", "Only a draft exam can be changed or published")
INVALID = problem_response(422, "exam.invalid", "The exam's fields are inconsistent",
                           "item_ids are for fixed exams; an adaptive exam draws from its whole bank")


class ExamFields(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    time_limit_seconds: int | None = Field(None, ge=10, le=86400, description="server-enforced; null = untimed")
    scale_mean: float = Field(500.0, ge=-10000, le=10000, allow_inf_nan=False,
                              description="scaled score = scale_mean + scale_sd * θ")
    scale_sd: float = Field(100.0, gt=0, le=10000, allow_inf_nan=False)
    class_id: uuid.UUID | None = Field(None, description="the class the exam is set for (reports group by it)")
    max_attempts: int | None = Field(None, ge=1, le=100, description="attempts per student; null = unlimited")


class ExamIn(ExamFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_IN_EXAMPLE, _FIXED_EXAMPLE]})

    kind: Literal["fixed", "adaptive"]
    item_bank_id: uuid.UUID
    item_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500,
                                      description="fixed exams: the form, in order")
    cat_settings: CatSettingsIn | None = Field(None, description="adaptive exams (defaults apply when omitted)")


class ExamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"time_limit_seconds": 1800}]})

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    time_limit_seconds: int | None = Field(None, ge=10, le=86400)
    scale_mean: float | None = Field(None, ge=-10000, le=10000, allow_inf_nan=False)
    scale_sd: float | None = Field(None, gt=0, le=10000, allow_inf_nan=False)
    class_id: uuid.UUID | None = None
    max_attempts: int | None = Field(None, ge=1, le=100)
    item_bank_id: uuid.UUID | None = None
    item_ids: list[uuid.UUID] | None = Field(None, max_length=500)
    cat_settings: CatSettingsIn | None = None


class ExamOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: uuid.UUID
    title: str
    description: str
    kind: Literal["fixed", "adaptive"]
    status: Literal["draft", "published", "archived"]
    item_bank_id: uuid.UUID
    item_ids: list[uuid.UUID] = Field(description="the fixed form (hidden from students)")
    item_count: int = Field(description="items on the fixed form; 0 for adaptive exams")
    time_limit_seconds: int | None
    cat_settings: CatSettingsIn | None
    scale_mean: float
    scale_sd: float
    class_id: uuid.UUID | None
    max_attempts: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    archived_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Any, *, for_student: bool = False) -> ExamOut:
        doc = dict(row._mapping)
        doc["item_bank_id"] = doc.pop("bank_id")
        ids = list(doc["item_ids"] or [])
        doc["item_count"] = len(ids)
        doc["item_ids"] = [] if for_student else ids
        return cls.model_validate(doc)


class ExamPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_OUT_EXAMPLE], "next_cursor": None}]})

    items: list[ExamOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def check_kind(kind: str, item_ids: list[uuid.UUID], cat: CatSettingsIn | None) -> None:
    if kind == "adaptive" and item_ids:
        raise ValueError("item_ids are for fixed exams; an adaptive exam draws from its whole bank")
    if kind == "fixed" and cat is not None:
        raise ValueError("cat_settings are for adaptive exams")
    if len(set(item_ids)) != len(item_ids):
        raise ValueError("item_ids must not repeat an item")


async def load_exam(s: AsyncSession, zone_id: int, org: uuid.UUID, exam_id: uuid.UUID, *, lock: str = "") -> Any:
    row = (await s.execute(text(f"SELECT {EXAM_COLUMNS} FROM exam.exams WHERE zone_id = :z AND org_id = :o AND id = :id"
                                + (f" FOR {lock}" if lock else "")), {"z": zone_id, "o": org, "id": exam_id})).first()
    if row is None:
        raise AppError(404, "exam.not_found", f"exam {exam_id} does not exist in your org")
    return row


async def _check_refs(s: AsyncSession, zone_id: int, org: uuid.UUID, bank_id: uuid.UUID, item_ids: list[uuid.UUID]) -> None:
    if (await s.execute(text("SELECT 1 FROM exam.item_banks WHERE zone_id = :z AND org_id = :o AND id = :b"),
                        {"z": zone_id, "o": org, "b": bank_id})).first() is None:
        raise AppError(422, "item_bank.not_found", f"item bank {bank_id} does not exist in your org")
    if item_ids:
        found = {r.id for r in (await s.execute(text(
            "SELECT id FROM exam.items WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND status = 'active'"
            " AND id = ANY(:ids)"), {"z": zone_id, "o": org, "b": bank_id, "ids": item_ids})).all()}
        missing = [str(i) for i in item_ids if i not in found]
        if missing:
            raise AppError(422, "exam.unknown_items", f"{len(missing)} item(s) are not active items of the bank",
                           {"item_ids": missing[:50]})


def _cat_json(cat: CatSettingsIn | None, kind: str) -> str | None:
    if kind != "adaptive":
        return None
    return (cat or CatSettingsIn()).model_dump_json()


@router.post("", status_code=201, response_model=ExamOut, summary="Create an exam (a draft)",
             responses={**ORG_SCOPE, **DENIED, **INVALID,
                        **problem_response(422, "item_bank.not_found", "The bank does not exist in your org"),
                        **problem_response(422, "exam.unknown_items", "Some item_ids are not active items of the bank")})
async def create_exam(body: ExamIn, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("exam:create")),
                      res: Resources = Depends(resources)) -> ExamOut:
    org = acting_org(principal, org_id)
    try:
        check_kind(body.kind, body.item_ids, body.cat_settings)
    except ValueError as exc:
        raise AppError(422, "exam.invalid", str(exc)) from None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await _check_refs(s, principal.zone_id, org, body.item_bank_id, body.item_ids)
        row = (await s.execute(text(
            "INSERT INTO exam.exams (zone_id, org_id, title, description, kind, bank_id, item_ids, time_limit_seconds,"
            " cat_settings, scale_mean, scale_sd, class_id, max_attempts, created_by)"
            " VALUES (:z, :o, :title, :description, :kind, :bank, :items, :limit, CAST(:cat AS jsonb), :mean, :sd,"
            f" :class_id, :max_attempts, :by) RETURNING {EXAM_COLUMNS}"),
            {"z": principal.zone_id, "o": org, "title": body.title, "description": body.description, "kind": body.kind,
             "bank": body.item_bank_id, "items": body.item_ids, "limit": body.time_limit_seconds,
             "cat": _cat_json(body.cat_settings, body.kind), "mean": body.scale_mean, "sd": body.scale_sd,
             "class_id": body.class_id, "max_attempts": body.max_attempts, "by": principal.user_id})).one()
    return ExamOut.from_row(row)


@router.get("", response_model=ExamPage, summary="Exams of your org, newest first (cursor pagination)",
            description="Students see published exams only.",
            responses={**ORG_SCOPE, **DENIED, **problem_response(400, "request.invalid_cursor", "Bad cursor")})
async def list_exams(status: Literal["draft", "published", "archived"] | None = None,
                     kind: Literal["fixed", "adaptive"] | None = None, class_id: uuid.UUID | None = None,
                     item_bank_id: uuid.UUID | None = None,
                     q: str | None = Query(None, max_length=200, description="substring of the title"),
                     cursor: str | None = None, limit: int = Query(20, ge=1, le=100),
                     org_id: uuid.UUID | None = ORG_ID, principal: Principal = Depends(require("exam:read")),
                     res: Resources = Depends(resources)) -> ExamPage:
    org = acting_org(principal, org_id)
    student_view = not is_staff(principal)
    if student_view:
        if status not in (None, "published"):
            return ExamPage(items=[], next_cursor=None)
        status = "published"
    after = EXAMS_KEYSET.decode(cursor, res.settings.secret_key)
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if q else None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = (await s.execute(text(
            f"SELECT {EXAM_COLUMNS} FROM exam.exams WHERE zone_id = :z AND org_id = :o"
            " AND (CAST(:status AS text) IS NULL OR status = :status)"
            " AND (CAST(:kind AS text) IS NULL OR kind = :kind)"
            " AND (CAST(:class_id AS uuid) IS NULL OR class_id = :class_id)"
            " AND (CAST(:bank AS uuid) IS NULL OR bank_id = :bank)"
            " AND (CAST(:like AS text) IS NULL OR title ILIKE :like)"
            " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
            " ORDER BY created_at DESC, id DESC LIMIT :limit"),
            {"z": principal.zone_id, "o": org, "status": status, "kind": kind, "class_id": class_id,
             "bank": item_bank_id, "like": like, "after_ts": after[0] if after else None,
             "after_id": after[1] if after else None, "limit": limit + 1})).all()
    page, nxt = EXAMS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ExamPage(items=[ExamOut.from_row(r, for_student=student_view) for r in page], next_cursor=nxt)


@router.get("/{exam_id}", response_model=ExamOut, summary="One exam", responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def get_exam(exam_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                   principal: Principal = Depends(require("exam:read")), res: Resources = Depends(resources)) -> ExamOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = await load_exam(s, principal.zone_id, org, exam_id)
    if not is_staff(principal) and row.status != "published":
        raise AppError(404, "exam.not_found", f"exam {exam_id} does not exist in your org")
    return ExamOut.from_row(row, for_student=not is_staff(principal))


@router.patch("/{exam_id}", response_model=ExamOut, summary="Change a draft exam",
              responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **NOT_DRAFT, **INVALID})
async def update_exam(exam_id: uuid.UUID, body: ExamPatch, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("exam:update")),
                      res: Resources = Depends(resources)) -> ExamOut:
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
        row = (await s.execute(text(
            "UPDATE exam.exams SET title = :title, description = coalesce(:description, ''),"
            " time_limit_seconds = :time_limit_seconds, scale_mean = :scale_mean, scale_sd = :scale_sd,"
            " class_id = :class_id, max_attempts = :max_attempts, bank_id = :bank, item_ids = :items,"
            " cat_settings = CAST(:cat AS jsonb), updated_at = now()"
            f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {EXAM_COLUMNS}"),
            {**merged, "bank": bank, "items": items, "cat": _cat_json(cat, cur.kind), "z": principal.zone_id,
             "o": org, "id": exam_id})).one()
    return ExamOut.from_row(row)


async def _publishable(s: AsyncSession, zone_id: int, org: uuid.UUID, exam: Any) -> None:
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
        areas = {r.content_area: r.n for r in (await s.execute(text(
            "SELECT content_area, count(*) AS n FROM exam.items WHERE zone_id = :z AND org_id = :o AND bank_id = :b"
            " AND status = 'active' GROUP BY content_area"), {"z": zone_id, "o": org, "b": exam.bank_id})).all()}
        if not areas:
            problems.append("the item bank has no active items")
        blueprint = (exam.cat_settings or {}).get("blueprint") or {}
        empty = sorted(a for a, share in blueprint.items() if share > 0 and a not in areas)
        if empty:
            problems.append(f"blueprint areas without active items: {', '.join(empty)}")
    if problems:
        raise AppError(422, "exam.not_publishable", "; ".join(problems), {"problems": problems})


async def _transition(exam_id: uuid.UUID, principal: Principal, res: Resources, org_id: uuid.UUID | None,
                      *, to: str) -> ExamOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        cur = await load_exam(s, principal.zone_id, org, exam_id, lock="UPDATE")
        if cur.status == to:
            return ExamOut.from_row(cur)  # idempotent
        if to == "published":
            if cur.status != "draft":
                raise AppError(409, "exam.not_draft", f"exam is {cur.status}; only drafts can be published")
            await _publishable(s, principal.zone_id, org, cur)
        stamp = "published_at" if to == "published" else "archived_at"
        row = (await s.execute(text(
            f"UPDATE exam.exams SET status = :to, {stamp} = now(), updated_at = now()"
            f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {EXAM_COLUMNS}"),
            {"to": to, "z": principal.zone_id, "o": org, "id": exam_id})).one()
        await add_event(s, "exam", f"exam.exam.{to}", {
            "exam_id": str(exam_id), "kind": row.kind, "title": row.title, "item_bank_id": str(row.bank_id),
            "class_id": str(row.class_id) if row.class_id else None}, zone_id=principal.zone_id, org_id=org)
    return ExamOut.from_row(row)


@router.post("/{exam_id}/publish", response_model=ExamOut, summary="Publish a draft (students can start it)",
             description="Checks the form (fixed) or the bank and blueprint (adaptive) first. "
                         "Publishes `exam.exam.published`.",
             responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **NOT_DRAFT,
                        **problem_response(422, "exam.not_publishable", "The exam cannot be taken as it is",
                                           "a fixed exam needs at least one item")})
async def publish_exam(exam_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("exam:update")),
                       res: Resources = Depends(resources)) -> ExamOut:
    return await _transition(exam_id, principal, res, org_id, to="published")


@router.post("/{exam_id}/archive", response_model=ExamOut, summary="Archive an exam (no new attempts)",
             description="Attempts in progress may still be finished. Publishes `exam.exam.archived`.",
             responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def archive_exam(exam_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(require("exam:update")),
                       res: Resources = Depends(resources)) -> ExamOut:
    return await _transition(exam_id, principal, res, org_id, to="archived")


def cat_settings_of(row: Any) -> CatSettingsIn:
    raw = row.cat_settings
    if isinstance(raw, str):
        raw = json.loads(raw)
    return CatSettingsIn.model_validate(raw or {})
