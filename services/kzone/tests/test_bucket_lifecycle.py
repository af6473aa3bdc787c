"""Issue #17 §1: K-Zone's buckets keep overwritten/deleted media as noncurrent versions for 30
days and clean up abandoned multipart uploads after a day — set when K-Zone makes a bucket (and
on a bucket made before this, which has versioning never set), against moto's S3 server."""
from __future__ import annotations

from services.kzone.storage.s3 import S3Storage


def _storage(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(bucket=bucket, endpoint_url=endpoint, access_key="test", secret_key="test-secret")


def _assert_protected(storage: S3Storage, bucket: str) -> None:
    assert storage.client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [rule] = storage.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1


async def test_new_media_and_zone_buckets_get_versioning_and_lifecycle(s3_endpoint: str, namespace: str) -> None:
    storage = _storage(s3_endpoint, f"kz-{namespace}-media")
    await storage.ensure_ready()
    _assert_protected(storage, storage.bucket)
    assert await storage.ensure_bucket(f"static-{namespace}", public_read=True)
    _assert_protected(storage, f"static-{namespace}")

    # versioning at work: a delete leaves the old bytes restorable (until the 30-day rule ends them)
    await storage.put_bytes("kzone/audio/a/original.wav", b"v1", "audio/wav")
    await storage.put_bytes("kzone/audio/a/original.wav", b"v2", "audio/wav")
    await storage.delete("kzone/audio/a/original.wav")
    assert not await storage.exists("kzone/audio/a/original.wav")
    versions = storage.client.list_object_versions(Bucket=storage.bucket, Prefix="kzone/audio/a/")
    kept = [storage.client.get_object(Bucket=storage.bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
            for v in versions["Versions"]]
    assert sorted(kept) == [b"v1", b"v2"] and len(versions["DeleteMarkers"]) == 1


async def test_a_bucket_made_before_gets_them_once_and_later_rules_are_left_alone(s3_endpoint: str,
                                                                                 namespace: str) -> None:
    storage = _storage(s3_endpoint, f"kz-{namespace}-old")
    storage.client.create_bucket(Bucket=storage.bucket)  # an existing deployment's bucket
    assert "Status" not in storage.client.get_bucket_versioning(Bucket=storage.bucket)
    await storage.ensure_ready()
    _assert_protected(storage, storage.bucket)

    operator_rules = {"Rules": [{"ID": "ops", "Status": "Enabled", "Filter": {"Prefix": ""},
                                 "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]}
    storage.client.put_bucket_lifecycle_configuration(Bucket=storage.bucket, LifecycleConfiguration=operator_rules)
    await storage.ensure_ready()  # versioning already set: an operator's later choice stands
    [rule] = storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
