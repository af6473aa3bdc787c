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

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from megacity import table_file
from megacity.request_text import is_storable
from services.classroom.problems.schemas import ImportRowError, ProblemFields

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_REPORTED = 50
# Bytes, data rows, and what an .xlsx may unpack to (megacity.table_file).
LIMITS = table_file.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
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
    try:
        table = table_file.read_table(data, filename, LIMITS)
    except table_file.Unreadable as exc:
        raise _refuse(exc.code, exc.detail, row=exc.row) from None
    except table_file.TooLarge:
        raise TooLarge() from None
    faults = table_file.header_faults(table.header, REQUIRED, COLUMNS)
    if faults:
        raise FileRefused([ImportRowError(row=1, column=f.column, code=f.code, detail=f.detail) for f in faults])
    problems: list[tuple[int, ProblemFields]] = []
    errors: list[ImportRowError] = []
    for n, values in table.rows:
        cells = table_file.row_cells(table.header, values)
        if isinstance(cells, table_file.CellFault):
            errors.append(ImportRowError(row=n, column=cells.column, code=cells.code, detail=cells.detail))
            continue
        fields, row_faults = validate_row(n, cells)
        errors.extend(row_faults)
        if fields is not None:
            problems.append((n, fields))
    return ReadFile(problems=problems, errors=errors, rows=len(table.rows))
