"""Reading a roster workbook: check that an upload is a real .xlsx with the required columns
(before anything is written), then stream its rows in chunks with openpyxl's read-only mode and
the shared-strings table on disk, so memory stays flat however long the sheet is.

Columns (first row, case-insensitive; English or Korean headers): `name`, `grade` and
`parent_phone` are required; `class`, `email` and `parent_email` are optional. Other columns are ignored.
"""
from __future__ import annotations

import contextlib
import mmap
import re
import tempfile
import zipfile
from array import array
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from megacity.errors import AppError

REQUIRED = ("name", "grade", "parent_phone")
OPTIONAL = ("class", "email", "parent_email")
ALIASES = {
    "name": {"name", "student", "student name", "student_name", "이름", "학생", "학생명", "학생 이름", "성명"},
    "grade": {"grade", "학년"},
    "parent_phone": {"parent_phone", "parent phone", "parent mobile", "guardian phone", "학부모 전화",
                     "학부모 전화번호", "학부모 연락처", "보호자 연락처", "보호자 전화번호"},
    "class": {"class", "class_name", "class name", "반", "학급"},
    "email": {"email", "e-mail", "student email", "이메일"},
    "parent_email": {"parent_email", "parent email", "parent e-mail", "guardian email", "학부모 이메일",
                     "보호자 이메일"},
}
_HEADER_LOOKUP = {alias: col for col, aliases in ALIASES.items() for alias in aliases}
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024  # zip-bomb guard
MAX_ROWS = 100_000


@dataclass(frozen=True)
class WorkbookInfo:
    """What the pre-check learnt: the sheet, where each known column is, and the row estimate."""

    sheet: str
    columns: dict[str, int]  # column name -> 0-based index in the row
    total_rows: int | None  # data rows (from the sheet's dimension; None when the file has none)
    ignored_headers: list[str] = field(default_factory=list)


class DiskStringTable:
    """openpyxl's shared-strings table (every distinct text of the workbook, which openpyxl keeps
    as one Python list) spilled to an anonymous temp file: 8 bytes of offset per string stay in
    memory, the text is read back through mmap when a cell refers to it. With it, reading a
    50,000-row roster takes about the memory of reading a 5,000-row one."""

    def __init__(self, xml_source: Any) -> None:
        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse

        tag = f"{{{SHEET_MAIN_NS}}}si"
        self._file = tempfile.TemporaryFile()  # buffered: the writes below are not syscalls each
        self._offsets = array("q", [0])
        root = None
        for event, node in iterparse(xml_source, events=("start", "end")):
            if root is None:
                root = node
            if event == "end" and node.tag == tag:  # the same text openpyxl's read_string_table yields
                # Serialisable.from_tree always returns an instance; types-openpyxl says `Self | None`.
                data = Text.from_tree(node).content.replace("x005F_", "").encode()  # type: ignore[union-attr]
                root.clear()  # drop the finished <si> from the tree
                self._file.write(data)
                self._offsets.append(self._offsets[-1] + len(data))
        self._file.flush()
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if self._offsets[-1] else None

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = self._offsets[index], self._offsets[index + 1]
        return self._map[start:end].decode() if self._map is not None and end > start else ""

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self._file.close()


