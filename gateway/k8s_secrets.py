"""Which Secret holds which key: the manifests reference them, the templates list them, and no
value is ever in git.

- `megacity-<svc>`: what a service's pods read (app-role DB password, secret key, NATS password,
  and its own extras such as auth's PII keys or object-store credentials);
- `megacity-<svc>-migrations`: the owner-role DB password, read only by that service's migration
  Job (and the one-off bootstrap Job), never by a Deployment;
- `megacity-redis`, `megacity-db-bootstrap` (superuser password), `megacity-pgbouncer`
  (`userlist.txt`: SCRAM verifiers of the app roles), and `edge-tls-<zone>` (kubernetes.io/tls).

Passwords are pasted into URLs by the manifests (`$(VAR)`), so they must be URL-safe
(`openssl rand -hex 32`). Create each from its filled-in template:

    kubectl -n megacity create secret generic megacity-auth --from-env-file=megacity-auth.env
"""
from __future__ import annotations

from dataclasses import dataclass

from gateway import k8s_alerting
from megacity.db.migrations import has_migrations
from megacity.zones import Registry

REDIS = "megacity-redis"
DB_BOOTSTRAP = "megacity-db-bootstrap"
PGBOUNCER = "megacity-pgbouncer"
PGBOUNCER_USERLIST = "userlist.txt"
# Services that read and write object storage (their settings have s3_* credentials).
OBJECT_STORE_USERS = frozenset({"kzone", "inference"})
# auth's account emails (password reset, email verification): relay URL (smtp://user:pass@host:587)
# and sender; AUTH_SMTP_URL empty means no mail is sent.
AUTH_MAIL_KEYS = ("AUTH_SMTP_URL", "AUTH_SMTP_FROM")


@dataclass(frozen=True)
class SecretRef:
    secret: str
    key: str


def prefix(service: str) -> str:
    return service.upper().replace("-", "_")


def app_secret(service: str) -> str:
    return f"megacity-{service}"


def migration_secret(service: str) -> str:
    return f"megacity-{service}-migrations"


def tls_secret(zone_key: str) -> str:
    return f"edge-tls-{zone_key}"


def app_password(service: str) -> SecretRef:
    return SecretRef(app_secret(service), f"{prefix(service)}_DB_APP_PASSWORD")


def owner_password(service: str) -> SecretRef:
    return SecretRef(migration_secret(service), f"{prefix(service)}_DB_OWNER_PASSWORD")


def app_keys(service: str) -> list[str]:
    """Keys of `megacity-<svc>`, in the order the template lists them."""
    p = prefix(service)
    keys = [f"{p}_SECRET_KEY", f"{p}_NATS_PASSWORD"]
    if has_migrations(service):
        keys.append(f"{p}_DB_APP_PASSWORD")
    if service == "auth":
        keys += ["AUTH_PII_KEYS", *AUTH_MAIL_KEYS]
    if service == "tenant":
        keys += ["TENANT_PII_KEYS", "TENANT_PII_INDEX_KEY"]
    if service in OBJECT_STORE_USERS:
        keys += [f"{p}_S3_ACCESS_KEY_ID", f"{p}_S3_SECRET_ACCESS_KEY"]
    return keys


def catalogue(reg: Registry) -> dict[str, list[str]]:
    """Every generic Secret the manifests read -> its keys."""
    secrets: dict[str, list[str]] = {}
    for name in reg.services:
        secrets[app_secret(name)] = app_keys(name)
        if has_migrations(name):
            secrets[migration_secret(name)] = [owner_password(name).key]
    secrets[REDIS] = ["REDIS_PASSWORD"]
    secrets[DB_BOOTSTRAP] = ["POSTGRES_PASSWORD"]
    secrets[PGBOUNCER] = [PGBOUNCER_USERLIST]
    secrets.update(k8s_alerting.secret_catalogue())
    return secrets


def templates(reg: Registry) -> dict[str, str]:
    """File name -> template text: `<secret>.env.example` with keys and no values."""
    files: dict[str, str] = {}
    for secret, keys in catalogue(reg).items():
        if secret == PGBOUNCER:
            roles = [f"mc_{name}_app" for name in reg.services if has_migrations(name)]
            files[f"{secret}.{PGBOUNCER_USERLIST}.example"] = "".join(f'"{role}" ""\n' for role in roles)
            continue
        head = (f"# Secret {secret}: keys only, never values in git. Fill in a copy outside the repo, then\n"
                f"#   kubectl -n megacity create secret generic {secret} --from-env-file=<the copy>\n"
                "# Passwords go into URLs: URL-safe values only (openssl rand -hex 32).\n")
        files[f"{secret}.env.example"] = head + "".join(f"{key}=\n" for key in keys)
    return files
