"""A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, for the e-mail tests.

with SmtpServer() as smtp, smtp.settings():   # Django sends through its SMTP backend to it
    ...
    smtp.messages  # each delivered message as an email.message.EmailMessage
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collect:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.server.messages.append(message)
        return "250 OK"


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.envelopes: list[tuple[str, list[str]]] = []
        self.messages: list[email.message.EmailMessage] = []
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @contextlib.contextmanager
    def settings(self):
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=5,
        ):
            yield self

    @property
    def recipients(self) -> list[str]:
        return [to for _sender, tos in self.envelopes for to in tos]


def message_texts(message: email.message.EmailMessage) -> list[str]:
    """The subject and every part's decoded content (text, calendar, attachments) as text."""
    texts = [str(message["Subject"])]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        texts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return texts


def calendar_parts(message: email.message.EmailMessage) -> list[bytes]:
    return [
        part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() in {"text/calendar", "application/ics"}
    ]
