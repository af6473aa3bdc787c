"""Auth retention on megacity.retention (one replica at a time, hourly, per zone):

- `auth.audit_logs` (auth's own events, by `created_at`) and `auth.platform_audit` (every
  service's audit records, by `occurred_at`): `AUTH_AUDIT_RETENTION_DAYS` (365, no less). Both
  are append-only for the app role, so rows go through the owner's functions of migration 0008,
  which never delete anything younger than 366 days whatever clock the caller has;
- published outbox rows and processed inbox entries (member events, audit records) after 7 days;
- account emails (`auth.account_emails`: address, name, status) and emailed-link tokens
  (`auth.account_tokens`: hashes, used or not) after 30 days — their links live 48 hours at most.
  Every run first skips pending mails whose link has died (erasing the sealed token), so with
  SMTP off, when no sender runs, queued tokens still do not outlive their links.
"""
from __future__ import annotations

import datetime as dt

from megacity.retention import RetentionPolicy, RetentionReport, days
from megacity.retention import run_retention as run_policies
from megacity.runtime import Resources
from services.auth.emails import sender as account_emails
from services.auth.settings import AuthSettings

ACCOUNT_MAIL_KEEP = days(30)


def policies(settings: AuthSettings) -> list[RetentionPolicy]:
    keep = days(settings.audit_retention_days)
    return [
        RetentionPolicy("auth.account_emails", "created_at", ACCOUNT_MAIL_KEEP),
        RetentionPolicy("auth.account_tokens", "created_at", ACCOUNT_MAIL_KEEP),
        RetentionPolicy("auth.audit_logs", "created_at", keep, delete_function="auth.retention_delete_audit_logs"),
        RetentionPolicy("auth.platform_audit", "occurred_at", keep, key="seq",
                        delete_function="auth.retention_delete_platform_audit"),
    ]


async def run_retention(res: Resources, settings: AuthSettings, now: dt.datetime | None = None) -> RetentionReport:
    await account_emails.sweep_stale(res, settings)  # every replica: one UPDATE per zone, idempotent
    sessions = res.db()
    assert res.engine is not None  # res.db() raised otherwise
    return await run_policies(res.engine, policies(settings), service="auth", now=now, sessions=sessions,
                              outbox="auth")
