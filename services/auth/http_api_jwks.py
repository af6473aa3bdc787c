"""The public keys every service verifies access tokens with (RFC 7517 JWKS)."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from megacity.http_app import problem_response
from services.auth.state import AuthState, auth_state

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Token-verification keys (JWKS)",
            description="The active signing key first, then the next key (published 15 minutes before it signs, "
                        "so verifiers hold it in time), then passive (rotated-out) keys that still verify tokens "
                        "they signed. Verifiers cache it and refetch on an unknown `kid`.",
            responses={200: {"content": {"application/json": {"example": {"keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                 "kid": "3f9c1b2a7d4e5f60", "alg": "EdDSA", "use": "sig"}]}}}},
                       **problem_response(503, "dependency.database_unavailable", "Keys could not be read")})
async def jwks(st: AuthState = Depends(auth_state)) -> JSONResponse:
    return JSONResponse(await st.keyring.jwks(), headers={"Cache-Control": "public, max-age=60"})
