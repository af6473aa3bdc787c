"""Which file a presigned object URL of the filesystem backend opens (HMAC-signed, 7 days by
default). No token: the signature over (key, expiry) is the credential, as with an S3
presigned URL."""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from megacity.errors import AppError
from services.kzone.storage import ObjectStorage, check_key
from services.kzone.storage.filesystem import FilesystemStorage


@dataclass(frozen=True)
class SignedObject:
    path: Path
    media_type: str


def signed_object(storage: ObjectStorage, key: str, expires: str | None, signature: str | None) -> SignedObject:
    """The object a presigned URL names; 403 for a bad key or signature, 410 once expired, 404
    for a missing object or a deployment whose objects are served by S3."""
    if not isinstance(storage, FilesystemStorage):
        raise AppError(404, "object.not_found", "objects are served by the S3 endpoint in this deployment")
    try:
        check_key(key)
    except ValueError:
        raise AppError(403, "object.signature_invalid", "invalid object URL") from None
    problem = storage.verify(key, expires, signature)
    if problem == "expired":
        raise AppError(410, "object.url_expired", "this presigned URL has expired; ask for a new one")
    if problem is not None:
        raise AppError(403, "object.signature_invalid", "the URL's signature does not match")
    path = storage.path(key)
    if not path.is_file():
        raise AppError(404, "object.not_found", "no such object")
    return SignedObject(path, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
