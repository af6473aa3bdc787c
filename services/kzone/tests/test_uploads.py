"""Uploads: streamed to object storage, type by magic bytes, size limit while streaming, and
nothing stored (no object, no row, no job, no progress) when an upload is refused."""
from __future__ import annotations

import asyncio
import time

import httpx

from services.kzone.storage import signing
from services.kzone.tests.conftest import KZONE_HOST, TEST_UPLOAD_LIMIT, KzoneHarness
from services.kzone.tests.media_samples import multipart, png, wav


def _nothing_stored(kz: KzoneHarness) -> None:
    assert kz.stored_files() == []
    for table in ("kzone_media", "kzone_ai_jobs", "kzone_ai_results"):
        assert kz.query(f"SELECT count(*) FROM kzone.{table}")[0][0] == 0, table
    assert kz.query("SELECT count(*) FROM kzone.outbox")[0][0] == 0


async def _no_progress_keys(redis_client, namespace: str) -> None:
    assert [k async for k in redis_client.scan_iter(match=f"{namespace}:*job*")] == []


async def test_upload_streams_to_storage_and_presigned_url_works(kzone: KzoneHarness) -> None:
    data = wav(0.5)
    body, ctype = multipart({}, {"file": ("take1.wav", data, "audio/wav")})
    resp = await kzone.client.post("/api/v1/kzone/uploads", content=body,
                                   headers={**kzone.headers("teacher"), "Content-Type": ctype})
    assert resp.status_code == 201, resp.text
    media = resp.json()
    assert (media["kind"], media["content_type"], media["size_bytes"]) == ("audio", "audio/wav", len(data))
    assert media["key"] == f"kzone/audio/{media['id']}/original.wav"  # seed 001 §2.8 layout
    assert kzone.stored_files() == [kzone.object_root / media["key"]]
    assert kzone.query("SELECT purpose, storage_key FROM kzone.kzone_media") == [("content", media["key"])]

    url = httpx.URL(media["url"])
    expires = int(url.params["expires"])
    assert abs(expires - (time.time() + 7 * 24 * 3600)) < 60  # valid 7 days
    got = await kzone.client.get(url.raw_path.decode(), headers={"Host": KZONE_HOST})
    assert got.status_code == 200 and got.content == data

    # Tampering with the key, the expiry or the signature breaks the URL.
    path, sig = url.path, url.params["signature"]
    other_key = path.replace("original.wav", "other.wav")
    for bad in (f"{other_key}?expires={expires}&signature={sig}",
                f"{path}?expires={expires + 1}&signature={sig}",
                f"{path}?expires={expires}&signature={sig[:-2]}xx",
                f"{path}?expires={expires}"):
        resp = await kzone.client.get(bad, headers={"Host": KZONE_HOST})
        assert resp.status_code == 403 and resp.json()["code"] == "object.signature_invalid", bad
    # An expired URL (validly signed, in the past) is refused.
    secret = kzone.runtime.app.state.kzone.settings.url_signing_key()
    old = signing.signed_url(secret, media["key"], base_url="", expires_in=7 * 24 * 3600, now=time.time() - 8 * 24 * 3600)
    resp = await kzone.client.get(old, headers={"Host": KZONE_HOST})
    assert resp.status_code == 410 and resp.json()["code"] == "object.url_expired"

    # The metadata endpoint hands out a fresh URL; other orgs see nothing.
    resp = await kzone.client.get(f"/api/v1/kzone/uploads/{media['id']}", headers=kzone.headers("student"))
    assert resp.status_code == 200 and resp.json()["sha256"] == media["sha256"]
    resp = await kzone.client.get(f"/api/v1/kzone/uploads/{media['id']}",
                                  headers=kzone.headers("teacher", org=kzone.org_b))
    assert resp.status_code == 404 and resp.json()["code"] == "media.not_found"


async def test_non_media_file_is_415_and_nothing_stored(kzone: KzoneHarness, redis_client) -> None:
    script = b"#!/bin/sh\necho this is not audio\n" * 40
    for field_name, url, extra in (("file", "/api/v1/kzone/uploads", {}),
                                   ("audio", "/api/v1/kzone/voice/analyze", {"reference_text": "hello"})):
        # Declared as audio: the content decides.
        body, ctype = multipart(extra, {field_name: ("song.mp3", script, "audio/mpeg")})
        role = "teacher" if field_name == "file" else "student"
        resp = await kzone.client.post(url, content=body, headers={**kzone.headers(role), "Content-Type": ctype})
        assert resp.status_code == 415, resp.text
        problem = resp.json()
        assert problem["code"] == "upload.unsupported_type"
        assert resp.headers["content-type"].startswith("application/problem+json")
    # An image where audio is wanted, and a PNG declared as audio, are refused too.
    body, ctype = multipart({"reference_text": "hello"}, {"audio": ("a.png", png(), "image/png")})
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body,
                                   headers={**kzone.headers(), "Content-Type": ctype})
    assert resp.status_code == 415 and resp.json()["code"] == "upload.unsupported_type"
    body, ctype = multipart({}, {"file": ("a.mp3", png(), "audio/mpeg")})
    resp = await kzone.client.post("/api/v1/kzone/uploads", content=body,
                                   headers={**kzone.headers("teacher"), "Content-Type": ctype})
    assert resp.status_code == 415 and resp.json()["code"] == "upload.type_mismatch"
    _nothing_stored(kzone)
    await _no_progress_keys(redis_client, kzone.namespace)


