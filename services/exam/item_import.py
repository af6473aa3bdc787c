"""Bulk item import from CSV or .xlsx with a per-row error report.

Columns (header row, any order, case-insensitive): `code`, `stem`, `a` (required); `model`
(logistic|grm|gpcm, default logistic), `b`, `c`, `d`, `thresholds` (`-1;0;1`), `content_area`,
`options` (`A=text|B=text` or a JSON list of {key, text}), `answer_key`, `option_scores`
(`0=0|1=1|2=2` or a JSON object), `enemy_tags` (`tag1;tag2`). Rows are matched by `code`: a
new code creates an item, a known one updates it (and re-activates a retired one), an identical
one is left alone.

The file is read and every row validated before anything is written. Then, in one transaction:
the valid rows (mode `valid_rows`, the default) or nothing at all when any row is bad (mode
`all_or_nothing`), the import report with its errors, one bank version bump and one
`exam.item_bank.changed` event. A file-level problem (not CSV/xlsx, too big, missing or unknown
columns) is a 4xx and writes nothing.
"""
from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text

from megacity.auth.dependencies import require
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.runtime import Resources, resources
from services.exam.access import DENIED, ORG_ID, ORG_SCOPE, acting_org, org_context
from services.exam.item_banks import bump_version, lock_bank
from services.exam.item_fields import ItemFields, validation_errors

router = APIRouter(prefix="/api/v1/items/imports", tags=["item import"])

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_REPORTED_ERRORS = 1000
REQUIRED = ("code", "stem", "a")
KNOWN = (*REQUIRED, "model", "b", "c", "d", "thresholds", "content_area", "options", "answer_key", "option_scores",
         "enemy_tags")
_EXAMPLE = {"id": "2c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f", "bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
            "filename": "algebra.csv", "format": "csv", "mode": "valid_rows", "status": "completed", "total_rows": 3,
            "created_rows": 1, "updated_rows": 1, "unchanged_rows": 0, "error_rows": 1, "bank_version": 13,
            "created_at": "2026-03-01T09:00:00Z", "errors_truncated": False,
            "errors": [{"row": 4, "field": "b", "code": "item_import.not_a_number", "message": "b: 'hard' is not a number"}]}


class RowError(BaseModel):
    row: int = Field(description="1-based row number in the file (the header is row 1)")
    field: str = Field(description="column name, or empty for a rule across columns")
    code: str
    message: str


class ImportReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    bank_id: uuid.UUID
    filename: str
    format: Literal["csv", "xlsx"]
    mode: Literal["valid_rows", "all_or_nothing"]
    status: Literal["completed", "rejected"] = Field(description="rejected: nothing was written")
    total_rows: int
    created_rows: int
    updated_rows: int
    unchanged_rows: int = 0
    error_rows: int
    bank_version: int | None = Field(description="the bank version after the import (null when nothing changed)")
    created_at: dt.datetime
    errors: list[RowError]
    errors_truncated: bool = False


# ------------------------------------------------------------------------------------------------
# Reading the file