def open_workbook(path: Path) -> tuple[Any, DiskStringTable | None]:
    """openpyxl read-only (values, not formulas), with the shared strings on disk and worksheets
    that only look at the XML before `<sheetData>` for their size (openpyxl's own parses the whole
    sheet into a tree when the file gives no `<dimension>`, as many writers do). Close both."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    class _Sheet(ReadOnlyWorksheet):
        _min_column: int | None
        _min_row: int | None
        _max_column: int | None
        _max_row: int | None

        def _get_size(self) -> None:
            # _get_source is private openpyxl API that types-openpyxl leaves out.
            with self._get_source() as src:  # type: ignore[attr-defined]
                for _, element in iterparse(src, events=("start",)):
                    if element.tag == f"{{{SHEET_MAIN_NS}}}dimension" and element.get("ref"):
                        with contextlib.suppress(ValueError, TypeError):
                            bounds = SheetDimension(ref=element.get("ref")).boundaries
                            self._min_column, self._min_row, self._max_column, self._max_row = bounds
                        return
                    if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                        return

    class _Reader(ExcelReader):
        table: DiskStringTable | None = None

        def read_strings(self) -> None:
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    # types-openpyxl says list[str]; openpyxl only indexes it (ReadOnlyWorksheet takes
                    # any SupportsGetItem[int, str]).
                    self.table = self.shared_strings = DiskStringTable(src)  # type: ignore[assignment]

        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    ws = _Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                    # As openpyxl's own ExcelReader.read_worksheets does; types-openpyxl types
                    # ChildSheet.state as optional and leaves the private Workbook._sheets out.
                    ws.sheet_state = sheet.state  # type: ignore[assignment]
                    self.wb._sheets.append(ws)  # type: ignore[attr-defined]

    reader = _Reader(path, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        if reader.table is not None:
            reader.table.close()
        raise
    return reader.wb, reader.table


def _header_key(value: Any) -> str:
    return " ".join(str(value).replace("_", " ").split()).lower() if value is not None else ""


def _map_headers(header: tuple[Any, ...]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored = []
    for index, value in enumerate(header):
        key = _header_key(value)
        col = _HEADER_LOOKUP.get(key) or _HEADER_LOOKUP.get(key.replace(" ", "_"))
        if col and col not in columns:
            columns[col] = index
        elif key:
            ignored.append(str(value))
    return columns, ignored


def _not_xlsx(detail: str) -> AppError:
    return AppError(415, "roster_import.not_xlsx", detail)


def inspect_workbook(path: Path) -> WorkbookInfo:
    """Raise a 4xx AppError unless `path` is an .xlsx workbook whose first sheet has the required
    header columns and at least one data row. Reads the zip directory, the header and one row."""
    if path.stat().st_size == 0:
        raise AppError(400, "roster_import.empty_file", "the uploaded file is empty")
    if not zipfile.is_zipfile(path):
        raise _not_xlsx("the file is not an .xlsx workbook (not a zip archive); save it as Excel Workbook (.xlsx)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            uncompressed = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_xlsx(f"the file is not a readable zip archive: {exc}") from None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _not_xlsx("the zip archive is not an Excel workbook (no xl/workbook.xml)")
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise AppError(413, "roster_import.too_large", "the workbook expands to more than 256 MB")
    try:
        wb, strings = open_workbook(path)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise AppError(422, "roster_import.unreadable", f"the workbook cannot be read: {type(exc).__name__}") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise AppError(422, "roster_import.no_sheet", "the workbook has no worksheet")
        rows = sheet_rows(wb, ws.title)
        try:
            header_row = next(rows, None)
            first = next(rows, None)
        except Exception as exc:  # noqa: BLE001
            raise AppError(422, "roster_import.unreadable",
                           f"the worksheet cannot be read: {type(exc).__name__}") from None
        finally:
            rows.close()
        header = None
        if header_row is not None and header_row[0] == 1:
            cells = header_row[1]
            header = tuple(cells.get(i) for i in range(1, max(cells, default=0) + 1))
        if header is None:
            raise AppError(422, "roster_import.missing_columns", "the first row of the first sheet is empty; it must "
                           f"name the columns {', '.join(REQUIRED)}", {"missing": list(REQUIRED)})
        columns, ignored = _map_headers(header)
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise AppError(422, "roster_import.missing_columns",
                           f"the first row lacks the required column(s): {', '.join(missing)}",
                           {"missing": missing, "found": [str(h) for h in header if h is not None][:50]})
        if first is None:
            raise AppError(422, "roster_import.no_rows", "the sheet has a header but no data rows")
        counted = count_rows(path, ws._worksheet_path)
        total = counted - 1 if counted else ((ws.max_row - 1) if ws.max_row else None)
        if total is not None and total > MAX_ROWS:
            raise AppError(413, "roster_import.too_many_rows", f"at most {MAX_ROWS} rows per import (got {total})")
        return WorkbookInfo(sheet=ws.title, columns=columns, total_rows=total, ignored_headers=ignored)
    finally:
        wb.close()
        if strings is not None:
            strings.close()


def count_rows(path: Path, member: str) -> int:
    """Rows in a sheet, counted by streaming its XML for `<row` elements (cheap: no parsing), since
    many writers leave out or misstate the sheet's dimension. 0 when none are found."""
    count, tail = 0, b""
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as xml:
        while block := xml.read(1 << 16):
            data = tail + block
            count += data.count(b"<row ") + data.count(b"<row>")
            tail = data[-4:]
    return count


