"""Information, consent and revocation in the browser: who may record them, errors next to their
field in Swedish and English, stale forms refused with the newer state shown, a declined
consent closing the SIP with its reason, and a partial revocation cutting one organisation's
access at once and marked wherever the organisation appears on the case page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import CaseEvent, Consent, ConsentScope, SipCase, State
from samplan.cases.services.initiative import add_related_party
from samplan.directory.models import Assignment
from samplan.people.models import RelatedParty
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


@pytest.fixture
def dora(county):
    """A nurse at alice's vårdcentral: sees its SIPs, does not drive them."""
    return staff(county.vardcentral, Assignment.Role.PARTICIPANT, username="dora")


def url(name: str, case) -> str:
    return reverse(f"workspace:{name}", args=[case.pk])


def english(client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def errors(response, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def link(name: str, case) -> str:
    return f'href="{url(name, case)}"'


def case_page(client, case) -> str:
    response = client.get(url("case_detail", case))
    assert response.status_code == 200
    return response.content.decode()


def test_the_urls_are_named(county):
    case = case_in_state(county, State.INITIATED)
    assert url("record_information", case) == f"/sip/{case.pk}/information/"
    assert url("record_consent", case) == f"/sip/{case.pk}/samtycke/"
    assert url("revoke_consent", case) == f"/sip/{case.pk}/samtycke/aterkalla/"


# --- Information -------------------------------------------------------------------------------


def test_the_coordinator_records_information_read_and_change_audited(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    assert client.get(url("record_information", case)).status_code == 200
    assert AuditEvent.objects.filter(
        user=county.alice, case_id=case.pk, action=AuditEvent.Action.READ
    ).exists()
    response = client.post(
        url("record_information", case), {"version": case.lock_version, "note": "Per telefon"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.INFORMED and case.information_given_at is not None
    assert CaseEvent.objects.filter(case=case, action="record_information").get().note == (
        "Per telefon"
    )
    assert AuditEvent.objects.filter(
        user=county.alice, case_id=case.pk, action=AuditEvent.Action.CHANGE
    ).exists()


def test_information_for_a_child_needs_the_guardians_said_in_both_languages(client, county):
    case = case_in_state(county, State.INITIATED, person=minor())
    client.force_login(county.alice)
    data = {"version": case.lock_version, "child_views": "Vill bo kvar hemma", "note": ""}
    response = client.post(url("record_information", case), data)
    assert response.status_code == 400
    assert errors(response, "guardians_contacted").startswith("Personen är under 18 år")
    assert "Vill bo kvar hemma" in response.content.decode()
    assert 'id="id_guardians_contacted-error"' in response.content.decode()
    assert SipCase.objects.get(pk=case.pk).state == State.INITIATED
    english(client)
    response = client.post(url("record_information", case), data)
    assert errors(response, "guardians_contacted").startswith("The person is under 18")
    response = client.post(url("record_information", case), {**data, "guardians_contacted": "on"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.child_views == "Vill bo kvar hemma" and case.guardians_contacted_at


def test_the_information_page_of_a_child_without_guardians_links_to_adding_one(client, county):
    case = case_in_state(county, State.INITIATED, person=minor())
    client.force_login(county.alice)
    page = client.get(url("record_information", case)).content.decode()
    assert url("add_related_party", case) in page
    related_party_of(case, kind=RelatedParty.Kind.GUARDIAN, name="Eva Mamma")
    page = client.get(url("record_information", case)).content.decode()
    assert "Eva Mamma" in page
    assert url("add_related_party", case) not in page


def test_a_participant_who_does_not_drive_may_not_record_information(client, county, dora):
    case = case_in_state(county, State.INITIATED)
    client.force_login(dora)
    assert client.get(url("record_information", case)).status_code == 200
    response = client.post(url("record_information", case), {"version": case.lock_version})
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert SipCase.objects.get(pk=case.pk).state == State.INITIATED
    assert AuditEvent.objects.filter(
        user=dora, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
    ).exists()


def test_outsiders_get_404_for_information_consent_and_revocation(client, county):
    initiated = case_in_state(county, State.INITIATED)
    consented = case_in_state(county, State.CONSENTED)
    client.force_login(county.charlie)
    for name, case in (
        ("record_information", initiated),
        ("record_consent", initiated),
        ("revoke_consent", consented),
    ):
        assert client.get(url(name, case)).status_code == 404, name
        assert client.post(url(name, case), {"version": case.lock_version}).status_code == 404
    assert SipCase.objects.get(pk=initiated.pk).state == State.INITIATED
    assert SipCase.objects.get(pk=consented.pk).state == State.CONSENTED


def test_a_stale_information_form_is_refused_and_the_newer_state_shown(client, county):
    case = case_in_state(county, State.INITIATED)
    old_version = case.lock_version
    services.record_information(case, actor=county.alice, expected_version=old_version)
    client.force_login(county.alice)
    response = client.post(
        url("record_information", case), {"version": old_version, "note": "Mitt utkast"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Någon annan har sparat" in page
    assert "Mitt utkast" in page
    assert response.context["case"].state == State.INFORMED
    assert response.context["form"]["version"].value() == str(case.lock_version)
    assert CaseEvent.objects.filter(case=case, action="record_information").count() == 1


# --- Consent -----------------------------------------------------------------------------------


def consent_data(case, county, **overrides) -> dict:
    values = {
        "version": case.lock_version,
        "decision": "given",
        "organisations": [county.region.pk, county.kommun.pk],
        "information_scope": "Behov, insatser och planen",
        "exclusions": "",
        "valid_until": "",
        "method": "written",
        "documentation": "",
        "given_by": "person",
        "given_by_name": "Gunnel",
        "decline_reason": "",
    }
    values.update(overrides)
    return values


def informed_with_hemtjanst(county) -> SipCase:
    case = case_in_state(county, State.INFORMED)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    case.refresh_from_db()
    return case


def test_the_consent_form_lists_the_participating_organisations_checked(client, county):
    case = informed_with_hemtjanst(county)
    client.force_login(county.alice)
    response = client.get(url("record_consent", case))
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.fields["organisations"].queryset) == {county.region, county.kommun}
    assert {int(pk) for pk in form["organisations"].value()} == {county.region.pk, county.kommun.pk}
    assert county.other_kommun in form.fields["add_organisation"].queryset


def test_consent_given_moves_the_case_on_and_names_the_organisations(client, county):
    case = informed_with_hemtjanst(county)
    until = timezone.localdate() + dt.timedelta(days=365)
    client.force_login(county.alice)
    response = client.post(
        url("record_consent", case),
        consent_data(
            case,
            county,
            method="oral",
            documentation="Muntligt vid hembesök, Lena närvarande",
            valid_until=until.isoformat(),
            exclusions="Inget om missbruk",
            add_organisation=county.other_kommun.pk,
        ),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CONSENTED
    consent = Consent.objects.get(case=case)
    assert (consent.method, consent.valid_until, consent.exclusions) == (
        "oral",
        until,
        "Inget om missbruk",
    )
    assert set(consent.scopes.values_list("organisation", flat=True)) == {
        county.region.pk,
        county.kommun.pk,
        county.other_kommun.pk,
    }
    assert AuditEvent.objects.filter(
        what="consent", action=AuditEvent.Action.CHANGE, case_id=case.pk
    ).exists()
    page = case_page(client, case)
    section = re.search(r'data-testid="consent">(.*?)</dl>', page, re.S).group(1)
    assert "Annanby kommun" in section
    assert until.isoformat() in section


def test_consent_without_end_date_says_until_the_sip_is_closed(client, county):
    case = informed_with_hemtjanst(county)
    client.force_login(county.alice)
    client.post(url("record_consent", case), consent_data(case, county))
    english(client)
    assert "Valid until the SIP is closed" in case_page(client, case)


def test_adding_an_organisation_from_the_directory_lists_it_and_saves_nothing(client, county):
    case = informed_with_hemtjanst(county)
    client.force_login(county.alice)
    response = client.post(
        url("record_consent", case),
        consent_data(case, county, add="1", add_organisation=county.other_kommun.pk),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert county.other_kommun in form.fields["organisations"].queryset
    assert str(county.other_kommun.pk) in [str(v) for v in form["organisations"].value()]
    page = response.content.decode()
    assert "Annanby kommun" in page and "Behov, insatser och planen" in page
    assert "govuk-error-summary" not in page
    assert not Consent.objects.exists()
    assert SipCase.objects.get(pk=case.pk).state == State.INFORMED


def test_oral_consent_needs_its_documentation_next_to_the_field_in_both_languages(client, county):
    case = informed_with_hemtjanst(county)
    client.force_login(county.alice)
    data = consent_data(case, county, method="oral", given_by_name="Gunnel G")
    response = client.post(url("record_consent", case), data)
    assert response.status_code == 400
    assert errors(response, "documentation") == "Ange hur det muntliga svaret dokumenterades."
    page = response.content.decode()
    assert 'id="id_documentation-error"' in page
    assert 'value="Gunnel G"' in page and "Behov, insatser och planen" in page
    assert not Consent.objects.exists()
    english(client)
    response = client.post(url("record_consent", case), data)
    assert errors(response, "documentation") == "Enter how the oral answer was documented."


def test_consent_without_organisations_is_refused_at_that_field(client, county):
    case = informed_with_hemtjanst(county)
    client.force_login(county.alice)
    response = client.post(
        url("record_consent", case), consent_data(case, county, organisations=[])
    )
    assert response.status_code == 400
    assert "organisationer" in errors(response, "organisations")


def test_a_childs_consent_is_given_by_a_guardian(client, county):
    case = case_in_state(county, State.INFORMED, person=minor())
    client.force_login(county.alice)
    response = client.get(url("record_consent", case))
    assert response.context["form"]["given_by"].value() == Consent.GivenBy.GUARDIAN
    response = client.post(url("record_consent", case), consent_data(case, county))
    assert response.status_code == 400
    assert "vårdnadshavare" in errors(response, "given_by")
    response = client.post(
        url("record_consent", case), consent_data(case, county, given_by="guardian")
    )
    assert response.status_code == 302


def test_a_participant_who_does_not_drive_may_not_record_consent(client, county, dora):
    case = informed_with_hemtjanst(county)
    client.force_login(dora)
    response = client.post(url("record_consent", case), consent_data(case, county))
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert not Consent.objects.exists()


def test_declining_closes_the_sip_and_the_case_page_shows_the_reason(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    response = client.post(
        url("record_consent", case),
        consent_data(
            case, county, decision="declined", decline_reason="Vill klara sig med hemtjänst"
        ),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.DECLINED
    assert Consent.objects.get(case=case).decision == Consent.Decision.DECLINED
    assert CaseEvent.objects.get(case=case, action="decline_consent").note == (
        "Vill klara sig med hemtjänst"
    )
    section = re.search(r'data-testid="consent">(.*?)</dl>', case_page(client, case), re.S)
    assert "Vill klara sig med hemtjänst" in section.group(1)


def test_consent_cannot_be_given_before_information(client, county):
    case = case_in_state(county, State.INITIATED)
    client.force_login(county.alice)
    response = client.post(url("record_consent", case), consent_data(case, county))
    assert response.status_code == 400
    assert "initiativ" in " ".join(response.context["form"].non_field_errors())
    assert not Consent.objects.exists()


def test_a_stale_consent_form_is_refused_and_the_newer_state_shown(client, county):
    case = case_in_state(county, State.INITIATED)
    old_version = case.lock_version
    client.force_login(county.alice)
    services.record_information(case, actor=county.alice, expected_version=old_version)
    response = client.post(
        url("record_consent", case),
        consent_data(
            case, county, version=old_version, decision="declined", decline_reason="Mitt skäl"
        ),
    )
    assert response.status_code == 409
    assert "Någon annan har sparat" in response.content.decode()
    assert "Mitt skäl" in response.content.decode()
    assert response.context["case"].state == State.INFORMED
    assert response.context["form"]["version"].value() == str(case.lock_version)
    assert SipCase.objects.get(pk=case.pk).state == State.INFORMED


@pytest.mark.parametrize("page", ["record_information", "record_consent"])
def test_a_stale_form_from_someone_who_may_not_drive_is_refused_and_logged(
    client, county, dora, page
):
    case = case_in_state(county, State.INITIATED)
    old_version = case.lock_version
    services.record_information(case, actor=county.alice, expected_version=old_version)
    client.force_login(dora)
    data = (
        consent_data(case, county, version=old_version, decision="declined")
        if page == "record_consent"
        else {"version": old_version, "note": "Mitt utkast"}
    )
    response = client.post(url(page, case), data)
    # The right comes before the version: dora is told she may not, and the refusal is logged.
    assert response.status_code == 403
    assert "samordnare" in response.content.decode()
    assert (
        AuditEvent.objects.filter(
            user=dora, case_id=case.pk, outcome=AuditEvent.Outcome.REFUSED
        ).count()
        == 1
    )
    assert SipCase.objects.get(pk=case.pk).state == State.INFORMED
    assert not Consent.objects.exists()


# --- Revocation --------------------------------------------------------------------------------


def revoke(client, case, *, confirmed=True, **data):
    values = {"version": case.lock_version, "note": ""}
    if confirmed:
        values["confirmed"] = "True"
    values.update(data)
    return client.post(url("revoke_consent", case), values)


def test_revocation_asks_for_confirmation_saying_what_happens(client, county):
    case = case_in_state(county, State.PREPARATION)
    client.force_login(county.alice)
    page = client.get(url("revoke_consent", case)).content.decode()
    assert "Region Test" in page and "Testby kommun" in page
    english(client)
    response = revoke(client, case, confirmed=False, organisations=[county.kommun.pk])
    assert response.status_code == 200
    consequence = re.search(
        r'data-testid="revocation-consequence">(.*?)</div>', response.content.decode(), re.S
    ).group(1)
    assert "lose access to the SIP at once" in consequence
    assert "Testby kommun" in consequence
    assert "Nothing recorded is lost" in consequence
    response = revoke(client, case, confirmed=False, everything="on")
    consequence = re.search(
        r'data-testid="revocation-consequence">(.*?)</div>', response.content.decode(), re.S
    ).group(1)
    assert "SIP closes" in consequence
    assert not ConsentScope.objects.filter(revoked_at__isnull=False).exists()
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION


def test_partial_revocation_cuts_that_organisations_staff_off_and_is_marked(client, county):
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    client.force_login(county.bob)
    assert client.get(url("case_detail", case)).status_code == 200
    client.force_login(county.alice)
    response = revoke(client, case, organisations=[county.kommun.pk], note="Sa det i telefon")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.PREPARATION
    event = CaseEvent.objects.filter(case=case).last()
    assert event.action == "revoke_consent_in_part"
    assert "Testby kommun" in event.note and "Region Test" not in event.note
    assert "Sa det i telefon" in event.note

    page = case_page(client, case)
    participants = re.search(r'data-testid="participants">(.*?)</ul>', page, re.S).group(1)
    hemtjanst = re.search(r"<li>Hemtjänst Norr.*?</li>", participants, re.S).group(0)
    assert "Samtycket återkallat" in hemtjanst
    vardcentral = re.search(r"<li>Vårdcentral Centrum.*?</li>", participants, re.S).group(0)
    assert "Samtycket återkallat" not in vardcentral
    section = re.search(r'data-testid="consent">(.*?)</dl>', page, re.S).group(1)
    kommun = re.search(r"<li>Testby kommun.*?</li>", section, re.S).group(0)
    assert "Samtycket återkallat" in kommun
    timeline = re.search(r'data-testid="timeline">(.*?)</ol>', page, re.S).group(1)
    assert "Testby kommun" in timeline

    client.force_login(county.bob)
    # Bob's unit still takes part: instead of the SIP he is offered emergency access, nothing more.
    offer = client.get(url("case_detail", case))
    assert offer.status_code == 403
    assert case.person.family_name not in offer.content.decode()
    assert client.get(url("revoke_consent", case)).status_code == 404


def test_revoking_for_all_closes_the_sip_and_names_every_organisation(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = revoke(client, case, everything="on")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closing_reason == SipCase.ClosingReason.CONSENT_REVOKED
    note = CaseEvent.objects.filter(case=case).last().note
    assert "Region Test" in note and "Testby kommun" in note
    page = case_page(client, case)  # the coordinating unit keeps the record
    assert "Samtycket återkallat" in page


def test_a_participant_taking_part_may_record_a_revocation(client, county):
    case = case_in_state(county, State.MEETING_CALLED)
    client.force_login(county.bob)
    assert url("revoke_consent", case) in case_page(client, case)
    response = revoke(client, case, organisations=[county.kommun.pk])
    assert response.status_code == 302
    # bob's own kommun is out at once: he is not sent to a page he may no longer open
    assert response.url == reverse("workspace:start")
    scope = ConsentScope.objects.get(organisation=county.kommun)
    assert scope.revoked_at is not None
    assert AuditEvent.objects.filter(
        user=county.bob, what="consent", action=AuditEvent.Action.CHANGE
    ).exists()


def test_revocation_without_a_choice_is_refused_at_the_field(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    response = revoke(client, case, note="Oklart")
    assert response.status_code == 400
    assert errors(response, "organisations")
    assert "Oklart" in response.content.decode()
    assert SipCase.objects.get(pk=case.pk).state == State.CONSENTED


def test_revoking_an_organisation_already_revoked_is_refused_in_both_languages(client, county):
    case = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    revoke(client, case, organisations=[county.kommun.pk])
    case.refresh_from_db()
    # A second tab still lists the kommun: the choice is no longer offered, so it is refused.
    response = revoke(client, case, organisations=[county.kommun.pk])
    assert response.status_code == 400
    assert errors(response, "organisations")
    assert ConsentScope.objects.filter(revoked_at__isnull=False).count() == 1


def test_the_coordinating_organisation_alone_is_refused_before_the_confirmation(client, county):
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    case.refresh_from_db()
    client.force_login(county.alice)
    response = revoke(
        client, case, confirmed=False, organisations=[county.region.pk], note="Vill inte"
    )
    assert response.status_code == 400
    assert response.templates[0].name == "workspace/consent/revoke.html"
    message = errors(response, "organisations")
    assert "Region Test" in message and "samordnande enheten" in message
    page = response.content.decode()
    assert 'id="id_organisations-error"' in page and "Vill inte" in page
    english(client)
    hint = client.get(url("revoke_consent", case)).content.decode()
    assert "Region Test holds the coordinating unit" in hint
    # Confirmed (an old confirmation page): the service refuses it as well.
    response = revoke(client, case, organisations=[county.region.pk])
    assert response.status_code == 400
    assert "cannot be revoked for Region Test alone" in errors(response, "organisations")
    assert not ConsentScope.objects.filter(revoked_at__isnull=False).exists()
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION
    assert not CaseEvent.objects.filter(case=case, action__startswith="revoke").exists()
    client.force_login(county.bob)
    assert client.get(url("case_detail", case)).status_code == 200  # kommun still covered

    client.force_login(county.alice)
    assert revoke(client, case, confirmed=False, everything="on").status_code == 200
    assert revoke(client, case, everything="on").status_code == 302
    assert SipCase.objects.get(pk=case.pk).state == State.CLOSED


def test_a_stale_revocation_is_refused_and_the_newer_state_shown(client, county):
    case = case_in_state(county, State.CONSENTED)
    old_version = case.lock_version
    services.start_preparation(case, actor=county.alice, expected_version=old_version)
    client.force_login(county.alice)
    response = revoke(
        client, case, version=old_version, organisations=[county.kommun.pk], note="Min notis"
    )
    assert response.status_code == 409
    assert "Någon annan har sparat" in response.content.decode()
    assert "Min notis" in response.content.decode()
    assert response.context["case"].state == State.PREPARATION
    assert response.context["form"]["version"].value() == str(case.lock_version)
    assert not ConsentScope.objects.filter(revoked_at__isnull=False).exists()


# --- The case page ----------------------------------------------------------------------------


def test_the_case_page_links_each_step_only_when_state_and_role_allow(client, county, dora):
    initiated = case_in_state(county, State.INITIATED)
    informed = case_in_state(county, State.INFORMED)
    consented = case_in_state(county, State.CONSENTED)
    client.force_login(county.alice)
    page = case_page(client, initiated)
    assert link("record_information", initiated) in page
    assert link("record_consent", initiated) in page  # declining is possible already
    page = case_page(client, informed)
    assert link("record_information", informed) not in page
    assert link("record_consent", informed) in page
    page = case_page(client, consented)
    assert link("record_consent", consented) not in page
    assert link("revoke_consent", consented) in page
    client.force_login(dora)
    page = case_page(client, initiated)
    assert link("record_information", initiated) not in page
    assert link("record_consent", initiated) not in page
    closed = case_in_state(county, State.CLOSED)
    client.force_login(county.alice)
    page = case_page(client, closed)
    assert link("revoke_consent", closed) not in page


def count_queries(client, case) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("case_detail", case)).status_code == 200
    return len(queries)


def test_case_page_queries_do_not_grow_with_related_parties_or_organisations(client, county):
    few = case_in_state(county, State.INFORMED)
    many = case_in_state(county, State.INFORMED)
    related_party_of(few)
    for _ in range(6):
        related_party_of(many, kind=RelatedParty.Kind.RELATIVE)
    extra = [OrganisationFactory(name=f"Skola {n}") for n in range(5)]
    for organisation in extra:
        services.add_participant(
            many, actor=county.alice, unit=UnitFactory(organisation=organisation)
        )
    consent_to(few, county.alice, [county.region])
    consent_to(many, county.alice, [county.region, county.kommun, *extra])
    services.revoke_consent(
        many, actor=county.alice, expected_version=many.lock_version, organisations=extra[:2]
    )
    client.force_login(county.alice)
    client.get(url("case_detail", few))
    assert count_queries(client, many) == count_queries(client, few)
    page = case_page(client, many)
    assert page.count("Närstående") >= 6
    assert page.count("Samtycket återkallat") >= 4  # two organisations, in both places


def test_the_case_header_shows_only_the_parties_known_in_this_sip(client, county):
    """A related party is the person's, but another SIP of the same person (here at another
    kommun) does not show it: what one authority recorded does not cross to another."""
    case = case_in_state(county, State.CONSENTED)
    theirs = services.initiate_case(
        actor=county.charlie, person=case.person, initiating_unit=county.elsewhere
    )
    add_related_party(
        theirs,
        actor=county.charlie,
        kind=RelatedParty.Kind.GOD_MAN,
        name="Gode Mannen",
        phone="070-1234567",
        mandate="Skulder hos Kronofogden",
    )
    related_party_of(case, name="Dottern Eva", phone="070-7654321")
    client.force_login(county.alice)
    page = case_page(client, case)
    header = re.search(r'data-testid="related-parties">(.*?)</dd>', page, re.S).group(1)
    assert "Dottern Eva" in header and "070-7654321" in header
    for secret in ("Gode Mannen", "070-1234567", "Kronofogden"):
        assert secret not in page
    client.force_login(county.charlie)
    page = case_page(client, theirs)
    header = re.search(r'data-testid="related-parties">(.*?)</dd>', page, re.S).group(1)
    assert "Gode Mannen" in header and "Kronofogden" in header
    assert "Dottern Eva" not in page and "070-7654321" not in page


def test_the_case_page_offers_no_link_the_rules_would_refuse(client, county):
    """Erik works at hemtjänst, whose kommun's consent was revoked, and administers the
    vårdcentral: he sees the SIP as an administrator but takes no part in it."""
    case = case_in_state(county, State.PREPARATION)
    services.add_participant(case, actor=county.alice, unit=county.hemtjanst)
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    erik = staff(county.hemtjanst, Assignment.Role.PARTICIPANT, username="erik")
    Assignment.objects.create(
        user=erik, unit=county.vardcentral, role=Assignment.Role.UNIT_ADMINISTRATOR
    )
    client.force_login(erik)
    page = case_page(client, case)
    assert link("add_related_party", case) not in page
    assert link("revoke_consent", case) not in page
    response = client.post(url("add_related_party", case), {"kind": "relative", "name": "X"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert revoke(client, case, everything="on").status_code == 403
    assert SipCase.objects.get(pk=case.pk).state == State.PREPARATION
    client.force_login(county.alice)
    page = case_page(client, case)
    assert link("add_related_party", case) in page and link("revoke_consent", case) in page