def _file_format(filename: str, head: bytes) -> Literal["csv", "xlsx"]:
    name = filename.lower()
    if head.startswith(b"PK\x03\x04"):
        if name.endswith(".csv"):
            raise AppError(415, "item_import.unsupported_format", "the file is a zip archive, not CSV")
        return "xlsx"
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        raise AppError(415, "item_import.unsupported_format", "the file is not an .xlsx workbook (save as Excel Workbook)")
    return "csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, fmt: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(row number, {column: text})]) with empty rows skipped."""
    if fmt == "csv":
        try:
            textual = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AppError(415, "item_import.unsupported_format", "CSV files must be UTF-8") from None
        try:
            raw_rows = list(csv.reader(io.StringIO(textual)))
        except csv.Error as exc:
            raise AppError(422, "item_import.unreadable", f"the CSV cannot be parsed: {exc}") from None
    else:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise AppError(415, "item_import.unsupported_format", f"the workbook cannot be read: {exc}") from None
        try:
            ws = wb.worksheets[0]
            raw_rows = []
            for values in ws.iter_rows(values_only=True):
                raw_rows.append([_cell(v) for v in values])
                if len(raw_rows) > MAX_ROWS + 1:
                    break
        finally:
            wb.close()
    if not raw_rows:
        raise AppError(422, "item_import.empty", "the file has no header row")
    header = [h.strip().lower() for h in raw_rows[0]]
    while header and not header[-1]:
        header.pop()
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise AppError(422, "item_import.missing_columns", f"missing required column(s): {', '.join(missing)}",
                       {"missing": missing})
    unknown = [h for h in header if h not in KNOWN]
    if unknown:
        raise AppError(422, "item_import.unknown_columns", f"unknown column(s): {', '.join(unknown)}; "
                       f"known: {', '.join(KNOWN)}", {"unknown": unknown})
    if len(set(header)) != len(header):
        raise AppError(422, "item_import.duplicate_columns", "a column appears twice in the header")
    rows = []
    for n, values in enumerate(raw_rows[1:], start=2):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        rows.append((n, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}))
    if len(rows) > MAX_ROWS:
        raise AppError(413, "item_import.too_many_rows", f"at most {MAX_ROWS} rows per import")
    if not rows:
        raise AppError(422, "item_import.empty", "the file has a header but no rows")
    return header, rows


# ------------------------------------------------------------------------------------------------
# One row -> ItemFields


def _split(value: str, seps: str = ";|") -> list[str]:
    for sep in seps:
        if sep in value:
            return [p.strip() for p in value.split(sep) if p.strip()]
    return [value.strip()] if value.strip() else []


def _pairs(value: str, field: str) -> list[tuple[str, str]]:
    out = []
    for part in value.split("|"):
        if not part.strip():
            continue
        key, sep, rest = part.partition("=")
        if not sep:
            raise ValueError(f"{field}: expected KEY=value parts separated by '|'")
        out.append((key.strip(), rest.strip()))
    return out


