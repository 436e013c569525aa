"""Min SIP, my meeting: the next meeting with who is coming and my own invitation, earlier ones
below, a calendar file per meeting (parsed back: stable UID, SEQUENCE, Stockholm time, nothing
about the person), and my meeting preferences: editable until the meeting is called, a
coordinator's edit meanwhile refused as stale with their values shown, refused for a relative."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen, citizen_log_name
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Invitation, Meeting, Preparation, State
from samplan.errors import PermissionRefused
from samplan.mypages.calendar import meeting_ics
from samplan.mypages.views.meeting import PreferencesForm
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import case_in_state, future, minor, related_party_of

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PAGE_BUDGET = 14


def url(name: str, case, *args) -> str:
    return reverse(f"mypages:{name}", args=[case.pk, *args])


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1975, 3, 3), serial)


def the_meeting(case) -> Meeting:
    return case.meetings.get()


# --- The calendar file ---------------------------------------------------------------------------


def test_the_calendar_file_parses_back_with_a_stable_uid_and_stockholm_times(county):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = the_meeting(case)
    parsed = icalendar.Calendar.from_ical(meeting_ics(meeting, for_person=True))
    [event] = parsed.walk("VEVENT")
    assert str(event["UID"]) == f"sip-meeting-{meeting.pk}@samplan"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["SUMMARY"]) == "SIP-möte"
    assert str(event["LOCATION"]) == "Hemma"
    assert str(event["STATUS"]) == "CONFIRMED"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert str(start.tzinfo) == "Europe/Stockholm"
    assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert start == meeting.starts_at and start.hour == 10  # future() books 10:00 local time
    assert end - start == dt.timedelta(minutes=45)
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    text = meeting_ics(meeting, for_person=True).decode()
    for private in (case.person.given_name, case.person.family_name, case.person.identity_number):
        assert private not in text


def test_a_moved_meeting_keeps_its_uid_with_a_higher_sequence_and_a_cancelled_one_says_so(
    county,
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = the_meeting(case)
    moved = services.move_meeting(
        meeting,
        actor=county.alice,
        expected_sequence=0,
        starts_at=future(9, hour=14),
        duration_minutes=30,
        video_link="https://video.example.org/sip-42",
    )
    event = icalendar.Calendar.from_ical(meeting_ics(moved, for_person=False)).walk("VEVENT")[0]
    assert str(event["UID"]) == f"sip-meeting-{meeting.pk}@samplan"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["LOCATION"]) == "https://video.example.org/sip-42"
    assert event.decoded("DTSTART").astimezone(STOCKHOLM).hour == 14
    assert case.reference in str(event["DESCRIPTION"])  # staff's copy names the SIP, not whom

    services.end_sip(
        case,
        actor=Citizen(case.person.identity_number).capacities()[case.pk],
        expected_version=None,
    )
    moved.refresh_from_db()
    cancelled = icalendar.Calendar.from_ical(meeting_ics(moved, for_person=True))
    event = cancelled.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2  # the cancellation is a change of the event too


def test_the_person_downloads_the_calendar_file_and_the_export_is_logged(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = the_meeting(case)
    sign_in_as_person(client, case)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(url("meeting_ics", case, meeting.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]["UID"]
    export = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert (export.what, export.case_id, export.person_id) == (
        "meeting_calendar",
        case.pk,
        case.person_id,
    )
    assert (export.user_id, export.citizen_role) == (None, "person")
    assert export.username == citizen_log_name(case.person.identity_number)


def test_a_meeting_of_another_sip_is_no_calendar_file_of_mine(client, county):
    mine = case_in_state(county, State.MEETING_CALLED)
    other = case_in_state(county, State.MEETING_CALLED)
    sign_in_as_person(client, mine)
    response = client.get(url("meeting_ics", mine, the_meeting(other).pk))
    assert response.status_code == 404
    assert client.get(url("meeting_ics", other, the_meeting(other).pk)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


# --- My meeting ----------------------------------------------------------------------------------


def test_the_person_sees_the_next_meeting_who_is_coming_and_their_own_invitation(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = the_meeting(case)
    Invitation.objects.filter(meeting=meeting, unit=county.hemtjanst).update(
        answer=Invitation.Answer.ACCEPTED
    )
    sign_in_as_person(client, case)
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(url("meeting", case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Next meeting" in page
    assert "Hemma" in page and "45 minutes" in page
    local = timezone.localtime(meeting.starts_at)
    assert f"{local:%H:%M}–{local + dt.timedelta(minutes=45):%H:%M}" in page
    assert "Hemtjänst Norr" in page and "Vårdcentral Centrum" in page
    assert "Coming" in page and "Not answered yet" in page
    assert "You are invited. Tell your coordinator whether you can come" in page
    assert url("meeting_ics", case, meeting.pk) in page
    assert county.alice.get_full_name() not in page  # the coordinator's own details stay out
    read = AuditEvent.objects.get(what="meeting", action=AuditEvent.Action.READ)
    assert (read.case_id, read.citizen_role, read.outcome) == (case.pk, "person", "allowed")


def test_earlier_and_cancelled_meetings_show_below_the_next(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    first = the_meeting(case)
    services.cancel_meeting(
        first, actor=county.alice, expected_version=case.lock_version, reason="Sjuk"
    )
    case.refresh_from_db()
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(14),
            duration_minutes=60,
            video_link="https://video.example.org/sip",
            units=[county.vardcentral],
        ),
    )
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("meeting", case)).content.decode()
    coming, earlier = page.split('data-testid="earlier-meetings"')
    assert "Join the video meeting" in coming and "60 minutes" in coming
    assert "Cancelled" in earlier and "Sjuk" in earlier and "Hemma" in earlier


def test_without_a_meeting_the_page_says_what_happens_next(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("meeting", case)).content.decode()
    assert "No meeting is booked yet" in page
    assert "Your coordinator is preparing the meeting" in page
    assert url("preferences", case) in page


def test_a_relative_granted_meetings_sees_them_and_their_own_invitation(client, county):
    case = case_in_state(county, State.PREPARATION)
    number = adult_number(51)
    daughter = related_party_of(
        case, identity_number=number, name="Dottern", may_see=RelatedParty.Sees.MEETINGS
    )
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=0,
        values={},
        invited_related_parties=[daughter],
    )
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(),
            duration_minutes=45,
            place="Hemma",
            units=[county.vardcentral],
            related_parties=[daughter],
        ),
    )
    sign_in_citizen(client, number, "Dottern")
    english(client)
    page = client.get(url("meeting", case)).content.decode()
    assert "You are invited to this meeting." in page
    assert 'data-testid="own-invitation"' in page
    assert 'data-testid="invitees"' not in page and "Vårdcentral Centrum" not in page
    # Meetings only: not the preferences, which steer the SIP.
    assert url("preferences", case) not in page
    assert client.get(url("preferences", case)).status_code == 404


@pytest.mark.parametrize("granted", [RelatedParty.Sees.PLAN, RelatedParty.Sees.NOTHING])
def test_a_relative_not_granted_meetings_and_a_stranger_get_404_and_it_is_logged(
    client, county, granted
):
    case = case_in_state(county, State.MEETING_CALLED)
    number = adult_number(52)
    related_party_of(case, identity_number=number, may_see=granted)
    sign_in_citizen(client, number)
    assert client.get(url("meeting", case)).status_code == 404
    assert client.get(url("meeting_ics", case, the_meeting(case).pk)).status_code == 404
    sign_in_citizen(client, adult_number(53))
    assert client.get(url("meeting", case)).status_code == 404
    refused = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.REFUSED, case_id=case.pk)
    assert refused.count() == 3
    assert not AuditEvent.objects.filter(
        outcome=AuditEvent.Outcome.ALLOWED, what__startswith="meeting", user__isnull=True
    ).exists()


def test_the_meeting_page_needs_a_signed_in_citizen(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    response = client.get(url("meeting", case))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mypages:sign_in"))


# --- My meeting preferences ----------------------------------------------------------------------


def preference_data(version: int, **values) -> dict:
    data = {
        "version": str(version),
        "needs_to_discuss": "Hur jag ska klara handlingen.",
        "preferred_place": "Biblioteket",
        "preferred_time_of_day": "förmiddag",
        "max_length_minutes": "40",
        "disturbances": "Starkt ljus",
        "room_needs": "Hiss behövs",
        "picture_support": "on",
        "interpreter_language": "arabiska",
        "other_support": "",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_the_person_sets_every_preference_and_the_change_is_on_the_timeline_and_in_the_log(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        assert client.get(url("preferences", case)).status_code == 200
    with django_assert_max_num_queries(PAGE_BUDGET + 6):
        response = client.post(url("preferences", case), preference_data(0, sign_language="on"))
    assert response.status_code == 302
    preparation = Preparation.objects.get(case=case)
    assert preparation.preferred_place == "Biblioteket"
    assert preparation.max_length_minutes == 40
    assert preparation.picture_support and preparation.sign_language
    assert not preparation.assistant
    assert preparation.interpreter_language == "arabiska"
    assert preparation.needs_to_discuss == "Hur jag ska klara handlingen."
    assert preparation.lock_version == 1
    event = CaseEvent.objects.get(case=case, action="update_preferences")
    assert (event.actor_id, event.citizen_role) == (None, "person")
    change = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE, user__isnull=True)
    assert (change.what, change.citizen_role, change.user_id) == ("preparation", "person", None)
    page = client.get(url("preferences", case)).content.decode()
    assert "Your wishes are saved" in page and 'value="Biblioteket"' in page


def test_preferences_can_be_set_from_consent_before_the_preparation_starts(client, county):
    case = case_in_state(county, State.CONSENTED)
    sign_in_as_person(client, case)
    response = client.post(url("preferences", case), preference_data(0))
    assert response.status_code == 302
    assert Preparation.objects.get(case=case).preferred_place == "Biblioteket"


def test_after_the_meeting_is_called_preferences_are_read_only_and_a_post_is_refused(
    client, county
):
    case = case_in_state(county, State.PREPARATION)
    services.update_preparation(
        case, actor=county.alice, expected_version=0, values={"preferred_place": "Hemma"}
    )
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(), duration_minutes=45, place="Hemma", units=[county.vardcentral]
        ),
    )
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("preferences", case)).content.decode()
    assert "The meeting is already called" in page
    assert "Call your coordinator at Vårdcentral Centrum" in page
    assert "<form" not in page.split('id="main"')[1].split("</main>")[0]
    response = client.post(url("preferences", case), preference_data(1))
    assert response.status_code == 400
    assert "You cannot change the meeting preferences while the SIP is in the state" in (
        response.content.decode()
    )
    preparation = Preparation.objects.get(case=case)
    assert (preparation.preferred_place, preparation.lock_version) == ("Hemma", 1)
    assert not CaseEvent.objects.filter(action="update_preferences").exists()


def test_a_coordinators_edit_meanwhile_is_a_409_showing_their_values_and_keeping_mine(
    client, county
):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    client.get(url("preferences", case))  # the form is based on version 0
    services.update_preparation(
        case, actor=county.alice, expected_version=0, values={"preferred_place": "Vårdcentralen"}
    )
    response = client.post(url("preferences", case), preference_data(0))
    assert response.status_code == 409
    page = response.content.decode()
    newer = page.split('data-testid="newer-preferences"')[1].split("</div>")[0]
    assert "Vårdcentralen" in newer
    assert 'value="Biblioteket"' in page  # what the person typed is kept
    assert response.context["form"]["version"].value() == "1"
    assert Preparation.objects.get(case=case).preferred_place == "Vårdcentralen"
    # Saving again, having seen it, is a deliberate choice.
    assert client.post(url("preferences", case), preference_data(1)).status_code == 302
    assert Preparation.objects.get(case=case).preferred_place == "Biblioteket"


def test_a_length_out_of_range_is_refused_next_to_its_field_in_english(client, county):
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    english(client)
    response = client.post(url("preferences", case), preference_data(0, max_length_minutes="5"))
    assert response.status_code == 400
    assert response.context["form"].errors["max_length_minutes"] == [
        "The longest meeting length must be between 10 and 480 minutes."
    ]
    preparation = Preparation.objects.get(case=case)
    assert (preparation.max_length_minutes, preparation.lock_version) == (None, 0)


def test_every_text_field_of_the_preferences_has_a_length_limit(client, county):
    for name, field in PreferencesForm.base_fields.items():
        if hasattr(field, "max_length"):
            assert field.max_length, name
    case = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, case)
    response = client.post(url("preferences", case), preference_data(0, preferred_place="x" * 201))
    assert response.status_code == 400
    assert "preferred_place" in response.context["form"].errors


def test_a_relative_who_sees_everything_still_cannot_steer_the_preferences(client, county):
    case = case_in_state(county, State.PREPARATION)
    number = adult_number(54)
    related_party_of(case, identity_number=number, may_see=RelatedParty.Sees.EVERYTHING)
    sign_in_citizen(client, number)
    assert client.get(url("preferences", case)).status_code == 404
    assert client.post(url("preferences", case), preference_data(0)).status_code == 404
    assert not Preparation.objects.filter(case=case, preferred_place="Biblioteket").exists()
    capacity = Citizen(number).capacities()[case.pk]
    with pytest.raises(PermissionRefused):
        services.update_preferences_by_person(
            case, actor=capacity, expected_version=0, data={"preferred_place": "Biblioteket"}
        )
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CHANGE, outcome=AuditEvent.Outcome.REFUSED, case_id=case.pk
    ).exists()


def test_a_young_person_with_their_own_view_steers_their_preferences(client, county):
    child = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=child)
    sign_in_as_person(client, case)
    assert client.post(url("preferences", case), preference_data(0)).status_code == 302
    assert CaseEvent.objects.get(action="update_preferences").citizen_role == "person"


def test_staff_cannot_use_the_persons_own_preferences_action_nor_set_who_is_invited(county):
    case = case_in_state(county, State.PREPARATION)
    with pytest.raises(PermissionRefused):
        services.update_preferences_by_person(
            case, actor=county.alice, expected_version=0, data={"preferred_place": "Hemma"}
        )
    capacity = Citizen(case.person.identity_number).capacities()[case.pk]
    with pytest.raises(ValueError):
        services.update_preferences_by_person(
            case, actor=capacity, expected_version=0, data={"not_to_invite": "Grannen"}
        )


# --- What a relative granted only the meetings sees (review finding 4) --------------------------


def _meeting_with_a_relative_invited(county, number: str, granted: str):
    case = case_in_state(county, State.PREPARATION)
    daughter = related_party_of(case, identity_number=number, name="Dottern", may_see=granted)
    brother = related_party_of(case, name="Brodern Bengtsson")
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=0,
        values={},
        invited_related_parties=[daughter, brother],
    )
    first = services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(3),
            duration_minutes=30,
            place="Vårdcentralen",
            units=[county.vardcentral],
            related_parties=[daughter],
        ),
    )
    case.refresh_from_db()
    services.cancel_meeting(
        first,
        actor=county.alice,
        expected_version=case.lock_version,
        reason="Inlagd på sjukhuset",
    )
    case.refresh_from_db()
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=future(10),
            duration_minutes=45,
            place="Hemma",
            video_link="https://video.example.org/sip-7",
            honoured_preferences="Ramp vid entrén och tolk på arabiska",
            units=[county.vardcentral, county.hemtjanst],
            related_parties=[daughter, brother],
        ),
    )
    return case


def test_a_relative_granted_only_meetings_sees_when_where_and_their_own_invitation_only(
    client, county, django_assert_max_num_queries
):
    number = adult_number(55)
    case = _meeting_with_a_relative_invited(county, number, RelatedParty.Sees.MEETINGS)
    coming = case.meetings.get(cancelled_at__isnull=True)
    sign_in_citizen(client, number, "Dottern")
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(url("meeting", case))
    assert response.status_code == 200
    page = response.content.decode()
    local = timezone.localtime(coming.starts_at)
    assert f"{local:%H:%M}–{local + dt.timedelta(minutes=45):%H:%M}" in page
    assert "Hemma" in page and "https://video.example.org/sip-7" in page
    assert 'data-testid="own-invitation"' in page and "Not answered yet" in page
    assert url("meeting_ics", case, coming.pk) in page
    # Not what arranges the meeting around the person, nor who else comes, nor why it was
    # cancelled.
    for hidden in (
        "Ramp vid entrén",
        "What has been arranged",
        'data-testid="invitees"',
        'data-testid="person-invitation"',
        "Brodern Bengtsson",
        "Hemtjänst Norr",
        "Vårdcentral Centrum",
        "Inlagd på sjukhuset",
    ):
        assert hidden not in page, hidden
    assert "The meeting is cancelled." in page.split('data-testid="earlier-meetings"')[1]


def test_a_relative_granted_everything_sees_who_is_coming_and_what_is_arranged(client, county):
    number = adult_number(56)
    case = _meeting_with_a_relative_invited(county, number, RelatedParty.Sees.EVERYTHING)
    sign_in_citizen(client, number, "Dottern")
    english(client)
    page = client.get(url("meeting", case)).content.decode()
    for shown in (
        "Ramp vid entrén",
        'data-testid="invitees"',
        "Brodern Bengtsson",
        "Hemtjänst Norr",
        'data-testid="person-invitation"',
        'data-testid="own-invitation"',
        "Inlagd på sjukhuset",
    ):
        assert shown in page, shown


# --- Where the calendar file says the meeting is (review finding 6) -----------------------------


def test_the_persons_calendar_file_has_the_place_and_the_one_for_parties_only_a_video_link(
    county,
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = the_meeting(case)
    Meeting.objects.filter(pk=meeting.pk).update(place="Storgatan 1, hos Karl")
    meeting.refresh_from_db()
    mine = icalendar.Calendar.from_ical(meeting_ics(meeting, for_person=True)).walk("VEVENT")[0]
    assert str(mine["LOCATION"]) == "Storgatan 1, hos Karl"
    for_parties = meeting_ics(meeting, for_person=False)
    event = icalendar.Calendar.from_ical(for_parties).walk("VEVENT")[0]
    assert "LOCATION" not in event and "URL" not in event
    assert b"Storgatan" not in for_parties and b"Karl" not in for_parties

    Meeting.objects.filter(pk=meeting.pk).update(video_link="https://video.example.org/sip-9")
    meeting.refresh_from_db()
    for_parties = meeting_ics(meeting, for_person=False)
    event = icalendar.Calendar.from_ical(for_parties).walk("VEVENT")[0]
    assert str(event["URL"]) == "https://video.example.org/sip-9"
    assert str(event["LOCATION"]) == "https://video.example.org/sip-9"
    assert b"Storgatan" not in for_parties
    mine = icalendar.Calendar.from_ical(meeting_ics(meeting, for_person=True)).walk("VEVENT")[0]
    assert str(mine["LOCATION"]) == "Storgatan 1, hos Karl"
    assert "https://video.example.org/sip-9" in str(mine["DESCRIPTION"])


def test_the_page_promises_only_what_the_calendar_file_keeps(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("meeting", case)).content.decode()
    assert "The calendar file holds the time and the place." in page
    assert "nothing about you." not in page
