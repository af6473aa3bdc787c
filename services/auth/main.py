"""Auth service: credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log."""
from __future__ import annotations

from megacity import job_progress
from megacity.http_app import create_app
from megacity.runtime import ServiceRuntime
from services.auth.settings import Settings


def build(settings: Settings | None = None) -> ServiceRuntime:
    settings = settings or Settings()
    app = create_app("auth", title="MegaCity auth API", description="Credentials, sessions, signing keys (JWKS), RBAC, MFA and the auth audit log.")
    app.include_router(job_progress.router)
    return ServiceRuntime(settings, app=app, outbox=True)
