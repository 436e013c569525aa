"""Reminders by the worker (issue 9, part 5): each kind fires when due and not before, is sent
once however many runs or workers, is held by read-only mode and released once, and no e-mail
names the person or says anything about them."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samplan.api.services import create_client
from samplan.cases import services
from samplan.cases.models import Invitation, Meeting, PlanVersion, SipCase, State
from samplan.directory.models import Assignment
from samplan.mail.models import OutgoingMail
from samplan.reminders.models import Kind, Notification, SentReminder
from samplan.reminders.tasks import send_due_reminders, send_reminders
from tests.factories import PersonFactory, case_in_state, complete_draft, staff

pytestmark = pytest.mark.django_db

NOW = dt.timedelta(0)


@pytest.fixture
def addressed(county):
    """Addresses: alice (the coordinator) her own, Hemtjänst Norr a shared mailbox."""
    county.alice.email = "alice@vardcentral.example"
    county.alice.save()
    county.hemtjanst.email = "hemtjanst.norr@kommun.example"
    county.hemtjanst.save()
    return county


def keys() -> set[str]:
    return set(SentReminder.objects.values_list("key", flat=True))


def kinds() -> list[str]:
    return sorted(SentReminder.objects.values_list("kind", flat=True))


def reminder_mails():
    """The reminders' e-mails (calling a meeting queues its own invitations too)."""
    return OutgoingMail.objects.filter(key__startswith="reminder:")


def mails_to(address: str) -> list[OutgoingMail]:
    return list(reminder_mails().filter(to=address))


def notified(user) -> list[str]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


def meeting_in(case: SipCase, delta: dt.timedelta) -> Meeting:
    meeting = case.meetings.get()
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() + delta)
    meeting.refresh_from_db()
    return meeting


# --- Meeting in two days --------------------------------------------------------------------


def test_a_meeting_in_two_days_reminds_the_coordinator_and_the_invited_once(addressed):
    county = addressed
    person = PersonFactory(email="person@example.org")
    case = case_in_state(county, State.MEETING_CALLED, person=person)
    meeting = meeting_in(case, dt.timedelta(days=3))
    assert send_reminders() == 0  # three days ahead: not yet

    meeting = meeting_in(case, dt.timedelta(days=1, hours=20))
    assert send_reminders() == 1
    assert keys() == {f"reminder:meeting_soon:{meeting.pk}:{meeting.sequence}"}
    assert notified(county.alice) == [Kind.MEETING_SOON]
    assert notified(county.bob) == [Kind.MEETING_SOON]  # Hemtjänst Norr is invited
    assert notified(county.charlie) == []
    assert len(mails_to("alice@vardcentral.example")) == 1
    assert len(mails_to("hemtjanst.norr@kommun.example")) == 1
    [to_person] = mails_to("person@example.org")  # the person is invited and has an address
    assert "Min SIP" in to_person.body

    assert send_reminders() == 0  # run twice: sent once
    assert reminder_mails().count() == 3
    assert Notification.objects.count() == 2


def test_a_system_calling_the_api_for_an_invited_unit_is_not_reminded(addressed):
    county = addressed
    api_client, _ = create_client(name="Systemet", unit=county.hemtjanst, created_by="test")
    case = case_in_state(county, State.MEETING_CALLED)
    meeting_in(case, dt.timedelta(days=1, hours=20))
    assert send_reminders() == 1
    assert notified(county.bob) == [Kind.MEETING_SOON]  # the unit's staff are
    assert notified(api_client.user) == []


def test_a_moved_meeting_is_reminded_of_again_and_a_declined_unit_is_not(addressed):
    county = addressed
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = meeting_in(case, dt.timedelta(days=1))
    send_reminders()
    Invitation.objects.filter(meeting=meeting, unit=county.hemtjanst).update(
        answer=Invitation.Answer.DECLINED
    )
    Meeting.objects.filter(pk=meeting.pk).update(sequence=meeting.sequence + 1)
    assert send_reminders() == 1
    assert len(mails_to("alice@vardcentral.example")) == 2
    assert len(mails_to("hemtjanst.norr@kommun.example")) == 1  # declined: not again


