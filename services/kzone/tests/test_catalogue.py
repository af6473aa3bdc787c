"""The content catalogue: CRUD with permissions, search by title and tag, cursor pagination,
and another org seeing nothing."""
from __future__ import annotations

from services.kzone.tests.conftest import KzoneHarness
from services.kzone.tests.media_samples import mp4_like, multipart

URL = "/api/v1/kzone/contents"


async def test_catalogue_crud_search_and_pagination(kzone: KzoneHarness) -> None:
    c = kzone.client
    teacher, student, guest = kzone.headers("teacher"), kzone.headers("student"), kzone.headers("guest")
    # A video upload to attach.
    body, ctype = multipart({}, {"file": ("dance.mp4", mp4_like(), "video/mp4")})
    media = (await c.post("/api/v1/kzone/uploads", content=body, headers={**teacher, "Content-Type": ctype})).json()

    created = []
    for i, (title, tags) in enumerate([("Dynamite choreography", ["KPOP", "dance"]),
                                       ("Drama phrases: greetings", ["drama", "korean"]),
                                       ("Butter choreography (slow)", ["kpop", "dance", "slow"]),
                                       ("Hangul basics", ["korean"]),
                                       ("Idol interview listening", ["kpop", "listening"])]):
        payload = {"title": title, "type": "video" if "choreo" in title else "article", "tags": tags}
        payload |= {"media_id": media["id"]} if i == 0 else {"url": f"https://my-ktube.com/c/{i}"}
        resp = await c.post(URL, json=payload, headers=teacher)
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
    first = created[0]
    assert first["tags"] == ["kpop", "dance"]  # normalised
    assert first["media_url"] and "/api/v1/kzone/objects/kzone/video/" in first["media_url"]

    # Search by title (case-insensitive substring) and by tag; combined.
    titles = lambda r: [i["title"] for i in r.json()["items"]]  # noqa: E731
    assert titles(await c.get(URL, params={"q": "CHOREO"}, headers=student)) == [
        "Butter choreography (slow)", "Dynamite choreography"]
    assert titles(await c.get(URL, params={"tag": "kpop"}, headers=guest)) == [
        "Idol interview listening", "Butter choreography (slow)", "Dynamite choreography"]
    assert titles(await c.get(URL, params=[("tag", "kpop"), ("tag", "dance"), ("q", "dyna")], headers=student)) == [
        "Dynamite choreography"]
    assert titles(await c.get(URL, params={"q": "100%_"}, headers=student)) == []  # wildcards are literal

    # Cursor pagination, newest first, no overlaps or gaps.
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await c.get(URL, params=params, headers=student)).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [x["id"] for x in reversed(created)]
    resp = await c.get(URL, params={"cursor": "not-a-cursor"}, headers=student)
    assert resp.status_code == 400 and resp.json()["code"] == "request.invalid_cursor"

    # Update and delete, with permissions.
    cid = created[1]["id"]
    resp = await c.patch(f"{URL}/{cid}", json={"title": "Drama greetings", "tags": ["drama"]}, headers=teacher)
    assert resp.status_code == 200 and resp.json()["title"] == "Drama greetings" and resp.json()["tags"] == ["drama"]
    assert (await c.patch(f"{URL}/{cid}", json={"title": "x"}, headers=student)).status_code == 403
    assert (await c.post(URL, json={"title": "x", "type": "article", "url": "https://x.y"},
                         headers=student)).status_code == 403
    resp = await c.patch(f"{URL}/{cid}", json={"url": None}, headers=teacher)
    assert resp.status_code == 422  # would leave neither url nor media
    assert (await c.delete(f"{URL}/{cid}", headers=teacher)).status_code == 403  # exam:delete: admins only
    assert (await c.delete(f"{URL}/{cid}", headers=kzone.headers("org_admin"))).status_code == 204
    resp = await c.get(f"{URL}/{cid}", headers=student)
    assert resp.status_code == 404 and resp.json()["code"] == "content.not_found"

    # Bad input: clear 4xx.
    resp = await c.post(URL, json={"title": "", "type": "podcast"}, headers=teacher)
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"
    resp = await c.post(URL, json={"title": "t", "type": "video"}, headers=teacher)
    assert resp.status_code == 422
    resp = await c.post(URL, json={"title": "t", "type": "video", "media_id": created[2]["id"]}, headers=teacher)
    assert resp.status_code == 422 and resp.json()["code"] == "content.media_not_found"

    # Another org sees, edits and deletes nothing; nor can it attach this org's media.
    other = kzone.headers("org_admin", org=kzone.org_b)
    assert (await c.get(URL, headers=other)).json() == {"items": [], "next_cursor": None}
    assert (await c.get(f"{URL}/{first['id']}", headers=other)).status_code == 404
    assert (await c.patch(f"{URL}/{first['id']}", json={"title": "pwned"}, headers=other)).status_code == 404
    assert (await c.delete(f"{URL}/{first['id']}", headers=other)).status_code == 404
    resp = await c.post(URL, json={"title": "t", "type": "video", "media_id": media["id"]}, headers=other)
    assert resp.status_code == 422 and resp.json()["code"] == "content.media_not_found"
    assert kzone.query("SELECT title FROM kzone.kzone_contents WHERE id = %s", (first["id"],)) == [
        ("Dynamite choreography",)]
