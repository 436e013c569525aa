"""Starting a SIP in the browser: the identity number checked as it is typed and on submit, the
person found (only by full number, logged) or registered, the initiative recorded; guardians
and other related parties added from the case page; protected identities shown as a flag."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases.models import SipCase, State
from samplan.cases.services.initiative import add_related_party
from samplan.directory.models import Assignment
from samplan.people.identity import make_identity_number
from samplan.people.models import Person, RelatedParty
from samplan.workspace.forms.initiative import FindPersonForm
from samplan.workspace.views.initiative import TOKEN_SALT
from tests.factories import PersonFactory, case_in_state, minor, staff

pytestmark = pytest.mark.django_db

INITIATE = "/sip/ny/"
CHECK = "/sip/ny/kontrollera-nummer/"
NEW_NUMBER = make_identity_number(dt.date(1948, 3, 9), 123)  # nobody has it


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def field_error(response, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def token_in(response) -> str:
    return re.search(r'name="person" value="([^"]+)"', response.content.decode()).group(1)


def find(client, number, unit, **extra):
    values = {"step": "find", "identity_number": number, "unit": unit.pk, **extra}
    return client.post(INITIATE, values)


def initiative(client, token, unit, **data):
    values = {
        "step": "initiate",
        "person": token,
        "initiating_unit": unit.pk,
        "coordinating_unit": unit.pk,
        "initiated_by": "staff",
        "initiator_name": "",
        "reason": "Behöver hemtjänst och rehabilitering samordnat.",
        "kind": "standard",
        "discharge_notice_at": "",
        "coordinator": "",
    }
    values.update(data)
    return client.post(INITIATE, values)


# --- The page and who may open it -------------------------------------------------------------


def test_the_urls_are_named():
    assert reverse("workspace:initiate") == INITIATE
    assert reverse("workspace:check_identity") == CHECK


def test_signed_out_staff_are_sent_to_sign_in(client):
    assert client.get(INITIATE).status_code == 302
    assert client.post(CHECK, {"identity_number": NEW_NUMBER}).status_code == 302


def test_staff_see_step_one_with_the_number_checked_as_they_type(client, county):
    client.force_login(county.alice)
    response = client.get(INITIATE)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'hx-post="{CHECK}"' in page
    assert 'hx-trigger="keyup changed delay:400ms"' in page
    assert 'hx-target="#id_identity_number-check"' in page
    assert 'id="id_identity_number-check" aria-live="polite"' in page
    assert 'name="reserve_number"' in page
    # Both fields are the shared form group, so each shows its own error next to it.
    assert 'id="id_identity_number-group"' in page and 'id="id_reserve_number-group"' in page
    # alice has one unit: it is carried, not asked for
    assert f'type="hidden" name="unit" value="{county.vardcentral.pk}"' in page


def test_staff_without_a_working_assignment_cannot_start_a_sip(client, county):
    officer = staff(county.vardcentral, Assignment.Role.SECURITY_OFFICER)
    client.force_login(officer)
    response = client.get(INITIATE)
    assert response.status_code == 403
    assert "SIP-ansvarig eller deltagare" in response.content.decode()


# --- Checked as you type ----------------------------------------------------------------------


def test_the_check_says_valid_without_saying_whether_or_who_is_registered(client, county):
    registered = PersonFactory(given_name="Gunnel", family_name="Registrerad")
    unknown = make_identity_number(registered.birth_date, 998)
    assert not Person.objects.filter(identity_number=unknown).exists()
    client.force_login(county.alice)
    audits = AuditEvent.objects.count()
    answers = [
        client.post(CHECK, {"identity_number": number}).content.decode()
        for number in (registered.identity_number, unknown)
    ]
    assert answers[0] == answers[1]
    assert "Gunnel" not in answers[0] and "Registrerad" not in answers[0]
    assert "numret är giltigt" in answers[0].lower()
    assert AuditEvent.objects.count() == audits  # no personal data was read


def test_the_check_names_what_is_wrong_in_swedish_and_english(client, county):
    wrong_digit = NEW_NUMBER[:-1] + str((int(NEW_NUMBER[-1]) + 1) % 10)
    client.force_login(county.alice)
    answer = client.post(CHECK, {"identity_number": wrong_digit}).content.decode()
    assert "Kontrollsiffran stämmer inte" in answer
    assert "govuk-error-message" in answer
    english(client)
    answer = client.post(CHECK, {"identity_number": wrong_digit}).content.decode()
    assert "The check digit does not match" in answer


def test_the_check_reads_a_reserve_number_when_ticked_and_says_nothing_for_empty(client, county):
    client.force_login(county.alice)
    assert (
        "Numret ska ha 10 eller 12 siffror"
        in client.post(CHECK, {"identity_number": "RES-1234"}).content.decode()
    )
    ticked = client.post(CHECK, {"identity_number": "RES-1234", "reserve_number": "on"})
    assert "govuk-error-message" not in ticked.content.decode()
    assert "numret är giltigt" in ticked.content.decode().lower()
    assert client.post(CHECK, {"identity_number": " "}).content.decode().strip() == ""


def test_the_check_only_answers_post_so_the_number_stays_out_of_urls(client, county):
    client.force_login(county.alice)
    assert client.get(CHECK, {"identity_number": NEW_NUMBER}).status_code == 405


# --- Step 1: find the person ------------------------------------------------------------------


def test_a_registered_person_is_found_by_any_common_form_of_the_number_and_logged(client, county):
    person = PersonFactory(given_name="Gunnel", family_name="Svensson", address="Byvägen 3")
    short = f"{person.identity_number[2:8]}-{person.identity_number[8:]}"
    client.force_login(county.alice)
    response = find(client, short, county.vardcentral)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Gunnel Svensson" in page
    assert "Byvägen 3" in page
    assert re.search(r"\b\d+ år\b", page)  # the age, in Swedish
    lookup = AuditEvent.objects.get(what="person_lookup")
    assert lookup.action == AuditEvent.Action.READ
    assert lookup.outcome == AuditEvent.Outcome.ALLOWED
    assert (lookup.user, lookup.person_id, lookup.unit_id) == (
        county.alice,
        person.pk,
        county.vardcentral.pk,
    )
    assert lookup.path == INITIATE  # the number itself is in no URL
    assert person.identity_number not in lookup.path


@pytest.mark.parametrize(
    "protection",
    [Person.Protection.SEKRETESSMARKERING, Person.Protection.FINGERADE],
)
def test_a_protected_person_is_shown_with_a_flag_and_the_address_withheld(
    client, county, protection
):
    person = PersonFactory(protection=protection, address="Hemliga gatan 7")
    client.force_login(county.alice)
    page = find(client, person.identity_number, county.vardcentral).content.decode()
    assert 'data-testid="protection-flag"' in page
    assert "Skyddade personuppgifter" in page or "Protected personal data" in page
    assert "Hemliga gatan 7" not in page


def test_a_person_with_skyddad_folkbokforing_is_flagged(client, county):
    person = PersonFactory(protection=Person.Protection.SKYDDAD_FOLKBOKFORING)
    client.force_login(county.alice)
    page = find(client, person.identity_number, county.vardcentral).content.decode()
    assert 'data-testid="protection-flag"' in page
    assert "Skatteverket" in page


def test_a_name_finds_no_one(client, county):
    person = PersonFactory(given_name="Gunnel", family_name="Svensson")
    client.force_login(county.alice)
    response = find(client, "Gunnel Svensson", county.vardcentral)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="person-name"' not in page
    assert person.display_identity not in page


def test_a_wrong_number_is_refused_next_to_the_field_typed_text_kept(client, county):
    client.force_login(county.alice)
    response = find(client, "19480399-1234", county.vardcentral)
    assert response.status_code == 400
    assert "Datumet i numret finns inte" in field_error(response, "identity_number")
    page = response.content.decode()
    assert 'value="19480399-1234"' in page
    assert 'id="id_identity_number-error"' in page
    assert not AuditEvent.objects.filter(what="person_lookup").exists()
    english(client)
    response = find(client, "19480399-1234", county.vardcentral)
    assert "The date in the number does not exist" in field_error(response, "identity_number")


def test_an_empty_number_is_asked_for_in_both_languages(client, county):
    client.force_login(county.alice)
    assert "Ange personnummer" in field_error(
        find(client, "", county.vardcentral), "identity_number"
    )
    english(client)
    assert "Enter a personal identity number" in field_error(
        find(client, "", county.vardcentral), "identity_number"
    )


def test_staff_cannot_look_up_from_a_unit_where_they_hold_no_assignment(client, county):
    client.force_login(county.alice)
    response = find(client, NEW_NUMBER, county.hemtjanst)
    assert response.status_code == 400  # not one of her units: not a choice at all
    assert not AuditEvent.objects.filter(what="person_lookup").exists()


# --- Step 2: register a new person -------------------------------------------------------------


def register(client, county, **data):
    values = {
        "step": "register",
        "identity_number": NEW_NUMBER,
        "unit": county.vardcentral.pk,
        "given_name": "Maj",
        "family_name": "Lind",
        "phone": "070-123 45 67",
        "email": "",
        "address": "Storgatan 1",
        "protection": "none",
        "preferred_language": "svenska",
        "interpreter_language": "",
    }
    values.update(data)
    return client.post(INITIATE, values)


def test_an_unknown_number_leads_to_registration_with_the_number_kept(client, county):
    client.force_login(county.alice)
    response = find(client, NEW_NUMBER, county.vardcentral)
    assert response.status_code == 200
    assert response.templates[0].name == "workspace/initiative/register.html"
    assert f'value="{NEW_NUMBER}"' in response.content.decode()
    lookup = AuditEvent.objects.get(what="person_lookup")
    assert lookup.person_id is None  # the lookup is logged even when it finds no one


def test_registering_creates_the_person_audited_and_goes_on_to_the_initiative(client, county):
    client.force_login(county.alice)
    response = register(client, county, interpreter_language="arabiska", sign_language="on")
    assert response.status_code == 200
    person = Person.objects.get(identity_number=NEW_NUMBER)
    assert (person.given_name, person.family_name, person.address) == ("Maj", "Lind", "Storgatan 1")
    assert person.interpreter_language == "arabiska" and person.sign_language
    created = AuditEvent.objects.get(what="person", action=AuditEvent.Action.CREATE)
    assert (created.person_id, created.unit_id) == (person.pk, county.vardcentral.pk)
    assert response.templates[0].name == "workspace/initiative/initiative.html"
    assert signing.loads(token_in(response), salt=TOKEN_SALT)["person"] == person.pk


def test_registration_errors_sit_next_to_their_fields_in_both_languages(client, county):
    client.force_login(county.alice)
    response = register(client, county, given_name=" ", family_name="Lind")
    assert response.status_code == 400
    assert field_error(response, "given_name") == "Ange förnamn."
    assert 'value="Lind"' in response.content.decode()
    assert not Person.objects.exists()
    english(client)
    response = register(client, county, given_name="")
    assert field_error(response, "given_name") == "Enter the given name."


def test_an_address_is_refused_for_skyddad_folkbokforing(client, county):
    client.force_login(county.alice)
    response = register(
        client, county, protection=Person.Protection.SKYDDAD_FOLKBOKFORING, address="Gata 1"
    )
    assert response.status_code == 400
    assert "Skatteverket" in field_error(response, "address")
    assert not Person.objects.exists()


def test_a_reserve_number_registers_when_ticked(client, county):
    client.force_login(county.alice)
    response = register(client, county, identity_number="res-2024-77", reserve_number="on")
    assert response.status_code == 200
    person = Person.objects.get()
    assert (person.identity_kind, person.identity_number) == ("reserve", "RES-2024-77")


# --- Step 3: the initiative --------------------------------------------------------------------


def found_token(client, county, person) -> str:
    return token_in(find(client, person.identity_number, county.vardcentral))


def test_the_initiative_starts_the_sip_and_shows_its_page(client, county):
    person = PersonFactory()
    client.force_login(county.alice)
    response = initiative(
        client,
        found_token(client, county, person),
        county.vardcentral,
        initiated_by="relative",
        initiator_name="Dottern Eva",
        coordinator=county.alice.pk,
    )
    case = SipCase.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("workspace:case_detail", args=[case.pk])
    assert (case.person, case.state, case.initiated_by, case.initiator_name) == (
        person,
        State.INITIATED,
        "relative",
        "Dottern Eva",
    )
    assert case.reason.startswith("Behöver hemtjänst")
    assert (case.initiating_unit, case.coordinating_unit, case.coordinator) == (
        county.vardcentral,
        county.vardcentral,
        county.alice,
    )
    assert AuditEvent.objects.filter(
        what="sip_case", action=AuditEvent.Action.CREATE, case_id=case.pk
    ).exists()


def test_the_coordinator_defaults_to_me_when_i_coordinate(client, county):
    person = PersonFactory()
    client.force_login(county.alice)
    response = find(client, person.identity_number, county.vardcentral)
    form = response.context["form"]
    assert form["coordinator"].value() == county.alice.pk
    assert f'<option value="{county.alice.pk}" selected>' in response.content.decode()


def test_a_discharge_sip_gets_the_legal_deadline_of_three_days(client, county):
    person = PersonFactory()
    notice = timezone.localtime() - dt.timedelta(hours=5)
    client.force_login(county.alice)
    response = find(client, person.identity_number, county.vardcentral)
    assert "3" in response.context["form"].fields["discharge_notice_at"].help_text
    assert "2017:612" in response.content.decode()
    response = initiative(
        client,
        token_in(response),
        county.vardcentral,
        kind="discharge",
        discharge_notice_at=notice.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302
    case = SipCase.objects.get()
    expected = notice.replace(second=0, microsecond=0) + dt.timedelta(days=3)
    assert case.call_deadline == expected


def test_initiative_errors_are_next_to_their_fields_and_the_person_stays(client, county):
    person = PersonFactory(given_name="Gunnel")
    client.force_login(county.alice)
    token = found_token(client, county, person)
    response = initiative(
        client,
        token,
        county.vardcentral,
        initiated_by="person",
        kind="discharge",
        reason="Mitt skäl",
    )
    assert response.status_code == 400
    assert "namnet på den som tog initiativet" in field_error(response, "initiator_name")
    assert "utskrivningsklar" in field_error(response, "discharge_notice_at")
    page = response.content.decode()
    assert "Mitt skäl" in page and "Gunnel" in page
    assert not SipCase.objects.exists()
    shown_again = AuditEvent.objects.filter(what="person", action=AuditEvent.Action.READ)
    assert shown_again.get().person_id == person.pk
    english(client)
    response = initiative(client, token, county.vardcentral, initiated_by="person")
    assert "the name of the one who took the initiative" in field_error(response, "initiator_name")


def test_the_reserve_number_box_shows_its_error_next_to_it(rf, county):
    form = FindPersonForm(
        {"identity_number": "RES-1", "reserve_number": "on", "unit": county.vardcentral.pk},
        units=[county.vardcentral],
    )
    form.is_valid()
    form.add_error("reserve_number", "Kryssa bara för ett reservnummer.")
    request = rf.get(INITIATE)
    request.user = county.alice
    page = render_to_string("workspace/initiative/find.html", {"form": form}, request=request)
    assert 'id="id_reserve_number-error"' in page
    assert "Kryssa bara för ett reservnummer." in page
    assert 'value="on" checked' in page


def test_the_initiative_page_shows_no_guardians_known_in_other_sips(client, county):
    """A child's guardians registered in alice's SIP are not shown to charlie, at another
    kommun, when he looks the child up by number to start his own SIP."""
    case = case_in_state(county, State.INITIATED, person=minor())
    add_related_party(
        case, actor=county.alice, kind=RelatedParty.Kind.GUARDIAN, name="Eva Mamma", phone="070-1"
    )
    client.force_login(county.charlie)
    response = find(client, case.person.identity_number, county.elsewhere)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="minor-note"' in page
    assert "Eva Mamma" not in page and "070-1" not in page


def test_a_forged_or_foreign_person_token_is_refused(client, county):
    person = PersonFactory()
    client.force_login(county.alice)
    response = initiative(client, "forged", county.vardcentral)
    assert response.status_code == 400
    assert response.templates[0].name == "workspace/initiative/find.html"
    foreign = signing.dumps(
        {"person": person.pk, "user": county.bob.pk, "unit": county.vardcentral.pk},
        salt=TOKEN_SALT,
    )
    response = initiative(client, foreign, county.vardcentral)
    assert response.status_code == 400
    assert person.full_name not in response.content.decode()
    assert not SipCase.objects.exists()


def test_a_participant_who_coordinates_nowhere_starts_it_for_their_own_unit(client, county):
    person = PersonFactory()
    client.force_login(county.bob)
    response = find(client, person.identity_number, county.hemtjanst)
    assert response.status_code == 200
    response = initiative(
        client, token_in(response), county.hemtjanst, coordinating_unit=county.vardcentral.pk
    )
    assert response.status_code == 400  # not one of bob's units
    assert not SipCase.objects.exists()
    response = initiative(
        client,
        token_in(find(client, person.identity_number, county.hemtjanst)),
        county.hemtjanst,
    )
    assert response.status_code == 302
    case = SipCase.objects.get()
    assert (case.coordinating_unit, case.coordinator) == (county.hemtjanst, None)


# --- Related parties --------------------------------------------------------------------------


def add_party_url(case) -> str:
    return reverse("workspace:add_related_party", args=[case.pk])


def test_the_related_party_url(county):
    case = case_in_state(county, State.INITIATED)
    assert add_party_url(case) == f"/sip/{case.pk}/narstaende/ny/"


def test_a_minors_case_page_says_guardians_must_be_contacted_and_links_to_add_one(client, county):
    case = case_in_state(county, State.INITIATED, person=minor())
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    note = re.search(r'data-testid="guardians-note">(.*?)</div>', page, re.S).group(1)
    assert "under 18" in note
    assert add_party_url(case) in note


def test_a_guardian_is_added_audited_and_listed_in_the_case_header(client, county):
    case = case_in_state(county, State.INITIATED, person=minor())
    client.force_login(county.alice)
    assert client.get(add_party_url(case)).status_code == 200
    response = client.post(
        add_party_url(case),
        {
            "kind": RelatedParty.Kind.GUARDIAN,
            "name": "Eva Mamma",
            "relation": "mamma",
            "phone": "070-1",
            "may_see": RelatedParty.Sees.NOTHING,
        },
    )
    assert response.status_code == 302
    party = RelatedParty.objects.get()
    assert (party.person, party.name, party.kind) == (case.person, "Eva Mamma", "guardian")
    assert party.may_see == RelatedParty.Sees.EVERYTHING  # a child's guardian sees all by law
    created = AuditEvent.objects.get(what="related_party", action=AuditEvent.Action.CREATE)
    assert (created.case_id, created.person_id, created.unit_id) == (
        case.pk,
        case.person_id,
        county.vardcentral.pk,
    )
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    header = re.search(r'data-testid="related-parties">(.*?)</dd>', page, re.S).group(1)
    assert "Eva Mamma" in header
    note = re.search(r'data-testid="guardians-note">(.*?)</div>', page, re.S).group(1)
    assert add_party_url(case) not in note  # a guardian is known now
    assert reverse("workspace:record_information", args=[case.pk]) in note


def test_a_party_added_in_one_sip_is_not_shown_in_another_sip_of_the_same_person(client, county):
    """Alice (region) adds a god man to her SIP. Charlie (another kommun) may not see it; he
    finds the person by number and starts his own SIP, which shows nothing of the god man."""
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = client.post(
        add_party_url(case),
        {
            "kind": RelatedParty.Kind.GOD_MAN,
            "name": "Gode Mannen",
            "phone": "070-1234567",
            "mandate": "Förvalta egendom: skulder hos Kronofogden",
            "may_see": RelatedParty.Sees.NOTHING,
        },
    )
    assert response.status_code == 302
    party = RelatedParty.objects.get()
    assert list(case.related_parties.all()) == [party]
    own = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert "Gode Mannen" in own and "Kronofogden" in own

    client.force_login(county.charlie)
    assert client.get(reverse("workspace:case_detail", args=[case.pk])).status_code == 404
    found = find(client, case.person.identity_number, county.elsewhere)
    assert found.status_code == 200
    assert "Gode Mannen" not in found.content.decode()
    response = initiative(client, token_in(found), county.elsewhere)
    assert response.status_code == 302
    theirs = SipCase.objects.exclude(pk=case.pk).get()
    page = client.get(response.url).content.decode()
    for secret in ("Gode Mannen", "070-1234567", "Kronofogden"):
        assert secret not in page
    assert not theirs.related_parties.exists()


def test_a_god_man_needs_a_mandate_said_next_to_the_field_in_both_languages(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    data = {"kind": RelatedParty.Kind.GOD_MAN, "name": "Gösta Lund", "may_see": "plan"}
    response = client.post(add_party_url(case), data)
    assert response.status_code == 400
    assert field_error(response, "mandate").startswith("Ange uppdraget")
    assert 'value="Gösta Lund"' in response.content.decode()
    assert not RelatedParty.objects.exists()
    english(client)
    response = client.post(add_party_url(case), data)
    assert field_error(response, "mandate").startswith("Enter the mandate")


def test_outsiders_get_404_for_the_related_party_page(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.charlie)
    assert client.get(add_party_url(case)).status_code == 404
    response = client.post(add_party_url(case), {"kind": "relative", "name": "X"})
    assert response.status_code == 404
    assert not RelatedParty.objects.exists()
    assert AuditEvent.objects.filter(
        user=county.charlie, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_no_related_party_is_added_from_a_closed_sip(client, county):
    case = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert add_party_url(case) not in page
    response = client.post(add_party_url(case), {"kind": "relative", "name": "Eva"})
    assert response.status_code == 400
    assert "SIP:en är avslutad" in " ".join(response.context["form"].non_field_errors())
    assert not RelatedParty.objects.exists()


# --- Protected identity on the case page ------------------------------------------------------


@pytest.mark.parametrize(
    ("protection", "address"),
    [
        (Person.Protection.SEKRETESSMARKERING, "Storgatan 1"),
        (Person.Protection.SKYDDAD_FOLKBOKFORING, ""),
        (Person.Protection.FINGERADE, "Nygatan 2"),
    ],
)
def test_the_case_page_flags_every_protection_level_and_never_shows_the_address(
    client, county, protection, address
):
    case = case_in_state(
        county, State.INITIATED, person=PersonFactory(protection=protection, address=address)
    )
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="protection-flag"' in page
    assert str(case.person.get_protection_display()) in page
    shown = re.search(r'data-testid="person-address">(.*?)</dd>', page, re.S).group(1)
    assert "protected personal data" in shown.lower() or "skyddade" in shown.lower()
    if address:
        assert address not in page


def test_the_case_page_shows_the_address_of_an_unprotected_person(client, county):
    case = case_in_state(county, State.INITIATED, person=PersonFactory(address="Byvägen 3"))
    client.force_login(county.alice)
    page = client.get(reverse("workspace:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="protection-flag"' not in page
    assert "Byvägen 3" in page
