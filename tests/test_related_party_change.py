"""Changing grants afterwards (review finding 7): staff of a unit taking part change what a
related party known in the SIP is granted (what they see, acting for a god man or förvaltare,
the number they sign in to Min SIP with) or end the party's link to the SIP; whoever drives the
SIP changes a 15–17-year-old's own view in Min SIP after the information step too. Each change
is audited; each refusal too, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen, cases_for_citizen
from samplan.access.models import AuditEvent
from samplan.cases.models import State
from samplan.cases.services.initiative import (
    change_related_party,
    end_related_party_link,
    set_own_view,
)
from samplan.directory.models import Assignment
from samplan.errors import DomainError, PermissionRefused
from samplan.people.identity import make_identity_number
from samplan.people.models import RelatedParty
from tests.factories import PersonFactory, case_in_state, minor, related_party_of, staff

pytestmark = pytest.mark.django_db

RELATIVE_NUMBER = make_identity_number(dt.date(1970, 5, 17), 88)
TYPED = f"{RELATIVE_NUMBER[:8]}-{RELATIVE_NUMBER[8:]}"  # as staff type it


def page_url(case, party=None) -> str:
    url = reverse("workspace:change_related_party", args=[case.pk])
    return f"{url}?party={party.pk}" if party else url


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def field_error(response, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def change_rows(what: str = "related_party"):
    return list(
        AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE, what=what).order_by("seq")
    )


def sees(number: str, case) -> bool:
    citizen = Citizen(identity_number=number, name="Närstående", method="test")
    return case.pk in [found.pk for found, _capacity in cases_for_citizen(citizen)]


def grant(**values) -> dict:
    return {"may_see": RelatedParty.Sees.NOTHING, "identity_number": "", **values}


def test_the_case_page_links_to_change_each_party(client, county, django_assert_max_num_queries):
    case = case_in_state(county, State.MEETING_CALLED)
    party = related_party_of(case, name="Dottern Dahl")
    client.force_login(county.bob)
    english(client)

    # 27 with read-only mode's state and the bell's count, one query each per staff page.
    with django_assert_max_num_queries(27):
        page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()

    assert f'href="{page_url(case, party)}"' in page
    # A unit administrator sees the SIP but does not act on it: no link.
    admin = staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR)
    client.force_login(admin)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert page_url(case, party) not in page and "Dottern Dahl" in page


def test_a_participant_changes_what_a_relative_sees_and_their_number(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.MEETING_CALLED)
    party = related_party_of(case, name="Dottern Dahl", may_see=RelatedParty.Sees.NOTHING)
    assert not sees(RELATIVE_NUMBER, case)
    client.force_login(county.bob)
    english(client)
    with django_assert_max_num_queries(15):
        form = client.get(page_url(case, party))
    assert form.status_code == 200
    assert "Change Dottern Dahl" in form.content.decode()
    assert 'name="may_act"' not in form.content.decode()  # a relative never acts

    response = client.post(
        page_url(case),
        {"party": party.pk, **grant(may_see=RelatedParty.Sees.PLAN, identity_number=TYPED)},
    )

    assert response.status_code == 302
    party.refresh_from_db()
    assert (party.may_see, party.identity_number) == (RelatedParty.Sees.PLAN, RELATIVE_NUMBER)
    [row] = change_rows()
    assert (row.outcome, row.case_id, row.person_id, row.unit_id) == (
        AuditEvent.Outcome.ALLOWED,
        case.pk,
        case.person_id,
        county.hemtjanst.pk,
    )
    assert row.detail == f"party={party.pk} changed=may_see,identity_number"
    assert RELATIVE_NUMBER not in row.detail
    # The relative now signs in to Min SIP and finds this SIP.
    assert sees(RELATIVE_NUMBER, case)


def test_a_god_mans_mandate_can_be_made_to_cover_acting(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    party = related_party_of(
        case,
        kind=RelatedParty.Kind.GOD_MAN,
        mandate="Bevaka rätt",
        identity_number=RELATIVE_NUMBER,
    )
    client.force_login(county.alice)
    assert 'name="may_act"' in client.get(page_url(case, party)).content.decode()

    response = client.post(
        page_url(case),
        {"party": party.pk, **grant(may_act="on", identity_number=party.identity_number)},
    )

    assert response.status_code == 302
    party.refresh_from_db()
    assert party.may_act is True
    assert change_rows()[0].detail == f"party={party.pk} changed=may_act"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"may_act": "on"}, "may_act", "Only a god man or förvaltare"),
        ({"identity_number": "19700517-0000"}, "identity_number", ""),  # checksum
        ({"identity_number": "{own}"}, "identity_number", "the person's own number"),
    ],
    ids=["relative may not act", "bad number", "the person's own number"],
)
def test_a_grant_that_does_not_hold_is_refused_next_to_its_field(
    client, county, values, field, message
):
    case = case_in_state(county, State.MEETING_CALLED)
    party = related_party_of(case, may_see=RelatedParty.Sees.MEETINGS)
    values = {key: value.format(own=case.person.identity_number) for key, value in values.items()}
    client.force_login(county.bob)
    english(client)

    response = client.post(
        page_url(case),
        {"party": party.pk, **grant(may_see=RelatedParty.Sees.EVERYTHING, **values)},
    )

    assert response.status_code == 400
    assert field_error(response, field)
    assert message in field_error(response, field)
    page = response.content.decode()
    assert "govuk-error-summary" in page and f'id="id_{field}-error"' in page
    party.refresh_from_db()
    assert (party.may_see, party.may_act, party.identity_number) == (
        RelatedParty.Sees.MEETINGS,
        False,
        "",
    )
    assert change_rows() == []


def test_a_unit_not_taking_part_changes_nothing(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    party = related_party_of(case, may_see=RelatedParty.Sees.NOTHING)
    values = {"party": party.pk, **grant(may_see=RelatedParty.Sees.EVERYTHING)}
    # Another kommun does not even know the SIP exists.
    client.force_login(county.charlie)
    assert client.post(page_url(case), values).status_code == 404
    assert client.post(page_url(case), {"party": party.pk, "end": "1"}).status_code == 404
    # The unit administrator sees it but takes no part: refused by the service, audited.
    admin = staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR)
    client.force_login(admin)
    assert client.get(page_url(case, party)).status_code == 200
    assert client.post(page_url(case), values).status_code == 403
    assert client.post(page_url(case), {"party": party.pk, "end": "1"}).status_code == 403

    party.refresh_from_db()
    assert party.may_see == RelatedParty.Sees.NOTHING
    assert case.related_parties.filter(pk=party.pk).exists()
    rows = change_rows()
    assert [(row.outcome, row.user_id) for row in rows] == [
        (AuditEvent.Outcome.REFUSED, admin.pk),
        (AuditEvent.Outcome.REFUSED, admin.pk),
    ]


def test_a_party_of_another_sip_cannot_be_changed_through_this_one(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    other = case_in_state(county, State.MEETING_CALLED, person=case.person)
    foreign = related_party_of(other, may_see=RelatedParty.Sees.NOTHING)
    client.force_login(county.alice)

    assert client.get(page_url(case, foreign)).status_code == 404
    assert client.post(page_url(case), {"party": foreign.pk, "end": "1"}).status_code == 404
    with pytest.raises(PermissionRefused):
        change_related_party(
            case,
            actor=county.alice,
            party=foreign,
            may_see="everything",
            may_act=False,
            identity_number="",
        )
    with pytest.raises(PermissionRefused):
        end_related_party_link(case, actor=county.alice, party=foreign)
    foreign.refresh_from_db()
    assert foreign.may_see == RelatedParty.Sees.NOTHING
    assert other.related_parties.filter(pk=foreign.pk).exists()


def test_ending_a_partys_link_keeps_the_party_and_closes_min_sip_to_them(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    other = case_in_state(county, State.MEETING_CALLED, person=case.person)
    party = related_party_of(
        case, name="Dottern Dahl", identity_number=RELATIVE_NUMBER, may_see="everything"
    )
    other.related_parties.add(party)
    assert sees(RELATIVE_NUMBER, case)
    client.force_login(county.bob)
    english(client)

    response = client.post(page_url(case), {"party": party.pk, "end": "1"})

    assert response.status_code == 302
    assert not case.related_parties.filter(pk=party.pk).exists()
    assert RelatedParty.objects.filter(pk=party.pk).exists()
    assert other.related_parties.filter(pk=party.pk).exists()  # only this SIP's link ended
    assert not sees(RELATIVE_NUMBER, case) and sees(RELATIVE_NUMBER, other)
    [row] = change_rows()
    assert (row.outcome, row.detail, row.unit_id) == (
        AuditEvent.Outcome.ALLOWED,
        f"party={party.pk} link ended",
        county.hemtjanst.pk,
    )
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    listed = page.split('data-testid="related-parties">')[1].split("</dd>")[0]
    assert "Dottern Dahl" not in listed and "None registered in this SIP" in listed


def test_a_closed_sip_changes_no_grant(county):
    case = case_in_state(county, State.CLOSED)
    party = related_party_of(case)
    # The English text, whatever language an earlier test left active in this thread.
    with pytest.raises(DomainError) as changed:
        change_related_party(
            case,
            actor=county.alice,
            party=party,
            may_see="plan",
            may_act=False,
            identity_number="",
        )
    assert "closed" in changed.value.en
    with pytest.raises(DomainError) as ended:
        end_related_party_link(case, actor=county.alice, party=party)
    assert "closed" in ended.value.en
    assert case.related_parties.filter(pk=party.pk).exists()


# --- The young person's own view ---------------------------------------------------------------


def test_the_coordinator_changes_a_young_persons_own_view_later(
    client, county, django_assert_max_num_queries
):
    case = case_in_state(county, State.MEETING_CALLED, person=minor())
    assert case.person.own_view is False
    client.force_login(county.alice)
    english(client)
    detail = reverse("workspace:case_detail", args=[case.pk])
    page = client.get(detail).content.decode()
    assert f'href="{page_url(case)}#own-view"' in page
    with django_assert_max_num_queries(15):
        form = client.get(page_url(case))
    assert 'name="own_view"' in form.content.decode()

    response = client.post(page_url(case), {"step": "own_view", "own_view": "yes"})

    assert response.status_code == 302
    case.person.refresh_from_db()
    assert case.person.own_view is True
    [row] = change_rows("person")
    assert (row.outcome, row.detail, row.case_id, row.unit_id) == (
        AuditEvent.Outcome.ALLOWED,
        "own_view=yes",
        case.pk,
        county.vardcentral.pk,
    )
    assert sees(case.person.identity_number, case)  # the young person signs in and finds it
    assert "Yes, they see their own SIP" in client.get(detail).content.decode()

    client.post(page_url(case), {"step": "own_view", "own_view": "no"})
    case.person.refresh_from_db()
    assert case.person.own_view is False
    assert not sees(case.person.identity_number, case)


def test_a_participant_may_not_change_the_own_view(client, county):
    case = case_in_state(county, State.MEETING_CALLED, person=minor())
    client.force_login(county.bob)
    assert 'name="own_view"' not in client.get(page_url(case)).content.decode()

    response = client.post(page_url(case), {"step": "own_view", "own_view": "yes"})

    assert response.status_code == 403
    case.person.refresh_from_db()
    assert case.person.own_view is False
    [row] = change_rows("person")
    assert (row.outcome, row.user_id) == (AuditEvent.Outcome.REFUSED, county.bob.pk)


@pytest.mark.parametrize("years", [14, 30])
def test_an_own_view_is_chosen_only_at_15_to_17(client, county, years):
    birth = timezone.localdate() - dt.timedelta(days=years * 365 + 30)
    person = PersonFactory(identity_number=make_identity_number(birth, 77), birth_date=birth)
    case = case_in_state(county, State.MEETING_CALLED, person=person)
    client.force_login(county.alice)
    english(client)
    assert 'name="own_view"' not in client.get(page_url(case)).content.decode()
    with pytest.raises(DomainError) as refused:
        set_own_view(case, actor=county.alice, own_view=True)
    assert "15 to 17" in refused.value.en

    response = client.post(page_url(case), {"step": "own_view", "own_view": "yes"})

    assert response.status_code == 400
    assert "15 to 17" in response.content.decode()
    person.refresh_from_db()
    assert person.own_view is False
    assert change_rows("person") == []
