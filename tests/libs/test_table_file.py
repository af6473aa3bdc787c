"""megacity.table_file: CSV and .xlsx uploads read into a header and numbered rows, with the
limits every import relies on (bytes, rows, what a workbook unpacks to)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from megacity import table_file
from megacity.table_file import Limits, TooLarge, Unreadable


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)  # type: ignore[union-attr]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_csv_with_bom_skips_blank_rows_and_numbers_the_rest() -> None:
    table = table_file.read_table("\ufeffType,Content,\nshort, 2+2 ,\n,,\nmc,x\n".encode())
    assert table.header == ["type", "content"]
    assert table.rows == [(2, ["short", "2+2", ""]), (4, ["mc", "x"])]


def test_xlsx_cells_read_as_typed_text() -> None:
    table = table_file.read_table(_xlsx([["type", "difficulty", "flag"], ["short", 3.0, True]]), "q.xlsx")
    assert table.rows == [(2, ["short", "3", "true"])]


@pytest.mark.parametrize("data, name, code", [
    (b"\xff\xfe not utf-8", "q.csv", "not_utf8"),
    (b"type,content\n", "q.csv", "no_rows"),
    (b"", "q.csv", "no_rows"),
    (b"type,content\nshort,x\n", "q.xlsx", "unreadable"),  # named .xlsx, but not a workbook
    (b"PK\x03\x04 broken zip", "q.xlsx", "unreadable"),
])
def test_unreadable_files_have_stable_codes(data: bytes, name: str, code: str) -> None:
    with pytest.raises(Unreadable) as exc:
        table_file.read_table(data, name)
    assert exc.value.code == code


def test_limits_on_bytes_rows_and_unpacked_size() -> None:
    with pytest.raises(TooLarge):
        table_file.read_table(b"a\n" + b"x\n" * 10, limits=Limits(max_bytes=10))
    with pytest.raises(TooLarge):
        table_file.read_table(b"a\n" + b"x\n" * 4, limits=Limits(max_rows=3))
    with pytest.raises(TooLarge):
        table_file.read_table(_xlsx([["a"], *[[i] for i in range(10)]]), limits=Limits(max_rows=3))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (2 * 1024 * 1024))
    with pytest.raises(TooLarge):
        table_file.read_table(bomb.getvalue(), limits=Limits(max_unpacked_bytes=1024 * 1024))


def test_header_faults_and_row_cells() -> None:
    faults = table_file.header_faults(["type", "type", "colour", ""], required=("type", "content"),
                                      known=("type", "content"))
    assert {(f.column, f.code) for f in faults} == {("content", "missing_column"), ("colour", "unknown_column"),
                                                    ("", "unknown_column"), ("type", "duplicate_column")}
    assert table_file.row_cells(["type", "content"], ["short"]) == {"type": "short", "content": ""}
    extra = table_file.row_cells(["type"], ["short", "surplus"])
    assert isinstance(extra, table_file.CellFault) and extra.code == "invalid"
