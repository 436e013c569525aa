"""Loggkontroll, whose rows and whose reviews: an officer sees no other organisation's rows (what
their staff did elsewhere included, found by the security review of issue 7), staff rows by the
assignments valid at the row's time, nothing that tells whether an identity number or a user name
is registered elsewhere, reviews of their own organisation only, and a review or an emergency
reason changed beneath the app marked (tests/test_emergency_access.py has the latter)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from samplan.access.models import AuditEvent, LogReview
from samplan.access.review import review_fingerprint
from samplan.cases.models import State
from samplan.directory.models import Assignment
from samplan.people.models import Person
from tests.factories import PersonFactory, UserFactory, case_in_state, staff
from tests.test_log_review import (
    EXPORT_URL,
    NEW_REVIEW_URL,
    REVIEWS_URL,
    URL,
    _review_data,
    listed,
    read_csv,
    row,
)

pytestmark = pytest.mark.django_db

Action, Outcome = AuditEvent.Action, AuditEvent.Outcome


@pytest.fixture
def officer(county):
    """The region's security officer."""
    return staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER, username="sakerhet")


# --- Whose rows: no other organisation's, and nothing that tells who is registered elsewhere ----


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def kommun_officer(county):
    return staff(county.hemtjanst, Assignment.Role.SECURITY_OFFICER, username="sak_kommun")


def test_what_their_staff_did_at_another_organisation_is_not_in_their_review(
    client, county, officer, kommun_officer
):
    """The leak the security review found: karin (kommun) held an assignment at a region unit for
    a while and read a region person there; the kommun's officer saw that row, with the person's
    name and identity number, and all of it when searching for karin."""
    karin = staff(county.hemtjanst, username="karin")
    region_person = PersonFactory()
    Assignment.objects.create(
        user=karin,
        unit=county.vardcentral,
        role=Assignment.Role.PARTICIPANT,
        valid_from=days_ago(5),
        valid_to=days_ago(1),
    )
    read = row(karin, unit=county.vardcentral, person=region_person, at=days_ago(3))
    secrets = (region_person.identity_number, region_person.display_identity)

    client.force_login(kommun_officer)
    for search in ({}, {"username": "karin"}, {"username": "karin", "action": "read"}):
        assert read.pk not in listed(client, search)
        page = client.post(URL, search).content.decode()
        assert region_person.full_name not in page
        assert not any(secret in page for secret in secrets)
    exported = read_csv(client.post(EXPORT_URL, {"username": "karin"}))
    assert not any(secret in cell for line in exported for cell in line for secret in secrets)

    # The region's officer sees it: it happened at the region's unit.
    client.force_login(officer)
    assert read.pk in listed(client, {"username": "karin"})


def test_staff_rows_without_a_unit_are_the_organisations_where_they_worked_at_the_time(
    client, county, officer, kommun_officer
):
    """Sign-ins and grants of a role carry no unit: they belong to the organisations where the
    user held an assignment at that moment, not to every one they ever worked for."""
    olle = UserFactory(username="olle")
    Assignment.objects.create(
        user=olle,
        unit=county.hemtjanst,
        role=Assignment.Role.PARTICIPANT,
        valid_from=days_ago(30),
        valid_to=days_ago(10),
    )
    Assignment.objects.create(
        user=olle, unit=county.vardcentral, role="participant", valid_from=days_ago(8)
    )
    in_the_kommun = row(olle, action=Action.SIGN_IN, what="probe", at=days_ago(20))
    in_the_region = row(olle, action=Action.SIGN_IN, what="probe", at=days_ago(5))
    granted = row(None, action=Action.GRANT, what="probe", subject_user=olle, at=days_ago(5))
    before_either = row(olle, action=Action.SIGN_IN, what="probe", at=days_ago(40))
    probes = {in_the_kommun.pk, in_the_region.pk, granted.pk, before_either.pk}

    client.force_login(kommun_officer)
    assert set(listed(client, {"date_from": days_ago(50).date()})) & probes == {in_the_kommun.pk}
    assert set(listed(client, {"username": "olle", "date_from": days_ago(50).date()})) == {
        in_the_kommun.pk
    }
    client.force_login(officer)
    assert set(listed(client, {"date_from": days_ago(50).date()})) & probes == {
        in_the_region.pk,
        granted.pk,
    }


