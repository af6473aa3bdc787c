"""Auth service: credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log."""
from __future__ import annotations

from megacity import job_progress
from megacity.auth.audience import account_request_zone
from megacity.auth.verifier import JwksCache, TokenVerifier
from megacity.http_app import create_app, request_zone
from megacity.retention import RetentionWorker
from megacity.runtime import Resources, ServiceRuntime
from services.auth import grpc_api, hooks, member_events, profile_cache
from services.auth.activation import routes as activation_routes
from services.auth.audit import consumer as audit_consumer
from services.auth.audit import routes as audit_routes
from services.auth.credentials import routes as credentials_routes
from services.auth.devices import routes as devices_routes
from services.auth.emails import sender as account_emails
from services.auth.jwks import routes as jwks_routes
from services.auth.mfa import routes as mfa_routes
from services.auth.recovery import routes as recovery_routes
from services.auth.retention import service as retention
from services.auth.settings import AuthSettings, Settings
from services.auth.state import AuthState
from services.auth.users import routes as users_routes
from services.auth.verification import routes as verification_routes

DESCRIPTION = """Credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log.

Access tokens are EdDSA JWTs (15 minutes) that every service verifies locally against
`/.well-known/jwks.json`; refresh tokens are opaque, rotate on every use and live 30 days.
Errors are `application/problem+json` with a stable `code`."""


def load_settings() -> AuthSettings:
    """AUTH_* variables, as the typed settings the rest of the service reads."""
    settings = Settings()
    if not isinstance(settings, AuthSettings):
        raise TypeError("services.auth.settings.Settings must build AuthSettings")
    return settings


def build(settings: AuthSettings | None = None) -> ServiceRuntime:
    settings = settings or load_settings()
    state = AuthState.create(settings)
    app = create_app("auth", title="MegaCity auth API", description=DESCRIPTION)
    app.state.auth = state
    # Auth verifies its own tokens from its own key table: no HTTP call to itself.
    verifier = TokenVerifier(JwksCache(state.keyring.jwks_fresh))
    app.state.token_verifier = verifier
    app.state.on_permission_denied = hooks.on_permission_denied
    # One account per audience (K-Zone: my-ktube.com + my-ktube.ai): sign-in on any of its hosts
    # uses the audience's account zone (megacity.auth.audience).
    app.dependency_overrides[request_zone] = account_request_zone

    async def start_account_emails(res: Resources) -> None:
        app.state.account_emails = await account_emails.start(res, state)  # None: SMTP off

    async def stop_account_emails(res: Resources) -> None:
        await account_emails.stop(getattr(app.state, "account_emails", None))

    def retention_worker(res: Resources) -> RetentionWorker:
        return RetentionWorker(lambda: retention.run_retention(res, state.settings), service="auth",
                               interval=state.settings.retention_interval_seconds)

    # Routes match in order: the hottest authenticated read (/users/me) goes first.
    for routes in (users_routes, credentials_routes, activation_routes, mfa_routes, audit_routes, jwks_routes):
        app.include_router(routes.router)
    app.include_router(audit_routes.platform_router)
    # Account recovery and hygiene (issue #17 §5).
    for router in (recovery_routes.router, verification_routes.router, devices_routes.router,
                   mfa_routes.recovery_router):
        app.include_router(router)
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, grpc_registrars=[grpc_api.registrar_for(verifier, state)],
                          grpc_service_names=[grpc_api.SERVICE_NAME],
                          consumers=[member_events.CONSUMER, audit_consumer.CONSUMER], outbox=True,
                          on_start=[state.start, start_account_emails], on_stop=[stop_account_emails],
                          workers=[retention_worker], cached_key_parts=[profile_cache.KEY_PARTS])