async def test_oversize_file_is_413_and_nothing_stored(kzone: KzoneHarness, redis_client) -> None:
    big = wav(3.0)  # ~96 KB > the 64 KB test limit
    assert len(big) > TEST_UPLOAD_LIMIT
    body, ctype = multipart({"reference_text": "hello there"}, {"audio": ("big.wav", big, "audio/wav")})
    # Refused from Content-Length before reading, and (chunked, no length) while streaming.
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body,
                                   headers={**kzone.headers(), "Content-Type": ctype})
    assert resp.status_code == 413 and resp.json()["code"] == "upload.too_large"

    async def chunks():
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]

    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=chunks(),
                                   headers={**kzone.headers(), "Content-Type": ctype})
    assert resp.status_code == 413 and resp.json()["code"] == "upload.too_large"
    assert resp.json()["limit_bytes"] == TEST_UPLOAD_LIMIT
    _nothing_stored(kzone)
    await _no_progress_keys(redis_client, kzone.namespace)


async def test_truncated_upload_is_400_and_nothing_stored(kzone: KzoneHarness, redis_client) -> None:
    # 1. The body ends before the closing boundary.
    body, ctype = multipart({"reference_text": "hello there"}, {"audio": ("a.wav", wav(0.5), "audio/wav")}, close=False)
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body[:-5000],
                                   headers={**kzone.headers(), "Content-Type": ctype})
    assert resp.status_code == 400 and resp.json()["code"] == "upload.truncated", resp.text

    # 2. The client promises more bytes than it sends and hangs up mid-file.
    body, ctype = multipart({}, {"file": ("a.wav", wav(1.0), "audio/wav")})
    port = kzone.runtime.http_port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST /api/v1/kzone/uploads HTTP/1.1\r\nHost: {KZONE_HOST}\r\n"
            f"Authorization: {kzone.headers('teacher')['Authorization']}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    for _ in range(100):  # half the file is already on disk, in a temp object: streamed, not buffered
        if any(p.suffix == ".part" for p in kzone.stored_files()):
            break
        await asyncio.sleep(0.02)
    assert [p.parent.name for p in kzone.stored_files()] == [".tmp"]
    writer.close()
    await writer.wait_closed()
    for _ in range(100):  # the server notices the disconnect and cleans up
        if not kzone.stored_files():
            break
        await asyncio.sleep(0.05)
    _nothing_stored(kzone)
    await _no_progress_keys(redis_client, kzone.namespace)


async def test_bad_forms_are_clear_4xx(kzone: KzoneHarness) -> None:
    h = kzone.headers()
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", json={"reference_text": "x"}, headers=h)
    assert resp.status_code == 415 and resp.json()["code"] == "upload.not_multipart"
    body, ctype = multipart({}, {"audio": ("a.wav", wav(0.2), "audio/wav")})
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body, headers={**h, "Content-Type": ctype})
    assert resp.status_code == 422 and resp.json()["code"] == "request.invalid"  # no reference_text
    body, ctype = multipart({"reference_text": "hi"}, {})
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body, headers={**h, "Content-Type": ctype})
    assert resp.status_code == 422  # no audio
    body, ctype = multipart({"reference_text": "hi", "evil": "x"}, {"audio": ("a.wav", wav(0.2), "audio/wav")})
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body, headers={**h, "Content-Type": ctype})
    assert resp.status_code == 400 and resp.json()["code"] == "upload.unexpected_field"
    # Permissions: a teacher holds no attempt:create, a student no exam:create.
    body, ctype = multipart({"reference_text": "hi"}, {"audio": ("a.wav", wav(0.2), "audio/wav")})
    resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body,
                                   headers={**kzone.headers("teacher"), "Content-Type": ctype})
    assert resp.status_code == 403 and resp.json()["code"] == "auth.permission_denied"
    body, ctype = multipart({}, {"file": ("a.wav", wav(0.2), "audio/wav")})
    resp = await kzone.client.post("/api/v1/kzone/uploads", content=body, headers={**h, "Content-Type": ctype})
    assert resp.status_code == 403
    resp = await kzone.client.post("/api/v1/kzone/uploads", content=body, headers={"Host": KZONE_HOST,
                                                                                     "Content-Type": ctype})
    assert resp.status_code == 401
    _nothing_stored(kzone)
