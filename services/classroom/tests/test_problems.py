"""The problem bank over HTTP against the running classroom and tenant services: CRUD, filters,
cursor pages, CSV/xlsx import (all or nothing), isolation between orgs, who may write, and the
live session's way in (`pick_problems`, `get_problem`)."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from openpyxl import Workbook

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from services.classroom.problems import queries
from services.classroom.tests.conftest import ZONE, Actor, ClassroomApp

BASE = "/api/v1/classroom/problems"
HEADER = ["type", "difficulty", "grade", "prompt", "answer", "choices", "explanation", "read_aloud",
          "time_limit_seconds", "class_id"]


def problem(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "math", "difficulty": 2, "grade": 4, "prompt": "1/2 + 1/4 = ?", "answer": "3/4"}
    doc.update(over)
    return doc


def csv_bytes(rows: list[list[Any]], *, bom: bool = True, header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([h.upper() for h in HEADER])  # headers are case-insensitive
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(app: ClassroomApp, who: Actor, data: bytes, name: str = "problems.csv") -> Any:
    return await app.call("POST", f"{BASE}/imports", who, files={"file": (name, data, "application/octet-stream")})


async def all_ids(app: ClassroomApp, who: Actor, query: str = "") -> list[str]:
    """Every id of the listing, page by page (limit 2)."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = f"?limit=2{query}" + (f"&cursor={cursor}" if cursor else "")
        page = await app.ok("GET", f"{BASE}{params}", who)
        ids += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def count_rows(app: ClassroomApp, org: uuid.UUID) -> int:
    return int((await app.db.sql("SELECT count(*) FROM classroom.problems WHERE org_id = :o", o=org))[0][0])


async def test_crud_filters_and_pages(classroom: ClassroomApp) -> None:
    app = classroom
    school = await app.school()
    admin, teacher = school.admin, school.teacher
    shared = await app.ok("POST", BASE, admin, 201, json=problem(choices=["1/2", "2/6", "3/4", "1"], read_aloud=True,
                                                                  time_limit_seconds=30, explanation=" why "))
    assert shared["class_id"] is None and shared["choices"] == ["1/2", "2/6", "3/4", "1"]
    assert shared["explanation"] == "why" and shared["created_by"] == str(admin.user_id)
    own = await app.ok("POST", BASE, teacher, 201, json=problem(type="vocabulary", grade=5, difficulty=1,
                                                                 prompt="'사과' in English?", answer="apple",
                                                                 class_id=school.class_id))
    other = await app.ok("POST", BASE, admin, 201, json=problem(type="proverb", grade=5, prompt="가는 말이 고와야 ___",
                                                                 answer="오는 말이 곱다", class_id=school.other_class))
    teacher_shared = await app.ok("POST", BASE, teacher, 201, json=problem(grade=5, difficulty=3, answer="1 1/2"))
    # A teacher may not write to a class it is not assigned to (nor to one that does not exist).
    for class_id in (school.other_class, str(uuid.uuid4())):
        resp = await app.call("POST", BASE, teacher, json=problem(class_id=class_id))
        assert resp.status_code == 404 and resp.json()["code"] == "classroom.not_your_class", resp.text

    # Field limits are the table's CHECKs; answers must name a choice and be typeable.
    for bad in (problem(difficulty=6), problem(grade=0), problem(grade=13), problem(type="spelling"),
                problem(prompt=""), problem(prompt="x" * 1001), problem(answer=""), problem(answer="x" * 201),
                problem(choices=["only one"]), problem(choices=list("abcdefg")), problem(choices=["a", ""]),
                problem(choices=["a", "b"], answer="c"), problem(answer="x" * 65), problem(time_limit_seconds=4),
                problem(time_limit_seconds=301), problem(explanation="x" * 2001), problem(unknown=1)):
        resp = await app.call("POST", BASE, admin, json=bad)
        assert resp.status_code == 422 and resp.json()["code"] == "request.invalid", (bad, resp.text)
    assert (await app.ok("POST", BASE, admin, 201, json=problem(choices=["a", "b", "c"], answer="B|c")))["answer"] == "B|c"

    everything = await all_ids(app, admin)
    assert len(everything) == 5 and len(set(everything)) == 5
    assert everything[0] != shared["id"]  # newest first
    assert set(await all_ids(app, admin, f"&class_id={school.class_id}")) == \
        set(everything) - {other["id"]}  # that class's and the shared ones
    assert set(await all_ids(app, admin, "&grade=5")) == {own["id"], other["id"], teacher_shared["id"]}
    assert set(await all_ids(app, admin, "&grade=5&type=math&difficulty=3")) == {teacher_shared["id"]}
    assert await all_ids(app, teacher, "&type=proverb") == [other["id"]]  # reading is open in the org
    for query in ("?grade=13", "?difficulty=0", "?type=spelling", "?class_id=nope", "?limit=0"):
        assert (await app.call("GET", BASE + query, admin)).status_code == 422
    resp = await app.call("GET", f"{BASE}?cursor=forged", admin)
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"

    assert await app.ok("GET", f"{BASE}/{own['id']}", teacher) == own
    changed = await app.ok("PATCH", f"{BASE}/{shared['id']}", teacher, json={"difficulty": 4, "answer": "C"})
    assert (changed["difficulty"], changed["answer"], changed["choices"]) == (4, "C", shared["choices"])
    assert changed["updated_at"] >= shared["updated_at"]
    # The merged problem must be valid as a whole: dropping the choice the answer names is not.
    resp = await app.call("PATCH", f"{BASE}/{shared['id']}", teacher, json={"choices": ["1", "2"]})
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid", resp.text
    cleared = await app.ok("PATCH", f"{BASE}/{shared['id']}", admin, json={"choices": None, "time_limit_seconds": None})
    assert cleared["choices"] is None and cleared["time_limit_seconds"] is None and cleared["answer"] == "C"
    # A teacher may not touch another class's problem, nor move its own there.
    for method, path, body in (("PATCH", other["id"], {"difficulty": 1}), ("DELETE", other["id"], None),
                               ("PATCH", own["id"], {"class_id": school.other_class})):
        resp = await app.call(method, f"{BASE}/{path}", teacher, json=body)
        assert resp.status_code == 404 and resp.json()["code"] == "classroom.not_your_class", resp.text
    moved = await app.ok("PATCH", f"{BASE}/{own['id']}", teacher, json={"class_id": None})
    assert moved["class_id"] is None
    assert (await app.ok("PATCH", f"{BASE}/{other['id']}", admin, json={"class_id": school.class_id}))["class_id"] == \
        school.class_id

    await app.ok("DELETE", f"{BASE}/{teacher_shared['id']}", teacher, 204)
    for method in ("GET", "PATCH", "DELETE"):
        resp = await app.call(method, f"{BASE}/{teacher_shared['id']}", admin,
                              json={"difficulty": 1} if method == "PATCH" else None)
        assert resp.status_code == 404 and resp.json()["code"] == "classroom.problem_not_found", resp.text
    assert (await app.call("GET", f"{BASE}/not-a-uuid", admin)).status_code == 422