@dataclass
class RawRow:
    number: int  # the row number in the sheet (header = 1), as Excel shows it
    values: dict[str, Any]


@dataclass
class Chunk:
    rows: list[RawRow]
    consumed: int  # sheet rows read so far, blank ones included (what progress counts)
    last: bool  # the sheet is exhausted


_LETTERS = re.compile(r"^[A-Z]+")


def _column_of(ref: str, cache: dict[str, int]) -> int:
    """1-based column of a cell reference (`C12` -> 3)."""
    letters = _LETTERS.match(ref)
    key = letters.group(0) if letters else ""
    col = cache.get(key)
    if col is None:
        col = 0
        for ch in key:
            col = col * 26 + ord(ch) - 64
        cache[key] = col
    return col


def sheet_rows(wb: Any, sheet: str, columns: set[int] | None = None) -> Generator[tuple[int, dict[int, Any]], None, None]:
    """(row number, {1-based column: value}) for every row element of a read-only sheet, with
    only `columns` parsed when given.

    openpyxl's own read-only iteration clears each parsed row but leaves the empty element under
    `<sheetData>`, so its memory still grows with the row count; this drives openpyxl's cell
    parser (same values, dates and shared strings) and drops each row once it is read.
    """
    from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    ws = wb[sheet]
    data_tag = f"{{{SHEET_MAIN_NS}}}sheetData"
    cache: dict[str, int] = {}
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                                 date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        sheet_data = None
        number = 0
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if element.tag == data_tag:
                    sheet_data = element
                continue
            if element.tag != ROW_TAG:
                continue
            r = element.get("r")
            number = int(float(r)) if r else number + 1
            values: dict[int, Any] = {}
            col = 0
            for cell in element:
                ref = cell.get("r")
                col = _column_of(ref, cache) if ref else col + 1
                if columns is None or col in columns:
                    parser.row_counter, parser.col_counter = number, col - 1
                    value = parser.parse_cell(cell)["value"]
                    if value is not None:
                        values[col] = value
            element.clear()
            if sheet_data is not None:
                sheet_data.clear()  # drop the finished row from the tree
            yield number, values


class RowReader:
    """Streams data rows in chunks. Not thread-safe; call `next_chunk` from one thread at a time
    (the import job calls it through `asyncio.to_thread`, one call after another, reading the
    next chunk while the database works on the previous one)."""

    def __init__(self, path: Path, info: WorkbookInfo) -> None:
        self._wb, self._strings = open_workbook(path)
        self._columns = {c: i + 1 for c, i in info.columns.items()}
        self._rows = sheet_rows(self._wb, info.sheet, set(self._columns.values()))
        self.consumed = 0  # data rows read, blank ones included (what progress counts)
        self.exhausted = False

    def next_chunk(self, size: int, max_rows: int = MAX_ROWS) -> Chunk:
        chunk: list[RawRow] = []
        while len(chunk) < size:
            item = next(self._rows, None)
            if item is None:
                self.exhausted = True
                break
            number, cells = item
            if number < 2:  # the header
                continue
            self.consumed += 1
            if self.consumed > max_rows:
                raise AppError(413, "roster_import.too_many_rows", f"at most {max_rows} rows per import")
            values = {c: cells.get(i) for c, i in self._columns.items()}
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
                continue
            chunk.append(RawRow(number, values))
        return Chunk(chunk, self.consumed, self.exhausted)

    def close(self) -> None:
        self._rows.close()
        self._wb.close()
        if self._strings is not None:
            self._strings.close()


_GRADE = re.compile(r"^\s*(\d{1,2})\s*(학년|th|st|nd|rd|grade)?\s*$", re.IGNORECASE)


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0 (phones typed as numbers), strings trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_grade(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 1 <= value <= 20:
            return int(value)
        raise ValueError("must be a whole number from 1 to 20")
    m = _GRADE.match(cell_text(value))
    if not m or not 1 <= int(m.group(1)) <= 20:
        raise ValueError("must be a whole number from 1 to 20")
    return int(m.group(1))
