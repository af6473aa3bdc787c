"""Streaming multipart/form-data uploads straight into object storage.

The body is read chunk by chunk from `request.stream()` and fed to python-multipart's push
parser; file bytes go to a storage writer as they arrive, so a 500 MB upload never sits in
memory (at most one network chunk plus the writer's buffer). While streaming:
- a file's type is decided by its magic bytes (and must agree with a declared `audio/`,
  `video/` or `image/` type), before anything is written;
- a file over the size limit stops the upload (413), as does a Content-Length over the limit
  before a byte is read;
- a body that ends before the closing boundary (truncated, or the client went away) is 400;
- part headers are kept as bytes: a file name is UTF-8 text however the client sent it (raw
  UTF-8 or `filename*`, see `filenames.py`), and a file name or text field holding NUL or a
  lone surrogate is 422 `request.invalid`.
Every failure aborts the storage writers, so nothing is stored. Objects become visible only
at `store()`, and `UploadReceiver` used as a context manager deletes them again if the
request fails afterwards (e.g. its database transaction).
"""
from __future__ import annotations

import uuid
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from megacity.errors import AppError
from megacity.request_text import is_storable, unstorable_error
from megacity.telemetry.logs import get_logger
from services.kzone import media_types
from services.kzone.filenames import upload_filename
from services.kzone.media_types import MediaType
from services.kzone.storage import ObjectStorage, ObjectWriter, keys

log = get_logger("kzone.uploads")

MAX_FIELD_BYTES = 16 * 1024
MAX_PARTS = 16
DRAIN_BYTES = 4 * 1024 * 1024
_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and text fields on top of the files


@dataclass(frozen=True)
class FileField:
    name: str
    kinds: frozenset[str]  # accepted media kinds: audio, video, image
    required: bool = True


@dataclass(frozen=True)
class StoredMedia:
    """A media file in object storage under `key`: what the database records of it."""

    media_id: uuid.UUID
    kind: str  # audio | video | image
    content_type: str
    key: str
    filename: str | None
    size: int
    sha256: str


@dataclass
class ReceivedFile:
    field: str
    media_id: uuid.UUID
    media: MediaType
    key: str
    filename: str | None
    declared_type: str | None
    writer: ObjectWriter
    size: int = 0
    sha256: str = ""

    def stored(self) -> StoredMedia:
        """What to record once the file is committed."""
        return StoredMedia(media_id=self.media_id, kind=self.media.kind, content_type=self.media.content_type,
                           key=self.key, filename=self.filename, size=self.size, sha256=self.sha256)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    declared_type: str | None = None
    spec: FileField | None = None
    head: bytearray = field(default_factory=bytearray)
    file: ReceivedFile | None = None
    text: bytearray | None = None


def _too_large(limit: int) -> AppError:
    return AppError(413, "upload.too_large", f"the file is larger than the limit of {limit} bytes",
                    {"limit_bytes": limit})