def test_a_cancelled_meeting_is_not_reminded_of(addressed):
    case = case_in_state(addressed, State.MEETING_CALLED)
    meeting = meeting_in(case, dt.timedelta(days=1))
    Meeting.objects.filter(pk=meeting.pk).update(cancelled_at=timezone.now())
    assert send_reminders() == 0


# --- Unanswered meeting calls ---------------------------------------------------------------


def test_an_unanswered_call_reminds_the_invited_unit_after_the_set_days(addressed, settings):
    county = addressed
    settings.SAMPLAN_REMINDER_AFTER_DAYS = 3
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = case.meetings.get()
    Meeting.objects.filter(pk=meeting.pk).update(called_at=timezone.now() - dt.timedelta(days=2))
    assert send_reminders() == 0  # two days: not yet

    Meeting.objects.filter(pk=meeting.pk).update(called_at=timezone.now() - dt.timedelta(days=4))
    Invitation.objects.filter(meeting=meeting).exclude(unit=county.hemtjanst).update(
        answer=Invitation.Answer.ACCEPTED
    )
    assert send_reminders() == 1
    invitation = Invitation.objects.get(meeting=meeting, unit=county.hemtjanst)
    assert keys() == {f"reminder:invitation_unanswered:{invitation.pk}:{meeting.sequence}"}
    assert notified(county.bob) == [Kind.INVITATION_UNANSWERED]
    assert notified(county.alice) == []  # the coordinator's unit answered
    assert [m.to for m in reminder_mails()] == ["hemtjanst.norr@kommun.example"]
    assert send_reminders() == 0


def test_a_unit_without_an_address_is_written_to_through_its_staff(county):
    county.bob.email = "bob@kommun.example"
    county.bob.save()
    case = case_in_state(county, State.MEETING_CALLED)
    Meeting.objects.filter(case=case).update(called_at=timezone.now() - dt.timedelta(days=5))
    send_reminders()
    assert [m.to for m in reminder_mails()] == ["bob@kommun.example"]


# --- Follow-ups -------------------------------------------------------------------------------


def test_a_follow_up_reminds_when_due_soon_and_once_more_when_overdue(addressed):
    county = addressed
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = PlanVersion.objects.get(case=case, status=PlanVersion.Status.VALID)
    today = timezone.localdate()
    PlanVersion.objects.filter(pk=plan.pk).update(follow_up_on=today + dt.timedelta(days=5))
    assert send_reminders() == 0

    PlanVersion.objects.filter(pk=plan.pk).update(follow_up_on=today + dt.timedelta(days=1))
    assert send_reminders() == 1
    assert kinds() == [Kind.FOLLOW_UP_DUE]
    assert send_reminders() == 0

    PlanVersion.objects.filter(pk=plan.pk).update(follow_up_on=today - dt.timedelta(days=1))
    assert send_reminders() == 1
    assert kinds() == [Kind.FOLLOW_UP_DUE, Kind.FOLLOW_UP_OVERDUE]
    assert notified(county.alice) == [Kind.FOLLOW_UP_DUE, Kind.FOLLOW_UP_OVERDUE]
    assert notified(county.bob) == []  # the coordinator's, not the taking-part unit's
    assert len(mails_to("alice@vardcentral.example")) == 2
    assert send_reminders() == 0


def test_without_a_working_coordinator_the_coordinating_units_coordinators_are_told(county):
    stand_in = staff(county.vardcentral, Assignment.Role.COORDINATOR, username="standin")
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    SipCase.objects.filter(pk=case.pk).update(coordinator=None)
    PlanVersion.objects.filter(case=case).update(follow_up_on=timezone.localdate())
    send_reminders()
    assert notified(stand_in) == [Kind.FOLLOW_UP_DUE]
    assert notified(county.alice) == [Kind.FOLLOW_UP_DUE]


# --- Discharge SIPs -------------------------------------------------------------------------


def _discharge(county, deadline_in: dt.timedelta) -> SipCase:
    case = case_in_state(county, State.CONSENTED)
    SipCase.objects.filter(pk=case.pk).update(
        kind=SipCase.Kind.DISCHARGE, call_deadline=timezone.now() + deadline_in
    )
    return SipCase.objects.get(pk=case.pk)