def test_a_person_of_another_organisation_answers_as_an_unknown_number(client, county, officer):
    case = case_in_state(county, State.CONSENTED)  # the region's SIP (the kommun joins later)
    number = case.person.identity_number
    unknown = "19121212-1212"
    assert not Person.objects.filter(identity_number="191212121212").exists()
    outsider = staff(county.elsewhere, Assignment.Role.SECURITY_OFFICER, username="sak_annan")
    client.force_login(outsider)

    answers = []
    for typed in (number, unknown, number):
        response = client.post(URL, {"identity": typed, "summary": "1"})
        page = response.content.decode()
        summary = response.context["summary"]
        answers.append(
            (
                response.status_code,
                response.context["rows"],
                response.context["form"].errors,
                response.context["searched_person"],
                (summary.emergency, summary.protected, summary.off_hours),
                "govuk-error-summary" in page,
            )
        )
        assert case.person.full_name not in page
    assert answers[0] == answers[1] == answers[2] == (200, [], {}, None, (0, 0, 0), False)
    pages = AuditEvent.objects.filter(user=outsider, what="audit_log").order_by("id")
    assert {event.detail for event in pages} == {"person by identity number"}
    assert {event.person_id for event in pages} == {None}

    # The lookups are rows of their own; the one that found someone names them, so that the
    # organisations holding the person see who looked them up.
    lookups = list(AuditEvent.objects.filter(user=outsider, what="person_lookup").order_by("id"))
    assert [event.person_id for event in lookups] == [case.person.pk, None, case.person.pk]
    # What another organisation did with the person at its own unit stays its own.
    elsewhere = row(county.charlie, unit=county.elsewhere, person=case.person)
    client.force_login(officer)
    found = set(listed(client, {"identity": number}))
    assert {lookups[0].pk, lookups[2].pk} <= found
    assert elsewhere.pk not in found

    # The outsider sees their own lookups, without the person.
    client.force_login(outsider)
    response = client.post(URL, {"username": "sak_annan"})
    shown = {event.pk: event for event in response.context["rows"]}
    assert {event.pk for event in lookups} <= set(shown)
    assert all(shown[event.pk].person_hidden for event in lookups if event.person_id)
    page = response.content.decode()
    assert case.person.full_name not in page and case.person.display_identity not in page
    exported = read_csv(client.post(EXPORT_URL, {"username": "sak_annan"}))
    assert not any(number in cell for line in exported for cell in line)


