"""Deterministic sample roster workbooks (tests, benchmarks, demos): `rows` data rows, of which
every `bad_every`-th row is broken in one of several ways the import must report.

Written the way Excel writes them — text in a shared-strings table, no `<dimension>` — by a
small streaming writer, so even 50,000 rows take little time and memory to make. (openpyxl's
write-only mode writes inline strings instead, which would spare the reader the shared-strings
table a real roster has.)
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HEADER = ["이름", "Grade", "Parent Phone", "Class", "Email", "학부모 이메일", "Memo"]
# (column, value) that makes a row bad, and the column the import should blame.
BAD_KINDS = [
    ("parent_phone", "call me"),
    ("name", None),
    ("grade", "tenth"),
    ("grade", 42),
    ("email", "not-an-email"),
    ("parent_email", "parent at example.com"),
]
_CELL = {"name": 0, "grade": 1, "parent_phone": 2, "email": 4, "parent_email": 5}
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_NS}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Roster" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'),
}


def sample_row(i: int) -> list:
    """Row `i`: every third student has an email; in every four rows the first two have a parent
    email, shared (siblings by email, with different phones)."""
    grade = 1 + i % 12
    return [f"Student {i:06d}", grade, f"010-{(i // 10000) % 10000:04d}-{i % 10000:04d}",
            f"{grade}-{'ABCD'[(i // 12) % 4]}", f"student{i}@example.com" if i % 3 == 0 else None,
            f"parent{i // 4}@example.com" if i % 4 < 2 else None, "note"]


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def write_roster(path: Path, rows: int, *, bad_every: int = 50, start: int = 0) -> list[tuple[int, str]]:
    """Write the workbook; returns the (sheet row number, blamed column) of each bad row."""
    strings: dict[str, int] = {}
    bad: list[tuple[int, str]] = []

    def cell(ref: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"><v>{value}</v></c>'
        index = strings.setdefault(value, len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in _PARTS.items():
            z.writestr(name, xml)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_NS}"><sheetData>'
                        .encode())
            for n in range(rows + 1):
                row: list[Any]
                if n == 0:
                    row = list(HEADER)
                else:
                    i = start + n - 1
                    row = sample_row(i)
                    if bad_every and n % bad_every == 0:
                        column, value = BAD_KINDS[(n // bad_every - 1) % len(BAD_KINDS)]
                        row[_CELL[column]] = value
                        bad.append((n + 1, column))
                cells = "".join(cell(f"{_column(c)}{n + 1}", v) for c, v in enumerate(row))
                sheet.write(f'<row r="{n + 1}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w") as sst:
            sst.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{_NS}" count="{len(strings)}"'
                      f' uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                sst.write(f"<si><t>{escape(text)}</t></si>".encode())
            sst.write(b"</sst>")
    return bad
