"""What an object download answers: the object's bytes, or a problem."""
from __future__ import annotations

from typing import Any

from megacity.http_app import problems

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}},
    **problems((403, "object.signature_invalid", "Signature does not match"),
               (410, "object.url_expired", "The presigned URL has expired"),
               (404, "object.not_found", "No such object")),
}