async def test_import_csv_and_xlsx(classroom: ClassroomApp) -> None:
    app = classroom
    school = await app.school()
    template = await app.call("GET", f"{BASE}/imports/template.csv", school.teacher)
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    assert template.content.startswith(b"\xef\xbb\xbf")
    result = await app.ok("POST", f"{BASE}/imports", school.teacher, 201,
                          files={"file": ("template.csv", template.content, "text/csv")})
    templated = len(template.content.decode("utf-8-sig").strip().splitlines()) - 1
    assert result["created"] == templated and result["shared"] == templated

    rows: list[list[Any]] = [
        ["math", 2, 4, "1/2 + 1/4 = ?", "3/4", "1/2|3/4|1", "", "yes", 30, ""],
        ["vocabulary", 1, 3, "'사과' in English?", "apple|an apple", "", "과일", "", "", school.class_id],
        ["Proverb", "5", "12", "Actions speak louder than ___", "words", "", "", "FALSE", "", ""]]
    for data in (csv_bytes(rows), csv_bytes(rows, bom=False)):
        result = await app.ok("POST", f"{BASE}/imports", school.teacher, 201,
                              files={"file": ("p.csv", data, "text/csv")})
        assert result == {"created": 3, "by_type": {"vocabulary": 1, "proverb": 1, "math": 1}, "shared": 2,
                          "class_specific": 1}
    resp = await upload(app, school.admin, xlsx_bytes(rows), "p.xlsx")
    assert resp.status_code == 201 and resp.json()["created"] == 3, resp.text

    imported = (await app.ok("GET", f"{BASE}?type=vocabulary&grade=3&limit=200", school.admin))["items"]
    assert len(imported) == 3 + 1  # three imports, and the template's
    mine = [p for p in imported if p["class_id"] == school.class_id]
    assert len(mine) == 3 and all(p["answer"] == "apple|an apple" and p["explanation"] == "과일" for p in mine)
    assert {p["created_by"] for p in mine} == {str(school.teacher.user_id), str(school.admin.user_id)}
    maths = (await app.ok("GET", f"{BASE}?type=math&grade=4&limit=200", school.admin))["items"]
    from_file = [p for p in maths if p["prompt"] == "1/2 + 1/4 = ?" and p["choices"] == ["1/2", "3/4", "1"]]
    assert len(from_file) == 3 and all(p["read_aloud"] and p["time_limit_seconds"] == 30 for p in from_file)
    proverbs = (await app.ok("GET", f"{BASE}?type=proverb&grade=12", school.admin))["items"]
    assert len(proverbs) == 3 and all(p["difficulty"] == 5 and not p["read_aloud"] for p in proverbs)


