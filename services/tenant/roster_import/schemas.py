"""Request/response models of /api/v1/rosters/imports."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_IMPORT_ID = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": _IMPORT_ID, "org_id": "1f0e2d3c-4b5a-4968-8776-655443322110",
    "created_by": "0c8f7a56-2d4e-4b1a-9f3c-5e6d7a8b9c0d", "filename": "roster-2026.xlsx", "size_bytes": 183422,
    "status": "succeeded", "total_rows": 5000, "processed_rows": 5000, "created_count": 4890, "updated_count": 0,
    "restored_count": 10, "unchanged_count": 0, "error_count": 100, "error": None,
    "created_at": "2026-03-01T09:00:00Z", "started_at": "2026-03-01T09:00:00Z",
    "finished_at": "2026-03-01T09:00:03Z"}


class ImportAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": _IMPORT_ID, "job_id": _IMPORT_ID, "status": "queued", "total_rows": 5000,
        "progress_url": f"/api/v1/jobs/{_IMPORT_ID}/progress", "detail_url": f"/api/v1/rosters/imports/{_IMPORT_ID}",
        "columns": ["name", "grade", "parent_phone", "class"], "ignored_columns": ["memo"]}]})

    id: uuid.UUID
    job_id: uuid.UUID
    status: str
    total_rows: int | None
    progress_url: str
    detail_url: str
    columns: list[str]
    ignored_columns: list[str]


class RowError(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int
    column: str
    reason: str


class ImportSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    filename: str
    size_bytes: int
    status: str
    total_rows: int | None
    processed_rows: int
    created_count: int
    updated_count: int
    restored_count: int
    unchanged_count: int
    error_count: int
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ImportDetail(ImportSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_SUMMARY_EXAMPLE, "errors": [{"row": 17, "column": "parent_phone",
                                        "reason": "must be a phone number of 7 to 15 digits"},
                                       {"row": 42, "column": "grade", "reason": "must be a whole number from 1 to 20"}],
        "errors_total": 100}]})

    errors: list[RowError]
    errors_total: int


class ImportList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_SUMMARY_EXAMPLE]}]})

    items: list[ImportSummary]


class ProvisionIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reissue": False}, {"reissue": True}]})

    reissue: bool = Field(default=False, description="new activation codes for accounts this provisioning made "
                                                     "before (their old codes stop working); e.g. a lost sheet")


class ProvisionAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "import_id": _IMPORT_ID, "status": "queued",
        "total_students": 4890, "progress_url": "/api/v1/jobs/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d/progress",
        "sheet_url": f"/api/v1/rosters/imports/{_IMPORT_ID}/activation-sheet"}]})

    job_id: uuid.UUID
    import_id: uuid.UUID
    status: str
    total_students: int
    progress_url: str
    sheet_url: str