def test_a_user_name_no_one_has_answers_as_one_outside_their_scope(client, county, officer):
    client.force_login(officer)
    for typed in ("nobody", "charlie"):  # charlie works elsewhere and did nothing of theirs
        response = client.post(URL, {"username": typed}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert response.context["rows"] == []
        assert not response.context["form"].errors
        assert "No user has this user name" not in response.content.decode()


def test_identity_lookups_are_rate_limited(client, county, officer, settings):
    settings.SAMPLAN_SEARCH_RATE_LIMIT = 2
    person = PersonFactory()
    client.force_login(officer)
    assert client.post(URL, {"identity": person.identity_number}).status_code == 200
    assert client.post(URL, {"identity": "19121212-1212"}).status_code == 200
    assert client.post(URL, {"identity": person.identity_number}).status_code == 429
    assert client.post(EXPORT_URL, {"identity": person.identity_number}).status_code == 429
    refused = AuditEvent.objects.filter(user=officer, what="log_review_lookup")
    assert [(e.outcome, e.detail) for e in refused] == [(Outcome.REFUSED, "rate limit")] * 2
    # A search without an identity number looks no one up and goes on.
    assert client.post(URL, {"username": "alice"}).status_code == 200


# --- Reviews are an organisation's, and checked against the log -------------------------------


def test_a_review_is_the_organisations_it_was_made_for(client, county, officer, kommun_officer):
    both = UserFactory(username="dubbel")
    for unit in (county.vardcentral, county.hemtjanst):
        Assignment.objects.create(user=both, unit=unit, role=Assignment.Role.SECURITY_OFFICER)
    client.force_login(both)
    form = client.get(NEW_REVIEW_URL).context["form"]
    assert sorted(o.name for o in form.fields["organisation"].queryset) == sorted(
        [county.region.name, county.kommun.name]
    )
    unchosen = client.post(NEW_REVIEW_URL, _review_data(), HTTP_ACCEPT_LANGUAGE="en")
    assert unchosen.status_code == 400
    assert 'id="id_organisation-error"' in unchosen.content.decode()
    foreign = client.post(NEW_REVIEW_URL, _review_data(organisation=county.other_kommun.pk))
    assert foreign.status_code == 400
    assert not LogReview.objects.exists()
    assert (
        client.post(NEW_REVIEW_URL, _review_data(organisation=county.kommun.pk)).status_code == 302
    )
    for_kommun = LogReview.objects.get()
    assert for_kommun.organisation == county.kommun

    # The region's officer does not see it, though its author is a region officer too.
    client.force_login(officer)
    assert list(client.get(REVIEWS_URL).context["records"]) == []
    # An officer of one organisation chooses nothing: whatever is posted, it is theirs.
    page = client.get(NEW_REVIEW_URL).content.decode()
    assert 'name="organisation"' not in page
    client.post(NEW_REVIEW_URL, _review_data(organisation=county.kommun.pk))
    assert LogReview.objects.exclude(pk=for_kommun.pk).get().organisation == county.region
    client.force_login(kommun_officer)
    assert [r.pk for r in client.get(REVIEWS_URL).context["records"]] == [for_kommun.pk]


def test_a_review_changed_beneath_the_app_is_marked(client, county, officer):
    client.force_login(officer)
    client.post(NEW_REVIEW_URL, _review_data())
    record = LogReview.objects.get()
    created = AuditEvent.objects.get(action=Action.CREATE, what="log_review")
    assert f"hmac {review_fingerprint(record)}" in created.detail
    assert record.conclusion not in created.detail  # the fingerprint, not the text

    def checks():
        response = client.get(REVIEWS_URL, HTTP_ACCEPT_LANGUAGE="en")
        return {r.pk: r.check for r in response.context["records"]}, response.content.decode()

    assert checks()[0] == {record.pk: "ok"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE access_logreview SET conclusion = %s WHERE id = %s",
            ["Allt i sin ordning.", record.pk],
        )
    marks, page = checks()
    assert marks == {record.pk: "changed"}
    with connection.cursor() as cursor:  # the text put back, the record moved to the kommun
        cursor.execute(
            "UPDATE access_logreview SET conclusion = %s, organisation_id = %s WHERE id = %s",
            [record.conclusion, county.kommun.pk, record.pk],
        )
    kommun_officer = staff(county.hemtjanst, Assignment.Role.SECURITY_OFFICER, username="k2")
    client.force_login(kommun_officer)
    assert checks()[0] == {record.pk: "changed"}
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE access_logreview SET organisation_id = %s WHERE id = %s",
            [county.region.pk, record.pk],
        )
    client.force_login(officer)
    assert "Changed after it was written" in page
    # A record the app never wrote (no CREATE row names it) is marked too.
    written_beneath = LogReview.objects.create(
        reviewer=officer,
        organisation=county.region,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 1, 31),
        scope="whole log",
        conclusion="Inget.",
    )
    assert checks()[0] == {record.pk: "ok", written_beneath.pk: "missing"}


def test_identity_numbers_and_reasons_stay_out_of_error_reports(client, county, officer):
    client.force_login(officer)
    for url, data, hidden in (
        (URL, {"identity": "19121212-1212"}, {"identity", "reason"}),
        (EXPORT_URL, {"identity": "19121212-1212"}, {"identity", "reason"}),
        (NEW_REVIEW_URL, _review_data(), {"conclusion"}),
    ):
        request = client.post(url, data).wsgi_request
        assert set(request.sensitive_post_parameters) == hidden