async def test_bad_import_writes_nothing(classroom: ClassroomApp) -> None:
    app = classroom
    school = await app.school()
    good = ["math", 1, 1, "1 + 1", "2", "", "", "", "", ""]
    rows = [good, ["math", 9, 1, "p", "2", "", "", "", "", ""], good,
            ["vocabulary", 1, 1, "", "a", "", "", "maybe", 2, "not-a-uuid"],
            ["vocabulary", 1, 1, "p", "q", "x|y", "", "", "", ""], good]
    resp = await upload(app, school.admin, csv_bytes(rows))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "classroom.import_invalid" and body["error_count"] == len(body["errors"]) == 6
    found = {(e["row"], e["column"], e["code"]) for e in body["errors"]}
    assert found == {(3, "difficulty", "out_of_range"), (5, "prompt", "required"), (5, "read_aloud", "not_a_boolean"),
                     (5, "time_limit_seconds", "out_of_range"), (5, "class_id", "not_a_uuid"),
                     (6, "answer", "not_a_choice")}
    assert all(e["detail"] for e in body["errors"])
    assert await count_rows(app, school.org) == 0

    many = [["math", 1, 1, "p", "", "", "", "", "", ""]] * 80  # every row lacks its answer
    body = (await upload(app, school.admin, xlsx_bytes(many), "many.xlsx")).json()
    assert body["code"] == "classroom.import_invalid" and body["error_count"] == 80
    assert len(body["errors"]) == 50 and body["errors_truncated"] is True
    assert [e["row"] for e in body["errors"]] == list(range(2, 52))

    # A teacher's file may name only its classes; one row of another class rejects the file.
    resp = await upload(app, school.teacher, csv_bytes([[*good[:9], school.class_id], [*good[:9], school.other_class]]))
    assert resp.status_code == 422 and resp.json()["errors"] == [
        {"row": 3, "column": "class_id", "code": "not_your_class",
         "detail": f"class {school.other_class} does not exist in your org or is not yours"}]

    # File-level faults: the header, the encoding, emptiness, the size.
    for data, name, code in ((csv_bytes([good], header=[*HEADER[:4], "answr"]), "p.csv", "missing_column"),
                             (csv_bytes([], bom=False), "p.csv", "no_rows"), (b"", "p.csv", "no_rows"),
                             ("type,difficulty\nmath,1\n".encode("utf-16"), "p.csv", "not_utf8"),
                             (b"not a workbook", "p.xlsx", "unreadable"),
                             (b"PK\x03\x04 broken zip", "p.xlsx", "unreadable")):
        resp = await upload(app, school.admin, data, name)
        assert resp.status_code == 422 and resp.json()["code"] == "classroom.import_invalid", (name, resp.text)
        assert code in {e["code"] for e in resp.json()["errors"]}, (code, resp.text)
    resp = await upload(app, school.admin, csv_bytes([good] * 2001))
    assert resp.status_code == 413 and resp.json()["code"] == "classroom.import_too_large"
    resp = await upload(app, school.admin, b"x" * (2 * 1024 * 1024 + 1))
    assert resp.status_code == 413 and resp.json()["code"] == "classroom.import_too_large"
    resp = await app.call("POST", f"{BASE}/imports", school.admin, data={"nofile": "1"})
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
    assert await count_rows(app, school.org) == 0

    # The largest file that is allowed goes in whole.
    resp = await upload(app, school.admin, csv_bytes([good] * 2000))
    assert resp.status_code == 201 and resp.json()["created"] == 2000
    assert await count_rows(app, school.org) == 2000


