"""Outgoing email over SMTP (aiosmtplib): plain-text UTF-8 messages, one recipient each.

`Mailer.send` never raises into its caller: it answers a `Delivery` (sent, or why not and
whether trying again can help), logs the failure and counts every outcome in
`mc_mail_messages_total`. Callers that must not lose a message (tenant's notification emails)
queue it in their database first and send from a background loop, never from a request's
transaction. With no SMTP configured (`smtp_url` and `smtp_host` empty) `Mailer.from_settings`
is None: email is off, nothing is attempted.
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
from prometheus_client import Counter

from megacity.settings import ServiceSettings
from megacity.telemetry.logs import get_logger

log = get_logger("megacity.mail")

MAIL_MESSAGES = Counter(
    "mc_mail_messages_total", "Emails handed to SMTP: sent, retry (temporary failure) or rejected (permanent)",
    ["service", "result"])

Security = Literal["auto", "starttls", "tls", "none"]
_ADDRESS_IN_BRACKETS = re.compile(r"<[^<>\s]*@[^<>\s]*>")  # how servers echo an address: <a@b.example>
_DEFAULT_PORTS = {"tls": 465, "starttls": 587, "auto": 587, "none": 25}


MAX_RETRY_SECONDS = 3600.0
# Login ids provisioning generates for students without an email: no mailbox behind them.
NO_MAILBOX_DOMAINS = ("roster.invalid",)


def has_mailbox(address: str) -> bool:
    return address.rpartition("@")[2] not in NO_MAILBOX_DOMAINS


def retry_delay(retry_seconds: float, attempts: int) -> float:
    """How long a queued mail waits after its `attempts`-th failed try: doubling, capped at an hour."""
    return float(min(retry_seconds * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str
    password: str
    security: Security
    sender: str
    timeout: float
    validate_certs: bool

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SmtpConfig | None:
        """The SMTP settings, or None when email is off. A malformed `smtp_url` is a ValueError
        (raised at start-up, not at the first email)."""
        host, port, user, password = settings.smtp_host, settings.smtp_port, settings.smtp_username, \
            settings.smtp_password
        security: Security = settings.smtp_security
        if settings.smtp_url:
            url = urlsplit(settings.smtp_url)
            if url.scheme not in ("smtp", "smtps") or not url.hostname:
                raise ValueError("smtp_url must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
            host = url.hostname
            port = url.port or port
            user = unquote(url.username) if url.username else user
            password = unquote(url.password) if url.password else password
            if url.scheme == "smtps":
                security = "tls"
        if not host:
            return None
        if "@" not in email.utils.parseaddr(settings.smtp_from)[1]:
            raise ValueError("smtp_from must be an email address, e.g. 'MegaCity <no-reply@example.com>'")
        return cls(host, port or _DEFAULT_PORTS[security], user, password, security, settings.smtp_from,
                   settings.smtp_timeout_seconds, settings.smtp_validate_certs)


@dataclass(frozen=True)
class Delivery:
    sent: bool
    error: str = ""
    # True when the server refused the message for good (5xx: bad address, ...): no retry.
    permanent: bool = False


def build_message(sender: str, to: str, subject: str, body: str, *, to_name: str = "") -> EmailMessage:
    """A plain-text message, UTF-8 (Korean names in the subject, body and display name survive)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = Address(display_name=to_name, addr_spec=to) if to_name else to
    msg["Subject"] = " ".join(subject.split())  # one header line, whatever the text held
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    msg.set_content(body, charset="utf-8", cte="base64")  # 7-bit safe through any relay
    return msg


class Mailer:
    """Sends through one SMTP server; a new connection per message (emails here are rare)."""

    def __init__(self, config: SmtpConfig, service: str) -> None:
        self.config, self.service = config, service

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Mailer | None:
        config = SmtpConfig.from_settings(settings)
        return cls(config, settings.service_name) if config is not None else None

    async def send(self, to: str, subject: str, body: str, *, to_name: str = "") -> Delivery:
        c = self.config
        try:
            msg = build_message(c.sender, to, subject, body, to_name=to_name)
            await aiosmtplib.send(
                msg, hostname=c.host, port=c.port, username=c.username or None, password=c.password or None,
                use_tls=c.security == "tls", start_tls={"starttls": True, "none": False}.get(c.security),
                timeout=c.timeout, validate_certs=c.validate_certs)
        except aiosmtplib.SMTPRecipientsRefused as exc:  # 550 no such user (for good), 450 greylisted (not)
            codes = [r.code for r in exc.recipients]  # the exception's text names the address: left out
            return self._failed(to, f"recipient refused: {', '.join(map(str, codes))}",
                                permanent=all(500 <= c < 600 for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            return self._failed(to, f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600
                                and not isinstance(exc, aiosmtplib.SMTPAuthenticationError))
        except (aiosmtplib.SMTPException, OSError) as exc:  # down, timeout, TLS: worth another try
            return self._failed(to, f"{type(exc).__name__}: {exc}", permanent=False)
        except ValueError as exc:  # a malformed address or header: no retry fixes it
            return self._failed(to, f"invalid message: {exc}", permanent=True)
        MAIL_MESSAGES.labels(self.service, "sent").inc()
        return Delivery(True)

    def _failed(self, to: str, error: str, *, permanent: bool) -> Delivery:
        """The error is stored with the delivery and logged: the recipient's address (personal
        data, and servers echo it) never goes into it."""
        error = _ADDRESS_IN_BRACKETS.sub("<recipient>", error)
        if to:
            error = re.sub(re.escape(to), "<recipient>", error, flags=re.IGNORECASE)
        error = " ".join(error.split())[:500]
        MAIL_MESSAGES.labels(self.service, "rejected" if permanent else "retry").inc()
        log.warning("email not sent", to_domain=to.rpartition("@")[2], error=error, permanent=permanent,
                    smtp_host=self.config.host)
        return Delivery(False, error, permanent)
