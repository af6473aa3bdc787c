"""K-Zone settings: KZONE_* variables (see megacity.settings.ServiceSettings) plus object storage
and upload limits.

Object storage backend (`KZONE_OBJECT_BACKEND`):
- `fs`   — files under `KZONE_OBJECT_ROOT` (the embedded default); presigned GET URLs are
           HMAC-signed kzone URLs (`/api/v1/kzone/objects/...`) that kzone itself serves;
- `s3`   — any S3 API (MinIO in compose): `KZONE_S3_ENDPOINT_URL`, `KZONE_S3_BUCKET`,
           `KZONE_S3_ACCESS_KEY_ID`, `KZONE_S3_SECRET_ACCESS_KEY`, `KZONE_S3_REGION`;
- `auto` — `s3` when `KZONE_S3_ENDPOINT_URL` is set, else `fs`.
The inference service reads the same objects (`fs://key` under `INFERENCE_OBJECT_ROOT`, or
`s3://bucket/key`), so both must point at the same root or bucket.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from megacity.settings import ServiceSettings, settings_class
from megacity.zones import registry

REPO_ROOT = Path(__file__).resolve().parents[2]
SEVEN_DAYS = 7 * 24 * 3600


class KzoneSettings(ServiceSettings):
    object_backend: Literal["auto", "fs", "s3"] = "auto"
    object_root: str = str(REPO_ROOT / ".state" / "objects")
    s3_endpoint_url: str = ""
    s3_bucket: str = "kzone-media"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Endpoint that presigned URLs name when the service reaches S3 by an internal host.
    s3_public_endpoint_url: str = ""
    # One file of an upload (seed 001 §4.2: the edge allows 500 MB bodies on api.my-ktube.ai).
    max_upload_bytes: int = 500 * 1024 * 1024
    presign_ttl_seconds: int = SEVEN_DAYS
    # Key for the filesystem backend's signed URLs; derived from secret_key when empty.
    object_url_secret: str = ""
    # Absolute base of signed object URLs (e.g. https://api.my-ktube.com); empty: the request's.
    public_base_url: str = ""
    # Retention (services/kzone/retention): finished AI jobs, their results and AI input media
    # (objects too) after this many days; per zone key, e.g. {"kzone-ai": 30} (null: kept).
    ai_job_retention_days: int = Field(default=90, ge=1)
    ai_job_retention_days_by_zone: dict[str, int | None] = Field(default_factory=dict)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("ai_job_retention_days_by_zone")
    @classmethod
    def _known_zones(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        """A typo in a zone key must fail start-up, not silently keep the default."""
        known = {z.key for z in registry().zones}
        for key, n in value.items():
            if key not in known:
                raise ValueError(f"unknown zone key {key!r}")
            if n is not None and n < 1:
                raise ValueError(f"retention days of {key!r} must be at least 1")
        return value

    @property
    def storage_backend(self) -> str:
        if self.object_backend != "auto":
            return self.object_backend
        return "s3" if self.s3_endpoint_url else "fs"

    def url_signing_key(self) -> bytes:
        if self.object_url_secret:
            return self.object_url_secret.encode()
        return hashlib.sha256(b"kzone-object-urls:" + self.secret_key.encode()).digest()


Settings = settings_class("kzone", KzoneSettings)