class UploadReceiver:
    """Receive one multipart request into storage. Use as `async with`; see module doc."""

    def __init__(self, request: Request, storage: ObjectStorage, *, files: list[FileField],
                 text_fields: AbstractSet[str], max_file_bytes: int) -> None:
        self.request = request
        self.storage = storage
        self.file_specs = {f.name: f for f in files}
        self.text_fields = text_fields
        self.max_file_bytes = max_file_bytes
        self.fields: dict[str, str] = {}
        self.files: dict[str, ReceivedFile] = {}
        self._committed: list[str] = []
        self._kept = False

    async def __aenter__(self) -> UploadReceiver:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None or not self._kept:
            await self.discard()

    def keep(self) -> None:
        """The request succeeded: leave the committed objects in place."""
        self._kept = True

    async def discard(self) -> None:
        """Abort unfinished writers and delete committed objects (best effort, logged)."""
        for received in self.files.values():
            try:
                await received.writer.abort()
            except Exception:  # noqa: BLE001
                log.exception("could not abort upload", key=received.key)
        for key in self._committed:
            try:
                await self.storage.delete(key)
            except Exception:  # noqa: BLE001
                log.exception("could not delete uploaded object", key=key)
        self._committed.clear()

    async def store(self) -> None:
        """Make every received file exist under its key (commit its writer)."""
        for received in self.files.values():
            await received.writer.commit()
            self._committed.append(received.key)

    # ---- receiving -------------------------------------------------------------------------

    def _boundary(self) -> bytes:
        ctype, params = parse_options_header(self.request.headers.get("content-type"))
        if ctype != b"multipart/form-data" or not params.get(b"boundary"):
            raise AppError(415, "upload.not_multipart", "send the upload as multipart/form-data")
        return params[b"boundary"]

    def _check_length(self) -> None:
        declared = self.request.headers.get("content-length")
        limit = self.max_file_bytes * len(self.file_specs) + _OVERHEAD_BYTES
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(self.max_file_bytes)

    async def receive(self) -> None:
        """Read the whole body; afterwards `fields` holds the text fields and `files` the files
        (written, not yet committed). Raises AppError (4xx) on anything wrong."""
        boundary = self._boundary()
        self._check_length()
        events: list[tuple[str, Any]] = []
        header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}
        headers: dict[str, bytes] = {}  # raw values: file names are UTF-8 (RFC 7578), decoded per parameter

        def on_header_field(data: bytes, start: int, end: int) -> None:
            header["field"] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header["value"] += data[start:end]

        def on_header_end() -> None:
            headers[header["field"].decode("latin-1").lower()] = bytes(header["value"])
            header["field"], header["value"] = bytearray(), bytearray()

        def on_headers_finished() -> None:
            events.append(("headers", dict(headers)))
            headers.clear()

        callbacks: Any = {
            "on_part_begin": lambda: events.append(("begin", None)),
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": lambda data, start, end: events.append(("data", data[start:end])),
            "on_part_end": lambda: events.append(("end_part", None)),
            "on_end": lambda: events.append(("end", None)),
        }
        parser = MultipartParser(boundary, callbacks)
        part: _Part | None = None
        parts = 0
        finished = False
        stream = self.request.stream()
        try:
            async for chunk in stream:
                if not chunk:
                    continue
                if finished:
                    continue  # epilogue after the closing boundary is ignored
                try:
                    parser.write(chunk)
                except MultipartParseError as exc:
                    raise AppError(400, "upload.malformed", f"malformed multipart body: {exc}") from None
                for kind, value in events:
                    if kind == "begin":
                        parts += 1
                        if parts > MAX_PARTS:
                            raise AppError(400, "upload.too_many_parts", f"at most {MAX_PARTS} form fields")
                        part = _Part()
                    elif kind == "headers" and part is not None:
                        self._start_part(part, value)
                    elif kind == "data" and part is not None:
                        await self._part_data(part, value)
                    elif kind == "end_part" and part is not None:
                        await self._end_part(part)
                        part = None
                    elif kind == "end":
                        finished = True
                events.clear()
        except ClientDisconnect:
            raise AppError(400, "upload.truncated", "the client went away before the upload was complete") from None
        except AppError:
            await self._drain(stream)
            raise
        if not finished:
            raise AppError(400, "upload.truncated",
                           "the upload ended before the closing multipart boundary (truncated body)")
        for spec in self.file_specs.values():
            if spec.required and spec.name not in self.files:
                raise AppError(422, "request.invalid", f"form field {spec.name!r} (a file) is required",
                               {"errors": [{"loc": ["body", spec.name], "msg": "field required", "type": "missing"}]})

    @staticmethod
    async def _drain(stream: Any, limit: int = DRAIN_BYTES) -> None:
        """Read (and drop) a little more of a refused body, so a client that is still sending
        gets to read the error instead of a reset connection; past `limit` we hang up."""
        seen = 0
        try:
            async for chunk in stream:
                seen += len(chunk)
                if seen > limit:
                    break
        except ClientDisconnect:
            pass

    def _start_part(self, part: _Part, headers: dict[str, bytes]) -> None:
        raw_disposition = headers.get("content-disposition", b"")
        # bytes: python-multipart reads them as latin-1, so each parameter keeps its exact bytes
        disposition, params = parse_options_header(raw_disposition)
        if disposition != b"form-data" or b"name" not in params:
            raise AppError(400, "upload.malformed", "every part needs Content-Disposition: form-data; name=…")
        part.name = params[b"name"].decode("utf-8", "replace")  # only matched against known names
        part.filename = upload_filename(raw_disposition, params)
        declared = headers.get("content-type")
        part.declared_type = declared.decode("latin-1") if declared is not None else None
        if part.name in self.file_specs:
            if part.name in self.files:
                raise AppError(400, "upload.duplicate_field", f"form field {part.name!r} was sent twice")
            if part.filename is not None and not is_storable(part.filename):
                raise unstorable_error(["body", part.name, "filename"])
            part.spec = self.file_specs[part.name]
        elif part.name in self.text_fields:
            if part.name in self.fields:
                raise AppError(400, "upload.duplicate_field", f"form field {part.name!r} was sent twice")
            part.text = bytearray()
        else:
            expected = sorted([*self.file_specs, *self.text_fields])
            raise AppError(400, "upload.unexpected_field", f"unexpected form field {part.name!r}",
                           {"expected": expected})

    async def _part_data(self, part: _Part, data: bytes) -> None:
        if part.text is not None:
            part.text += data
            if len(part.text) > MAX_FIELD_BYTES:
                raise AppError(413, "upload.field_too_large", f"form field {part.name!r} exceeds {MAX_FIELD_BYTES} bytes")
            return
        if part.file is None:
            part.head += data
            if len(part.head) < media_types.SNIFF_BYTES:
                return
            await self._open_file(part)
            return
        await self._write(part.file, data)

    async def _write(self, received: ReceivedFile, data: bytes) -> None:
        received.size += len(data)
        if received.size > self.max_file_bytes:
            raise _too_large(self.max_file_bytes)
        await received.writer.write(data)

    async def _open_file(self, part: _Part) -> None:
        spec = part.spec
        assert spec is not None
        head = bytes(part.head)
        if not head:
            raise AppError(400, "upload.empty_file", f"form field {spec.name!r} is an empty file")
        media = media_types.detect(head, want=spec.kinds)
        if media is None or media.kind not in spec.kinds:
            raise AppError(415, "upload.unsupported_type",
                           f"{spec.name!r} is not a supported {'/'.join(sorted(spec.kinds))} file "
                           "(checked by its content, not its name or declared type)",
                           {"accepted_kinds": sorted(spec.kinds)})
        declared = media_types.declared_kind(part.declared_type)
        if declared is not None and declared != media.kind and not (
                media.content_type.endswith("/webm") and declared in ("audio", "video")):
            raise AppError(415, "upload.type_mismatch",
                           f"{spec.name!r} was declared {part.declared_type} but its content is {media.content_type}")
        media_id = uuid.uuid4()
        key = keys.original(media.kind, media_id, media.ext)
        writer = await self.storage.open_writer(key, media.content_type)
        part.file = ReceivedFile(field=spec.name, media_id=media_id, media=media, key=key, filename=part.filename,
                                 declared_type=part.declared_type, writer=writer)
        self.files[spec.name] = part.file
        part.head = bytearray()
        await self._write(part.file, head)

    async def _end_part(self, part: _Part) -> None:
        if part.text is not None:
            try:
                value = part.text.decode("utf-8", "surrogatepass")  # encoded surrogates: refused just below
            except UnicodeDecodeError:
                raise AppError(400, "upload.malformed", f"form field {part.name!r} is not UTF-8 text") from None
            if not is_storable(value):
                raise unstorable_error(["body", part.name])
            self.fields[part.name] = value
            return
        if part.file is None:
            await self._open_file(part)  # a file shorter than the sniff window
        assert part.file is not None
        part.file.sha256 = part.file.writer.sha256
