"""A real SMTP server for tests (aiosmtpd in the test's process, on a free port) that keeps
every message it accepts: services' mail is read as a person would get it, never mocked."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping every accepted message with its recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.extend((rcpt, msg) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted"

    def to(self, address: str, path: str | None = None) -> list[EmailMessage]:
        """The messages to `address` (whose text contains `path`, when given)."""
        return [m for rcpt, m in self.messages if rcpt == address
                and (path is None or path in m.get_content())]

    async def wait(self, address: str, path: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        """`to(address, path)` once it holds `count` messages (a service sends from a loop)."""
        deadline = time.monotonic() + timeout
        while len(self.to(address, path)) < count:
            assert time.monotonic() < deadline, f"no mail to {address} with {path}: {self.messages}"
            await asyncio.sleep(0.05)
        return self.to(address, path)


class SmtpServer(Inbox):
    """The server on a port fixed at creation, so a test may stop it (SMTP down) and start it
    again where the service's settings point."""

    def __init__(self) -> None:
        super().__init__()
        self.port = _free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
