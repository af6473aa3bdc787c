"""Every registry zone's `static-<zone>` bucket exists once K-Zone has started (issue #11:
adding a zone needs no bucket made by hand), on the filesystem backend and on a real S3 API
over HTTP (moto's server); making them again changes nothing, and a bucket someone else made
keeps its policy."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from megacity.testing import TestDatabase, run_service
from megacity.zones import REGISTRY_PATH, Registry, registry
from services.kzone.storage.buckets import ensure_zone_buckets, zone_buckets
from services.kzone.storage.filesystem import FilesystemStorage
from services.kzone.storage.s3 import S3Storage

NINE = ["static-univ", "static-college", "static-skill", "static-medi", "static-major", "static-kzone",
        "static-kzone-ai", "static-mpc", "static-dreamseed"]


def with_lang() -> Registry:
    data = yaml.safe_load(REGISTRY_PATH.read_text())
    data["zones"].append({"key": "lang", "id": 10, "name": "Language Prep", "domains": ["langprepai.com"],
                          "api_service": "tenant"})
    return Registry.model_validate(data)


def test_bucket_names_come_from_the_registry() -> None:
    assert zone_buckets() == NINE == [z.static_bucket for z in registry().zones]
    assert zone_buckets(with_lang())[-1] == "static-lang"


async def test_kzone_start_makes_every_zone_bucket_on_the_filesystem(test_db: TestDatabase, namespace: str,
                                                                     tmp_path: Path) -> None:
    root = tmp_path / "objects"
    (root / "static-univ").mkdir(parents=True)
    (root / "static-univ" / "logo.svg").write_text("<svg/>")
    async with run_service("kzone", test_db, namespace, object_backend="fs", object_root=str(root),
                           secret_key="kzone-test-secret-key"):
        pass
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("static-")) == sorted(NINE)
    assert (root / "static-univ" / "logo.svg").read_text() == "<svg/>"  # an existing bucket is left alone

    storage = FilesystemStorage(root, b"k")
    assert await ensure_zone_buckets(storage) == []  # idempotent
    assert await ensure_zone_buckets(storage, with_lang()) == ["static-lang"]
    assert (root / "static-lang").is_dir()


async def test_zone_buckets_on_s3_are_public_read_and_made_once(s3_endpoint: str, namespace: str) -> None:
    # moto keeps its buckets per process: other tests' kzone starts made theirs; start clean.
    async with httpx.AsyncClient() as client:
        (await client.post(f"{s3_endpoint}/moto-api/reset")).raise_for_status()
    storage = S3Storage(bucket=f"kz-{namespace}", endpoint_url=s3_endpoint, access_key="test", secret_key="test")
    s3 = storage.client
    s3.create_bucket(Bucket="static-univ")  # made by hand (say, a private one): not ours to change

    assert await ensure_zone_buckets(storage) == NINE[1:]
    assert await ensure_zone_buckets(storage, with_lang()) == ["static-lang"]
    assert await ensure_zone_buckets(storage, with_lang()) == []
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(NINE + ["static-lang"]) <= names

    policy = json.loads(s3.get_bucket_policy(Bucket="static-lang")["Policy"])
    assert policy["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
                                    "Resource": ["arn:aws:s3:::static-lang/*"]}]
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket="static-univ")
    # static.langprepai.com forwards path-style, unsigned (the edge adds the `/static-<zone>` prefix).
    # (moto serves unsigned requests whatever the policy; MinIO and S3 apply it.)
    s3.put_object(Bucket="static-lang", Key="app.css", Body=b"body{}")
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{s3_endpoint}/static-lang/app.css")).content == b"body{}"


def test_bucket_names_are_checked() -> None:
    storage = FilesystemStorage("/tmp/unused", b"k")
    for bad in ("../etc", "Static-Univ", "a", ".tmp"):
        with pytest.raises(ValueError, match="bad bucket name"):
            storage.bucket_path(bad)
