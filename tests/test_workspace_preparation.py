"""Förberedelse in the staff workspace: the coordinator starts it, the units taking part write
the person's needs, invitees and meeting preferences, the coordinator adds the units the person
chose from the directory. Errors next to their field in Swedish and English, typed text kept,
a stale form refused with the newer content shown, every change audited."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Participant, Preparation, State
from samplan.cases.services.initiative import add_related_party
from samplan.errors import DomainError
from tests.domain_helpers import assert_bilingual
from tests.factories import RelatedPartyFactory, UnitFactory, case_in_state, related_party_of

pytestmark = pytest.mark.django_db


def preparation_url(case) -> str:
    return reverse("workspace:preparation", args=[case.pk])


def start_url(case) -> str:
    return reverse("workspace:start_preparation", args=[case.pk])


def add_unit_url(case) -> str:
    return reverse("workspace:add_unit", args=[case.pk])


def case_url(case) -> str:
    return reverse("workspace:case_detail", args=[case.pk])


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def with_hemtjanst(case, county):
    """bob's hemtjänst takes part (the consent covers the kommun), so bob sees the case."""
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    return case


def field_group(response, field_id: str) -> str:
    """The form group of one field: its label, hint, error and warning."""
    match = re.search(
        rf'<div class="govuk-form-group[^"]*" id="{field_id}-group">'
        r'.*?(?=<div class="govuk-form-group|</form>)',
        response.content.decode(),
        re.S,
    )
    assert match, f"no form group for {field_id}"
    return match.group(0)


def preparation_data(preparation: Preparation, **values) -> dict:
    data = {
        "version": preparation.lock_version,
        "needs_to_discuss": "Hur jag klarar duschen och att handla själv.",
        "not_to_invite": "Sonen Erik",
        "preferred_place": "Biblioteket",
        "preferred_time_of_day": "Förmiddag",
        "max_length_minutes": "60",
        "disturbances": "Starkt ljus, många som pratar samtidigt",
        "room_needs": "Vill veta var toaletten är och att dörren kan stå öppen",
        "picture_support": "on",
        "interpreter_language": "arabiska",
        "assistant": "on",
        "other_support": "Pauser var tjugonde minut",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def changes(case, action, user):
    return AuditEvent.objects.filter(
        case_id=case.pk, user=user, action=AuditEvent.Action.CHANGE
    ), CaseEvent.objects.filter(case=case, action=action)


# --- Starting ---------------------------------------------------------------------------------


def test_coordinator_starts_the_preparation_from_consent(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    page = client.get(preparation_url(case))
    assert page.status_code == 200
    assert start_url(case) in page.content.decode()

    response = client.post(start_url(case), {"version": case.lock_version})
    assert response.status_code == 302
    assert response.url == preparation_url(case)
    case.refresh_from_db()
    assert case.state == State.PREPARATION
    assert Preparation.objects.filter(case=case).exists()
    audits, events = changes(case, "start_preparation", county.alice)
    assert events.get().actor == county.alice
    assert audits.filter(what="preparation").count() == 1


def test_a_participant_may_not_start_the_preparation(client, county):
    case = with_hemtjanst(case_in_state(county, State.CONSENTED), county)
    client.force_login(county.bob)
    page = client.get(preparation_url(case))
    assert page.status_code == 200
    assert start_url(case) not in page.content.decode()
    response = client.post(start_url(case), {"version": case.lock_version})
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.CONSENTED
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.bob, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_a_stale_start_shows_the_preparation_someone_else_started(client, county):
    case = case_in_state(county, State.CONSENTED)
    old_version = case.lock_version
    services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    client.force_login(county.alice)
    response = client.post(start_url(case), {"version": old_version})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    assert 'name="needs_to_discuss"' in body  # the preparation form, now that it is started
    assert CaseEvent.objects.filter(case=case, action="start_preparation").count() == 1


def test_a_stale_start_from_someone_who_may_not_start_is_refused_and_logged(client, county):
    case = with_hemtjanst(case_in_state(county, State.CONSENTED), county)
    old_version = case.lock_version
    services.start_preparation(case, actor=county.alice, expected_version=case.lock_version)
    client.force_login(county.bob)
    response = client.post(start_url(case), {"version": old_version})
    # The right is checked before the version: the refusal is what bob is told, and logged.
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.bob, outcome=AuditEvent.Outcome.REFUSED
    ).exists()
    assert CaseEvent.objects.filter(case=case, action="start_preparation").count() == 1


@pytest.mark.parametrize("name", ["preparation", "start_preparation", "add_unit"])
def test_an_outsider_gets_404_and_the_refusal_is_logged(client, county, name):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.charlie)
    url = reverse(f"workspace:{name}", args=[case.pk])
    assert client.get(url).status_code == (404 if name == "preparation" else 405)
    assert client.post(url, {"version": case.lock_version}).status_code == 404
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.charlie, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


