"""The S3 backend against a real S3 API over HTTP (moto's S3 server standing in for MinIO):
streamed multipart writes that stay invisible until commit, abort leaving nothing, presigned
GET URLs valid 7 days, and a kzone upload stored in the bucket."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg

from megacity.testing import run_service
from services.kzone.filenames import content_disposition
from services.kzone.storage.s3 import PART_BYTES, S3Storage
from services.kzone.tests.conftest import KZONE_HOST
from services.kzone.tests.media_samples import multipart, wav


def _storage(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(bucket=bucket, endpoint_url=endpoint, access_key="test", secret_key="test-secret")


def _objects(storage: S3Storage) -> list[str]:
    return [o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents", [])]


def _pending_uploads(storage: S3Storage) -> list[str]:
    return [u["Key"] for u in storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])]


async def test_s3_writer_commit_abort_and_presign(s3_endpoint: str, namespace: str) -> None:
    storage = _storage(s3_endpoint, f"kz-{namespace}")
    await storage.ensure_ready()
    await storage.ensure_ready()  # idempotent
    big = bytes(range(256)) * (PART_BYTES * 2 // 256 + 1000)  # > 2 parts: a real multipart upload
    writer = await storage.open_writer("kzone/video/abc/original.mp4", "video/mp4")
    for i in range(0, len(big), 1 << 20):
        await writer.write(big[i:i + (1 << 20)])
    assert _objects(storage) == [] and _pending_uploads(storage) == ["kzone/video/abc/original.mp4"]
    await writer.commit()
    assert _objects(storage) == ["kzone/video/abc/original.mp4"] and _pending_uploads(storage) == []
    assert await storage.get_bytes("kzone/video/abc/original.mp4", max_bytes=len(big)) == big
    assert storage.ref("kzone/video/abc/original.mp4") == f"s3://kz-{namespace}/kzone/video/abc/original.mp4"

    aborted = await storage.open_writer("kzone/video/def/original.mp4", "video/mp4")
    await aborted.write(big)
    await aborted.abort()
    assert _objects(storage) == ["kzone/video/abc/original.mp4"] and _pending_uploads(storage) == []

    await storage.put_bytes("kzone/pose/abc/keypoints.json", b'{"frames": []}', "application/json")
    url = storage.presigned_get("kzone/pose/abc/keypoints.json", expires_in=7 * 24 * 3600, base_url="")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["604800"]
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b'{"frames": []}'
    # (Signature checking of S3 URLs is the S3 server's job; moto does not check them, MinIO does.)


async def test_presigned_url_names_the_download_in_ascii(s3_endpoint: str, namespace: str) -> None:
    """The file name travels in ResponseContentDisposition, which S3 sends back as the response's
    Content-Disposition header, so it must be ASCII: an RFC 6266 fallback plus
    `filename*=UTF-8''…` (issue #9). (moto ignores the override; MinIO and S3 apply it.)"""
    storage = _storage(s3_endpoint, f"kz-{namespace}-names")
    await storage.ensure_ready()
    await storage.put_bytes("kzone/audio/abc/original.wav", b"RIFF", "audio/wav")
    async with httpx.AsyncClient() as client:
        for name in ("노래.wav", "ノート.wav", "🎵.wav", "café.wav", 'say "hi".wav', "take1.wav"):
            url = storage.presigned_get("kzone/audio/abc/original.wav", expires_in=3600, base_url="", filename=name)
            [header] = parse_qs(urlparse(url).query)["response-content-disposition"]
            assert header.isascii() and header == content_disposition(name)
            assert header.startswith("inline; filename=\"") and ("filename*=UTF-8''" in header) == (name != "take1.wav")
            resp = await client.get(url)
            assert resp.status_code == 200 and resp.content == b"RIFF"


async def test_kzone_upload_into_s3_and_refused_upload_leaves_nothing(s3_endpoint, test_db, namespace, token_mint,
                                                                      nats_client) -> None:
    bucket = f"kz-{namespace}-svc"
    limit = PART_BYTES + (2 << 20)  # 10 MiB: an oversize file has already started a multipart upload
    async with run_service("kzone", test_db, namespace, object_backend="s3", s3_endpoint_url=s3_endpoint,
                           s3_bucket=bucket, s3_access_key_id="test", s3_secret_access_key="test-secret",
                           max_upload_bytes=limit, secret_key="kzone-test-secret-key") as rt:
        token_mint.install(rt.app)
        storage: S3Storage = rt.app.state.kzone.storage
        org = uuid.uuid4()
        headers = {"Host": KZONE_HOST,
                   "Authorization": f"Bearer {token_mint.token(zone_id=6, role='teacher', org_id=org)}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=60) as client:
            data = wav(0.5)
            body, ctype = multipart({}, {"file": ("a.wav", data, "audio/wav")})
            resp = await client.post("/api/v1/kzone/uploads", content=body, headers={**headers, "Content-Type": ctype})
            assert resp.status_code == 201, resp.text
            media = resp.json()
            assert _objects(storage) == [media["key"]]
            async with httpx.AsyncClient() as direct:
                assert (await direct.get(media["url"])).content == data
            assert "X-Amz-Expires=604800" in media["url"]

            huge = wav(1.0)[:44] + b"\x00" * (limit + (1 << 20))

            async def chunks():
                b, _ = multipart({}, {"file": ("big.wav", huge, "audio/wav")})
                for i in range(0, len(b), 1 << 18):
                    yield b[i:i + (1 << 18)]

            resp = await client.post("/api/v1/kzone/uploads", content=chunks(),
                                     headers={**headers, "Content-Type": ctype})
            assert resp.status_code == 413 and resp.json()["code"] == "upload.too_large"
        assert _objects(storage) == [media["key"]] and _pending_uploads(storage) == []
        with psycopg.connect(test_db.admin_url) as conn:
            assert conn.execute("SELECT count(*) FROM kzone.kzone_media").fetchone() == (1,)
