"""The public keys every service verifies access tokens with (RFC 7517 JWKS)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from megacity.http_app import problem_response
from services.auth.jwks import service
from services.auth.jwks.schemas import JWKS_EXAMPLE
from services.auth.state import AuthStateDep

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Token-verification keys (JWKS)",
            description="The active signing key first, then the next key (published 15 minutes before it signs, "
                        "so verifiers hold it in time), then passive (rotated-out) keys that still verify tokens "
                        "they signed. Verifiers cache it and refetch on an unknown `kid`.",
            responses={200: {"content": {"application/json": {"example": JWKS_EXAMPLE}}},
                       **problem_response(503, "dependency.database_unavailable", "Keys could not be read")})
async def jwks(st: AuthStateDep) -> JSONResponse:
    return JSONResponse(await service.published_keys(st), headers={"Cache-Control": "public, max-age=60"})
