"""Queueing and sending account emails.

`queue` writes the mail (its link's token Fernet-sealed with `AUTH_PII_KEYS`) in the caller's
transaction: the mail exists iff the token does, and no SMTP call ever runs inside a request or
a transaction. `AccountEmails` is the background loop of each auth process (started only when
SMTP is configured, `megacity.mail`): per zone it claims due rows (SKIP LOCKED, each try counted
and leased for `LEASE_SECONDS`), sends one plain-text UTF-8 message per row and records the
outcome. SMTP down: retry after `smtp_retry_seconds * 2**(tries-1)` (capped at an hour) until
`smtp_max_attempts`; a permanent refusal is `failed` at once; a row that fails otherwise is
retried the same way without stopping its batch. A mail still pending after its link's lifetime
is skipped (`sweep_stale`, also run by retention every hour, when SMTP is off too). Sent or
given up, the sealed token is erased. Delivery is at least once (a crash between the SMTP
answer and the write of `sent` sends it again).
"""
from __future__ import annotations

import contextlib
import json
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.background_loop import BackgroundLoop
from megacity.mail import Mailer, has_mailbox, retry_delay
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from megacity.zones import Zone, registry
from services.auth.db_scope import scoped_transaction
from services.auth.emails import messages, queries
from services.auth.emails.queries import EmailJob, EmailOutcome
from services.auth.settings import AuthSettings
from services.auth.state import AuthState

log = get_logger("auth.emails")

POLL_SECONDS = 2.0
# A batch is claimed, sent one by one, then recorded: it must fit the lease even when every send
# waits its full SMTP timeout (10 x 10 s default, well under 300 s), or another replica re-claims it.
BATCH = 10
LEASE_SECONDS = 300.0
STALE_SWEEP_SECONDS = 60.0  # how often the pass also skips mails whose link has died


async def queue(s: AsyncSession, st: AuthState, *, zone_id: int, user_id: uuid.UUID, kind: str, to_address: str,
                to_name: str, token: str) -> uuid.UUID | None:
    """Queue one account email in the caller's transaction (None: the address has no mailbox)."""
    if not has_mailbox(to_address):
        return None
    return await queries.insert(s, zone_id=zone_id, user_id=user_id, kind=kind, to_address=to_address,
                                to_name=to_name, payload_sealed=st.cipher.encrypt(json.dumps({"token": token})))


def link_lifetimes(settings: AuthSettings) -> dict[str, float]:
    return {"password_reset": float(settings.password_reset_ttl_seconds),
            "email_verification": float(settings.email_verification_ttl_seconds)}


async def sweep_stale(res: Resources, settings: AuthSettings) -> int:
    """Skip every zone's pending mails whose link has died, erasing their sealed tokens. The
    sender does it as it goes; retention does it every run too, so with SMTP off (no sender)
    no sealed token outlives its link."""
    skipped = 0
    for zone in registry().zones:
        async with scoped_transaction(res.db(), zone.id, "service") as tx:
            skipped += await queries.skip_stale(tx, zone.id, link_lifetimes(settings))
    return skipped


class AccountEmails(BackgroundLoop):
    """The sending loop: `start()` on service start, `close()` on stop; `run_once()` is one pass."""

    def __init__(self, res: Resources, st: AuthState, mailer: Mailer, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__("account emails", log, poll_seconds)
        self.res, self.st, self.mailer = res, st, mailer
        self._swept_at = -STALE_SWEEP_SECONDS

    async def run_once(self) -> int:
        """Send every due email of every zone; returns how many were sent."""
        sent = 0
        if time.monotonic() - self._swept_at >= STALE_SWEEP_SECONDS:
            self._swept_at = time.monotonic()
            await sweep_stale(self.res, self.st.settings)
        for zone in registry().zones:
            while True:
                async with scoped_transaction(self.res.db(), zone.id, "service") as tx:
                    jobs = await queries.claim(tx, zone.id, BATCH, LEASE_SECONDS)
                if not jobs:
                    break
                outcomes = [await self._try_send(zone, job) for job in jobs]
                async with scoped_transaction(self.res.db(), zone.id, "service") as tx:
                    await queries.record(tx, zone.id, outcomes)
                sent += sum(o.status == "sent" for o in outcomes)
                if len(jobs) < BATCH:
                    break
        return sent

    async def _try_send(self, zone: Zone, job: EmailJob) -> EmailOutcome:
        """One row's outcome, whatever goes wrong with it: a row that cannot be sent (a payload
        sealed with a retired key, a bug) is retried and given up like an SMTP failure, and never
        keeps the rest of its batch from being recorded."""
        try:
            return await self._send(zone, job)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the queue
            log.warning("account email: send failed", email_id=str(job.id), kind=job.kind, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"[:500]
            if job.attempts >= self.st.settings.smtp_max_attempts:
                return EmailOutcome(job.id, "failed", f"after {job.attempts} tries: {error}"[:500])
            return EmailOutcome(job.id, "pending", error,
                                retry_delay(self.st.settings.smtp_retry_seconds, job.attempts))

    async def _send(self, zone: Zone, job: EmailJob) -> EmailOutcome:
        s = self.st.settings
        if job.payload_sealed is None:
            return EmailOutcome(job.id, "failed", "no payload")
        token = json.loads(self.st.cipher.decrypt(job.payload_sealed))["token"]
        minutes = (s.password_reset_ttl_seconds if job.kind == "password_reset"
                   else s.email_verification_ttl_seconds) // 60
        url = messages.link(s.account_link_base, zone, job.kind, token)
        subject, body = messages.compose(job.kind, zone, url, job.to_name, minutes)
        result = await self.mailer.send(job.to_address, subject, body, to_name=job.to_name)
        if result.sent:
            return EmailOutcome(job.id, "sent")
        if result.permanent or job.attempts >= s.smtp_max_attempts:
            return EmailOutcome(job.id, "failed", f"after {job.attempts} tries: {result.error}"[:500])
        return EmailOutcome(job.id, "pending", result.error[:500], retry_delay(s.smtp_retry_seconds, job.attempts))


async def start(res: Resources, st: AuthState) -> AccountEmails | None:
    """The sender of this process, started; None (nothing is ever attempted) when SMTP is off."""
    mailer = Mailer.from_settings(res.settings)
    if mailer is None:
        log.info("account emails off: no SMTP configured (smtp_url / smtp_host)")
        return None
    sender = AccountEmails(res, st, mailer, poll_seconds=st.settings.account_email_poll_seconds)
    sender.start()
    return sender


async def stop(sender: AccountEmails | None) -> None:
    if sender is not None:
        with contextlib.suppress(Exception):
            await sender.close()