async def test_another_org_cannot_see_or_change(classroom: ClassroomApp) -> None:
    app = classroom
    a, b = await app.school(app.org_a), await app.school(app.org_b)
    mine = await app.ok("POST", BASE, a.admin, 201, json=problem())
    await app.ok("POST", BASE, b.admin, 201, json=problem(prompt="B's own"))
    for who in (b.admin, b.teacher):
        for method, body in (("GET", None), ("PATCH", {"difficulty": 5}), ("DELETE", None)):
            resp = await app.call(method, f"{BASE}/{mine['id']}", who, json=body)
            assert resp.status_code == 404 and resp.json()["code"] == "classroom.problem_not_found", resp.text
        listed = await app.ok("GET", BASE, who)
        assert [p["prompt"] for p in listed["items"]] == ["B's own"]
    # B cannot hang a problem on A's class either.
    resp = await app.call("POST", BASE, b.teacher, json=problem(class_id=a.class_id))
    assert resp.status_code == 404 and resp.json()["code"] == "classroom.not_your_class"
    assert (await app.ok("GET", f"{BASE}/{mine['id']}", a.teacher))["difficulty"] == 2

    # RLS in the database: B's tenant context sees no row of A's, whatever the query asks.
    engine = make_engine(app.db.app_url("classroom"), pool_size=1)
    try:
        sessions = make_sessionmaker(engine)
        async with tenant_transaction(sessions, TenantContext(ZONE, b.org, role="teacher")) as s:
            assert await queries.get_problem(s, uuid.UUID(mine["id"])) is None
            assert await queries.pick_problems(s, ZONE, a.org, None, None, None, None, [], 10) == []
        async with tenant_transaction(sessions, TenantContext(ZONE, a.org, role="teacher")) as s:
            row = await queries.get_problem(s, uuid.UUID(mine["id"]))
            assert row is not None and row.org_id == a.org and row.choices is None
    finally:
        await engine.dispose()


async def test_who_may_read_and_write(classroom: ClassroomApp) -> None:
    app = classroom
    school = await app.school()
    made = await app.ok("POST", BASE, school.admin, 201, json=problem())
    student, parent = app.actor("student", school.org), app.actor("parent", school.org)
    for who in (student, parent):
        for method, path, kw in (("POST", BASE, {"json": problem()}), ("GET", BASE, {}),
                                 ("PATCH", f"{BASE}/{made['id']}", {"json": {"difficulty": 1}}),
                                 ("DELETE", f"{BASE}/{made['id']}", {}),
                                 ("POST", f"{BASE}/imports", {"files": {"file": ("p.csv", b"x", "text/csv")}})):
            resp = await app.call(method, path, who, **kw)
            assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied", (who.role, path)
    assert (await app.call("GET", BASE)).status_code == 401
    # A token bound to no org has no problem bank.
    nobody = app.actor("super_admin")
    for method, path in (("GET", BASE), ("POST", BASE), ("GET", f"{BASE}/{made['id']}")):
        resp = await app.call(method, path, nobody, json=problem() if method == "POST" else None)
        assert resp.status_code == 403 and resp.json()["code"] == "classroom.org_required", resp.text
    assert (await app.ok("GET", f"{BASE}/{made['id']}", school.teacher))["id"] == made["id"]


async def test_pick_problems_rotates_shared_and_class_problems(classroom: ClassroomApp) -> None:
    app = classroom
    school = await app.school()
    rows = ([["math", 2, 4, f"shared {i}", str(i), "", "", "", "", ""] for i in range(6)]
            + [["math", 2, 4, f"class {i}", str(i), "", "", "", "", school.class_id] for i in range(3)]
            + [["math", 2, 4, f"other {i}", str(i), "", "", "", "", school.other_class] for i in range(3)]
            + [["math", 3, 4, "harder", "1", "", "", "", "", ""], ["vocabulary", 2, 4, "word", "w", "", "", "", "", ""],
               ["math", 2, 5, "older", "1", "", "", "", "", ""]])
    assert (await upload(app, school.admin, csv_bytes(rows))).status_code == 201
    engine = make_engine(app.db.app_url("classroom"), pool_size=1)
    try:
        sessions = make_sessionmaker(engine)
        cls = uuid.UUID(school.class_id)
        async with tenant_transaction(sessions, TenantContext(ZONE, school.org, role="teacher")) as s:
            picked = await queries.pick_problems(s, ZONE, school.org, cls, 4, 2, "math", [], 100)
            assert sorted(p.prompt for p in picked) == sorted([f"shared {i}" for i in range(6)]
                                                              + [f"class {i}" for i in range(3)])
            shared_only = await queries.pick_problems(s, ZONE, school.org, None, 4, 2, "math", [], 100)
            assert {p.prompt for p in shared_only} == {f"shared {i}" for i in range(6)}
            seen: list[uuid.UUID] = []
            while batch := await queries.pick_problems(s, ZONE, school.org, cls, 4, 2, "math", seen, 2):
                assert len(batch) <= 2 and not set(p.id for p in batch) & set(seen)
                seen += [p.id for p in batch]
            assert len(seen) == 9  # a rotation shows each problem once
            anything = await queries.pick_problems(s, ZONE, school.org, cls, None, None, None, [], 100)
            assert len(anything) == 12
            orders = {tuple(p.id for p in await queries.pick_problems(s, ZONE, school.org, cls, 4, 2, "math", [], 9))
                      for _ in range(8)}
            assert len(orders) > 1  # random order (9! orders; eight draws alike by chance: ~0)
            one = await queries.get_problem(s, picked[0].id)
            assert one == picked[0]
            assert await queries.get_problem(s, uuid.uuid4()) is None
    finally:
        await engine.dispose()
