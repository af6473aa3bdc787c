"""Auth service: credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log."""
from __future__ import annotations

from megacity import job_progress
from megacity.auth.verifier import JwksCache, TokenVerifier
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.auth import (
    grpc_api,
    hooks,
    http_api_admin,
    http_api_auth,
    http_api_jwks,
    http_api_mfa,
    http_api_users,
    member_events,
    profile_cache,
)
from services.auth.settings import Settings
from services.auth.state import AuthState

DESCRIPTION = """Credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log.

Access tokens are EdDSA JWTs (15 minutes) that every service verifies locally against
`/.well-known/jwks.json`; refresh tokens are opaque, rotate on every use and live 30 days.
Errors are `application/problem+json` with a stable `code`."""


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    state = AuthState.create(settings)
    app = create_app("auth", title="MegaCity auth API", description=DESCRIPTION)
    app.state.auth = state
    # Auth verifies its own tokens from its own key table: no HTTP call to itself.
    app.state.token_verifier = TokenVerifier(JwksCache(state.keyring.jwks_fresh))
    app.state.on_permission_denied = hooks.on_permission_denied
    # Routes match in order: the hottest authenticated read (/users/me) goes first.
    for module in (http_api_users, http_api_auth, http_api_mfa, http_api_admin, http_api_jwks):
        app.include_router(module.router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar_for(app.state)],
                          grpc_service_names=[grpc_api.SERVICE_NAME], consumers=[member_events.CONSUMER],
                          outbox=True, on_start=[state.start], cached_key_parts=[profile_cache.KEY_PARTS])
