"""Min SIP, asking for a SIP: for myself or as a relative for someone else, at a unit of the kommun
or the region. The request is an initiative on that unit's start page with the organisation's
deadline running; the person is registered if unknown, and the answer is the same whether they
were known or not; a relative gains no right to the SIP; asking twice, and more than five times a
day, is refused with a clear message."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from contextlib import contextmanager, suppress

import pytest
from django.conf import settings
from django.db import connection
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from samplan.access.citizen import Citizen, citizen_log_name
from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, SipCase, State
from samplan.cases.services.initiative import REQUESTS_PER_DAY
from samplan.directory.models import Organisation
from samplan.mypages.views.ask import AskForm
from samplan.people.identity import make_identity_number
from samplan.people.models import Person, RelatedParty
from tests.citizens import sign_in_citizen
from tests.factories import OrganisationFactory, PersonFactory, UnitFactory, case_in_state

pytestmark = pytest.mark.django_db

ASK = "/mina-sidor/be-om-sip/"
PAGE_BUDGET = 10


def english(client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def adult_number(serial: int, year: int = 1975) -> str:
    return make_identity_number(dt.date(year, 3, 3), serial)


def start_section(response, key: str) -> str:
    match = re.search(
        rf'<section[^>]*data-testid="section-{key}".*?</section>', response.content.decode(), re.S
    )
    return html.unescape(match.group(0)) if match else ""


def for_me(unit, **values) -> dict:
    return {
        "for_whom": "myself",
        "unit": str(unit.pk),
        "reason": "Jag får hjälp från både vårdcentralen och hemtjänsten.",
        "phone": "070-123 45 67",
        **values,
    }


def for_someone(unit, number: str, **values) -> dict:
    return {
        "for_whom": "someone_else",
        "unit": str(unit.pk),
        "reason": "Pappa klarar sig inte hemma längre.",
        "identity_number": number,
        "given_name": "Karl",
        "family_name": "Karlsson",
        **values,
    }


def test_the_list_holds_active_units_of_kommun_and_region_grouped_by_organisation(
    client, county, django_assert_max_num_queries
):
    fk = OrganisationFactory(name="Försäkringskassan", kind=Organisation.Kind.FORSAKRINGSKASSAN)
    UnitFactory(organisation=fk, name="Lokalkontor")
    UnitFactory(organisation=county.region, name="Stängd mottagning", active=False)
    sign_in_citizen(client, adult_number(71))
    english(client)
    with django_assert_max_num_queries(PAGE_BUDGET):
        response = client.get(ASK)
    assert response.status_code == 200
    page = response.content.decode()
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page, re.S)
    assert [(label, re.findall(r">([^<]+)</option>", body)) for label, body in groups] == [
        ("Annanby kommun", ["Socialtjänst Annanby"]),
        ("Region Test", ["Vårdcentral Centrum"]),
        ("Testby kommun", ["Hemtjänst Norr"]),
    ]
    assert "Lokalkontor" not in page and "Stängd mottagning" not in page


def test_asking_for_myself_registers_me_and_lands_on_the_units_start_page(
    client, county, django_assert_max_num_queries
):
    number = adult_number(72)
    county.region.initiative_deadline_days = 7
    county.region.save()
    sign_in_citizen(client, number, "Greta Gustavsson")
    english(client)
    before = timezone.now()
    # + 11: the request, the lock and the log; one of them is read-only mode's state (maintenance/).
    with django_assert_max_num_queries(PAGE_BUDGET + 11):
        response = client.post(ASK, for_me(county.vardcentral))
    assert response.status_code == 302
    assert response["Location"] == reverse("mypages:ask_done")

    person = Person.objects.get(identity_number=number)
    assert (person.given_name, person.family_name) == ("Greta", "Gustavsson")
    case = SipCase.objects.get(person=person)
    assert case.state == State.INITIATED
    assert case.initiated_by == SipCase.InitiatedBy.PERSON
    assert case.initiator_name == "Greta Gustavsson"
    assert case.initiated_by_user is None and case.coordinator is None
    assert case.initiating_unit == case.coordinating_unit == county.vardcentral
    assert case.reason.startswith("Jag får hjälp")
    deadline = case.call_deadline - case.initiated_at
    assert deadline == dt.timedelta(days=7) and case.initiated_at >= before
    assert list(case.participants.values_list("unit", "role")) == [
        (county.vardcentral.pk, "coordinating")
    ]
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.actor_id, event.citizen_role) == ("request_sip", None, "person")
    assert event.note == "Greta Gustavsson, 070-123 45 67"
    created = AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).order_by("seq")
    assert [(row.what, row.citizen_role, row.person_id) for row in created] == [
        ("person", "person", person.pk),
        ("sip_request", "person", person.pk),
    ]
    assert all(row.username == citizen_log_name(number) for row in created)
    assert all(row.user_id is None for row in created)

    with django_assert_max_num_queries(PAGE_BUDGET):
        receipt = client.get(response["Location"]).content.decode()
    assert "Your request is sent" in receipt and "Vårdcentral Centrum" in receipt
    assert "Staff at the unit contact you" in receipt

    client.force_login(county.alice)
    start = client.get("/start/")
    waiting = start_section(start, "consent")
    assert "Greta Gustavsson" in waiting
    assert timezone.localtime(case.call_deadline).strftime("%Y-%m-%d") in waiting


def test_asking_for_someone_else_gives_the_same_answer_whether_they_are_known_or_not(
    client, county
):
    known = PersonFactory(given_name="Registrerad", family_name="Redan")
    unknown_number = adult_number(73, year=1940)
    asker = adult_number(74)
    sign_in_citizen(client, asker, "Anna Andersson")
    english(client)
    answers = []
    for number in (known.identity_number, unknown_number):
        response = client.post(ASK, for_someone(county.hemtjanst, number))
        assert response.status_code == 302
        receipt = client.get(response["Location"])
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", receipt.content.decode())
        answers.append((response["Location"], receipt.status_code, page))
    assert answers[0] == answers[1]

    known.refresh_from_db()
    assert (known.given_name, known.family_name) == ("Registrerad", "Redan")  # not overwritten
    created = Person.objects.get(identity_number=unknown_number)
    assert (created.given_name, created.family_name) == ("Karl", "Karlsson")
    cases = SipCase.objects.filter(initiated_by=SipCase.InitiatedBy.RELATIVE)
    assert cases.count() == 2
    assert set(cases.values_list("initiator_name", flat=True)) == {"Anna Andersson"}
    assert set(CaseEvent.objects.values_list("citizen_role", flat=True)) == {"relative"}
    # Asking gives no right to the SIP: no related party, nothing to sign in to.
    assert not RelatedParty.objects.exists()
    assert Citizen(asker).capacities() == {}
    assert "Asking does not let you see their SIP" in answers[0][2]


def test_someone_elses_number_and_name_are_checked_next_to_their_fields(client, county):
    asker = adult_number(75)
    sign_in_citizen(client, asker)
    english(client)
    response = client.post(
        ASK, for_someone(county.hemtjanst, "19750303-0000", given_name="", family_name="")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["identity_number"] == ["The check digit does not match. Check the number."]
    assert errors["given_name"] == ["Enter the given name."]
    assert errors["family_name"] == ["Enter the family name."]
    page = response.content.decode()
    assert 'value="Pappa klarar sig inte hemma längre."' not in page  # a textarea, not an input
    assert "Pappa klarar sig inte hemma längre." in page  # what was typed is kept
    mine = client.post(ASK, for_someone(county.hemtjanst, asker))
    assert mine.context["form"].errors["identity_number"][0].startswith("That is your own")
    assert not SipCase.objects.exists() and not Person.objects.exists()


def test_the_reason_and_the_unit_are_required_and_only_listed_units_count(client, county):
    fk = OrganisationFactory(name="Försäkringskassan", kind=Organisation.Kind.FORSAKRINGSKASSAN)
    office = UnitFactory(organisation=fk, name="Lokalkontor")
    sign_in_citizen(client, adult_number(76))
    english(client)
    response = client.post(ASK, {**for_me(county.vardcentral, reason="  "), "unit": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["reason"] == ["Enter why you want a SIP."]
    assert errors["unit"] == ["Choose where to send your request."]
    outside = client.post(ASK, for_me(office))
    assert outside.status_code == 400
    assert outside.context["form"].errors["unit"] == ["Choose a place from the list."]
    bad_phone = client.post(ASK, for_me(county.vardcentral, phone="ring mig"))
    assert bad_phone.context["form"].errors["phone"]
    assert not SipCase.objects.exists()


def test_every_text_field_of_the_request_has_a_length_limit(client, county):
    for name, field in AskForm.base_fields.items():
        if hasattr(field, "max_length"):
            assert field.max_length, name
    sign_in_citizen(client, adult_number(77))
    response = client.post(ASK, for_me(county.vardcentral, reason="x" * 2001))
    assert response.status_code == 400 and "reason" in response.context["form"].errors


def test_asking_twice_at_the_same_unit_while_one_is_open_is_refused(client, county):
    number = adult_number(78)
    sign_in_citizen(client, number, "Greta Gustavsson")
    english(client)
    assert client.post(ASK, for_me(county.vardcentral)).status_code == 302
    again = client.post(ASK, for_me(county.vardcentral))
    assert again.status_code == 400
    assert again.context["form"].errors["unit"] == [
        "You already have a SIP at Vårdcentral Centrum that is not closed. The unit will "
        "contact you; you can also call them."
    ]
    assert SipCase.objects.count() == 1
    # Another unit is another request; a closed one is no hindrance.
    assert client.post(ASK, for_me(county.hemtjanst)).status_code == 302
    first = SipCase.objects.get(coordinating_unit=county.vardcentral)
    services.close_case(
        first,
        actor=county.alice,
        expected_version=first.lock_version,
        reason=SipCase.ClosingReason.NO_LONGER_NEEDED,
    )
    assert client.post(ASK, for_me(county.vardcentral)).status_code == 302


def test_a_relative_asking_twice_is_refused_but_never_told_about_a_sip_someone_else_started(
    client, county
):
    person = PersonFactory()
    staff_started = case_in_state(county, State.PREPARATION, person=person)
    sign_in_citizen(client, adult_number(79))
    english(client)
    # The unit already holds a SIP for them: the relative is not told, and the request goes in.
    assert (
        client.post(ASK, for_someone(county.vardcentral, person.identity_number)).status_code == 302
    )
    again = client.post(ASK, for_someone(county.vardcentral, person.identity_number))
    assert again.status_code == 400
    assert "You have already asked Vårdcentral Centrum" in again.context["form"].errors["unit"][0]
    assert SipCase.objects.filter(person=person).count() == 2
    assert SipCase.objects.get(pk=staff_started.pk).state == State.PREPARATION
    # Someone else asking for the same person is their own request.
    sign_in_citizen(client, adult_number(80))
    assert (
        client.post(ASK, for_someone(county.vardcentral, person.identity_number)).status_code == 302
    )


def test_more_than_five_requests_a_day_are_refused_and_logged(client, county):
    number = adult_number(81)
    sign_in_citizen(client, number)
    english(client)
    units = [county.vardcentral, county.hemtjanst, county.elsewhere]
    for index in range(REQUESTS_PER_DAY):
        data = for_someone(units[index % 3], adult_number(90 + index, year=1950))
        assert client.post(ASK, data).status_code == 302
    response = client.post(ASK, for_me(county.vardcentral))
    assert response.status_code == 429
    assert "You have already asked for a SIP 5 times in the last 24 hours" in (
        response.content.decode()
    )
    assert SipCase.objects.count() == REQUESTS_PER_DAY
    refused = AuditEvent.objects.get(outcome=AuditEvent.Outcome.REFUSED)
    assert (refused.what, refused.detail, refused.username) == (
        "sip_request",
        "rate limit",
        citizen_log_name(number),
    )
    # Another citizen is not held back by it.
    sign_in_citizen(client, adult_number(82))
    assert client.post(ASK, for_me(county.vardcentral)).status_code == 302


def test_asking_needs_a_signed_in_citizen_and_staff_are_not_citizens(client, county):
    response = client.get(ASK)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mypages:sign_in"))
    client.force_login(county.alice)
    assert client.post(ASK, for_me(county.vardcentral)).status_code == 302
    assert not SipCase.objects.exists()
    assert client.get(reverse("mypages:ask_done")).status_code == 302


# --- Someone else's names (review finding 2) ----------------------------------------------------


def test_typed_names_register_only_an_unknown_person_and_the_timeline_says_to_check_them(
    client, county
):
    known = PersonFactory(given_name="Registrerad", family_name="Redan")
    unknown_number = adult_number(83, year=1941)
    sign_in_citizen(client, adult_number(84), "Anna Andersson")
    english(client)
    for number in (known.identity_number, unknown_number):
        assert client.post(ASK, for_someone(county.hemtjanst, number)).status_code == 302

    known.refresh_from_db()
    assert (known.given_name, known.family_name) == ("Registrerad", "Redan")
    on_known = CaseEvent.objects.get(case__person=known, action="request_sip").note
    assert "Karl Karlsson" in on_known  # what they typed, for staff to compare
    assert "differs from the register" in on_known and "skiljer sig" in on_known
    created = Person.objects.get(identity_number=unknown_number)
    assert (created.given_name, created.family_name) == ("Karl", "Karlsson")
    on_new = CaseEvent.objects.get(case__person=created, action="request_sip").note
    assert on_new.startswith("Anna Andersson")
    assert "Names as given by the one who asked; check them." in on_new
    assert "Namnen är skrivna av den som bad om SIP:en; kontrollera dem." in on_new

    # Staff read it on the case page's timeline.
    client.force_login(county.bob)
    case = SipCase.objects.get(person=created)
    page = html.unescape(
        client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    )
    assert "Names as given by the one who asked; check them." in page


def test_names_that_match_the_register_add_nothing_to_the_note(client, county):
    known = PersonFactory(given_name="Karl", family_name="Karlsson")
    sign_in_citizen(client, adult_number(85), "Anna Andersson")
    assert client.post(ASK, for_someone(county.hemtjanst, known.identity_number)).status_code == 302
    assert CaseEvent.objects.get(action="request_sip").note == "Anna Andersson"


# --- A young person whose guardians see the SIP for them (review finding 8) ---------------------


def _young(own_view: bool, years: int = 16) -> Person:
    birth = timezone.localdate() - dt.timedelta(days=years * 365 + 30)
    return PersonFactory(
        identity_number=make_identity_number(birth, 42), birth_date=birth, own_view=own_view
    )


@pytest.mark.parametrize("years", [12, 16])
def test_a_young_person_without_their_own_view_learns_no_more_by_asking(client, county, years):
    child = _young(own_view=False, years=years)
    case_in_state(county, State.PREPARATION, person=child)
    sign_in_citizen(client, child.identity_number, child.full_name)
    english(client)
    answers = []
    for unit in (county.vardcentral, county.hemtjanst):  # holds the SIP; does not
        response = client.post(ASK, for_me(unit))
        assert response.status_code == 400
        answers.append(response.context["form"].non_field_errors())
    assert answers[0] == answers[1]
    assert answers[0] == [
        "Your guardians see your SIP for you. Talk to them or to your SIP coordinator."
    ]
    page = client.post(ASK, for_me(county.vardcentral)).content.decode()
    assert "Vårdcentral Centrum that is not closed" not in page
    assert SipCase.objects.filter(person=child).count() == 1


def test_a_young_person_with_their_own_view_is_told_about_their_own_sip(client, county):
    child = _young(own_view=True)
    case_in_state(county, State.PREPARATION, person=child)
    sign_in_citizen(client, child.identity_number, child.full_name)
    english(client)
    response = client.post(ASK, for_me(county.vardcentral))
    assert (
        response.context["form"]
        .errors["unit"][0]
        .startswith("You already have a SIP at Vårdcentral Centrum")
    )
    assert client.post(ASK, for_me(county.hemtjanst)).status_code == 302


# --- Two requests at once (review finding 11) ---------------------------------------------------

# SQLite runs one writer at a time (transaction_mode IMMEDIATE): no race to test there; these
# run in the PostgreSQL half of make test (tests/conftest.py).
on_postgresql = pytest.mark.needs_postgresql


def _at_once(*calls):
    """Run the calls in threads (each its own database connection), all started together; what
    each returned or raised."""
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@contextmanager
def _held_before_saving(model, parties: int, timeout: float):
    """Hold every thread saving a `model` row until `parties` of them are there, or `timeout`
    seconds have passed: what one request reads before it writes is then read by all of them."""
    barrier = threading.Barrier(parties, timeout=timeout)

    def hold(sender, instance, **kwargs):
        if instance.pk is None:
            with suppress(threading.BrokenBarrierError):
                barrier.wait()

    pre_save.connect(hold, sender=model, weak=False)
    try:
        yield
    finally:
        pre_save.disconnect(hold, sender=model)


@on_postgresql
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_two_requests_at_once_cannot_pass_the_daily_limit_together(county):
    asker = Citizen(adult_number(86), "Anna Andersson")
    units = [county.vardcentral, county.hemtjanst, county.elsewhere]
    for index in range(REQUESTS_PER_DAY - 1):
        services.request_sip(
            asker,
            unit=units[index % 3],
            reason="Behöver hjälp.",
            for_person=services.SomeoneElse(adult_number(60 + index, 1945), "Karl", "Karlsson"),
        )

    def ask(serial):
        return lambda: services.request_sip(
            Citizen(asker.identity_number, asker.name),
            unit=county.vardcentral,
            reason="Behöver hjälp.",
            for_person=services.SomeoneElse(adult_number(serial, 1946), "Karl", "Karlsson"),
        )

    with _held_before_saving(SipCase, parties=2, timeout=2):
        results = _at_once(ask(70), ask(71))
    assert sum(isinstance(result, SipCase) for result in results) == 1, results
    assert sum(isinstance(result, services.RequestLimitReached) for result in results) == 1
    assert SipCase.objects.count() == REQUESTS_PER_DAY


@on_postgresql
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("audit_log_flushable")
def test_two_relatives_asking_at_once_for_the_same_unknown_person_both_get_their_request(
    county,
):
    number = adult_number(87, year=1938)

    def ask(serial):
        return lambda: services.request_sip(
            Citizen(adult_number(serial), f"Barn {serial}"),
            unit=county.vardcentral,
            reason="Pappa behöver hjälp.",
            for_person=services.SomeoneElse(number, "Karl", "Karlsson"),
        )

    with _held_before_saving(Person, parties=2, timeout=5):
        results = _at_once(ask(88), ask(89))
    assert all(isinstance(result, SipCase) for result in results), results
    person = Person.objects.get(identity_number=number)
    assert {result.person_id for result in results} == {person.pk}
    assert AuditEvent.objects.filter(what="person", action=AuditEvent.Action.CREATE).count() == 1
