"""Min SIP, my consent: what I agreed to share, with whom, until when and how it was given; and
stopping it with one clear action after a page that says what happens. One organisation loses
access at once (its staff no longer reach the SIP); all of it closes the SIP and cancels the
meeting ahead; nothing recorded is lost. Refused for whoever may not act: nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from samplan.access.citizen import Citizen
from samplan.access.models import AuditEvent
from samplan.access.services import cases_visible_to
from samplan.cases import services
from samplan.cases.models import (
    CaseEvent,
    Consent,
    ConsentScope,
    Meeting,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Organisation
from samplan.errors import PermissionRefused
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.citizens import sign_in_as_person, sign_in_citizen
from tests.factories import (
    OrganisationFactory,
    UnitFactory,
    case_in_state,
    consent_to,
    minor,
    related_party_of,
    staff,
)

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 14


def url(name: str, case) -> str:
    return reverse(f"mypages:{name}", args=[case.pk])


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def adult_number(serial: int) -> str:
    return make_identity_number(dt.date(1975, 3, 3), serial)


def snapshot(case) -> tuple:
    case.refresh_from_db()
    consent = Consent.objects.get(case=case)
    return (
        case.state,
        case.lock_version,
        consent.revoked_at,
        sorted(ConsentScope.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)),
        CaseEvent.objects.filter(case=case).count(),
    )


@pytest.fixture
def three(county):
    """A SIP in preparation whose consent names the region (coordinating), the kommun (bob's
    hemtjänst) and Försäkringskassan (an office taking part, with its own staff member)."""
    case = case_in_state(county, State.INFORMED)
    fk = OrganisationFactory(name="Försäkringskassan", kind=Organisation.Kind.FORSAKRINGSKASSAN)
    office = UnitFactory(organisation=fk, name="Lokalkontor")
    erik = staff(office, username="erik")
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    services.add_participant(case, actor=county.alice, unit=office)
    consent_to(case, county.alice, [county.region, county.kommun, fk])
    services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    case.refresh_from_db()
    return case, fk, erik


# --- Reading my consent --------------------------------------------------------------------------


def test_the_person_reads_what_they_agreed_to_with_whom_and_until_when(
    client, county, three, django_assert_max_num_queries
):
    case, fk, _erik = three
    services.revoke_consent(
        case, actor=county.alice, expected_version=None, organisations=[fk], note="Per telefon"
    )
    sign_in_as_person(client, case)
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(url("consent", case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Behov, insatser och planen" in page
    assert "Until the SIP ends" in page
    given = page.split('data-testid="consent-given"')[1].split("</dd>")[0]
    assert "written" in given and "Gunnel" in given
    organisations = page.split('data-testid="consent-organisations"')[1].split("</ul>")[0]
    assert "Region Test" in organisations and "Testby kommun" in organisations
    assert "Hemtjänst Norr" in organisations  # the units of each organisation taking part
    stopped = [part.split("</li>")[0] for part in organisations.split("<li>")[1:]]
    assert [("Försäkringskassan" in item, "Sharing stopped" in item) for item in stopped] == [
        (True, True),
        (False, False),
        (False, False),
    ]
    assert url("revoke", case) in page
    read = AuditEvent.objects.get(what="consent", action=AuditEvent.Action.READ)
    assert (read.case_id, read.citizen_role) == (case.pk, "person")


def test_a_young_person_with_their_own_view_reads_it_but_the_guardians_revoke(client, county):
    child = minor(own_view=True)
    case = case_in_state(county, State.PREPARATION, person=child)
    sign_in_as_person(client, case)
    english(client)
    page = client.get(url("consent", case)).content.decode()
    assert "Your guardians can stop it for you" in page
    assert url("revoke", case) not in page
    assert client.get(url("revoke", case)).status_code == 404
    assert client.post(url("revoke", case), {"version": "0", "scope": "all"}).status_code == 404
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION


@pytest.mark.parametrize("granted", [RelatedParty.Sees.MEETINGS, RelatedParty.Sees.PLAN])
def test_a_relative_not_granted_everything_does_not_see_the_consent(client, county, granted):
    case = case_in_state(county, State.PREPARATION)
    number = adult_number(61)
    related_party_of(case, identity_number=number, may_see=granted)
    sign_in_citizen(client, number)
    assert client.get(url("consent", case)).status_code == 404


# --- Revoking ------------------------------------------------------------------------------------


def test_the_choice_leaves_out_the_coordinating_organisation_and_says_why(
    client, county, three, django_assert_max_num_queries
):
    case, fk, _erik = three
    sign_in_as_person(client, case)
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        with_choice = client.get(url("revoke", case))
    page = with_choice.content.decode()
    choices = [value for value, _label in with_choice.context["form"].fields["scope"].choices]
    assert choices == ["all", str(fk.pk), str(county.kommun.pk)]
    holding = page.split('data-testid="holding-organisation"')[1].split("</div>")[0]
    assert "Region Test" in holding and "Vårdcentral Centrum" in holding
    assert "only stop together with everyone" in holding
    # Posting it anyway is no valid choice, and nothing changes.
    before = snapshot(case)
    response = client.post(
        url("revoke", case),
        {"version": str(case.lock_version), "scope": str(county.region.pk), "confirmed": "True"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["scope"]
    assert snapshot(case) == before


def test_one_organisation_after_the_confirmation_loses_access_at_once(
    client, county, three, django_assert_max_num_queries
):
    case, fk, erik = three
    assert cases_visible_to(county.bob).filter(pk=case.pk).exists()
    sign_in_as_person(client, case)
    english(client)
    data = {"version": str(case.lock_version), "scope": str(county.kommun.pk)}
    before = snapshot(case)
    confirmation = client.post(url("revoke", case), data)
    assert confirmation.status_code == 200
    consequence = confirmation.content.decode().split('data-testid="revocation-consequence"')[1]
    assert "Sharing with Testby kommun stops at once" in consequence
    # What the start page of those units then tells them (test_start_from_person.py).
    assert "Your coordinator and the units of Testby kommun are told" in consequence
    assert "units taking part are told" not in consequence
    assert "Nothing that is written down is deleted" in consequence
    assert snapshot(case) == before  # the confirmation page changes nothing

    with django_assert_max_num_queries(PAGE_BUDGET + 14):
        response = client.post(url("revoke", case), {**data, "confirmed": "True"})
    assert response.status_code == 302
    assert response["Location"] == url("revoke_done", case)

    assert not cases_visible_to(county.bob).filter(pk=case.pk).exists()
    assert cases_visible_to(erik).filter(pk=case.pk).exists()
    assert cases_visible_to(county.alice).filter(pk=case.pk).exists()
    case.refresh_from_db()
    assert case.state == State.PREPARATION
    scope = ConsentScope.objects.get(organisation=county.kommun)
    assert scope.revoked_at is not None
    event = CaseEvent.objects.get(case=case, action="revoke_consent_in_part")
    assert (event.actor_id, event.citizen_role) == (None, "person")
    assert event.note == "Testby kommun – Återkallat i Min SIP av personen."
    change = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE, user__isnull=True)
    assert (change.what, change.citizen_role, change.case_id) == ("consent", "person", case.pk)

    with django_assert_max_num_queries(PAGE_BUDGET):
        receipt = client.get(response["Location"])
    assert receipt.status_code == 200
    assert "Testby kommun: stopped" in receipt.content.decode()
    assert "the units of the organisations you chose are told" in receipt.content.decode()
    consent_page = client.get(url("consent", case)).content.decode()
    assert consent_page.count('data-testid="stopped"') == 1
    # And so they are: bob's hemtjänst (kommun), which can no longer open it, reads it on his
    # start page, by the SIP's reference alone.
    client.force_login(county.bob)
    english(client)
    told = client.get("/start/", {"view": "unit"}).content.decode()
    assert case.reference in told and case.person.full_name not in told


def test_stopping_all_sharing_closes_the_sip_cancels_the_meeting_and_keeps_the_record(
    client, county
):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = Meeting.objects.get(case=case)
    sign_in_as_person(client, case)
    english(client)
    data = {"version": str(case.lock_version), "scope": "all"}
    confirmation = client.post(url("revoke", case), data).content.decode()
    assert "Your SIP ends. A meeting that is booked is cancelled." in confirmation
    assert "Your coordinator and the units taking part are told." in confirmation
    response = client.post(url("revoke", case), {**data, "confirmed": "True"})
    assert response.status_code == 302

    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    consent = Consent.objects.get(case=case)
    assert consent.revoked_at is not None and consent.revoked_by is None
    assert consent.revocation_note == "Återkallat i Min SIP av personen."
    assert consent.scopes.count() == 2  # what was agreed stays on record
    meeting.refresh_from_db()
    assert meeting.cancelled_at is not None and meeting.sequence == 1
    assert "Samtycket återkallades" in meeting.cancellation_reason
    assert meeting.invitations.count() == 3  # who was called stays on record too
    assert not cases_visible_to(county.bob).filter(pk=case.pk).exists()
    assert cases_visible_to(county.alice).filter(pk=case.pk).exists()  # keeps the original
    event = CaseEvent.objects.get(case=case, action="revoke_consent")
    assert (event.citizen_role, event.to_state) == ("person", State.CLOSED)

    receipt = client.get(response["Location"]).content.decode()
    assert "All sharing stopped" in receipt and "Your SIP has ended" in receipt
    # Closed, so nothing is left to stop; the person still reads what they agreed to.
    assert "There is no sharing to stop" in client.get(url("revoke", case)).content.decode()
    assert "All sharing stopped on" in client.get(url("consent", case)).content.decode()


def test_the_last_organisation_left_ends_everything_as_the_confirmation_says(client, county):
    case = case_in_state(county, State.PREPARATION)
    services.revoke_consent(
        case, actor=county.alice, expected_version=None, organisations=[county.kommun]
    )
    # Only the coordinating region is left: stopping is "all".
    sign_in_as_person(client, case)
    english(client)
    form = client.get(url("revoke", case)).context["form"]
    assert [value for value, _ in form.fields["scope"].choices] == ["all"]


def test_a_plan_stays_after_the_sharing_stops(client, county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    sign_in_as_person(client, case)
    client.post(
        url("revoke", case),
        {"version": str(case.lock_version), "scope": "all", "confirmed": "True"},
    )
    assert SipCase.objects.get(pk=case.pk).state == State.CLOSED
    assert PlanVersion.objects.get(case=case).status == PlanVersion.Status.VALID


def test_a_guardian_stops_sharing_for_a_child_and_the_note_says_so(client, county):
    child = minor()
    case = case_in_state(county, State.PREPARATION, person=child)
    number = adult_number(62)
    related_party_of(
        case, kind=RelatedParty.Kind.GUARDIAN, identity_number=number, name="Mamma Exempel"
    )
    sign_in_citizen(client, number, "Mamma Exempel")
    response = client.post(
        url("revoke", case),
        {"version": str(case.lock_version), "scope": "all", "confirmed": "True"},
    )
    assert response.status_code == 302
    consent = Consent.objects.get(case=case)
    assert consent.revocation_note == "Återkallat i Min SIP av vårdnadshavare Mamma Exempel."
    assert CaseEvent.objects.get(action="revoke_consent").citizen_role == "guardian"


def test_a_relative_who_sees_everything_cannot_revoke_and_nothing_changes(client, county, three):
    case, _fk, _erik = three
    number = adult_number(63)
    related_party_of(case, identity_number=number, may_see=RelatedParty.Sees.EVERYTHING)
    sign_in_citizen(client, number)
    english(client)
    before = snapshot(case)
    page = client.get(url("consent", case)).content.decode()
    assert url("revoke", case) not in page
    assert "or someone who acts for them, can stop the sharing" in page
    data = {"version": str(case.lock_version), "scope": "all", "confirmed": "True"}
    assert client.get(url("revoke", case)).status_code == 404
    assert client.post(url("revoke", case), data).status_code == 404
    assert snapshot(case) == before
    # The service refuses the capacity as well, and the refusal is logged.
    capacity = Citizen(number).capacities()[case.pk]
    with pytest.raises(PermissionRefused):
        services.revoke_consent(case, actor=capacity, expected_version=None)
    assert snapshot(case) == before
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CHANGE, outcome=AuditEvent.Outcome.REFUSED, case_id=case.pk
    ).exists()


def test_someone_elses_sip_is_a_404_and_nothing_changes(client, county):
    mine = case_in_state(county, State.PREPARATION)
    theirs = case_in_state(county, State.PREPARATION)
    sign_in_as_person(client, mine)
    before = snapshot(theirs)
    for name in ("consent", "revoke", "revoke_done"):
        assert client.get(url(name, theirs)).status_code == 404
    data = {"version": str(theirs.lock_version), "scope": "all", "confirmed": "True"}
    assert client.post(url("revoke", theirs), data).status_code == 404
    assert snapshot(theirs) == before


def test_a_stale_form_is_a_409_and_changes_nothing(client, county, three):
    case, fk, _erik = three
    sign_in_as_person(client, case)
    english(client)
    stale = case.lock_version
    services.add_participant(
        case, actor=county.alice, unit=UnitFactory(organisation=county.region, name="Psykiatri")
    )
    services.call_meeting(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        call=services.MeetingCall(
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            duration_minutes=30,
            place="Hemma",
            units=[county.vardcentral],
        ),
    )
    before = snapshot(case)
    response = client.post(
        url("revoke", case), {"version": str(stale), "scope": str(fk.pk), "confirmed": "True"}
    )
    assert response.status_code == 409
    assert "Someone else saved changes" in response.content.decode()
    assert response.context["form"]["version"].value() == str(case.lock_version)
    assert snapshot(case) == before
