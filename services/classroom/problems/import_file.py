"""Reading a problem import (CSV or .xlsx) into validated problems, or into row errors. Pure
(no I/O but the bytes given), so the service runs it off the event loop.

The file: a header row naming the columns (any order, case-insensitive) — required `type`,
`difficulty`, `grade`, `prompt`, `answer`; optional `choices` ("|"-separated), `explanation`,
`read_aloud` (true/false, yes/no, 1/0, y/n, 예/아니오; empty: false), `time_limit_seconds`
(empty: the session's default), `class_id` (empty: shared). CSV is UTF-8, with or without a
BOM; an .xlsx is read from its first sheet. Empty rows are skipped. Each cell is checked as
`ProblemFields` checks a request, and every fault is reported as {row, column, code, detail}.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from megacity.request_text import is_storable
from services.classroom.problems.schemas import ImportRowError, ProblemFields

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_REPORTED = 50
# An .xlsx is a zip: what it unpacks to and the rows its sheet may hold (blank ones too) are
# bounded as well, so a small file cannot make the reader work without end.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_SHEET_ROWS = 10 * MAX_ROWS
REQUIRED = ("type", "difficulty", "grade", "prompt", "answer")
OPTIONAL = ("choices", "explanation", "read_aloud", "time_limit_seconds", "class_id")
COLUMNS = (*REQUIRED, *OPTIONAL)
_TRUE = {"true", "yes", "y", "1", "t", "o", "예", "네", "참"}
_FALSE = {"", "false", "no", "n", "0", "f", "x", "아니오", "아니요", "거짓"}
# pydantic error types -> the import's stable codes (ImportRowError.code).
_CODES = {"missing": "required", "string_too_short": "required", "string_too_long": "too_long",
          "greater_than_equal": "out_of_range", "less_than_equal": "out_of_range", "int_parsing": "not_a_number",
          "int_from_float": "not_a_number", "int_type": "not_a_number", "literal_error": "unknown_type",
          "uuid_parsing": "not_a_uuid", "uuid_type": "not_a_uuid", "bool_parsing": "not_a_boolean",
          "not_a_choice": "not_a_choice", "answer_too_long": "too_long", "answer_empty": "required"}


class FileRefused(Exception):
    """The file as a whole cannot be imported (its row-1 errors say why)."""

    def __init__(self, errors: list[ImportRowError]) -> None:
        super().__init__(errors[0].detail if errors else "the file cannot be imported")
        self.errors = errors


class TooLarge(Exception):
    """Over MAX_BYTES or MAX_ROWS."""


@dataclass(frozen=True)
class ReadFile:
    """What a file held: the valid problems (row number, fields) and the faults of the others."""

    problems: list[tuple[int, ProblemFields]]
    errors: list[ImportRowError]
    rows: int


def _refuse(code: str, detail: str, column: str = "", row: int = 1) -> FileRefused:
    return FileRefused([ImportRowError(row=row, column=column, code=code, detail=detail)])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        textual = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("not_utf8", f"a CSV file must be UTF-8 (byte {exc.start} is not)") from None
    try:
        return [[c.strip() for c in r] for r in csv.reader(io.StringIO(textual, newline=""))]
    except csv.Error as exc:
        raise _refuse("unreadable", f"the CSV cannot be parsed: {exc}") from None


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _refuse("unreadable", f"the workbook cannot be read: {exc}") from None
    if unpacked > MAX_UNPACKED_BYTES:  # a zip bomb, or a workbook far beyond MAX_ROWS rows
        raise TooLarge()
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise _refuse("unreadable", f"the workbook cannot be read: {exc}") from None
    try:
        if not wb.worksheets:
            raise _refuse("no_rows", "the workbook has no sheet")
        rows: list[list[str]] = []
        for values in wb.worksheets[0].iter_rows(values_only=True):
            rows.append([_cell(v) for v in values])
            if len(rows) > MAX_SHEET_ROWS or (len(rows) > MAX_ROWS + 1 and any(rows[-1])):
                raise TooLarge()
        return rows
    finally:
        wb.close()


def _header(raw: list[str]) -> list[str]:
    header = [h.strip().lower() for h in raw]
    while header and not header[-1]:
        header.pop()
    errors = [ImportRowError(row=1, column=c, code="missing_column", detail=f"the column {c!r} is required")
              for c in REQUIRED if c not in header]
    errors += [ImportRowError(row=1, column=h, code="unknown_column",
                              detail=(f"unknown column {h!r}" if h else f"column {i + 1} has no name")
                              + f"; known: {', '.join(COLUMNS)}")
               for i, h in enumerate(header) if h not in COLUMNS]
    errors += [ImportRowError(row=1, column=h, code="duplicate_column", detail=f"the column {h!r} appears twice")
               for i, h in enumerate(header) if h and h in header[:i]]
    if errors:
        raise FileRefused(errors)
    return header


def _row_doc(cells: dict[str, str]) -> tuple[dict[str, Any], list[ImportRowError]]:
    """The ProblemFields input of one row; faults pydantic would not word well."""
    faults: list[ImportRowError] = []
    doc: dict[str, Any] = {name: cells.get(name, "") for name in REQUIRED}
    doc["type"] = doc["type"].lower()
    doc["explanation"] = cells.get("explanation", "")
    choices = cells.get("choices", "")
    doc["choices"] = [c.strip() for c in choices.split("|")] if choices.strip() else None
    flag = cells.get("read_aloud", "").strip().casefold()
    if flag in _TRUE or flag in _FALSE:
        doc["read_aloud"] = flag in _TRUE
    else:
        faults.append(ImportRowError(row=0, column="read_aloud", code="not_a_boolean",
                                     detail=f"read_aloud {flag!r} is not true/false (yes/no, 1/0)"))
    for optional in ("time_limit_seconds", "class_id"):
        doc[optional] = cells.get(optional) or None
    return doc, faults


def _validation_errors(n: int, err: ValidationError) -> list[ImportRowError]:
    out = []
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ())]
        column = loc[0] if loc else "answer"
        code = _CODES.get(e["type"], "invalid")
        if column == "choices" and len(loc) == 1 and e["type"] in ("too_short", "too_long"):
            code = "too_few_choices" if e["type"] == "too_short" else "too_many_choices"
        where = f"{column}[{int(loc[1]) + 1}]" if column == "choices" and len(loc) > 1 else column
        out.append(ImportRowError(row=n, column=column, code=code, detail=f"{where}: {e['msg']}"))
    return out


def validate_row(n: int, cells: dict[str, str]) -> tuple[ProblemFields | None, list[ImportRowError]]:
    bad = [c for c, v in cells.items() if not is_storable(v)]
    if bad:
        return None, [ImportRowError(row=n, column=c, code="unstorable",
                                     detail=f"{c}: NUL characters and unpaired surrogates are not text") for c in bad]
    doc, faults = _row_doc(cells)
    faults = [f.model_copy(update={"row": n}) for f in faults]
    try:
        fields = ProblemFields.model_validate(doc)
    except ValidationError as err:
        return None, faults + _validation_errors(n, err)
    return (None if faults else fields), faults


def read_file(data: bytes, filename: str = "") -> ReadFile:
    """Every row of the file, validated. Raises FileRefused (header faults, unreadable, no rows)
    and TooLarge (over MAX_BYTES or MAX_ROWS data rows)."""
    if len(data) > MAX_BYTES:
        raise TooLarge()
    xlsx = data.startswith(b"PK\x03\x04")
    if not xlsx and filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise _refuse("unreadable", "the file is not an .xlsx workbook (save it as an Excel Workbook or as CSV UTF-8)")
    raw = _xlsx_rows(data) if xlsx else _csv_rows(data)
    if not raw or not any(raw[0]):
        raise _refuse("no_rows", "the file has no header row")
    header = _header(raw[0])
    body = [(n, cells) for n, cells in enumerate(raw[1:], start=2) if any(cells)]
    if len(body) > MAX_ROWS:
        raise TooLarge()
    if not body:
        raise _refuse("no_rows", "the file has a header but no rows", row=2)
    problems: list[tuple[int, ProblemFields]] = []
    errors: list[ImportRowError] = []
    for n, values in body:
        extra = [v for v in values[len(header):] if v]
        if extra:
            errors.append(ImportRowError(row=n, column="", code="invalid",
                                         detail=f"the row has {len(header) + len(extra)}+ cells, the header "
                                                f"{len(header)}"))
            continue
        cells = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
        fields, faults = validate_row(n, cells)
        errors.extend(faults)
        if fields is not None:
            problems.append((n, fields))
    return ReadFile(problems=problems, errors=errors, rows=len(body))
