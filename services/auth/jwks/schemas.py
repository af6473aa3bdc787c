"""The documented answer of the JWKS endpoint (RFC 7517; served as the keyring builds it)."""
from __future__ import annotations

from typing import Any

JWKS_EXAMPLE: dict[str, Any] = {"keys": [
    {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
     "kid": "3f9c1b2a7d4e5f60", "alg": "EdDSA", "use": "sig"}]}
