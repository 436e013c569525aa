"""Kallelse by e-mail: a meeting called, moved and cancelled reaches every invited party with an
address through a real SMTP server, as one calendar event (same UID, rising SEQUENCE), with a
link where to answer and nothing about the person."""

import datetime as dt
import io

import icalendar
import pytest
from django.urls import reverse
from django.utils import translation

from samplan.cases import services
from samplan.cases.models import Meeting, SipCase, State
from samplan.errors import PermissionRefused
from samplan.mail.calls import meeting_changed
from samplan.mail.models import OutgoingMail
from samplan.mail.tasks import send_due_mail
from samplan.people.models import Person
from samplan.workspace.forms.meetings import CallMeetingForm
from tests.factories import (
    PersonFactory,
    case_in_state,
    complete_draft,
    future,
    related_party_of,
)
from tests.smtp_server import SmtpServer, calendar_parts, message_texts

STOCKHOLM = "Europe/Stockholm"
NEEDS = "Ångest efter missbruksbehandling, vill prata om boendet"
PLACE = "Vårdcentralen Centrum, rum 3"


@pytest.fixture
def smtp():
    with SmtpServer() as server, server.settings():
        yield server


@pytest.fixture
def called(county):
    """A SIP meeting called with two units, a relative and the person, each with an address."""
    county.vardcentral.email = "vardcentral@example.se"
    county.vardcentral.save()
    county.hemtjanst.email = "hemtjanst@example.se"
    county.hemtjanst.save()
    person = PersonFactory(
        given_name="Gunilla", family_name="Åkesson-Lindqvist", email="person@example.se"
    )
    case = case_in_state(county, State.PREPARATION, person=person)
    relative = related_party_of(case, name="Ebba Åkesson-Lindqvist", email="relative@example.se")
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=case.preparation.lock_version,
        values={"needs_to_discuss": NEEDS},
        invited_related_parties=[relative],
    )
    meeting = services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(8, hour=10),
            duration_minutes=60,
            place=PLACE,
            units=[county.vardcentral, county.hemtjanst],
            related_parties=[relative],
        ),
    )
    return case, meeting


def events(message) -> list[icalendar.Calendar]:
    return [icalendar.Calendar.from_ical(part) for part in calendar_parts(message)]


def by_recipient(server, start=0):
    return {str(message["To"]): message for message in server.messages[start:]}


def forbidden_texts(case: SipCase) -> list[str]:
    person: Person = case.person
    number = person.identity_number
    texts = [
        person.full_name,
        person.given_name,
        person.family_name,
        number,
        number[2:],
        f"{number[:8]}-{number[8:]}",
        f"{number[2:8]}-{number[8:]}",
        f"{number[2:8]}+{number[8:]}",
        NEEDS,
        "Ebba",
    ]
    plan = (
        case.plan_versions.order_by("-number").first() if hasattr(case, "plan_versions") else None
    )
    if plan is not None:
        texts += [plan.needs_today, plan.coordination, plan.expected_of_person]
        texts += list(plan.goals.values_list("text", flat=True))
    return [text for text in texts if text]


def assert_nothing_personal(server, case):
    forbidden = forbidden_texts(case)
    assert server.messages
    for message in server.messages:
        for text in message_texts(message):
            for word in forbidden:
                assert word.lower() not in text.lower(), (word, text[:200])


