"""Filesystem object storage (the embedded default): objects are files under one root.

A writer streams into `<root>/.tmp/<random>.part`, fsyncs, and `os.replace`s it to its key on
commit, so a reader never sees a half-written object and an aborted upload leaves nothing.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import anyio

from services.kzone.storage import signing
from services.kzone.storage.base import BufferedWriter, ObjectNotFound, ObjectTooLarge, check_bucket, check_key

FLUSH_BYTES = 1024 * 1024


class FsWriter(BufferedWriter):
    def __init__(self, storage: FilesystemStorage, key: str) -> None:
        super().__init__(FLUSH_BYTES)
        self._storage = storage
        self._key = key
        self._tmp = storage.tmp_dir / f"{uuid.uuid4().hex}.part"
        self._file = open(self._tmp, "xb")  # noqa: SIM115 - closed in commit/abort

    async def _write_block(self, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._file.write, data)

    async def _commit(self, rest: bytes) -> None:
        def _finish() -> None:
            self._file.write(rest)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            final = self._storage.path(self._key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, final)

        await anyio.to_thread.run_sync(_finish)

    async def _abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


class FilesystemStorage:
    scheme = "fs"

    def __init__(self, root: str | Path, signing_key: bytes) -> None:
        self.root = Path(root).resolve()
        self.tmp_dir = self.root / ".tmp"
        self._signing_key = signing_key

    async def ensure_ready(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def bucket_path(self, name: str) -> Path:
        """A bucket is a top-level directory of the root (K-Zone's own objects live under `kzone/`)."""
        return self.root / check_bucket(name)

    async def ensure_bucket(self, name: str, *, public_read: bool) -> bool:
        """`public_read` needs nothing here: whoever serves the directory (the edge) decides."""
        path = self.bucket_path(name)
        if path.is_dir():
            return False
        path.mkdir(parents=True, exist_ok=True)
        return True

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"bad object key {key!r}")
        return path

    def ref(self, key: str) -> str:
        return f"fs://{check_key(key)}"

    def key_from_ref(self, ref: str) -> str:
        if not ref.startswith("fs://"):
            raise ValueError(f"not a filesystem object ref: {ref!r}")
        return check_key(ref.removeprefix("fs://"))

    async def open_writer(self, key: str, content_type: str) -> FsWriter:
        self.path(key)
        await self.ensure_ready()
        return FsWriter(self, key)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        writer = await self.open_writer(key, content_type)
        await writer.write(data)
        await writer.commit()

    async def get_bytes(self, key: str, *, max_bytes: int) -> bytes:
        path = self.path(key)

        def _read() -> bytes:
            try:
                with open(path, "rb") as f:
                    data = f.read(max_bytes + 1)
            except FileNotFoundError:
                raise ObjectNotFound(key) from None
            if len(data) > max_bytes:
                raise ObjectTooLarge(f"{key} is larger than {max_bytes} bytes")
            return data

        return await anyio.to_thread.run_sync(_read)

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def presigned_get(self, key: str, *, expires_in: int, base_url: str, filename: str | None = None,
                      now: float | None = None) -> str:
        return signing.signed_url(self._signing_key, check_key(key), base_url=base_url, expires_in=expires_in,
                                  now=now)

    def verify(self, key: str, expires: str | None, sig: str | None) -> str | None:
        return signing.verify(self._signing_key, key, expires, sig)