# --- Editing ------------------------------------------------------------------------------------


def test_coordinator_saves_needs_invitees_and_every_preference(client, county):
    case = case_in_state(county, State.PREPARATION)
    daughter = related_party_of(case, name="Dottern Eva", kind="relative")
    related_party_of(case, name="Gustav Godman", kind="god_man")
    RelatedPartyFactory(name="Någon Annans")
    client.force_login(county.alice)
    page = client.get(preparation_url(case)).content.decode()
    assert "Dottern Eva" in page and "Gustav Godman" in page
    assert "Någon Annans" not in page

    audits_before = (
        changes(case, "update_preparation", county.alice)[0].filter(what="preparation").count()
    )
    response = client.post(
        preparation_url(case),
        preparation_data(case.preparation, related_parties=[str(daughter.pk)], sign_language="on"),
    )
    assert response.status_code == 302
    preparation = Preparation.objects.get(case=case)
    assert preparation.needs_to_discuss.startswith("Hur jag klarar duschen")
    assert preparation.not_to_invite == "Sonen Erik"
    assert (preparation.preferred_place, preparation.preferred_time_of_day) == (
        "Biblioteket",
        "Förmiddag",
    )
    assert preparation.max_length_minutes == 60
    assert preparation.disturbances.startswith("Starkt ljus")
    assert preparation.room_needs.startswith("Vill veta")
    assert preparation.picture_support and preparation.sign_language and preparation.assistant
    assert preparation.interpreter_language == "arabiska"
    assert preparation.other_support == "Pauser var tjugonde minut"
    assert list(preparation.invited_related_parties.all()) == [daughter]
    assert preparation.lock_version == 1
    audits, events = changes(case, "update_preparation", county.alice)
    assert events.count() == 1
    assert audits.filter(what="preparation").count() == audits_before + 1

    # The case page shows the preparation: the people invited and the support.
    shown = client.get(case_url(case)).content.decode()
    assert "Dottern Eva" in shown and "arabiska" in shown and "Biblioteket" in shown