def test_a_discharge_sip_reminds_a_day_before_its_deadline_and_when_it_passed(addressed):
    county = addressed
    case = _discharge(county, dt.timedelta(hours=30))
    assert send_reminders() == 0

    SipCase.objects.filter(pk=case.pk).update(call_deadline=timezone.now() + dt.timedelta(hours=20))
    assert send_reminders() == 1
    assert kinds() == [Kind.DISCHARGE_DUE_SOON]
    assert send_reminders() == 0

    # An hour later than the deadline: the same deadline, overdue now.
    later = timezone.now() + dt.timedelta(hours=21)
    assert send_reminders(now=later) == 1
    assert kinds() == [Kind.DISCHARGE_DUE_SOON, Kind.DISCHARGE_OVERDUE]
    assert notified(county.alice) == [Kind.DISCHARGE_DUE_SOON, Kind.DISCHARGE_OVERDUE]
    assert send_reminders(now=later) == 0


def test_a_discharge_sip_whose_meeting_is_called_is_not_reminded_of(addressed):
    case = _discharge(addressed, dt.timedelta(hours=-5))
    SipCase.objects.filter(pk=case.pk).update(state=State.MEETING_CALLED)
    assert send_reminders() == 0


# --- Plans waiting for approval ------------------------------------------------------------


