"""Object storage for K-Zone media and AI outputs: a filesystem backend (default) and an S3
backend, chosen by settings (`KZONE_OBJECT_BACKEND`). Paths follow seed 001 §2.8 (`keys`)."""
from __future__ import annotations

from services.kzone.settings import KzoneSettings
from services.kzone.storage.base import ObjectNotFound, ObjectStorage, ObjectTooLarge, ObjectWriter, check_key
from services.kzone.storage.filesystem import FilesystemStorage

__all__ = ["FilesystemStorage", "ObjectNotFound", "ObjectStorage", "ObjectTooLarge", "ObjectWriter", "check_key",
           "make_storage"]


def make_storage(settings: KzoneSettings) -> ObjectStorage:
    if settings.storage_backend == "s3":
        from services.kzone.storage.s3 import S3Storage

        return S3Storage(bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                         access_key=settings.s3_access_key_id, secret_key=settings.s3_secret_access_key,
                         public_endpoint_url=settings.s3_public_endpoint_url)
    return FilesystemStorage(settings.object_root, settings.url_signing_key())
