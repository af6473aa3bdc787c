"""A report as files a teacher opens in Excel: CSV (UTF-8 with a BOM, or Excel reads Korean as
mojibake) and xlsx (a Participants sheet like the CSV, a Cards sheet with accuracy and the top
misconceptions). Nicknames and answers are typed by students, so any text cell that a
spreadsheet would run as a formula (= + - @, tab, CR) gets a leading apostrophe."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from services.classroom.reports.schemas import ReportOut

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MARKS = {True: "✓", False: "✗", None: ""}


def safe_cell(value: str) -> str:
    """CSV/formula injection guard (OWASP): a leading apostrophe makes the cell plain text."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters xlsx cannot hold
    return "'" + value if value.startswith(_FORMULA_START) else value


def participant_rows(report: ReportOut) -> list[list[str | int]]:
    header: list[str | int] = ["nickname", "mode", "score", "answered", "correct",
                               *(f"card {c.card_no}" for c in report.cards)]
    rows = [header]
    for p in report.participants:
        rows.append([safe_cell(p.nickname), p.mode, p.score, p.answered, p.correct,
                     *(MARKS[r.correct] for r in p.per_card)])
    return rows


def card_rows(report: ReportOut, top: int = 5) -> list[list[str | int | float | None]]:
    header: list[str | int | float | None] = ["card", "prompt", "answer", "answered", "correct", "accuracy",
                                              *(f"misconception {i}" for i in range(1, top + 1))]
    rows = [header]
    for c in report.cards:
        wrong = [safe_cell(f"{m.answer} ({m.count})") for m in c.misconceptions[:top]]
        rows.append([c.card_no, safe_cell(c.problem.prompt or ""), safe_cell(c.problem.answer or ""), c.answered,
                     c.correct, c.accuracy, *wrong, *([""] * (top - len(wrong)))])
    return rows


def csv_bytes(report: ReportOut) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, what Excel writes
    writer.writerows(participant_rows(report))
    return out.getvalue().encode("utf-8")


def xlsx_bytes(report: ReportOut) -> bytes:
    book = Workbook()
    people = book.active
    assert people is not None
    people.title = "Participants"
    for row in participant_rows(report):
        people.append(row)
    cards = book.create_sheet("Cards")
    for card_row in card_rows(report):
        cards.append(card_row)
    for sheet in (people, cards):
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(report: ReportOut, ext: str) -> str:
    """ASCII only (the code and the date): titles may be Korean, and a plain filename works everywhere."""
    return f"classroom-{report.session.code}-{report.session.started_at:%Y%m%d}.{ext}"