@pytest.mark.django_db
def test_called_moved_and_cancelled_meeting_reaches_every_party_as_one_calendar_event(
    called, county, smtp
):
    case, meeting = called
    assert send_due_mail.call() == 4
    assert sorted(smtp.recipients) == [
        "hemtjanst@example.se",
        "person@example.se",
        "relative@example.se",
        "vardcentral@example.se",
    ]
    uid = f"sip-meeting-{meeting.pk}@samplan"
    for address, message in by_recipient(smtp).items():
        calendar = events(message)[0]
        assert str(calendar["METHOD"]) == "REQUEST"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == uid
        assert int(event["SEQUENCE"]) == 0
        assert str(event["STATUS"]) == "CONFIRMED"
        assert str(event["ORGANIZER"]) == "mailto:vardcentral@example.se"
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{address}"  # only the recipient
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
        assert event["DTSTART"].params["TZID"] == STOCKHOLM
        assert event.decoded("DTSTART").hour == 10
        assert str(event["LOCATION"]) == PLACE
        assert calendar.walk("VTIMEZONE")
        body = message.get_body(("plain",)).get_content()
        assert PLACE in body and "10:00–11:00" in body
    unit_link = reverse(
        "workspace:meeting_detail", kwargs={"case_id": case.pk, "meeting_id": meeting.pk}
    )
    min_sip_link = reverse("mypages:meeting", kwargs={"case_id": case.pk})
    messages = by_recipient(smtp)
    for unit in ("vardcentral@example.se", "hemtjanst@example.se"):
        body = messages[unit].get_body(("plain",)).get_content()
        assert f"http://127.0.0.1:8000{unit_link}" in body
        assert case.reference in str(messages[unit]["Subject"])
        assert "Call to a SIP meeting" in str(messages[unit]["Subject"])
    for party in ("person@example.se", "relative@example.se"):
        body = messages[party].get_body(("plain",)).get_content()
        assert f"http://127.0.0.1:8000{min_sip_link}" in body
        assert case.reference not in str(messages[party]["Subject"]) + body
    assert events(messages["vardcentral@example.se"])[0].walk("VEVENT")[0]["ATTENDEE"].params[
        "CN"
    ] == ("Vårdcentral Centrum")
    assert (
        "CN" not in events(messages["relative@example.se"])[0].walk("VEVENT")[0]["ATTENDEE"].params
    )

    moved = services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=0,
        starts_at=future(9, hour=14),
        duration_minutes=45,
        place=PLACE,
        video_link="https://video.example.org/sip-7",
    )
    assert send_due_mail.call() == 4
    for message in smtp.messages[4:]:
        calendar = events(message)[0]
        assert str(calendar["METHOD"]) == "REQUEST"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == uid
        assert int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART").hour == 14
        assert "New time" in str(message["Subject"])
        assert "https://video.example.org/sip-7" in message.get_body(("plain",)).get_content()

    services.cancel_meeting(
        moved, actor=county.alice, expected_version=None, reason="Sjukdom i personalgruppen"
    )
    assert send_due_mail.call() == 4
    for message in smtp.messages[8:]:
        calendar = events(message)[0]
        assert str(calendar["METHOD"]) == "CANCEL"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == uid
        assert int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
        assert "Cancelled" in str(message["Subject"])
        assert "Sjukdom" not in "".join(message_texts(message))  # the reason stays inside
    assert len(smtp.messages) == 12

    # The same news again (a retried change, a second call) sends nothing new.
    assert meeting_changed(Meeting.objects.get(pk=meeting.pk)) == 0
    assert send_due_mail.call() == 0
    assert len(smtp.messages) == 12
    assert_nothing_personal(smtp, case)


@pytest.mark.django_db
def test_the_place_is_never_sent_for_a_person_with_protected_personal_data(called, smtp):
    case, meeting = called
    Person.objects.filter(pk=case.person_id).update(
        protection=Person.Protection.SKYDDAD_FOLKBOKFORING
    )
    OutgoingMail.objects.all().delete()
    meeting = Meeting.objects.get(pk=meeting.pk)
    assert meeting_changed(meeting) == 4
    assert send_due_mail.call() == 4
    for message in smtp.messages:
        assert not any("Vårdcentralen Centrum" in text for text in message_texts(message))
        assert "rum 3" not in "".join(message_texts(message))
        event = events(message)[0].walk("VEVENT")[0]
        assert "LOCATION" not in event
        assert "Samordnaren berättar var mötet är" in str(event["DESCRIPTION"])
        assert "the coordinator tells you where" in message.get_body(("plain",)).get_content()
    assert_nothing_personal(smtp, case)


@pytest.mark.django_db
def test_a_party_without_an_address_gets_nothing_and_the_rest_still_do(called, county, smtp):
    case, meeting = called
    county.hemtjanst.email = ""
    county.hemtjanst.save()
    Person.objects.filter(pk=case.person_id).update(email="")
    OutgoingMail.objects.all().delete()
    assert meeting_changed(Meeting.objects.get(pk=meeting.pk)) == 2
    send_due_mail.call()
    assert sorted(smtp.recipients) == ["relative@example.se", "vardcentral@example.se"]


@pytest.mark.django_db
def test_without_a_coordinating_unit_address_the_organiser_is_the_no_reply_address(
    called, county, smtp
):
    case, meeting = called
    county.vardcentral.email = ""
    county.vardcentral.save()
    OutgoingMail.objects.all().delete()
    meeting_changed(Meeting.objects.get(pk=meeting.pk))
    send_due_mail.call()
    for message in smtp.messages:
        event = events(message)[0].walk("VEVENT")[0]
        assert str(event["ORGANIZER"]) == "mailto:no-reply@samplan.localhost"


