"""S3-API object storage (MinIO in compose, any S3 in production), through boto3.

A writer buffers up to one part (8 MiB) and streams larger objects as an S3 multipart upload,
which stays invisible until `complete_multipart_upload`; `abort()` aborts it, so a failed
upload leaves no object. boto3 is synchronous: every call runs in a worker thread.
"""
from __future__ import annotations

import json
from typing import Any

import anyio

from megacity.telemetry.logs import get_logger
from services.kzone.filenames import content_disposition
from services.kzone.storage.base import BufferedWriter, ObjectNotFound, ObjectTooLarge, check_bucket, check_key

PART_BYTES = 8 * 1024 * 1024  # S3 parts must be >= 5 MiB except the last
# Issue #17 §1: an overwritten or deleted object stays restorable for 30 days as a noncurrent
# version, then goes (so deletions, retention's included, are final after 30 days); a multipart
# upload that was never completed or aborted (a crashed writer) is cleaned up after a day.
LIFECYCLE = {"Rules": [{
    "ID": "megacity-media", "Status": "Enabled", "Filter": {"Prefix": ""},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
}]}

log = get_logger("kzone.storage")


def _client(endpoint_url: str | None, region: str, access_key: str, secret_key: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint_url or None, region_name=region,
        aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60))


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _is_missing(exc: Exception) -> bool:
    return _error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


def public_read_policy(bucket: str) -> str:
    """Anonymous GET of every object (what `mc anonymous set download` sets): static.<domain>."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/*"]}]})


class S3Writer(BufferedWriter):
    def __init__(self, storage: S3Storage, key: str, content_type: str) -> None:
        super().__init__(PART_BYTES)
        self._s3 = storage.client
        self._bucket = storage.bucket
        self._key = key
        self._content_type = content_type
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    async def _write_block(self, data: bytes) -> None:
        """One part of the multipart upload (started by the first part)."""
        if self._upload_id is None:
            created = await anyio.to_thread.run_sync(lambda: self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type))
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        resp = await anyio.to_thread.run_sync(lambda: self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data))
        self._parts.append({"ETag": resp["ETag"], "PartNumber": number})

    async def _commit(self, rest: bytes) -> None:
        if self._upload_id is None:  # under one part: a plain PUT
            await anyio.to_thread.run_sync(lambda: self._s3.put_object(
                Bucket=self._bucket, Key=self._key, Body=rest, ContentType=self._content_type))
            return
        if rest:
            await self._write_block(rest)
        await anyio.to_thread.run_sync(lambda: self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}))

    async def _abort(self) -> None:
        if self._upload_id is not None:
            upload_id = self._upload_id
            await anyio.to_thread.run_sync(lambda: self._s3.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id))


class S3Storage:
    scheme = "s3"

    def __init__(self, *, bucket: str, endpoint_url: str = "", region: str = "us-east-1", access_key: str = "",
                 secret_key: str = "", public_endpoint_url: str = "") -> None:
        self.bucket = bucket
        self.client = _client(endpoint_url, region, access_key, secret_key)
        # Presigned URLs must name a host the browser can reach (not `minio:9000`).
        self._presigner = (_client(public_endpoint_url, region, access_key, secret_key)
                           if public_endpoint_url else self.client)

    async def ensure_ready(self) -> None:
        await self.ensure_bucket(self.bucket, public_read=False)

    async def ensure_bucket(self, name: str, *, public_read: bool) -> bool:
        def _ensure() -> bool:
            try:
                self.client.head_bucket(Bucket=check_bucket(name))
            except Exception as exc:  # noqa: BLE001 - botocore ClientError
                if not _is_missing(exc):
                    raise
            else:
                self._protect(name, only_if_new=True)  # a bucket made before versioning gets it once
                return False
            try:
                self.client.create_bucket(Bucket=name)
            except Exception as exc:  # noqa: BLE001 - another replica made it first: theirs to finish
                if _error_code(exc) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return False
                raise
            self._protect(name)
            if public_read:
                self.client.put_bucket_policy(Bucket=name, Policy=public_read_policy(name))
            return True

        return await anyio.to_thread.run_sync(_ensure)

    def _protect(self, name: str, *, only_if_new: bool = False) -> None:
        """Versioning on and LIFECYCLE (blocking; inside `ensure_bucket`'s worker thread); with
        `only_if_new`, only where versioning was never set, so an operator's later rules stand. S3,
        MinIO and SeaweedFS 4.48 (the local stack) have both; a store without them is logged and accepted."""
        try:
            if only_if_new and "Status" in self.client.get_bucket_versioning(Bucket=name):
                return
            self.client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            self.client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE)
        except Exception as exc:  # noqa: BLE001 - botocore ClientError
            if _error_code(exc) not in ("NotImplemented", "MalformedXML", "InvalidRequest", "XNotImplemented"):
                raise
            log.warning("bucket versioning/lifecycle not supported by this store", bucket=name,
                        error=_error_code(exc))

    def ref(self, key: str) -> str:
        return f"s3://{self.bucket}/{check_key(key)}"

    def key_from_ref(self, ref: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not ref.startswith(prefix):
            raise ValueError(f"not an object ref of bucket {self.bucket}: {ref!r}")
        return check_key(ref.removeprefix(prefix))

    async def open_writer(self, key: str, content_type: str) -> S3Writer:
        return S3Writer(self, check_key(key), content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.put_object(
            Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type))

    async def get_bytes(self, key: str, *, max_bytes: int) -> bytes:
        def _get() -> bytes:
            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            except Exception as exc:  # noqa: BLE001
                if _is_missing(exc):
                    raise ObjectNotFound(key) from None
                raise
            if obj["ContentLength"] > max_bytes:
                obj["Body"].close()
                raise ObjectTooLarge(f"{key} is larger than {max_bytes} bytes")
            return obj["Body"].read()

        return await anyio.to_thread.run_sync(_get)

    async def exists(self, key: str) -> bool:
        def _head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=check_key(key))
                return True
            except Exception as exc:  # noqa: BLE001
                if _is_missing(exc):
                    return False
                raise

        return await anyio.to_thread.run_sync(_head)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket, Key=check_key(key)))

    def presigned_get(self, key: str, *, expires_in: int, base_url: str, filename: str | None = None,
                      now: float | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if filename:
            # S3 echoes it as a response header: ASCII only (RFC 6266 fallback + RFC 8187 filename*).
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self._presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
