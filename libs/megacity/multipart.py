"""One uploaded file from a multipart/form-data request, the same way for every import endpoint
(tenant rosters, classroom problems): a malformed body is 400 `request.invalid_multipart`, a
missing field 422 `request.invalid`, and the parsed form (its spooled temp files) is always closed."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.datastructures import UploadFile
from starlette.requests import Request

from megacity.errors import AppError


@contextlib.asynccontextmanager
async def uploaded_file(request: Request, *, field: str = "file", what: str = "the file",
                        max_declared_bytes: int | None = None,
                        too_large: Callable[[], AppError] | None = None) -> AsyncIterator[UploadFile]:
    """The multipart field `field`. With `max_declared_bytes`, a Content-Length above it is
    refused before the body is read (`too_large()`, else 413 `request.too_large`)."""
    length = request.headers.get("content-length", "")
    if max_declared_bytes is not None and length.isdigit() and int(length) > max_declared_bytes:
        raise too_large() if too_large else AppError(413, "request.too_large", "the upload is too large")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # noqa: BLE001 - a malformed multipart body, whatever the parser says
        raise AppError(400, "request.invalid_multipart", f"the body is not valid multipart/form-data: {exc}") from None
    try:
        file = form.get(field)
        if not isinstance(file, UploadFile):
            raise AppError(422, "request.invalid", f"the multipart field `{field}` ({what}) is required",
                           {"errors": [{"loc": ["body", field], "msg": "Field required", "type": "missing"}]})
        yield file
    finally:
        await form.close()
