"""List endpoints page by `offset` (with `total`) or by keyset `cursor` (megacity.pagination):
the cursor walk returns the same rows in the same order with no repeats or gaps, keeps `total`,
survives rows added before the current position, and a bad or foreign cursor is a 400."""
from __future__ import annotations

import uuid

from services.tenant.tests.conftest import Tenant


async def _walk(tenant: Tenant, url: str, headers: dict, limit: int) -> tuple[list[str], list[int], int]:
    """(ids in cursor order, `total` of each page, number of pages)."""
    sep = "&" if "?" in url else "?"
    seen: list[str] = []
    totals: list[int] = []
    cursor, pages = None, 0
    while True:
        resp = await tenant.client.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""),
                                       headers=headers)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        pages += 1
        seen += [item.get("id") or item.get("user_id") for item in page["items"]]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, totals, pages
        assert pages < 50, "the walk does not end"


async def _by_offset(tenant: Tenant, url: str, headers: dict) -> list[str]:
    sep = "&" if "?" in url else "?"
    page = (await tenant.client.get(f"{url}{sep}limit=500&offset=0", headers=headers)).json()
    assert page["next_cursor"] is None
    return [item.get("id") or item.get("user_id") for item in page["items"]]


async def test_cursor_pages_match_offset_order_on_every_list(tenant: Tenant) -> None:
    org = await tenant.make_org(1, "Cursor school")
    oa = tenant.actor(1, "org_admin", org)
    h, c = oa.headers, tenant.client
    # Students sort by grade, name, id: equal names in one grade, Hangul and Latin names.
    for i, (name, grade) in enumerate([("Kim", 3), ("Kim", 3), ("Lee", 2), ("김민준", 3), ("Park", 1), ("Ahn", 3),
                                       ("Kim", 1)]):
        resp = await c.post("/api/v1/rosters/students", headers=h,
                            json={"name": name, "grade": grade, "parent_phone": f"0101234{i:04d}"})
        assert resp.status_code == 201, resp.text
    for table in ("teachers", "parents"):
        for name in ("Choi", "Bae", "Choi", "Yoon", "Bae"):
            assert (await c.post(f"/api/v1/rosters/{table}", json={"name": name}, headers=h)).status_code == 201
    for _ in range(5):
        await tenant.add_member(1, org, uuid.uuid4(), "student")
    za = tenant.actor(1, "zone_admin").headers
    for name in ("Beta", "Alpha", "Beta", "Gamma"):
        await tenant.make_org(1, name)

    for url, headers, count in (("/api/v1/rosters/students", h, 7), ("/api/v1/rosters/teachers", h, 5),
                                ("/api/v1/rosters/parents", h, 5), (f"/api/v1/orgs/{org}/members", h, 5),
                                ("/api/v1/orgs", za, 5), ("/api/v1/rosters/students?grade=3", h, 4)):
        ids, totals, pages = await _walk(tenant, url, headers, 2)
        assert ids == await _by_offset(tenant, url, headers), url
        assert len(ids) == len(set(ids)) == count and pages == (count + 1) // 2, url
        assert set(totals) == {count}, (url, totals)  # `total` counts every match on every page

    students = [s["name"] for s in (await c.get("/api/v1/rosters/students?limit=100", headers=h)).json()["items"]]
    assert students[:2] == ["Kim", "Park"] and students[2] == "Lee"  # grade 1, then 2, then 3


async def test_cursor_is_stable_when_rows_are_added_before_it(tenant: Tenant) -> None:
    org = await tenant.make_org(1)
    h = tenant.actor(1, "org_admin", org).headers
    c = tenant.client
    for name in ("B", "D", "F", "H"):
        assert (await c.post("/api/v1/rosters/teachers", json={"name": name}, headers=h)).status_code == 201
    first = (await c.get("/api/v1/rosters/teachers?limit=2", headers=h)).json()
    assert [p["name"] for p in first["items"]] == ["B", "D"]
    # A row lands before the position: an offset would repeat "D"; the cursor goes on after it.
    assert (await c.post("/api/v1/rosters/teachers", json={"name": "A"}, headers=h)).status_code == 201
    rest = (await c.get(f"/api/v1/rosters/teachers?limit=2&cursor={first['next_cursor']}", headers=h)).json()
    assert [p["name"] for p in rest["items"]] == ["F", "H"] and rest["next_cursor"] is None
    assert rest["total"] == 5


async def test_bad_foreign_and_mixed_cursors_are_refused(tenant: Tenant) -> None:
    org = await tenant.make_org(1)
    h = tenant.actor(1, "org_admin", org).headers
    c = tenant.client
    for name in ("A", "B", "C"):
        await c.post("/api/v1/rosters/teachers", json={"name": name}, headers=h)
        await c.post("/api/v1/rosters/parents", json={"name": name}, headers=h)
    teachers = (await c.get("/api/v1/rosters/teachers?limit=1", headers=h)).json()["next_cursor"]
    assert teachers
    for url in (f"/api/v1/rosters/parents?cursor={teachers}",   # same key, another listing
                f"/api/v1/rosters/students?cursor={teachers}",
                f"/api/v1/orgs/{org}/members?cursor={teachers}",
                "/api/v1/rosters/teachers?cursor=garbage",
                f"/api/v1/rosters/teachers?cursor={teachers[:-2]}"):
        resp = await c.get(url, headers=h)
        assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor", (url, resp.text)
    resp = await c.get(f"/api/v1/rosters/teachers?cursor={teachers}&offset=1", headers=h)
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
    # Offset paging is unchanged (page numbers with `total`).
    page = (await c.get("/api/v1/rosters/teachers?limit=1&offset=1", headers=h)).json()
    assert [p["name"] for p in page["items"]] == ["B"] and page["total"] == 3
