"""`manage.py mailserver` (`make mail`): a local SMTP server that prints what arrives.

For a developer's machine and the demo: Samplan's worker sends to 127.0.0.1:1025 unless
EMAIL_HOST/EMAIL_PORT say otherwise, so the calls and reminders show up here. Nothing is stored
or forwarded."""

from __future__ import annotations

import email
import email.policy
import threading

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand


class _Print:
    def __init__(self, command: BaseCommand):
        self.command = command

    async def handle_DATA(self, server, session, envelope):
        self.command.show(envelope.mail_from, envelope.rcpt_tos, envelope.content)
        return "250 OK"


class Command(BaseCommand):
    help = "Run a local SMTP server (aiosmtpd) that prints every message it receives."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.listening = threading.Event()
        self.stop = threading.Event()

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)

    def handle(self, *args, host: str, port: int, **options):
        controller = Controller(_Print(self), hostname=host, port=port)
        controller.start()
        self.stdout.write(f"Listening on {host}:{port} for e-mail; Ctrl-C stops.")
        self.listening.set()
        try:
            while not self.stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()

    def show(self, sender: str, recipients: list[str], content: bytes) -> None:
        message = email.message_from_bytes(content, policy=email.policy.default)
        lines = [
            "=" * 72,
            f"From:    {sender}",
            f"To:      {', '.join(recipients)}",
            f"Subject: {message['Subject']}",
        ]
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and not part.get_filename():
                lines += ["", part.get_content().rstrip()]
            else:
                method = part.get_param("method")
                name = part.get_filename() or ""
                details = " ".join(item for item in (f"method={method}" if method else "", name))
                lines.append(f"[{kind} {details}".rstrip() + "]")
        self.stdout.write("\n".join(lines))
