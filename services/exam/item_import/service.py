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
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.exam.bank_versions import bump_version, lock_bank
from services.exam.item_fields import ItemFields, validation_errors
from services.exam.item_import import queries
from services.exam.item_import.queries import ImportHead, NewImport
from services.exam.item_import.schemas import RowError

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_REPORTED_ERRORS = 1000
REQUIRED = ("code", "stem", "a")
KNOWN = (*REQUIRED, "model", "b", "c", "d", "thresholds", "content_area", "options", "answer_key", "option_scores",
         "enemy_tags")
Mode = Literal["valid_rows", "all_or_nothing"]


@dataclass(frozen=True)
class ImportResult:
    """An import as reported: its head row, its (first 1000) row errors, and whether there were more."""

    head: ImportHead
    errors: list[RowError]
    unchanged_rows: int
    errors_truncated: bool


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
            for sheet_row in ws.iter_rows(values_only=True):
                raw_rows.append([_cell(v) for v in sheet_row])
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


def _row_doc(fields: ItemFields) -> dict[str, Any]:
    p = fields.db_params()
    p["options"] = json.loads(p["options"])
    p["option_scores"] = json.loads(p["option_scores"]) if p["option_scores"] is not None else None
    return p


def _result(head: ImportHead, errors: list[RowError]) -> ImportResult:
    unchanged = head.total_rows - head.created_rows - head.updated_rows - head.error_rows
    return ImportResult(head=head, errors=errors,
                        unchanged_rows=max(unchanged, 0) if head.status == "completed" else 0,
                        errors_truncated=head.error_rows > 0 and len(errors) >= MAX_REPORTED_ERRORS)


async def import_items(res: Resources, principal: Principal, bank_id: uuid.UUID, *, filename: str, data: bytes,
                       mode: Mode = "valid_rows", org_id: uuid.UUID | None = None) -> ImportResult:
    """Read and validate the whole file (off the event loop), then write in one transaction: the
    good rows (or none, see `mode`), the report with its errors, one bank version bump and one
    `exam.item_bank.changed`. `data` is at most MAX_BYTES (413 otherwise)."""
    org = acting_org(principal, org_id)
    if len(data) > MAX_BYTES:
        raise AppError(413, "item_import.too_large", f"the file is over {MAX_BYTES // (1024 * 1024)} MB")
    filename = filename[:200]
    fmt = _file_format(filename, data[:4])
    _, rows = await asyncio.to_thread(read_rows, data, fmt)
    good, errors = await asyncio.to_thread(validate_rows, rows)
    write = bool(good) and not (errors and mode == "all_or_nothing")
    import_id = uuid.uuid4()
    created = updated = 0
    version: int | None = None
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        await lock_bank(s, principal.zone_id, org, bank_id, status=422)
        if write:
            changed = await queries.upsert_items(s, principal.zone_id, org, bank_id, principal.user_id,
                                                 [_row_doc(f) for _, f in good])
            created = sum(1 for r in changed if r.inserted)
            updated = len(changed) - created
            if changed:
                version = await bump_version(s, principal.zone_id, org, bank_id, "items.imported",
                                             [r.id for r in changed], actor=principal)
        await queries.insert_import(s, principal.zone_id, org, NewImport(
            id=import_id, bank_id=bank_id, filename=filename, format=fmt, mode=mode,
            status="completed" if write else "rejected", total_rows=len(rows), created_rows=created,
            updated_rows=updated, error_rows=len({e.row for e in errors}), bank_version=version,
            created_by=principal.user_id), [e.model_dump() for e in errors[:MAX_REPORTED_ERRORS]])
        return await _report(s, principal.zone_id, org, import_id)


async def _report(s: AsyncSession, zone_id: int, org: uuid.UUID, import_id: uuid.UUID) -> ImportResult:
    head = await queries.import_head(s, zone_id, org, import_id)
    if head is None:
        raise AppError(404, "item_import.not_found", f"import {import_id} does not exist in your org")
    errors = [RowError(**e) for e in await queries.import_errors(s, zone_id, org, import_id)]
    return _result(head, errors)


async def get_import(res: Resources, principal: Principal, import_id: uuid.UUID,
                     org_id: uuid.UUID | None = None) -> ImportResult:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await _report(s, principal.zone_id, org, import_id)
