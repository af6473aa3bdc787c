"""Reading job inputs and writing job outputs in the object storage kzone uses.

A job's `input_ref` is one of:
- `fs://<key>`          a file under INFERENCE_OBJECT_ROOT (the same root as KZONE_OBJECT_ROOT);
- `s3://<bucket>/<key>` an object in S3/MinIO (INFERENCE_S3_*; boto3 is needed only for this);
- `inline:<text>`       small text carried in the message itself (tutor jobs).
Keys are relative, `/`-separated, without `.`/`..` segments (the same rule as kzone's), and a
resolved filesystem path must stay under the root.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from megacity.errors import AppError
from services.inference.settings import InferenceSettings

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
MAX_KEY_LENGTH = 512
INLINE = "inline:"


def bad_ref(ref: str, why: str) -> AppError:
    return AppError(400, "inference.bad_input_ref", f"input_ref {ref[:80]!r}: {why}")


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise ValueError(f"bad object key {key!r}")
    return key


@dataclass(frozen=True)
class ObjectRef:
    scheme: str  # "fs" | "s3" | "inline"
    key: str = ""
    bucket: str = ""
    text: str = ""

    def __str__(self) -> str:
        if self.scheme == "fs":
            return f"fs://{self.key}"
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.key}"
        return INLINE + self.text


def parse_ref(ref: str) -> ObjectRef:
    if not isinstance(ref, str) or not ref:
        raise bad_ref(str(ref), "missing")
    if ref.startswith(INLINE):
        return ObjectRef("inline", text=ref[len(INLINE):])
    try:
        if ref.startswith("fs://"):
            return ObjectRef("fs", key=check_key(ref[5:]))
        if ref.startswith("s3://"):
            bucket, _, key = ref[5:].partition("/")
            if not _BUCKET.match(bucket):
                raise ValueError("bad bucket name")
            return ObjectRef("s3", key=check_key(key), bucket=bucket)
    except ValueError as exc:
        raise bad_ref(ref, str(exc)) from None
    raise bad_ref(ref, "expected fs://key, s3://bucket/key or inline:text")


class ObjectStore:
    def __init__(self, settings: InferenceSettings) -> None:
        self.settings = settings
        self.root = Path(settings.object_root).resolve()
        self._s3: Any = None

    # -- filesystem -------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"key {key!r} escapes the object root")
        return path

    # -- S3 ---------------------------------------------------------------------------------
    def s3(self) -> Any:
        if self._s3 is None:
            try:
                import boto3
            except ModuleNotFoundError:
                raise AppError(501, "inference.s3_unavailable", "s3:// inputs need boto3 on this replica") from None
            s = self.settings
            self._s3 = boto3.client("s3", endpoint_url=s.s3_endpoint_url or None, region_name=s.s3_region,
                                    aws_access_key_id=s.s3_access_key_id or None,
                                    aws_secret_access_key=s.s3_secret_access_key or None)
        return self._s3

    # -- reading ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def local_file(self, ref: ObjectRef, suffix: str = "") -> Iterator[Path]:
        """A local path holding the object (the file itself for fs://, a temp copy for s3://)."""
        if ref.scheme == "fs":
            path = self.path(ref.key)
            if not path.is_file():
                raise AppError(404, "inference.object_not_found", f"no object {ref}")
            if path.stat().st_size > self.settings.max_media_bytes:
                raise AppError(400, "inference.media_too_large", f"{ref} is larger than the limit")
            yield path
            return
        if ref.scheme == "s3":
            client = self.s3()
            fd, tmp = tempfile.mkstemp(suffix=suffix or Path(ref.key).suffix, prefix="inference-")
            os.close(fd)
            try:
                try:
                    head = client.head_object(Bucket=ref.bucket, Key=ref.key)
                except Exception as exc:  # noqa: BLE001 - botocore's ClientError for 404s
                    if "404" in str(exc) or "Not Found" in str(exc) or "NoSuchKey" in str(exc):
                        raise AppError(404, "inference.object_not_found", f"no object {ref}") from None
                    raise
                if int(head.get("ContentLength", 0)) > self.settings.max_media_bytes:
                    raise AppError(400, "inference.media_too_large", f"{ref} is larger than the limit")
                client.download_file(ref.bucket, ref.key, tmp)
                yield Path(tmp)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return
        raise bad_ref(str(ref), "an inline input has no file")

    # -- writing ----------------------------------------------------------------------------
    def put_json(self, like: ObjectRef, key: str, document: Any) -> str:
        """Store `document` as JSON under `key`, in the same store as `like`; returns its ref."""
        body = json.dumps(document, separators=(",", ":")).encode()
        if like.scheme == "s3":
            self.s3().put_object(Bucket=like.bucket, Key=check_key(key), Body=body, ContentType="application/json")
            return str(ObjectRef("s3", key=key, bucket=like.bucket))
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers never see half a file
        return str(ObjectRef("fs", key=key))