class _RowProblem(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


def _number(cells: dict[str, str], field: str) -> float | None:
    raw = cells.get(field, "")
    if raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise _RowProblem(field, "item_import.not_a_number", f"{field}: {raw!r} is not a number") from None


def row_to_fields(cells: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"code": cells.get("code", ""), "stem": cells.get("stem", ""),
                           "model": (cells.get("model") or "logistic").lower(),
                           "content_area": cells.get("content_area", "")}
    for field in ("a", "b", "c", "d"):
        value = _number(cells, field)
        if value is not None:
            doc[field] = value
    if cells.get("thresholds"):
        try:
            doc["thresholds"] = [float(x) for x in _split(cells["thresholds"], ";|,")]
        except ValueError:
            raise _RowProblem("thresholds", "item_import.not_a_number",
                              "thresholds: expected numbers separated by ';'") from None
    if cells.get("enemy_tags"):
        doc["enemy_tags"] = _split(cells["enemy_tags"], ";|,")
    if cells.get("answer_key"):
        doc["answer_key"] = cells["answer_key"]
    raw = cells.get("options", "")
    if raw:
        try:
            doc["options"] = json.loads(raw) if raw.lstrip().startswith("[") else \
                [{"key": k, "text": t} for k, t in _pairs(raw, "options")]
        except (ValueError, json.JSONDecodeError) as exc:
            raise _RowProblem("options", "item_import.bad_options", str(exc)) from None
    raw = cells.get("option_scores", "")
    if raw:
        try:
            doc["option_scores"] = json.loads(raw) if raw.lstrip().startswith("{") else \
                {k: int(v) for k, v in _pairs(raw, "option_scores")}
        except (ValueError, json.JSONDecodeError) as exc:
            raise _RowProblem("option_scores", "item_import.bad_option_scores", str(exc)) from None
    return doc


def validate_rows(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[tuple[int, ItemFields]], list[RowError]]:
    good: list[tuple[int, ItemFields]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for n, cells in rows:
        try:
            fields = ItemFields.model_validate(row_to_fields(cells))
        except _RowProblem as p:
            errors.append(RowError(row=n, field=p.field, code=p.code, message=p.message))
            continue
        except ValidationError as err:
            errors.extend(RowError(row=n, **e) for e in validation_errors(err))
            continue
        if fields.code in seen:
            errors.append(RowError(row=n, field="code", code="item_import.duplicate_code",
                                   message=f"code {fields.code!r} already appears on row {seen[fields.code]}"))
            continue
        seen[fields.code] = n
        good.append((n, fields))
    return good, errors


# ------------------------------------------------------------------------------------------------
# Writing

_UPSERT = """
INSERT INTO exam.items AS i (zone_id, org_id, bank_id, code, stem, options, answer_key, option_scores, content_area,
                             model, a, b, c, d, thresholds, max_score, enemy_tags, created_by)
SELECT :z, :o, :bank, r.code, r.stem, r.options, r.answer_key, r.option_scores, r.content_area, r.model, r.a, r.b,
       r.c, r.d, r.thresholds, r.max_score, r.enemy_tags, :by
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(code text, stem text, options jsonb, answer_key text,
     option_scores jsonb, content_area text, model text, a float8, b float8, c float8, d float8, thresholds float8[],
     max_score smallint, enemy_tags text[])
ON CONFLICT (zone_id, org_id, bank_id, code) DO UPDATE SET
    stem = EXCLUDED.stem, options = EXCLUDED.options, answer_key = EXCLUDED.answer_key,
    option_scores = EXCLUDED.option_scores, content_area = EXCLUDED.content_area, model = EXCLUDED.model,
    a = EXCLUDED.a, b = EXCLUDED.b, c = EXCLUDED.c, d = EXCLUDED.d, thresholds = EXCLUDED.thresholds,
    max_score = EXCLUDED.max_score, enemy_tags = EXCLUDED.enemy_tags, status = 'active',
    revision = i.revision + 1, updated_at = now()
WHERE (i.stem, i.options, i.answer_key, i.option_scores, i.content_area, i.model, i.a, i.b, i.c, i.d, i.thresholds,
       i.enemy_tags, i.status)
      IS DISTINCT FROM
      (EXCLUDED.stem, EXCLUDED.options, EXCLUDED.answer_key, EXCLUDED.option_scores, EXCLUDED.content_area,
       EXCLUDED.model, EXCLUDED.a, EXCLUDED.b, EXCLUDED.c, EXCLUDED.d, EXCLUDED.thresholds, EXCLUDED.enemy_tags,
       'active')
RETURNING i.id, (i.xmax = 0) AS inserted
"""


def _row_doc(fields: ItemFields) -> dict[str, Any]:
    p = fields.db_params()
    p["options"] = json.loads(p["options"])
    p["option_scores"] = json.loads(p["option_scores"]) if p["option_scores"] is not None else None
    return p


async def _report(s, zone_id: int, org: uuid.UUID, import_id: uuid.UUID) -> ImportReport:
    head = (await s.execute(text(
        "SELECT id, bank_id, filename, format, mode, status, total_rows, created_rows, updated_rows, error_rows,"
        " bank_version, created_at FROM exam.item_imports WHERE zone_id = :z AND org_id = :o AND id = :id"),
        {"z": zone_id, "o": org, "id": import_id})).first()
    if head is None:
        raise AppError(404, "item_import.not_found", f"import {import_id} does not exist in your org")
    errors = (await s.execute(text(
        "SELECT row_number AS row, field, code, message FROM exam.item_import_errors"
        " WHERE zone_id = :z AND org_id = :o AND import_id = :id ORDER BY n"),
        {"z": zone_id, "o": org, "id": import_id})).all()
    doc = dict(head._mapping)
    unchanged = doc["total_rows"] - doc["created_rows"] - doc["updated_rows"] - doc["error_rows"]
    return ImportReport(**doc, unchanged_rows=max(unchanged, 0) if doc["status"] == "completed" else 0,
                        errors=[RowError.model_validate(e._mapping) for e in errors],
                        errors_truncated=doc["error_rows"] > 0 and len(errors) >= MAX_REPORTED_ERRORS)


@router.post("", status_code=201, response_model=ImportReport, summary="Import items from CSV or .xlsx",
             description=__doc__,
             responses={**ORG_SCOPE, **DENIED,
                        **problem_response(413, "item_import.too_large", "The file is over 5 MB or 10,000 rows"),
                        **problem_response(415, "item_import.unsupported_format", "Not a UTF-8 CSV or an .xlsx"),
                        **problem_response(422, "item_import.missing_columns", "Required columns are missing",
                                           "missing required column(s): a"),
                        **problem_response(422, "item_bank.not_found", "The bank does not exist in your org")})
async def import_items(bank_id: uuid.UUID = Query(..., description="the bank the items go to"),
                       mode: Literal["valid_rows", "all_or_nothing"] = Query(
                           "valid_rows", description="valid_rows: import the good rows and report the bad ones; "
                                                     "all_or_nothing: any bad row rejects the whole file"),
                       file: UploadFile = File(..., description="CSV (UTF-8) or .xlsx, header row first"),
                       org_id: uuid.UUID | None = ORG_ID, principal: Principal = Depends(require("item:create")),
                       res: Resources = Depends(resources)) -> ImportReport:
    org = acting_org(principal, org_id)
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise AppError(413, "item_import.too_large", f"the file is over {MAX_BYTES // (1024 * 1024)} MB")
    filename = (file.filename or "upload")[:200]
    fmt = _file_format(filename, data[:4])
    _, rows = await asyncio.to_thread(read_rows, data, fmt)
    good, errors = await asyncio.to_thread(validate_rows, rows)
    error_rows = len({e.row for e in errors})
    write = bool(good) and not (errors and mode == "all_or_nothing")
    import_id = uuid.uuid4()
    created = updated = 0
    version: int | None = None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await lock_bank(s, principal.zone_id, org, bank_id, status=422)
        if write:
            changed = (await s.execute(text(_UPSERT), {
                "z": principal.zone_id, "o": org, "bank": bank_id, "by": principal.user_id,
                "rows": json.dumps([_row_doc(f) for _, f in good])})).all()
            created = sum(1 for r in changed if r.inserted)
            updated = len(changed) - created
            if changed:
                version = await bump_version(s, principal.zone_id, org, bank_id, "items.imported",
                                             [r.id for r in changed])
        await s.execute(text(
            "INSERT INTO exam.item_imports (id, zone_id, org_id, bank_id, filename, format, mode, status, total_rows,"
            " created_rows, updated_rows, error_rows, bank_version, created_by)"
            " VALUES (:id, :z, :o, :bank, :filename, :format, :mode, :status, :total, :created, :updated, :errors,"
            " :version, :by)"),
            {"id": import_id, "z": principal.zone_id, "o": org, "bank": bank_id, "filename": filename, "format": fmt,
             "mode": mode, "status": "completed" if write else "rejected", "total": len(rows), "created": created,
             "updated": updated, "errors": error_rows, "version": version, "by": principal.user_id})
        if errors:
            await s.execute(text(
                "INSERT INTO exam.item_import_errors (zone_id, org_id, import_id, n, row_number, field, code, message)"
                " SELECT :z, :o, :id, r.n, r.row, r.field, r.code, r.message FROM jsonb_to_recordset(CAST(:errs AS jsonb))"
                " AS r(n int, row int, field text, code text, message text)"),
                {"z": principal.zone_id, "o": org, "id": import_id, "errs": json.dumps(
                    [{"n": k, **e.model_dump()} for k, e in enumerate(errors[:MAX_REPORTED_ERRORS])])})
        return await _report(s, principal.zone_id, org, import_id)


@router.get("/{import_id}", response_model=ImportReport, summary="An import's report",
            responses={**ORG_SCOPE, **DENIED, **problem_response(404, "item_import.not_found", "No such import in your org")})
async def get_import(import_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                     principal: Principal = Depends(require("item:read")),
                     res: Resources = Depends(resources)) -> ImportReport:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _report(s, principal.zone_id, org, import_id)
