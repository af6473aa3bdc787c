"""Reading an uploaded table — CSV (UTF-8, with or without a BOM) or the first sheet of an .xlsx —
into a header and numbered rows of text cells, with the limits every import needs, so each
importer only validates its own columns.

Bounded work: the file's bytes, its data rows, and for an .xlsx (a zip) what it unpacks to and
the rows its sheet may hold (blank ones too), so a small file cannot make the reader work
without end. Faults of the file as a whole raise `Unreadable` (a stable code and a sentence) or
`TooLarge`; the importer turns them into its own row-1 errors and 413.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 2 * 1024 * 1024
    max_rows: int = 2000
    max_unpacked_bytes: int = 64 * 1024 * 1024

    @property
    def max_sheet_rows(self) -> int:
        return 10 * self.max_rows


class Unreadable(Exception):
    """The file as a whole cannot be read: `code` (not_utf8, unreadable, no_rows) and why; `row`
    is where (1: the header)."""

    def __init__(self, code: str, detail: str, row: int = 1) -> None:
        super().__init__(detail)
        self.code, self.detail, self.row = code, detail, row


class TooLarge(Exception):
    """Over the byte, row or unpacked-size limit."""


@dataclass(frozen=True)
class Table:
    """The header (lower-cased, trailing blanks dropped) and the non-empty rows with their
    1-based row numbers in the file (the header is row 1)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class CellFault:
    column: str
    code: str
    detail: str


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person typed: 3.0 -> "3", TRUE -> "true"."""
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
        raise Unreadable("not_utf8", f"a CSV file must be UTF-8 (byte {exc.start} is not)") from None
    try:
        return [[c.strip() for c in r] for r in csv.reader(io.StringIO(textual, newline=""))]
    except csv.Error as exc:
        raise Unreadable("unreadable", f"the CSV cannot be parsed: {exc}") from None


def _xlsx_rows(data: bytes, limits: Limits) -> list[list[str]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable("unreadable", f"the workbook cannot be read: {exc}") from None
    if unpacked > limits.max_unpacked_bytes:  # a zip bomb, or a workbook far beyond max_rows
        raise TooLarge()
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise Unreadable("unreadable", f"the workbook cannot be read: {exc}") from None
    try:
        if not wb.worksheets:
            raise Unreadable("no_rows", "the workbook has no sheet")
        rows: list[list[str]] = []
        for values in wb.worksheets[0].iter_rows(values_only=True):
            rows.append([cell_text(v) for v in values])
            if len(rows) > limits.max_sheet_rows or (len(rows) > limits.max_rows + 1 and any(rows[-1])):
                raise TooLarge()
        return rows
    finally:
        wb.close()


def read_table(data: bytes, filename: str = "", limits: Limits = Limits()) -> Table:
    """The file's header and non-empty rows. An .xlsx is recognised by its bytes (a zip); a file
    named .xlsx that is not one is refused rather than read as CSV."""
    if len(data) > limits.max_bytes:
        raise TooLarge()
    xlsx = data.startswith(b"PK\x03\x04")
    if not xlsx and filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise Unreadable("unreadable", "the file is not an .xlsx workbook (save it as an Excel Workbook or as CSV "
                                       "UTF-8)")
    raw = _xlsx_rows(data, limits) if xlsx else _csv_rows(data)
    if not raw or not any(raw[0]):
        raise Unreadable("no_rows", "the file has no header row")
    header = [h.strip().lower() for h in raw[0]]
    while header and not header[-1]:
        header.pop()
    rows = [(n, cells) for n, cells in enumerate(raw[1:], start=2) if any(cells)]
    if len(rows) > limits.max_rows:
        raise TooLarge()
    if not rows:
        raise Unreadable("no_rows", "the file has a header but no rows", row=2)
    return Table(header, rows)


def header_faults(header: Sequence[str], required: Sequence[str], known: Sequence[str]) -> list[CellFault]:
    """Missing required columns, unknown or unnamed columns, and columns named twice."""
    faults = [CellFault(c, "missing_column", f"the column {c!r} is required") for c in required if c not in header]
    faults += [CellFault(h, "unknown_column", (f"unknown column {h!r}" if h else f"column {i + 1} has no name")
                         + f"; known: {', '.join(known)}")
               for i, h in enumerate(header) if h not in known]
    faults += [CellFault(h, "duplicate_column", f"the column {h!r} appears twice")
               for i, h in enumerate(header) if h and h in header[:i]]
    return faults


def row_cells(header: Sequence[str], values: Sequence[str]) -> dict[str, str] | CellFault:
    """One row's cells by column name, or a fault when it has more cells than the header."""
    extra = [v for v in values[len(header):] if v]
    if extra:
        return CellFault("", "invalid", f"the row has {len(header) + len(extra)}+ cells, the header {len(header)}")
    return {h: (values[i] if i < len(values) else "") for i, h in enumerate(header) if h}
