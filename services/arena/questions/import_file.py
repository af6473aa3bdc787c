"""Reading a question import (CSV or .xlsx) into validated questions, or into row errors. Pure
(no I/O but the bytes given), so the service runs it off the event loop.

The file: a header row naming the columns (any order, case-insensitive) — required `type`
(mc, short, free) and `content`; optional `answer`, `choices` and `aliases` ("|"-separated),
`rubric`, `explanation`, `difficulty` (1..5, empty: 3) and `categories` ("|"-separated category
ids, names or paths such as "Physics/Electrostatics"). CSV is UTF-8, with or without a BOM; an
.xlsx is read from its first sheet. Empty rows are skipped. Each row is checked as a request
body is (`QuestionFields`), and every fault is reported as {row, column, code, detail}.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from megacity import table_file
from megacity.request_text import is_storable
from services.arena.questions.schemas import ImportRowReport, QuestionFields

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_REPORTED = 100
# Bytes, data rows, and what an .xlsx may unpack to (megacity.table_file).
LIMITS = table_file.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
REQUIRED = ("type", "content")
OPTIONAL = ("answer", "choices", "aliases", "rubric", "explanation", "difficulty", "categories")
COLUMNS = (*REQUIRED, *OPTIONAL)
_LISTS = ("choices", "aliases")
_CODES = {"missing": "required", "string_too_short": "required", "string_too_long": "too_long",
          "greater_than_equal": "out_of_range", "less_than_equal": "out_of_range", "int_parsing": "not_a_number",
          "int_from_float": "not_a_number", "literal_error": "unknown_type", "too_short": "too_few",
          "too_long": "too_many", "not_a_choice": "not_a_choice", "choices_required": "choices_required",
          "choices_forbidden": "choices_forbidden", "answer_required": "answer_required",
          "rubric_required": "rubric_required"}


class FileRefused(Exception):
    """The file as a whole cannot be imported (its row-1 errors say why)."""

    def __init__(self, errors: list[ImportRowReport]) -> None:
        super().__init__(errors[0].detail if errors else "the file cannot be imported")
        self.errors = errors


class TooLarge(Exception):
    """Over MAX_BYTES or MAX_ROWS."""


@dataclass(frozen=True)
class ReadRow:
    row: int
    fields: QuestionFields
    category_refs: list[str]


@dataclass(frozen=True)
class ReadFile:
    questions: list[ReadRow]
    errors: list[ImportRowReport]
    rows: int


def error(row: int, column: str, code: str, detail: str) -> ImportRowReport:
    return ImportRowReport(row=row, column=column, code=code, detail=detail)


def _refuse(code: str, detail: str, column: str = "", row: int = 1) -> FileRefused:
    return FileRefused([error(row, column, code, detail)])


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _doc(cells: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": cells.get("type", "").lower(), "content": cells.get("content", "")}
    for name in ("answer", "rubric", "explanation"):
        doc[name] = cells.get(name, "")
    doc["choices"] = _split(cells.get("choices", "")) or None
    doc["aliases"] = _split(cells.get("aliases", ""))
    if cells.get("difficulty"):
        doc["difficulty"] = cells["difficulty"]
    return doc


def _validation_errors(n: int, err: ValidationError) -> list[ImportRowReport]:
    out = []
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ())]
        column = loc[0] if loc else ""
        code = _CODES.get(e["type"], "invalid")
        where = f"{column}[{int(loc[1]) + 1}]" if column in _LISTS and len(loc) > 1 else column or "row"
        out.append(error(n, column, code, f"{where}: {e['msg']}"))
    return out


def validate_row(n: int, cells: dict[str, str]) -> tuple[ReadRow | None, list[ImportRowReport]]:
    bad = [c for c, v in cells.items() if not is_storable(v)]
    if bad:
        return None, [error(n, c, "unstorable", f"{c}: NUL characters and unpaired surrogates are not text")
                      for c in bad]
    try:
        fields = QuestionFields.model_validate(_doc(cells))
    except ValidationError as err:
        return None, _validation_errors(n, err)
    return ReadRow(n, fields, _split(cells.get("categories", ""))), []


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
        raise FileRefused([error(1, f.column, f.code, f.detail) for f in faults])
    questions: list[ReadRow] = []
    errors: list[ImportRowReport] = []
    for n, values in table.rows:
        cells = table_file.row_cells(table.header, values)
        if isinstance(cells, table_file.CellFault):
            errors.append(error(n, cells.column, cells.code, cells.detail))
            continue
        read, row_faults = validate_row(n, cells)
        errors.extend(row_faults)
        if read is not None:
            questions.append(read)
    return ReadFile(questions=questions, errors=errors, rows=len(table.rows))