def _proposed(county, person, days_ago: float) -> PlanVersion:
    case = case_in_state(county, State.MEETING_CALLED, person=person)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    draft = services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    PlanVersion.objects.filter(pk=draft.pk).update(
        proposed_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return draft


def test_a_plan_waiting_for_approval_reminds_the_coordinator_and_the_person(addressed):
    county = addressed
    person = PersonFactory(email="gunnel@example.org")
    plan = _proposed(county, person, days_ago=1)
    assert send_reminders() == 0

    PlanVersion.objects.filter(pk=plan.pk).update(proposed_at=timezone.now() - dt.timedelta(days=4))
    assert send_reminders() == 1
    assert kinds() == [Kind.PLAN_APPROVAL]
    assert notified(county.alice) == [Kind.PLAN_APPROVAL]
    [to_person] = mails_to("gunnel@example.org")
    assert "Min SIP" in to_person.body
    assert plan.case.reference not in to_person.body + to_person.subject  # staff's number only
    assert len(mails_to("alice@vardcentral.example")) == 1
    assert send_reminders() == 0


# --- Messages waiting for acknowledgement -------------------------------------------------


def test_a_message_waiting_for_acknowledgement_reminds_the_receiving_unit(addressed):
    county = addressed
    case = case_in_state(county, State.MEETING_CALLED)
    Meeting.objects.filter(case=case).update(called_at=timezone.now())
    message = services.post_message(
        case, actor=county.alice, body="Kan ni ta hem-besöket?", asks_acknowledgement=True
    )
    assert send_reminders() == 0

    type(message).objects.filter(pk=message.pk).update(
        sent_at=timezone.now() - dt.timedelta(days=4)
    )
    assert send_reminders() == 1
    assert keys() == {f"reminder:message_acknowledgement:{message.pk}-{county.hemtjanst.pk}:0"}
    assert notified(county.bob) == [Kind.MESSAGE_ACKNOWLEDGEMENT]
    assert notified(county.alice) == []  # the sender's unit acknowledges nothing
    assert [m.to for m in reminder_mails()] == ["hemtjanst.norr@kommun.example"]

    services.acknowledge_message(message, actor=county.bob)
    SentReminder.objects.all().delete()
    assert send_reminders() == 0  # acknowledged: nothing owed any more


# --- Once, read-only, no personal data ----------------------------------------------------


def test_read_only_mode_holds_reminders_and_they_go_once_when_it_is_off(addressed, settings):
    case = case_in_state(addressed, State.MEETING_CALLED)
    meeting_in(case, dt.timedelta(days=1))
    settings.SAMPLAN_READ_ONLY = True
    assert send_reminders() == 0
    assert send_due_reminders.call() == 0  # the task as the worker runs it
    assert not SentReminder.objects.exists()
    assert not reminder_mails().exists()
    assert not Notification.objects.exists()

    settings.SAMPLAN_READ_ONLY = False
    assert send_due_reminders.call() == 1
    assert send_due_reminders.call() == 0
    assert reminder_mails().count() == 2


def test_read_only_mode_switched_on_in_the_database_holds_reminders_too(addressed):
    from samplan.maintenance.mode import switch_off, switch_on

    case = case_in_state(addressed, State.MEETING_CALLED)
    meeting_in(case, dt.timedelta(days=1))
    switch_on("driftansvarig", "Uppgradering")
    assert send_reminders() == 0
    assert not SentReminder.objects.exists()
    switch_off("driftansvarig")
    assert send_reminders() == 1
    assert send_reminders() == 0


def test_no_e_mail_names_the_person_or_says_anything_about_them(addressed):
    county = addressed
    person = PersonFactory(given_name="Gunnel", family_name="Örnsköld", email="gunnel@example.org")
    case = case_in_state(county, State.MEETING_CALLED, person=person)
    Meeting.objects.filter(case=case).update(
        starts_at=timezone.now() + dt.timedelta(days=1),
        called_at=timezone.now() - dt.timedelta(days=4),
    )
    services.post_message(
        case, actor=county.alice, body="Hon har ont i höften.", asks_acknowledgement=True
    )
    case.messages.update(sent_at=timezone.now() - dt.timedelta(days=4))
    _proposed(county, person, days_ago=4)
    discharge = _discharge(county, dt.timedelta(hours=-2))
    assert send_reminders() >= 4
    assert set(kinds()) >= {
        Kind.MEETING_SOON,
        Kind.INVITATION_UNANSWERED,
        Kind.MESSAGE_ACKNOWLEDGEMENT,
        Kind.PLAN_APPROVAL,
        Kind.DISCHARGE_OVERDUE,
    }
    mails = list(reminder_mails())
    assert any(m.to == "gunnel@example.org" for m in mails)
    forbidden = [
        "Gunnel",
        "Örnsköld",
        person.identity_number,
        person.identity_number.replace("-", ""),
        "höften",
        "duscha",  # the plan's text
        "Hemma",  # the meeting's place
        discharge.person.full_name,
    ]
    for mail in mails:
        text = f"{mail.subject}\n{mail.body}"
        for word in forbidden:
            assert word not in text, (word, mail.key)
    staff_mail = next(
        m for m in mails if m.to == "alice@vardcentral.example" and case.reference in m.subject
    )
    assert f"/sip/{case.pk}/#meetings" in staff_mail.body


def _many_meetings(county, count: int) -> None:
    for _ in range(count):
        case = case_in_state(county, State.MEETING_CALLED)
        Meeting.objects.filter(case=case).update(starts_at=timezone.now() + dt.timedelta(days=1))


def _queries_of_a_run() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as run:
        sent = send_reminders()
    # The outbox's own queries (and savepoints) are per e-mail by design; the rest is bounded.
    own = [
        q["sql"]
        for q in run.captured_queries
        if "mail_outgoingmail" not in q["sql"] and "SAVEPOINT" not in q["sql"].upper()
    ]
    return sent, len(own)


def test_the_queries_of_a_run_do_not_grow_with_the_number_of_sips(addressed):
    _many_meetings(addressed, 2)
    few_sent, few = _queries_of_a_run()
    SentReminder.objects.all().delete()
    Notification.objects.all().delete()
    reminder_mails().delete()
    _many_meetings(addressed, 10)
    many_sent, many = _queries_of_a_run()
    assert (few_sent, many_sent) == (2, 12)
    assert many == few
    # Nothing new: a handful of queries however many SIPs.
    with CaptureQueriesContext(connection) as again:
        assert send_reminders() == 0
    assert len(again.captured_queries) <= 12


# --- Two workers at once (PostgreSQL: real concurrent transactions) -----------------------


@pytest.mark.needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once(addressed, audit_log_flushable):
    for _ in range(3):
        case = case_in_state(addressed, State.MEETING_CALLED)
        Meeting.objects.filter(case=case).update(starts_at=timezone.now() + dt.timedelta(days=1))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(send_reminders())
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(results) == 3
    assert SentReminder.objects.count() == 3
    # alice (coordinator, invited unit) and Hemtjänst Norr's shared mailbox, per meeting.
    assert reminder_mails().count() == 6
    assert Notification.objects.filter(user=addressed.alice).count() == 3
