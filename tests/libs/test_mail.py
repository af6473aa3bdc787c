"""megacity.mail against a real SMTP server (aiosmtpd in this process, on a free port): settings
parsing, UTF-8 plain-text messages, authentication, and failures answered (never raised)."""
from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from megacity.mail import Mailer, SmtpConfig, build_message
from megacity.settings import settings_class
from megacity.telemetry_testing import sample_value

Settings = settings_class("tenant")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler: keeps every message it accepts; refuses recipients in `refuse` (550)."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:  # noqa: N802
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user"  # as real servers do: the address echoed
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if any(a.startswith("spam") for a in envelope.rcpt_tos):
            rcpt = envelope.rcpt_tos[0]
            return f"554 5.7.1 message to <{rcpt}> refused as spam; {rcpt.upper()} blocked"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(refuse=("nobody@example.com",)), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _counter(result: str) -> float:
    return sample_value("mc_mail_messages_total", {"service": "tenant", "result": result}) or 0.0


def test_settings_off_url_and_fields() -> None:
    assert SmtpConfig.from_settings(Settings()) is None and Mailer.from_settings(Settings()) is None
    c = SmtpConfig.from_settings(Settings(smtp_url="smtp://mailer%40school:p%3Ass@mail.example.com:2525",
                                          smtp_from="학교 <no-reply@school.example>"))
    assert c is not None
    assert (c.host, c.port, c.username, c.password, c.security) == (
        "mail.example.com", 2525, "mailer@school", "p:ss", "auto")
    c = SmtpConfig.from_settings(Settings(smtp_url="smtps://u:p@mail.example.com", smtp_timeout_seconds=3))
    assert c is not None and (c.port, c.security, c.timeout) == (465, "tls", 3)
    c = SmtpConfig.from_settings(Settings(smtp_host="relay", smtp_security="starttls", smtp_username="u"))
    assert c is not None and (c.host, c.port, c.security, c.username) == ("relay", 587, "starttls", "u")
    for bad in ("http://mail.example.com", "smtp://"):
        with pytest.raises(ValueError, match="smtp_url"):
            SmtpConfig.from_settings(Settings(smtp_url=bad))
    with pytest.raises(ValueError, match="smtp_from"):
        SmtpConfig.from_settings(Settings(smtp_host="relay", smtp_from="nobody"))


def test_message_is_plain_utf8() -> None:
    msg = build_message("학교 <no-reply@school.example>", "minji@example.com", "김민지 학부모 연결 요청\n",
                        "안녕하세요 김민지님,\n요청이 있습니다.", to_name="김민지")
    raw = msg.as_bytes()
    assert raw.isascii()  # headers RFC 2047-encoded, body base64 or 8bit-safe
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "김민지 학부모 연결 요청"
    assert parsed["To"].addresses[0].display_name == "김민지"
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().startswith("안녕하세요 김민지님,")
    assert parsed["Message-ID"].endswith("@school.example>") and parsed["Date"]


async def test_sends_to_a_real_server(smtp) -> None:
    inbox, port = smtp
    mailer = Mailer(SmtpConfig("127.0.0.1", port, "", "", "none", "MegaCity <no-reply@megacity.example>", 5, True),
                    "tenant")
    before = _counter("sent")
    delivery = await mailer.send("minji@example.com", "[UnivPrep] 김민지 연결 요청", "본문 — 한국어", to_name="민지")
    assert delivery.sent and delivery.error == ""
    assert inbox.envelopes == [("no-reply@megacity.example", ["minji@example.com"])]
    msg = inbox.messages[0]
    assert (msg["Subject"], msg.get_content().strip(), msg["To"].addresses[0].display_name) == (
        "[UnivPrep] 김민지 연결 요청", "본문 — 한국어", "민지")
    assert _counter("sent") == before + 1

    # The server refuses the address for good: answered, not raised, and not worth a retry.
    before = _counter("rejected")
    refused = await mailer.send("nobody@example.com", "s", "b")
    assert (refused.sent, refused.permanent) == (False, True) and "550" in refused.error
    assert _counter("rejected") == before + 1 and len(inbox.messages) == 1
    # The error is stored and logged: it never holds the address (the server echoed it).
    assert refused.error == "recipient refused: 550" and "nobody" not in refused.error.lower()
    spam = await mailer.send("spam.victim@example.com", "s", "b")
    assert (spam.sent, spam.permanent) == (False, True) and spam.error.startswith("554"), spam.error
    assert "spam.victim" not in spam.error.lower() and "<recipient>" in spam.error, spam.error


async def test_login_with_url_credentials() -> None:
    inbox, port, seen = Inbox(), free_port(), []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=(data.login, data.password) == (b"mailer@school", b"p:ss w"))

    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        ok = Mailer.from_settings(Settings(smtp_url=f"smtp://mailer%40school:p%3Ass%20w@127.0.0.1:{port}",
                                           smtp_security="none"))
        assert ok is not None and (await ok.send("a@example.com", "hi", "body")).sent
    finally:
        controller.stop()
    assert seen == [("mailer@school", "p:ss w")]
    assert len(inbox.messages) == 1


async def test_server_down_is_answered_not_raised() -> None:
    mailer = Mailer(SmtpConfig("127.0.0.1", free_port(), "", "", "auto", "no-reply@megacity.example", 2, True),
                    "tenant")
    before = _counter("retry")
    delivery = await mailer.send("minji@example.com", "s", "b")
    assert (delivery.sent, delivery.permanent) == (False, False) and delivery.error
    assert _counter("retry") == before + 1
