"""Item CRUD. Teachers author items (`item:create|read|update`); an item is never deleted, only
retired (`DELETE` = retire), because responses and frozen bank versions refer to it. Every
change bumps the bank version and announces it (`item_banks.bump_version`)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import Keyset
from megacity.runtime import Resources, resources
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, org_context
from services.exam.item_banks import bump_version, lock_bank
from services.exam.item_fields import ITEM_EXAMPLE, ItemFields, ItemOption, validation_errors

router = APIRouter(prefix="/api/v1/items", tags=["items"])
# Newest first: ORDER BY created_at DESC, id DESC (megacity.pagination).
ITEMS_KEYSET = Keyset("exam.items", created_at=dt.datetime, id=uuid.UUID)

ITEM_COLUMNS = ("id, bank_id, code, stem, options, answer_key, option_scores, content_area, model, a, b, c, d,"
                " thresholds, max_score, enemy_tags, status, revision, created_at, updated_at")
_OUT_EXAMPLE = {"id": "8e1f0a2b-3c4d-4e5f-9a0b-1c2d3e4f5a6b", "bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                **ITEM_EXAMPLE, "thresholds": [], "option_scores": None, "max_score": 1, "status": "active",
                "revision": 1, "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z"}
NOT_FOUND = problem_response(404, "item.not_found", "No such item in your org")
CODE_EXISTS = problem_response(409, "item.code_exists", "An item with this code exists in the bank")
INVALID = problem_response(422, "item.invalid", "The item's fields are inconsistent",
                           "logistic items need b")


class ItemIn(ItemFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", **ITEM_EXAMPLE}]})

    bank_id: uuid.UUID


class ItemPatch(BaseModel):
    """Any subset of the item's fields; the result must be a valid item as a whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"b": 0.15, "c": 0.18}]})

    code: str | None = None
    stem: str | None = None
    options: list[ItemOption] | None = None
    answer_key: str | None = None
    option_scores: dict[str, int] | None = None
    content_area: str | None = None
    model: Literal["logistic", "grm", "gpcm"] | None = None
    a: float | None = None
    b: float | None = None
    c: float | None = None
    d: float | None = None
    thresholds: list[float] | None = None
    enemy_tags: list[str] | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: uuid.UUID
    bank_id: uuid.UUID
    code: str
    stem: str
    options: list[ItemOption]
    answer_key: str | None
    option_scores: dict[str, int] | None
    content_area: str
    model: str
    a: float
    b: float | None
    c: float
    d: float
    thresholds: list[float]
    max_score: int
    enemy_tags: list[str]
    status: Literal["active", "retired"]
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> ItemOut:
        doc = dict(row._mapping)
        doc["thresholds"] = list(doc["thresholds"] or [])
        return cls.model_validate(doc)


class ItemPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_OUT_EXAMPLE], "next_cursor": None}]})

    items: list[ItemOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def _invalid(err: ValidationError) -> AppError:
    errors = validation_errors(err)
    return AppError(422, "item.invalid", errors[0]["message"] if errors else "invalid item", {"errors": errors})


async def _one(s, zone_id: int, org: uuid.UUID, item_id: uuid.UUID, *, lock: bool = False):
    row = (await s.execute(text(
        f"SELECT {ITEM_COLUMNS} FROM exam.items WHERE zone_id = :z AND org_id = :o AND id = :id"
        + (" FOR UPDATE" if lock else "")), {"z": zone_id, "o": org, "id": item_id})).first()
    if row is None:
        raise AppError(404, "item.not_found", f"item {item_id} does not exist in your org")
    return row


async def _locked(s, zone_id: int, org: uuid.UUID, item_id: uuid.UUID):
    """The item, locked for a change. Lock order is always bank, then items (as the import
    does), so a change and an import of the same bank never deadlock."""
    bank_id = (await _one(s, zone_id, org, item_id)).bank_id
    await lock_bank(s, zone_id, org, bank_id)
    return await _one(s, zone_id, org, item_id, lock=True)


@router.post("", status_code=201, response_model=ItemOut, summary="Create an item in a bank",
             description="Bumps the bank version and publishes `exam.item_bank.changed`.",
             responses={**ORG_SCOPE, **DENIED, **CODE_EXISTS,
                        **problem_response(422, "item_bank.not_found", "The bank does not exist in your org")})
async def create_item(body: ItemIn, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("item:create")),
                      res: Resources = Depends(resources)) -> ItemOut:
    org = acting_org(principal, org_id)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            await lock_bank(s, principal.zone_id, org, body.bank_id, status=422)
            row = (await s.execute(text(
                "INSERT INTO exam.items (zone_id, org_id, bank_id, code, stem, options, answer_key, option_scores,"
                " content_area, model, a, b, c, d, thresholds, max_score, enemy_tags, created_by)"
                " VALUES (:z, :o, :bank, :code, :stem, CAST(:options AS jsonb), :answer_key,"
                " CAST(:option_scores AS jsonb), :content_area, :model, :a, :b, :c, :d, :thresholds, :max_score,"
                f" :enemy_tags, :by) RETURNING {ITEM_COLUMNS}"),
                {"z": principal.zone_id, "o": org, "bank": body.bank_id, "by": principal.user_id,
                 **body.db_params()})).one()
            await bump_version(s, principal.zone_id, org, body.bank_id, "item.created", [row.id])
    except IntegrityError:
        raise AppError(409, "item.code_exists", f"an item with code {body.code!r} exists in this bank") from None
    return ItemOut.from_row(row)