def test_a_party_of_the_same_person_in_another_sip_is_neither_offered_nor_accepted(client, county):
    case = case_in_state(county, State.PREPARATION)
    daughter = related_party_of(case, name="Dottern Eva")
    theirs = services.initiate_case(
        actor=county.charlie, person=case.person, initiating_unit=county.elsewhere
    )
    god_man = add_related_party(
        theirs, actor=county.charlie, kind="god_man", name="Gode Mannen", mandate="Ekonomin"
    )
    client.force_login(county.alice)
    page = client.get(preparation_url(case)).content.decode()
    assert "Dottern Eva" in page and "Gode Mannen" not in page
    response = client.post(
        preparation_url(case),
        preparation_data(case.preparation, related_parties=[str(daughter.pk), str(god_man.pk)]),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["related_parties"]
    assert "Hur jag klarar duschen" in response.content.decode()
    preparation = Preparation.objects.get(case=case)
    assert not preparation.invited_related_parties.exists()
    # The service refuses it too, whatever a form offers.
    with pytest.raises(DomainError) as caught:
        services.update_preparation(
            case,
            actor=county.alice,
            expected_version=preparation.lock_version,
            values={"needs_to_discuss": "Annat"},
            invited_related_parties=[god_man],
        )
    assert (caught.value.field, caught.value.code) == ("related_parties", "foreign_party")
    assert_bilingual(caught.value)
    preparation.refresh_from_db()
    assert preparation.needs_to_discuss == "" and preparation.lock_version == 0
    assert not preparation.invited_related_parties.exists()


def test_a_participating_unit_may_write_the_preparation_too(client, county):
    case = with_hemtjanst(case_in_state(county, State.PREPARATION), county)
    client.force_login(county.bob)
    response = client.post(preparation_url(case), preparation_data(case.preparation))
    assert response.status_code == 302
    assert Preparation.objects.get(case=case).preferred_place == "Biblioteket"
    assert CaseEvent.objects.get(case=case, action="update_preparation").actor == county.bob


def test_a_longest_length_out_of_range_is_refused_next_to_its_field_in_swedish(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    response = client.post(
        preparation_url(case), preparation_data(case.preparation, max_length_minutes="5")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["max_length_minutes"] == [
        "Längsta möteslängd ska vara mellan 10 och 480 minuter."
    ]
    group = field_group(response, "id_max_length_minutes")
    assert "Längsta möteslängd ska vara mellan 10 och 480 minuter." in group
    assert 'value="5"' in group
    assert "Hur jag klarar duschen" in response.content.decode()  # typed text kept
    preparation = Preparation.objects.get(case=case)
    assert (preparation.needs_to_discuss, preparation.lock_version) == ("", 0)


def test_the_same_error_reads_in_english(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    english(client)
    response = client.post(
        preparation_url(case), preparation_data(case.preparation, max_length_minutes="500")
    )
    assert response.status_code == 400
    assert "The longest meeting length must be between 10 and 480 minutes." in field_group(
        response, "id_max_length_minutes"
    )


def test_a_stale_preparation_is_refused_and_the_newer_content_shown(client, county):
    case = case_in_state(county, State.PREPARATION)
    opened_at = case.preparation.lock_version
    services.update_preparation(
        case,
        actor=county.alice,
        expected_version=opened_at,
        values={"needs_to_discuss": "Boendet, enligt Lena", "preferred_place": "Hemma"},
    )
    client.force_login(county.alice)
    response = client.post(
        preparation_url(case),
        preparation_data(case.preparation, version=opened_at, needs_to_discuss="Mitt utkast"),
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Någon annan har sparat" in body
    newer = re.search(r'data-testid="newer-preparation">(.*?)</dl>', body, re.S).group(1)
    assert "Boendet, enligt Lena" in newer and "Hemma" in newer
    assert "Mitt utkast" in body  # what was typed stays
    assert response.context["form"]["version"].value() == str(opened_at + 1)
    preparation = Preparation.objects.get(case=case)
    assert preparation.needs_to_discuss == "Boendet, enligt Lena"


def test_the_preparation_cannot_be_written_while_a_meeting_is_called(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.alice)
    page = client.get(preparation_url(case))
    assert page.status_code == 200
    assert 'name="needs_to_discuss"' not in page.content.decode()
    response = client.post(preparation_url(case), preparation_data(case.preparation))
    assert response.status_code == 400
    assert "kallelse skickad" in response.content.decode()
    assert Preparation.objects.get(case=case).lock_version == 0


# --- Units the person chooses --------------------------------------------------------------------


def test_units_are_offered_grouped_by_organisation(client, county):
    case = case_in_state(county, State.PREPARATION)
    UnitFactory(organisation=county.kommun, name="Boendestöd Väst")
    client.force_login(county.alice)
    page = client.get(preparation_url(case)).content.decode()
    kommun = re.search(r'<optgroup label="Testby kommun">(.*?)</optgroup>', page, re.S).group(1)
    assert "Boendestöd Väst" in kommun
    other = re.search(r'<optgroup label="Annanby kommun">(.*?)</optgroup>', page, re.S).group(1)
    assert "Socialtjänst Annanby" in other
    assert "the consent does not cover it" in other or "samtycket omfattar" in other.lower()
    # The coordinating unit already takes part and is not offered again.
    assert f'value="{county.vardcentral.pk}"' not in page


def test_coordinator_adds_a_unit_the_person_chose_and_the_timeline_names_it(client, county):
    case = case_in_state(county, State.PREPARATION)
    boende = UnitFactory(organisation=county.kommun, name="Boendestöd Väst")
    client.force_login(county.alice)
    response = client.post(add_unit_url(case), {"add-unit": boende.pk})
    assert response.status_code == 302
    participant = Participant.objects.get(case=case, unit=boende)
    assert participant.chosen_by_person
    event = CaseEvent.objects.get(case=case, action="add_participant")
    assert event.note == "Boendestöd Väst"
    assert AuditEvent.objects.filter(
        case_id=case.pk, user=county.alice, what="participant", action=AuditEvent.Action.CHANGE
    ).exists()


def test_a_participant_may_not_add_units(client, county):
    case = with_hemtjanst(case_in_state(county, State.PREPARATION), county)
    boende = UnitFactory(organisation=county.kommun, name="Boendestöd Väst")
    client.force_login(county.bob)
    response = client.post(add_unit_url(case), {"add-unit": boende.pk})
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert not Participant.objects.filter(case=case, unit=boende).exists()


def test_adding_no_unit_is_an_error_next_to_the_list(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    response = client.post(add_unit_url(case), {"add-unit": ""})
    assert response.status_code == 400
    assert response.context["add_form"].errors["unit"]
    assert "id_add-unit-error" in field_group(response, "id_add-unit")


def test_a_unit_already_taking_part_is_refused_by_the_service(county):
    case = case_in_state(county, State.MEETING_CALLED)
    with pytest.raises(DomainError) as caught:
        services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    assert caught.value.code == "already_taking_part"
    assert "Hemtjänst Norr" in caught.value.sv and "Hemtjänst Norr" in caught.value.en
    assert_bilingual(caught.value)
    assert CaseEvent.objects.filter(case=case, action="add_participant").count() == 0
