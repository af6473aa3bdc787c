"""OpenAPI pieces several K-Zone features document alike: the auth errors of every protected
endpoint, the errors of a streamed upload (`upload_stream`), and the multipart body of an
endpoint that parses its body itself."""
from __future__ import annotations

from typing import Any

from megacity.http_app import problem_response, problems

AUTH_ERRORS = problems(
    (401, "auth.token_missing", "An access token is required"),
    (403, "auth.permission_denied", "The caller's role lacks the permission"),
)
# Endpoints that create something (content, uploads, AI jobs): the token must name an org.
ORG_REQUIRED = problems((403, "kzone.org_required", "This action needs a token scoped to an org"))

UPLOAD_ERRORS = problems(
    problem_response(400, "upload.truncated", "The body ended early, was malformed or had unexpected fields",
                     "the upload ended before the closing multipart boundary (truncated body)"),
    AUTH_ERRORS,
    (413, "upload.too_large", "A file is over the size limit (500 MB by default)"),
    (415, "upload.unsupported_type", "Not an accepted media file (checked by magic bytes)"),
    problem_response(422, "request.invalid", "A required field is missing, or a file name or text field "
                     "holds NUL or a lone surrogate", "request failed validation"),
)


def multipart_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """`openapi_extra` documenting a multipart body that the endpoint parses itself."""
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}}
