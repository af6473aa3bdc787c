"""The object storage interface K-Zone writes media and AI outputs through.

Writes are all-or-nothing: `open_writer(key)` streams into something invisible (a temp file,
an S3 multipart upload) and only `commit()` makes the object exist under `key`; `abort()`
(or any failure before commit) leaves nothing behind. Both backends' writers are
`BufferedWriter`s: size, SHA-256, buffering and commit/abort bookkeeping live there once; a
backend adds only where the bytes go (a temp file, S3 parts) and how they become visible.
"""
from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
MAX_KEY_LENGTH = 512
# S3 bucket naming (3-63 lowercase letters, digits, '-' and '.'); the filesystem backend keeps it.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


class ObjectNotFound(LookupError):
    """No object under that key."""


class ObjectTooLarge(ValueError):
    """An object is larger than the caller agreed to read into memory."""


def check_key(key: str) -> str:
    """Keys are relative, `/`-separated, without `..` or empty segments (never a path escape)."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise ValueError(f"bad object key {key!r}")
    return key


def check_bucket(name: str) -> str:
    """Bucket names follow S3's rules on every backend, so a name that works here works there."""
    if not _BUCKET.match(name) or ".." in name:
        raise ValueError(f"bad bucket name {name!r}")
    return name


class ObjectWriter(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> None: ...

    async def abort(self) -> None: ...


class ObjectStorage(Protocol):
    scheme: str  # "fs" | "s3"

    async def ensure_ready(self) -> None: ...

    async def ensure_bucket(self, name: str, *, public_read: bool) -> bool:
        """Create bucket `name` when it is missing (True: it was created here); a bucket created
        `public_read` lets anyone GET its objects. An existing bucket is left as it is (its
        policy belongs to whoever made it)."""
        ...

    def ref(self, key: str) -> str:
        """The reference another service (inference) resolves: `fs://key` or `s3://bucket/key`."""
        ...

    def key_from_ref(self, ref: str) -> str:
        """The key of one of this storage's refs; ValueError for anything else."""
        ...

    async def open_writer(self, key: str, content_type: str) -> ObjectWriter: ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get_bytes(self, key: str, *, max_bytes: int) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    def presigned_get(self, key: str, *, expires_in: int, base_url: str, filename: str | None = None,
                      now: float | None = None) -> str:
        """A GET URL for the object valid `expires_in` seconds, needing no other credential."""
        ...


class Digest:
    """Running size and SHA-256 of what a writer has been given."""

    def __init__(self) -> None:
        self.size = 0
        self._hash = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class BufferedWriter(ABC):
    """The half of an `ObjectWriter` that every backend shares: the running size and SHA-256,
    a buffer handed to the backend in blocks of at least `block_bytes` (a file write, an S3
    part), and commit/abort bookkeeping: a failed commit aborts, and abort runs once and never
    after a commit. A backend supplies where the blocks go and how the object is made visible."""

    def __init__(self, block_bytes: int) -> None:
        self._block_bytes = block_bytes
        self._buf = bytearray()
        self._digest = Digest()
        self._done = False

    @property
    def size(self) -> int:
        return self._digest.size

    @property
    def sha256(self) -> str:
        return self._digest.sha256

    async def write(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self._buf += chunk
        if len(self._buf) >= self._block_bytes:
            await self._write_block(self._take())

    def _take(self) -> bytes:
        data, self._buf = bytes(self._buf), bytearray()
        return data

    async def commit(self) -> None:
        try:
            await self._commit(self._take())
        except BaseException:
            await self.abort()
            raise
        self._done = True

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buf = bytearray()
        await self._abort()

    @abstractmethod
    async def _write_block(self, data: bytes) -> None:
        """Store one full block (not yet visible)."""

    @abstractmethod
    async def _commit(self, rest: bytes) -> None:
        """Store the last bytes (possibly none) and make the object visible under its key."""

    @abstractmethod
    async def _abort(self) -> None:
        """Drop whatever was stored so far."""
