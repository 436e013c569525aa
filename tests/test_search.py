"""Search among the SIPs I may see: by personnummer in any common form, SIP number or name; the
filters; keyset pages without a count; protected persons found by full number only outside the
units that take part; every row a logged read and every search for a person audited without
its text; a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import Participant, SipCase, State
from samplan.directory.models import Assignment
from samplan.people.identity import make_identity_number
from tests.factories import PersonFactory, UserFactory, case_in_state, staff

pytestmark = pytest.mark.django_db

SEARCH_URL = "/sip/sok/"


def found(response) -> list[int]:
    assert response.status_code == 200, response.status_code
    return [case.pk for case in response.context["rows"]]


def search(client, q="", **filters):
    return client.post(SEARCH_URL, {"q": q, **filters})


def person(given="Gunnel", family="Andersson", **kwargs):
    return PersonFactory(given_name=given, family_name=family, **kwargs)


def field_error(response, name: str) -> str:
    match = re.search(
        rf'<p id="id_{name}-error" class="govuk-error-message">(.*?)</p>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no error next to {name}"
    # The visually hidden "Error:" prefix is for screen readers; the message follows it.
    text = re.sub(r'<span class="govuk-visually-hidden">.*?</span>', "", match.group(1))
    return re.sub(r"<[^>]+>", "", text).strip()


# --- Finding --------------------------------------------------------------------------------------


def test_a_personnummer_in_four_forms_finds_the_same_sip(client, county):
    number = make_identity_number(dt.date(1960, 5, 17), 231)  # YYYYMMDDNNNC
    case = case_in_state(county, State.CONSENTED, person=person(identity_number=number))
    case_in_state(county, State.CONSENTED)  # someone else
    client.force_login(county.alice)
    short = number[2:]
    forms = [f"{short[:6]}-{short[6:]}", short, number, f"{number[:8]}-{number[8:]}"]
    for typed in forms:
        assert found(search(client, typed)) == [case.pk], typed
    assert found(search(client, f" {forms[0]} ")) == [case.pk]  # spaces around are fine


def test_a_plus_sign_marks_a_person_a_hundred_or_older(client, county):
    number = make_identity_number(dt.date(1915, 3, 2), 412)
    case = case_in_state(county, State.INITIATED, person=person(identity_number=number))
    client.force_login(county.alice)
    short = number[2:]
    assert found(search(client, f"{short[:6]}+{short[6:]}")) == [case.pk]
    assert found(search(client, f"{short[:6]}-{short[6:]}")) == []  # that one is born 2015


def test_a_sip_number_as_reference_or_plain_number(client, county):
    case = case_in_state(county, State.INITIATED)
    other = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    assert found(search(client, case.reference)) == [case.pk]
    assert found(search(client, case.reference.lower())) == [case.pk]
    assert found(search(client, str(case.pk))) == [case.pk]
    assert found(search(client, str(other.pk))) == [other.pk]


def test_a_name_matches_each_word_as_a_prefix_of_given_or_family_name(client, county):
    gunnel = case_in_state(county, State.INITIATED, person=person("Gunnel", "Andersson"))
    gunnar = case_in_state(county, State.INITIATED, person=person("Gunnar", "Berg"))
    bertil = case_in_state(county, State.INITIATED, person=person("Bertil", "Andersson"))
    client.force_login(county.alice)
    assert set(found(search(client, "gun"))) == {gunnel.pk, gunnar.pk}
    assert set(found(search(client, "ANDERS"))) == {gunnel.pk, bertil.pk}
    assert found(search(client, "gun and")) == [gunnel.pk]
    assert found(search(client, "Andersson Gunnel")) == [gunnel.pk]
    assert found(search(client, "nnel")) == []  # a prefix, not anywhere in the name


def test_charlie_finds_nothing_of_alices(client, county):
    case = case_in_state(county, State.CONSENTED, person=person("Unik", "Sökbarsson"))
    client.force_login(county.charlie)
    for typed in (case.person.identity_number, "Unik", case.reference, ""):
        response = search(client, typed)
        assert found(response) == []
        assert case.person.full_name not in response.content.decode()
    assert not AuditEvent.objects.filter(user=county.charlie, what="sip_case_list").exists()


def test_a_unit_administrator_finds_the_units_sips(client, county):
    case = case_in_state(county, State.INITIATED, person=person("Stina", "Lund"))
    elsewhere = services.initiate_case(
        actor=county.charlie, person=person("Stina", "Annan"), initiating_unit=county.elsewhere
    )
    admin = staff(county.vardcentral, Assignment.Role.UNIT_ADMINISTRATOR, username="chef")
    client.force_login(admin)
    assert found(search(client, "stina")) == [case.pk]
    assert elsewhere.pk not in found(client.get(SEARCH_URL))


# --- Protected personal data ----------------------------------------------------------------------


def test_a_protected_person_is_found_by_name_only_where_my_unit_takes_part(client, county):
    protected = case_in_state(
        county, State.INITIATED, person=person("Hemlig", "Skyddsson", protection="fingerade")
    )
    open_person = case_in_state(county, State.INITIATED, person=person("Hemming", "Öppen"))
    client.force_login(county.alice)
    assert set(found(search(client, "hem"))) == {protected.pk, open_person.pk}

    # The vårdcentral no longer takes part, yet keeps the record it coordinates: its staff
    # still see the SIP, but reach a protected person only by the full identity number.
    Participant.objects.filter(unit=county.vardcentral).update(removed_at=timezone.now())
    assert found(search(client, "hem")) == [open_person.pk]
    assert found(search(client, "Hemlig Skyddsson")) == []
    assert found(search(client, protected.person.identity_number)) == [protected.pk]
    # Without a query the list still holds it: that is not a search by name.
    assert protected.pk in found(client.get(SEARCH_URL))


# --- Filters --------------------------------------------------------------------------------------


def test_filters_state_coordinator_unit_and_overdue(client, county):
    colleague = staff(county.vardcentral, username="colleague")
    initiated = case_in_state(county, State.INITIATED)
    consented = case_in_state(county, State.CONSENTED)
    theirs = services.initiate_case(
        actor=colleague,
        person=PersonFactory(),
        initiating_unit=county.vardcentral,
        coordinator=colleague,
    )
    late = services.initiate_case(
        actor=county.alice,
        person=PersonFactory(),
        initiating_unit=county.vardcentral,
        coordinator=county.alice,
        kind=SipCase.Kind.DISCHARGE,
        discharge_notice_at=timezone.now() - dt.timedelta(days=4),
    )
    client.force_login(county.alice)
    assert found(search(client, state=State.CONSENTED)) == [consented.pk]
    assert set(found(search(client, coordinator="me"))) == {initiated.pk, consented.pk, late.pk}
    assert theirs.pk in found(search(client))
    assert found(search(client, overdue="on")) == [late.pk]
    assert set(found(search(client, unit="mine"))) == {
        initiated.pk,
        consented.pk,
        theirs.pk,
        late.pk,
    }
    # Filters work from the address too (no personal data in them).
    assert found(client.get(SEARCH_URL, {"state": State.CONSENTED})) == [consented.pk]


def test_the_coordinating_unit_filter_tells_units_apart(client, county):
    Assignment.objects.create(
        user=county.bob, unit=county.vardcentral, role=Assignment.Role.COORDINATOR
    )
    at_vardcentral = case_in_state(county, State.INITIATED)
    at_hemtjanst = services.initiate_case(
        actor=county.bob, person=PersonFactory(), initiating_unit=county.hemtjanst
    )
    client.force_login(county.bob)
    assert set(found(search(client))) == {at_vardcentral.pk, at_hemtjanst.pk}
    assert found(search(client, unit=str(county.hemtjanst.pk))) == [at_hemtjanst.pk]
    assert found(search(client, unit=str(county.vardcentral.pk))) == [at_vardcentral.pk]


# --- Pages ----------------------------------------------------------------------------------------


def test_keyset_pages_follow_each_other_without_overlap_or_count(client, county, settings):
    settings.SAMPLAN_CASE_LIST_PAGE_SIZE = 2
    cases = [case_in_state(county, State.INITIATED) for _ in range(5)]
    # Two SIPs initiated in the same microsecond: the key breaks the tie.
    SipCase.objects.filter(pk__in=[cases[1].pk, cases[2].pk]).update(
        initiated_at=cases[2].initiated_at
    )
    newest_first = list(
        SipCase.objects.order_by("-initiated_at", "-pk").values_list("pk", flat=True)
    )
    client.force_login(county.alice)
    pages, cursors, cursor = [], [], None
    with CaptureQueriesContext(connection) as queries:
        while True:
            response = search(client, **({"after": cursor} if cursor else {}))
            pages.append(found(response))
            cursor = response.context["next_cursor"]
            if not cursor:
                break
            cursors.append(cursor)
            assert f'name="after" value="{cursor}"' in response.content.decode()
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    assert not any("COUNT(" in query["sql"].upper() for query in queries)
    assert 'data-testid="first-page"' in response.content.decode()
    assert 'data-testid="next-page"' not in response.content.decode()
    # The same page through the address, as the list is browsed without a query.
    assert found(client.get(SEARCH_URL, {"after": cursors[0]})) == newest_first[2:4]


def test_a_mangled_cursor_starts_from_the_first_page(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    assert found(search(client, after="not-a-cursor")) == [case.pk]


def test_search_queries_do_not_grow_with_the_sips(client, county):
    case_in_state(county, State.PLAN_ESTABLISHED, person=person("Greta", "Holm"))
    client.force_login(county.alice)
    search(client, "greta")

    def count(**data) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = search(client, **data)
        assert response.status_code == 200
        return len(queries)

    one = (count(q="greta"), count(), count(overdue="on"))
    states = [State.INITIATED, State.MEETING_CALLED, State.PLAN_ESTABLISHED, State.FOLLOW_UP]
    for n in range(20):
        case_in_state(
            county,
            states[n % 4],
            person=person(
                "Greta", f"Holm{n}", protection="sekretessmarkering" if n % 2 else "none"
            ),
        )
    many = (count(q="greta"), count(), count(overdue="on"))
    assert len(search(client, "greta").context["rows"]) == 21
    assert many == one, f"1 SIP took {one} queries, 21 SIPs {many}"


# --- Audit ----------------------------------------------------------------------------------------


def test_each_row_is_a_read_and_the_search_itself_is_logged_without_its_text(client, county):
    case = case_in_state(county, State.CONSENTED, person=person("Lovisa", "Ek"))
    other = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = client.post(SEARCH_URL, {"q": case.person.identity_number}, REMOTE_ADDR="192.0.2.9")
    assert found(response) == [case.pk]
    reads = AuditEvent.objects.filter(user=county.alice, what="sip_case_list")
    assert list(reads.values_list("case_id", "person_id", "unit_id")) == [
        (case.pk, case.person_id, county.vardcentral.pk)
    ]
    logged = AuditEvent.objects.get(user=county.alice, what="search")
    assert logged.action == AuditEvent.Action.READ
    assert logged.ip_address == "192.0.2.9"
    row = " ".join(
        str(value) for value in AuditEvent.objects.filter(pk=logged.pk).values().get().values()
    )
    assert case.person.identity_number not in row
    assert case.person.identity_number[2:8] not in row
    assert "Lovisa" not in row

    search(client, "lovisa")
    assert AuditEvent.objects.filter(user=county.alice, what="search").count() == 2
    # A SIP number or the plain list is no search for a person.
    search(client, str(other.pk))
    search(client)
    assert AuditEvent.objects.filter(user=county.alice, what="search").count() == 2


def test_the_search_box_is_never_read_from_the_address(client, county):
    case = case_in_state(county, State.CONSENTED, person=person("Adressa", "Url"))
    hidden = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = client.get(SEARCH_URL, {"q": "Adressa"})
    assert set(found(response)) == {case.pk, hidden.pk}  # the whole list, not a search
    assert not AuditEvent.objects.filter(user=county.alice, what="search").exists()
    form = re.search(r'<form[^>]*id="search-form"[^>]*>', response.content.decode()).group(0)
    assert 'method="post"' in form


# --- Bad input ------------------------------------------------------------------------------------


def test_a_wrong_personnummer_is_refused_next_to_the_box_in_either_language(client, county):
    case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    typed = "19600517-0000"  # wrong check digit
    response = search(client, typed)
    assert response.status_code == 400
    assert field_error(response, "q") == "Kontrollsiffran stämmer inte. Kontrollera numret."
    assert f'value="{typed}"' in response.content.decode()
    assert response.context["rows"] == []
    assert not AuditEvent.objects.filter(what__in=["search", "sip_case_list"]).exists()

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = search(client, "19601317-0000")
    assert response.status_code == 400
    assert field_error(response, "q").startswith("The date in the number does not exist.")
    response = search(client, "Gunnel!")
    assert response.status_code == 400
    assert "a name (letters)" in field_error(response, "q")


# --- Roles without SIPs ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Assignment.Role.SECURITY_OFFICER, None])
def test_roles_without_sips_get_a_page_that_says_so(client, county, role):
    case = case_in_state(county, State.CONSENTED)
    user = (
        staff(county.vardcentral, role, username="other") if role else UserFactory(username="other")
    )
    client.force_login(user)
    response = search(client, case.person.identity_number)
    assert found(response) == []
    page = response.content.decode()
    assert case.person.full_name not in page
    assert 'href="/start/"' in page
    assert "<table" not in page


def test_search_page_in_english(client, county):
    case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    with translation.override("en"):
        page = client.get(SEARCH_URL).content.decode()
    assert '<h1 class="govuk-heading-l">Search SIPs</h1>' in page
    assert "Personal identity number, SIP number or name" in page