@pytest.mark.django_db
def test_revoking_the_consent_sends_a_cancellation_to_everyone_called(called, county, smtp):
    case, meeting = called
    send_due_mail.call()
    services.revoke_consent(case, actor=county.alice, expected_version=None)
    assert send_due_mail.call() == 4
    for message in smtp.messages[4:]:
        calendar = events(message)[0]
        assert str(calendar["METHOD"]) == "CANCEL"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == f"sip-meeting-{meeting.pk}@samplan"
        assert int(event["SEQUENCE"]) == 1
        assert str(event["STATUS"]) == "CANCELLED"
    assert_nothing_personal(smtp, case)


@pytest.mark.django_db
def test_a_unit_whose_organisation_lost_consent_hears_of_no_new_time(called, county, smtp):
    case, meeting = called
    send_due_mail.call()
    services.revoke_consent(
        case,
        actor=county.alice,
        expected_version=None,
        organisations=[county.hemtjanst.organisation],
    )
    meeting.refresh_from_db()
    services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=meeting.sequence,
        starts_at=future(9, hour=13),
        duration_minutes=60,
        place=PLACE,
    )
    send_due_mail.call()
    moved = by_recipient(smtp, start=4)
    assert "hemtjanst@example.se" not in moved
    assert "vardcentral@example.se" in moved
    assert str(events(moved["vardcentral@example.se"])[0]["METHOD"]) == "REQUEST"


@pytest.mark.django_db
def test_a_refused_call_queues_no_mail(called, county):
    case, _meeting = called
    queued = OutgoingMail.objects.count()
    with pytest.raises(PermissionRefused):
        services.call_meeting(
            case,
            actor=county.charlie,  # takes no part
            expected_version=None,
            call=services.MeetingCall(
                starts_at=future(10), duration_minutes=30, place="X", units=[county.hemtjanst]
            ),
        )
    assert OutgoingMail.objects.count() == queued


@pytest.mark.django_db
def test_a_follow_up_call_tells_nothing_of_the_plan(county, smtp):
    county.hemtjanst.email = "hemtjanst@example.se"
    county.hemtjanst.save()
    person = PersonFactory(given_name="Gunilla", family_name="Åkesson", email="g@example.se")
    case = case_in_state(county, State.FOLLOW_UP, person=person)
    assert send_due_mail.call() >= 2
    follow_up = [m for m in smtp.messages if "follow-up" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in follow_up) == ["g@example.se", "hemtjanst@example.se"]
    plan = complete_draft(county)
    for message in smtp.messages:
        for text in message_texts(message):
            for secret in (plan.needs_today, plan.goals[0], plan.coordination, "Gunilla"):
                assert secret not in text
    assert_nothing_personal(smtp, case)


def test_the_meeting_form_says_the_place_is_sent_by_e_mail():
    with translation.override("sv"):
        help_text = str(CallMeetingForm.base_fields["place"].help_text)
    assert "skickas med e-post" in help_text and "skyddade personuppgifter" in help_text
    with translation.override("en"):
        help_text = str(CallMeetingForm.base_fields["place"].help_text)
    assert "sent by e-mail" in help_text and "protected" in help_text


@pytest.mark.django_db
def test_the_mail_is_queued_with_the_call_and_delivered_after_commit(
    county, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    county.hemtjanst.email = "hemtjanst@example.se"
    county.hemtjanst.save()
    case = case_in_state(county, State.PREPARATION)
    with django_capture_on_commit_callbacks(execute=True):
        services.call_meeting(
            case,
            actor=county.alice,
            expected_version=case.lock_version,
            call=services.MeetingCall(
                starts_at=future(5) + dt.timedelta(minutes=30),
                duration_minutes=30,
                place="Rum 1",
                units=[county.hemtjanst],
            ),
        )
    mail = OutgoingMail.objects.get()
    assert mail.to == "hemtjanst@example.se" and mail.ics_method == "REQUEST"
    task = DBTaskResult.objects.get(task_path="samplan.mail.tasks.deliver_mail")
    assert task.args_kwargs["args"] == [mail.pk]


@pytest.mark.django_db
def test_the_demo_county_units_have_addresses_and_a_call_made_in_it_arrives(smtp):
    from django.core.management import call_command

    from samplan.directory.models import Unit

    call_command("load_demo", stdout=io.StringIO())
    assert not Unit.objects.filter(email="").exists()
    # The demo's history is told now and moved back: none of it is mailed.
    assert not OutgoingMail.objects.exists()

    case = SipCase.objects.filter(state=State.PREPARATION).select_related("coordinator").first()
    services.call_meeting(
        case,
        actor=case.coordinator,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(6), duration_minutes=30, place="Rum 2", units=[case.coordinating_unit]
        ),
    )
    assert send_due_mail.call() >= 1
    assert case.coordinating_unit.email in smtp.recipients
    assert_nothing_personal(smtp, case)
