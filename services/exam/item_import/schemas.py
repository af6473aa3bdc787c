"""Response model of the item import endpoints (the upload is a multipart file)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from megacity.http_app import problem_response

_EXAMPLE: dict[str, Any] = {"id": "2c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f", "bank_id": "5d7c1e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
            "filename": "algebra.csv", "format": "csv", "mode": "valid_rows", "status": "completed", "total_rows": 3,
            "created_rows": 1, "updated_rows": 1, "unchanged_rows": 0, "error_rows": 1, "bank_version": 13,
            "created_at": "2026-03-01T09:00:00Z", "errors_truncated": False,
            "errors": [{"row": 4, "field": "b", "code": "item_import.not_a_number", "message": "b: 'hard' is not a number"}]}
# Every file-level refusal (nothing is written).
FILE_REFUSED = (
    problem_response(413, "item_import.too_large", "The file is over 5 MB or 10,000 rows"),
    (413, "item_import.too_many_rows", "More than 10,000 rows"),
    problem_response(415, "item_import.unsupported_format", "Not a UTF-8 CSV or an .xlsx"),
    problem_response(422, "item_import.missing_columns", "Required columns are missing",
                     "missing required column(s): a"),
    (422, "item_import.unknown_columns", "Columns that are not item fields"),
    (422, "item_import.duplicate_columns", "A column appears twice in the header"),
    (422, "item_import.empty", "No header row, or a header and no rows"),
    (422, "item_import.unreadable", "The CSV cannot be parsed"),
    problem_response(422, "item_bank.not_found", "The bank does not exist in your org"),
)
NOT_FOUND = problem_response(404, "item_import.not_found", "No such import in your org")


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