@router.get("", response_model=ItemPage, summary="Items of your org (newest first)",
            responses={**ORG_SCOPE, **DENIED, **problem_response(400, "request.invalid_cursor", "Bad cursor")})
async def list_items(bank_id: uuid.UUID | None = None, content_area: str | None = Query(None, max_length=64),
                     status: Literal["active", "retired"] | None = "active",
                     q: str | None = Query(None, max_length=200, description="substring of code or stem"),
                     cursor: str | None = None, limit: int = Query(50, ge=1, le=500),
                     org_id: uuid.UUID | None = ORG_ID, principal: Principal = Depends(require("item:read")),
                     res: Resources = Depends(resources)) -> ItemPage:
    org = acting_org(principal, org_id)
    after = ITEMS_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = (await s.execute(text(
            f"SELECT {ITEM_COLUMNS} FROM exam.items WHERE zone_id = :z AND org_id = :o"
            " AND (CAST(:bank AS uuid) IS NULL OR bank_id = :bank)"
            " AND (CAST(:area AS text) IS NULL OR content_area = :area)"
            " AND (CAST(:status AS text) IS NULL OR status = :status)"
            " AND (CAST(:q AS text) IS NULL OR code ILIKE :like OR stem ILIKE :like)"
            " AND (CAST(:after_ts AS timestamptz) IS NULL OR (created_at, id) < (:after_ts, :after_id))"
            " ORDER BY created_at DESC, id DESC LIMIT :limit"),
            {"z": principal.zone_id, "o": org, "bank": bank_id, "area": content_area, "status": status, "q": q,
             "like": f"%{_escape_like(q)}%" if q else None, "after_ts": after[0] if after else None,
             "after_id": after[1] if after else None, "limit": limit + 1})).all()
    page, nxt = ITEMS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ItemPage(items=[ItemOut.from_row(r) for r in page], next_cursor=nxt)


def _escape_like(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("/{item_id}", response_model=ItemOut, summary="One item (with its key and IRT parameters)",
            responses={**ORG_SCOPE, **DENIED, **NOT_FOUND})
async def get_item(item_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                   principal: Principal = Depends(require("item:read")), res: Resources = Depends(resources)) -> ItemOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return ItemOut.from_row(await _one(s, principal.zone_id, org, item_id))


@router.patch("/{item_id}", response_model=ItemOut, summary="Change an item",
              description="The merged item must be valid as a whole. Bumps the item's revision and the bank version.",
              responses={**ORG_SCOPE, **DENIED, **NOT_FOUND, **CODE_EXISTS, **INVALID})
async def update_item(item_id: uuid.UUID, body: ItemPatch, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("item:update")),
                      res: Resources = Depends(resources)) -> ItemOut:
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            current = await _locked(s, principal.zone_id, org, item_id)
            merged = ItemOut.from_row(current).model_dump(include=set(ItemFields.model_fields))
            merged.update(changes)
            try:
                fields = ItemFields.model_validate(merged)
            except ValidationError as err:
                raise _invalid(err) from None
            if fields.model_dump() == ItemFields.model_validate(
                    ItemOut.from_row(current).model_dump(include=set(ItemFields.model_fields))).model_dump():
                return ItemOut.from_row(current)  # nothing changed: no new version
            row = (await s.execute(text(
                "UPDATE exam.items SET code = :code, stem = :stem, options = CAST(:options AS jsonb),"
                " answer_key = :answer_key, option_scores = CAST(:option_scores AS jsonb), content_area = :content_area,"
                " model = :model, a = :a, b = :b, c = :c, d = :d, thresholds = :thresholds, max_score = :max_score,"
                " enemy_tags = :enemy_tags, revision = revision + 1, updated_at = now()"
                f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {ITEM_COLUMNS}"),
                {"z": principal.zone_id, "o": org, "id": item_id, **fields.db_params()})).one()
            await bump_version(s, principal.zone_id, org, current.bank_id, "item.updated", [item_id])
    except IntegrityError:
        raise AppError(409, "item.code_exists", "an item with that code exists in this bank") from None
    return ItemOut.from_row(row)


@router.delete("/{item_id}", response_model=ItemOut, summary="Retire an item",
               description="Retired items are never given again; past responses keep referring to them. "
                           "An item on a published fixed-form exam cannot be retired.",
               responses={**ORG_SCOPE, **DENIED, **NOT_FOUND,
                          **problem_response(409, "item.in_use", "The item is on a published fixed-form exam")})
async def retire_item(item_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                      principal: Principal = Depends(require("item:update")),
                      res: Resources = Depends(resources)) -> ItemOut:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        current = await _locked(s, principal.zone_id, org, item_id)
        if current.status == "retired":
            return ItemOut.from_row(current)
        in_use = (await s.execute(text(
            "SELECT id FROM exam.exams WHERE zone_id = :z AND org_id = :o AND status = 'published' AND kind = 'fixed'"
            " AND :id = ANY(item_ids) LIMIT 1"), {"z": principal.zone_id, "o": org, "id": item_id})).first()
        if in_use is not None:
            raise AppError(409, "item.in_use", f"item is on published exam {in_use.id}; archive the exam first")
        row = (await s.execute(text(
            "UPDATE exam.items SET status = 'retired', revision = revision + 1, updated_at = now()"
            f" WHERE zone_id = :z AND org_id = :o AND id = :id RETURNING {ITEM_COLUMNS}"),
            {"z": principal.zone_id, "o": org, "id": item_id})).one()
        await bump_version(s, principal.zone_id, org, current.bank_id, "item.retired", [item_id])
    return ItemOut.from_row(row)
