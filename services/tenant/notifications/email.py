"""Notifications by email: every notification row is also its recipient's email job (migration
0009), written in the same transaction as the change it reports, so an email is never lost
with a crash and never sent for a change that rolled back.

A background loop in each tenant process (started only when SMTP is configured, see
`megacity.mail`) sends them outside any request: per zone, it claims due rows (SKIP LOCKED:
replicas share the work; each try is counted and leased for `LEASE_SECONDS`, so a sender that
dies mid-send leaves the row to be tried again), asks auth's `LookupUsers` for the addresses
with no transaction open, sends one plain-text UTF-8 message per row and records the outcome.
SMTP down: the row waits `smtp_retry_seconds * 2**(tries-1)` (capped at an hour) and is tried
again; after `smtp_max_attempts` tries, or when the server refuses the address for good, it is
`failed` with the reason. No address (unknown user, or a generated roster login id): `skipped`.
Rows still pending after `MAX_AGE_SECONDS` (email off or down that long) are skipped: the news
is old, the in-app notification stays. Delivery is at least once: a crash between the SMTP
answer and the write of `sent` sends that one email again.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

from megacity.background_loop import BackgroundLoop
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.mail import Mailer, has_mailbox, retry_delay
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import Zone, registry
from services.tenant.notifications import queries
from services.tenant.notifications.queries import EmailJob, EmailOutcome
from services.tenant.users_client import User, lookup_users

log = get_logger("tenant.notifications.email")

POLL_SECONDS = 5.0
BATCH = 50
LEASE_SECONDS = 300.0  # longer than a batch of SMTP timeouts
MAX_AGE_SECONDS = 86400.0

_LINES = {
    "parent_link.requested": "The student or an admin of the school can approve or reject the request.",
    "parent_link.approved": "The parent can now see the student's progress.",
    "parent_link.rejected": "You can ask the school for a parent code to link again.",
}


def compose(job: EmailJob, user: User, zone: Zone) -> tuple[str, str]:
    """Subject and plain-text body of one notification email."""
    app_url = f"https://app.{zone.domains[0]}/"
    greeting = f"Hello {user.display_name}," if user.display_name else "Hello,"
    lines = [greeting, "", job.title + ".", _LINES.get(job.kind, ""), "",
             f"School: {job.org_name}", f"See your notifications in {zone.name}: {app_url}", "",
             "You receive this email because you are a member of this school in MegaCity."]
    return f"[{zone.name}] {job.title}", "\n".join(line for i, line in enumerate(lines) if line or lines[i - 1])


class NotificationEmails(BackgroundLoop):
    """The sending loop: `start()` on service start, `close()` on stop; `run_once()` is one pass."""

    def __init__(self, res: Resources, mailer: Mailer, *, poll_seconds: float | None = None) -> None:
        super().__init__("notification emails", log, POLL_SECONDS if poll_seconds is None else poll_seconds)
        self.res, self.mailer = res, mailer

    async def run_once(self) -> int:
        """Send every due email of every zone; returns how many were sent."""
        sent = 0
        for zone in registry().zones:
            async with tenant_transaction(self.res.db(), self._ctx(zone)) as s:
                await queries.skip_stale_emails(s, zone.id, MAX_AGE_SECONDS)
            while True:
                async with tenant_transaction(self.res.db(), self._ctx(zone)) as s:
                    jobs = await queries.claim_emails(s, zone.id, BATCH, LEASE_SECONDS)
                if not jobs:
                    break
                sent += await self._send(zone, jobs)
                if len(jobs) < BATCH:
                    break
        return sent

    @staticmethod
    def _ctx(zone: Zone) -> TenantContext:
        return TenantContext(zone.id, role="zone_admin")

    async def _send(self, zone: Zone, jobs: Sequence[EmailJob]) -> int:
        settings = self.res.settings
        try:
            users = {u.id: u for u in await lookup_users(self.res, zone.id, user_ids=sorted({j.user_id for j in jobs}))}
        except AppError as exc:  # auth down: nothing was tried, the rows wait without losing a try
            async with tenant_transaction(self.res.db(), self._ctx(zone)) as s:
                await queries.release_emails(s, zone.id, jobs, retry_delay(settings.smtp_retry_seconds, 1),
                                             f"{exc.code}: {exc.detail}"[:500])
            return 0
        outcomes: list[EmailOutcome] = []
        for job in jobs:
            user = users.get(job.user_id)
            if user is None or not user.email or not has_mailbox(user.email):
                outcomes.append(EmailOutcome(job.id, job.org_id, "skipped", "no email address"))
                continue
            subject, body = compose(job, user, zone)
            result = await self.mailer.send(user.email, subject, body, to_name=user.display_name)
            if result.sent:
                outcomes.append(EmailOutcome(job.id, job.org_id, "sent", None))
            elif result.permanent or job.email_attempts >= settings.smtp_max_attempts:
                outcomes.append(EmailOutcome(job.id, job.org_id, "failed",
                                             f"after {job.email_attempts} tries: {result.error}"[:500]))
            else:
                outcomes.append(EmailOutcome(job.id, job.org_id, "pending", result.error,
                                             retry_delay(settings.smtp_retry_seconds, job.email_attempts)))
        async with tenant_transaction(self.res.db(), self._ctx(zone)) as s:
            await queries.record_emails(s, zone.id, outcomes)
        gave_up = [o for o in outcomes if o.status == "failed"]
        if gave_up:
            log.warning("notification emails given up", count=len(gave_up), zone_id=zone.id)
        return sum(o.status == "sent" for o in outcomes)


async def start(res: Resources) -> NotificationEmails | None:
    """The sender of this process, started; None (nothing is ever attempted) when SMTP is off."""
    mailer = Mailer.from_settings(res.settings)
    if mailer is None:
        log.info("notification emails off: no SMTP configured (smtp_url / smtp_host)")
        return None
    sender = NotificationEmails(res, mailer)
    sender.start()
    return sender


async def stop(sender: NotificationEmails | None) -> None:
    if sender is not None:
        with contextlib.suppress(Exception):
            await sender.close()
