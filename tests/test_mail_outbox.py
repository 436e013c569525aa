"""The outbox: queued with the change it tells about, sent once through a real SMTP server,
retried while the server is down, held in read-only mode."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from samplan.mail.models import OutgoingMail
from samplan.mail.outbox import queue_mail
from samplan.mail.tasks import deliver, deliver_mail, message_id, retry_delay, send_due_mail
from tests.smtp_server import SmtpServer, calendar_parts

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:x@samplan\r\nDTSTAMP:20260101T000000Z\r\n"
    b"DTSTART:20260101T100000Z\r\nSUMMARY:SIP-m\xc3\xb6te\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def queue(key="test:1", **kwargs):
    values = {"to": "enhet@example.se", "subject": "Ämne", "body": "Text med å ä ö"} | kwargs
    return queue_mail(key=key, **values)


@pytest.fixture
def smtp():
    with SmtpServer() as server, server.settings():
        yield server


@pytest.mark.django_db
def test_a_key_is_queued_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert queue() is True
        assert queue() is False
        assert queue(subject="Annat") is False
    assert OutgoingMail.objects.count() == 1
    assert OutgoingMail.objects.get().subject == "Ämne"
    # One delivery asked of the worker, after the commit.
    assert len(callbacks) == 1
    assert DBTaskResult.objects.filter(task_path="samplan.mail.tasks.deliver_mail").count() == 1


@pytest.mark.django_db
def test_a_mail_queued_in_a_rolled_back_change_is_never_queued(
    django_capture_on_commit_callbacks,
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert queue() is True
        raise RuntimeError("the change failed")
    assert not OutgoingMail.objects.exists()
    assert callbacks == []
    # The key is free again: the change's retry queues it.
    assert queue() is True


@pytest.mark.django_db
def test_a_calendar_file_needs_a_method():
    with pytest.raises(ValueError):
        queue(ics=ICS)
    with pytest.raises(ValueError):
        queue(ics=ICS, ics_method="DELETE")
    assert not OutgoingMail.objects.exists()


@pytest.mark.django_db
def test_delivered_once_through_smtp_with_the_invitation(smtp):
    queue(ics=ICS, ics_method="request")
    mail = OutgoingMail.objects.get()

    assert deliver_mail.call(mail.pk) == "sent"
    assert deliver_mail.call(mail.pk) == "skipped"
    assert send_due_mail.call() == 0

    assert smtp.recipients == ["enhet@example.se"]
    (message,) = smtp.messages
    assert str(message["Subject"]) == "Ämne"
    assert "no-reply" in str(message["From"])
    assert message.get_body(("plain",)).get_content().strip() == "Text med å ä ö"
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert all(part == ICS for part in calendar_parts(message))
    assert len(calendar_parts(message)) == 2  # the invitation and the same as a file
    mail.refresh_from_db()
    assert mail.sent_at is not None and mail.attempts == 0
    # A stable Message-ID: a resend after a crash between the SMTP accept and the commit is
    # the same message to the receiving system.
    assert message["Message-ID"] == message_id(mail)
    assert message["Message-ID"].startswith(f"<outbox.{mail.pk}.")
    queue(key="test:2")
    assert message_id(OutgoingMail.objects.get(key="test:2")) != message_id(mail)


@pytest.mark.django_db
def test_a_message_without_calendar_file_is_plain_text(smtp):
    queue()
    assert deliver(OutgoingMail.objects.get().pk) == "sent"
    (message,) = smtp.messages
    assert message.get_content_type() == "text/plain"
    assert calendar_parts(message) == []


@pytest.mark.django_db
def test_the_sweep_sends_what_is_due_and_nothing_twice(smtp):
    queue("a")
    queue("b", to="annan@example.se")
    queue("later")
    OutgoingMail.objects.filter(key="later").update(due_at=timezone.now() + timedelta(hours=1))
    assert send_due_mail.call() == 2
    assert send_due_mail.call() == 0
    assert sorted(smtp.recipients) == ["annan@example.se", "enhet@example.se"]
    assert OutgoingMail.objects.get(key="later").sent_at is None


@pytest.mark.django_db
def test_while_the_server_is_down_the_attempt_is_recorded_and_retried_after_it_comes_back(
    django_capture_on_commit_callbacks,
):
    server = SmtpServer()  # not started: the port refuses
    with server.settings():
        queue(body="Hemlig text som inte får hamna i loggen")
        mail = OutgoingMail.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver_mail.call(mail.pk) == "failed"
        mail.refresh_from_db()
        assert mail.sent_at is None
        assert mail.attempts == 1
        assert mail.last_error == "ConnectionRefusedError"
        assert mail.due_at > timezone.now() + timedelta(seconds=50)
        retry = DBTaskResult.objects.get(task_path="samplan.mail.tasks.deliver_mail")
        assert retry.run_after == mail.due_at
        assert retry.args_kwargs["args"] == [mail.pk]

        # Not due yet: neither the retry task run early nor the sweep sends it.
        server.start()
        try:
            assert deliver(mail.pk) == "skipped"
            assert send_due_mail.call() == 0
            OutgoingMail.objects.filter(pk=mail.pk).update(due_at=timezone.now())
            assert deliver_mail.call(mail.pk) == "sent"
            assert send_due_mail.call() == 0
        finally:
            server.stop()
    assert server.recipients == ["enhet@example.se"]
    mail.refresh_from_db()
    assert mail.sent_at is not None


@pytest.mark.django_db
def test_failed_attempts_wait_longer_each_time_up_to_a_cap():
    server = SmtpServer()
    queue()
    mail = OutgoingMail.objects.get()
    with server.settings():
        for attempt in range(1, 4):
            before = timezone.now()
            OutgoingMail.objects.filter(pk=mail.pk).update(due_at=before)
            assert deliver(mail.pk) == "failed"
            mail.refresh_from_db()
            assert mail.attempts == attempt
            assert mail.due_at - before >= timedelta(minutes=2 ** (attempt - 1))
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 10, 60)] == [
        1,
        2,
        4,
        8,
        60,
        60,
    ]


@pytest.mark.django_db
def test_read_only_mode_holds_delivery_and_releases_it_after(smtp):
    from samplan.maintenance.models import ReadOnlyMode

    queue()
    mail = OutgoingMail.objects.get()
    ReadOnlyMode.objects.create()
    assert deliver_mail.call(mail.pk) == "held"
    assert send_due_mail.call() == 0
    with override_settings(SAMPLAN_READ_ONLY=True):
        ReadOnlyMode.objects.all().delete()
        assert deliver(mail.pk) == "held"
    assert smtp.messages == []
    mail.refresh_from_db()
    assert mail.sent_at is None and mail.attempts == 0

    assert send_due_mail.call() == 1
    assert send_due_mail.call() == 0
    assert smtp.recipients == ["enhet@example.se"]


@pytest.mark.needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_two_workers_delivering_the_same_mail_at_once_send_it_once():
    """Each worker on its own connection; the first holds the row lock while the SMTP server
    takes its message, the second passes the locked row by (SKIP LOCKED)."""
    arrived = threading.Event()
    release = threading.Event()

    with SmtpServer() as server, server.settings():
        handler = server.controller.handler
        original = handler.handle_DATA

        async def slow_data(*args):
            arrived.set()
            while not release.is_set():
                await asyncio.sleep(0.02)
            return await original(*args)

        handler.handle_DATA = slow_data
        queue()
        mail_id = OutgoingMail.objects.get().pk
        results = {}

        def run(name):
            try:
                results[name] = deliver_mail.call(mail_id)
            finally:
                connection.close()

        first = threading.Thread(target=run, args=("first",))
        first.start()
        assert arrived.wait(15)
        second = threading.Thread(target=run, args=("second",))
        second.start()
        second.join(15)
        release.set()
        first.join(15)
        assert send_due_mail.call() == 0

    assert results == {"first": "sent", "second": "skipped"}
    assert server.recipients == ["enhet@example.se"]


@pytest.mark.django_db
def test_make_mail_prints_what_arrives():
    import io

    from samplan.mail.management.commands.mailserver import Command
    from tests.smtp_server import free_port

    port = free_port()
    output = io.StringIO()
    command = Command(stdout=output)
    thread = threading.Thread(
        target=command.handle, kwargs={"host": "127.0.0.1", "port": port}, daemon=True
    )
    thread.start()
    try:
        assert command.listening.wait(10)
        queue(ics=ICS, ics_method="REQUEST")
        with SmtpServer(port=port).settings():
            assert send_due_mail.call() == 1
    finally:
        command.stop.set()
        thread.join(10)
    printed = output.getvalue()
    assert f"Listening on 127.0.0.1:{port}" in printed
    assert "To:      enhet@example.se" in printed
    assert "Subject: Ämne" in printed
    assert "Text med å ä ö" in printed
    assert "[text/calendar method=REQUEST]" in printed


@pytest.mark.django_db
def test_the_admin_lists_what_waits_without_address_or_text(admin_client, client):
    queue(key="call:waiting", to="dottern@example.se", subject="SIP-möte", body="Svara här")
    queue(key="call:sent")
    OutgoingMail.objects.filter(key="call:sent").update(sent_at=timezone.now())
    OutgoingMail.objects.filter(key="call:waiting").update(
        attempts=2, last_error="ConnectionRefusedError"
    )
    url = reverse("admin:mail_outgoingmail_changelist")
    page = admin_client.get(url, {"delivery": "failing"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "call:waiting" in body and "ConnectionRefusedError" in body
    assert "call:sent" not in body
    assert "dottern@example.se" not in body and "Svara här" not in body
    detail = admin_client.get(
        reverse(
            "admin:mail_outgoingmail_change", args=[OutgoingMail.objects.get(key="call:waiting").pk]
        )
    ).content.decode()
    assert "dottern@example.se" not in detail and "Svara här" not in detail
    # Read-only: no one changes or deletes what is to be sent.
    assert (
        admin_client.post(
            reverse(
                "admin:mail_outgoingmail_delete",
                args=[OutgoingMail.objects.get(key="call:sent").pk],
            ),
            {"post": "yes"},
        ).status_code
        == 403
    )
