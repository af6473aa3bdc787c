"""Bulk item import: per-row error report, upsert by code, both modes, xlsx, file-level refusals."""
from __future__ import annotations

import io

import openpyxl

from services.exam.tests.conftest import ExamApp

HEADER = "code,stem,model,a,b,c,thresholds,content_area,options,answer_key,option_scores,enemy_tags\n"
GOOD = ("ALG-1,2+2?,logistic,1.1,-0.5,0.2,,algebra,A=3|B=4|C=5,B,,e1\n"
        "ALG-2,3+3?,,1.3,0.4,,,algebra,A=6|B=7,A,,e1;e2\n"
        "ESS-1,Explain.,grm,0.8,,,-1;0.5,writing,0=none|1=some|2=full,,0=0|1=1|2=2,\n")
BAD = ("ALG-3,bad b,logistic,1.0,hard,,,algebra,,B,,\n"          # b not a number
       "ALG-4,no key,logistic,1.0,0.1,,,algebra,A=1|B=2,,,\n"     # answer_key missing
       "ALG-1,dup,logistic,1.0,0.1,,,algebra,,B,,\n"              # duplicate code in the file
       ",no code,logistic,1.0,0.1,,,algebra,,B,,\n"               # code missing
       "GRM-9,bad thresholds,grm,1.0,,,1;0,writing,,,x=0,\n")     # GRM thresholds not increasing


async def _import(app: ExamApp, who, bank_id: str, data: bytes, name: str, mode: str = "valid_rows"):
    return await app.call("POST", f"/api/v1/items/imports?bank_id={bank_id}&mode={mode}", who,
                          files={"file": (name, data)})


async def test_csv_import_reports_bad_rows_and_upserts(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Imported"})

    # all_or_nothing with bad rows: nothing written, the report says why.
    resp = await _import(app, teacher, bank["id"], (HEADER + GOOD + BAD).encode(), "items.csv", "all_or_nothing")
    assert resp.status_code == 201, resp.text
    rep = resp.json()
    assert rep["status"] == "rejected" and rep["created_rows"] == 0 and rep["bank_version"] is None
    assert (await app.ok("GET", f"/api/v1/items/banks/{bank['id']}", teacher))["item_count"] == 0

    # valid_rows: the good rows go in, each bad row is reported with its row number and field.
    rep = (await _import(app, teacher, bank["id"], (HEADER + GOOD + BAD).encode(), "items.csv")).json()
    assert rep["status"] == "completed" and rep["total_rows"] == 8
    assert (rep["created_rows"], rep["updated_rows"], rep["error_rows"]) == (3, 0, 5)
    by_row = {(e["row"], e["field"]): e["code"] for e in rep["errors"]}
    assert by_row[(5, "b")] == "item_import.not_a_number"
    assert by_row[(7, "code")] == "item_import.duplicate_code"
    assert (8, "code") in by_row and any(r == 6 for r, _ in by_row) and any(r == 9 for r, _ in by_row)
    assert rep["bank_version"] == 1
    again = await app.ok("GET", f"/api/v1/items/imports/{rep['id']}", teacher)
    assert again["errors"] == rep["errors"]

    items = {i["code"]: i for i in (await app.ok("GET", f"/api/v1/items?bank_id={bank['id']}", teacher))["items"]}
    assert items["ESS-1"]["model"] == "grm" and items["ESS-1"]["thresholds"] == [-1.0, 0.5]
    assert items["ESS-1"]["option_scores"] == {"0": 0, "1": 1, "2": 2} and items["ESS-1"]["max_score"] == 2
    assert items["ALG-2"]["enemy_tags"] == ["e1", "e2"] and items["ALG-1"]["c"] == 0.2

    # Re-import: identical rows are left alone, a changed row is updated, one bank version bump.
    changed = GOOD.replace("ALG-2,3+3?,,1.3,0.4", "ALG-2,3+3?,,1.3,0.9")
    rep = (await _import(app, teacher, bank["id"], (HEADER + changed).encode(), "items.csv")).json()
    assert (rep["created_rows"], rep["updated_rows"], rep["unchanged_rows"], rep["error_rows"]) == (0, 1, 2, 0)
    assert rep["bank_version"] == 2
    rep = (await _import(app, teacher, bank["id"], (HEADER + changed).encode(), "items.csv")).json()
    assert rep["bank_version"] is None and rep["unchanged_rows"] == 3


async def test_xlsx_import_and_file_level_refusals(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Workbook"})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Code", "Stem", "A", "B", "Content_Area", "Answer_Key"])
    ws.append(["W1", "first", 1.0, -0.2, "geometry", "yes"])
    ws.append(["W2", "second", 1.4, 0.7, "geometry", "no"])
    ws.append([None, None, None, None, None, None])
    ws.append(["W3", "third", -1, 0.7, "geometry", "no"])  # a must be > 0
    buf = io.BytesIO()
    wb.save(buf)
    resp = await _import(app, teacher, bank["id"], buf.getvalue(), "items.xlsx")
    assert resp.status_code == 201, resp.text
    rep = resp.json()
    assert rep["format"] == "xlsx" and rep["created_rows"] == 2 and rep["errors"][0]["row"] == 5
    assert rep["errors"][0]["field"] == "a"

    for data, name, status, code in [
        (b"code,stem\nX,y\n", "x.csv", 422, "item_import.missing_columns"),
        (b"code,stem,a,b,answer_key,difficulty\nX,y,1,0,B,3\n", "x.csv", 422, "item_import.unknown_columns"),
        (b"code,stem,a\n", "x.csv", 422, "item_import.empty"),
        (b"\xff\xfe\x00bad", "x.csv", 415, "item_import.unsupported_format"),
        (b"not a workbook", "x.xlsx", 415, "item_import.unsupported_format"),
        (b"PK\x03\x04broken zip", "x.xlsx", 415, "item_import.unsupported_format"),
    ]:
        resp = await _import(app, teacher, bank["id"], data, name)
        assert resp.status_code == status and resp.json()["code"] == code, (name, resp.text)
    resp = await _import(app, app.actor("student"), bank["id"], b"code,stem,a\n", "x.csv")
    assert resp.status_code == 403
    resp = await _import(app, app.actor("teacher", app.org_b), bank["id"], (HEADER + GOOD).encode(), "x.csv")
    assert resp.status_code == 422 and resp.json()["code"] == "item_bank.not_found"
    assert (await app.ok("GET", f"/api/v1/items/banks/{bank['id']}", teacher))["item_count"] == 2
