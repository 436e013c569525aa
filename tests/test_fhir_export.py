"""The FHIR R4B export of a SIP (issue 10): valid resources, a round trip against the plan in the
database, the national OIDs, protected identity honoured, consent and meetings, the command and
its audit row, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from samplan.access.models import AuditEvent
from samplan.cases import services
from samplan.cases.models import GoalRating, Meeting, PlanVersion, State
from samplan.directory.models import Assignment
from samplan.fhir.export import (
    CARETEAM_ROLE,
    CONFIDENTIALITY,
    HSA_ID,
    PERSONNUMMER,
    RESERVE_NUMBER,
    SAMORDNINGSNUMMER,
    case_bundle,
)
from samplan.people.identity import make_identity_number
from samplan.people.models import Person
from tests.factories import (
    PersonFactory,
    UnitFactory,
    case_in_state,
    complete_draft,
    ready_to_establish,
    related_party_of,
    staff,
)

pytestmark = pytest.mark.django_db


def parsed(case) -> Bundle:
    """Export, serialise and parse again: what a receiving system gets."""
    return Bundle.model_validate_json(case_bundle(case).model_dump_json())


def resources(bundle: Bundle, kind: str) -> list:
    return [entry.resource for entry in bundle.entry if entry.resource.get_resource_type() == kind]


def by_url(bundle: Bundle) -> dict:
    return {entry.fullUrl: entry.resource for entry in bundle.entry}


def note_value(care_plan, label: str) -> str:
    found = [note.text for note in care_plan.note if note.text.startswith(f"{label}: ")]
    assert len(found) == 1, label
    return found[0].split(": ", 1)[1]


def establish(case, county, **overrides):
    """Hold the SIP meeting (moved an hour back) and establish a plan with these parts."""
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    case.refresh_from_db()
    existing = case.draft_plan()  # a follow-up starts from a copy of the valid version
    draft = services.save_plan_draft(
        case,
        actor=county.alice,
        expected_version=existing.lock_version if existing else None,
        data=complete_draft(county, **overrides),
    )
    services.establish_plan(
        case,
        actor=county.alice,
        expected_version=draft.lock_version,
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="Gunnel",
    )
    case.refresh_from_db()
    return case


def test_every_resource_validates_by_its_own_class(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    related_party_of(case, name="Dottern Eva")
    text = case_bundle(case).model_dump_json()
    bundle = Bundle.model_validate_json(text)
    kinds = set()
    for entry in json.loads(text)["entry"]:
        cls = get_fhir_model_class(entry["resource"]["resourceType"])
        assert cls.model_validate(entry["resource"]).id == entry["resource"]["id"]
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        kinds.add(cls.__name__)
    assert bundle.type == "collection"
    assert kinds == {
        "Patient",
        "Organization",
        "PractitionerRole",
        "CareTeam",
        "Goal",
        "CarePlan",
        "Consent",
        "Appointment",
    }
    # Every reference inside the Bundle resolves to an entry of it.
    urls = {entry["fullUrl"] for entry in json.loads(text)["entry"]}
    references = set(_references(json.loads(text)))
    assert references and references <= urls


def _references(data):
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(data, list):
        for item in data:
            yield from _references(item)


def test_round_trip_matches_the_plan_in_the_database(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    plan = case.valid_plan()
    bundle = parsed(case)
    entries = by_url(bundle)
    (care_plan,) = resources(bundle, "CarePlan")
    assert care_plan.status == "active"
    assert care_plan.intent == "plan"
    assert care_plan.title == case.reference
    assert care_plan.description == plan.needs_today
    assert care_plan.identifier[0].value == f"{case.reference}-v{plan.number}"
    assert care_plan.period.start == plan.approved_at
    assert note_value(care_plan, "Uppföljning / Follow-up") == plan.follow_up_on.isoformat()
    assert note_value(care_plan, "Samordning / Coordination") == plan.coordination
    assert note_value(care_plan, "Förväntas av personen / Expected of the person") == (
        plan.expected_of_person
    )
    goals = [entries[goal.reference] for goal in care_plan.goal]
    assert [goal.description.text for goal in goals] == [g.text for g in plan.goals.all()]
    assert {goal.lifecycleStatus for goal in goals} == {"active"}
    interventions = list(plan.interventions.all())
    assert len(care_plan.activity) == len(interventions) == 1
    for activity, item in zip(care_plan.activity, interventions, strict=True):
        detail = activity.detail
        assert detail.description == item.description
        assert detail.scheduledPeriod.start == item.starts_on
        assert detail.status == "in-progress"  # starts today
        assert entries[detail.performer[0].reference].name == item.unit.name
        assert detail.performer[1].display == item.contact_name
        assert activity.progress[0].text == f"Slutar / Ends: {item.ends_note}"
    # Huvudansvar: the author of the plan and a CareTeam role.
    assert entries[care_plan.author.reference].name == plan.main_responsible_unit.name
    (team,) = resources(bundle, "CareTeam")
    assert care_plan.careTeam[0].reference in entries
    main = [p for p in team.participant if p.role[0].coding[0].code == "main-responsibility"]
    assert [entries[p.member.reference].name for p in main] == [plan.main_responsible_unit.name]


def test_careteam_roles_and_hsa_ids(county):
    county.vardcentral.hsa_id = "SE2321000016-VC01"
    county.vardcentral.save()
    county.alice.hsa_id = "SE2321000016-AL01"
    county.alice.save()
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    related_party_of(case, name="Gode mannen Gustav", kind="god_man")
    bundle = parsed(case)
    entries = by_url(bundle)
    (team,) = resources(bundle, "CareTeam")
    roles = {}
    for participant in team.participant:
        coding = participant.role[0].coding[0]
        assert coding.system == CARETEAM_ROLE
        assert " / " in participant.role[0].text  # Swedish / English
        member = entries.get(participant.member.reference) if participant.member.reference else None
        roles.setdefault(coding.code, []).append(
            member.name if member and hasattr(member, "name") else participant.member.display
        )
    assert roles["coordinator"] == [county.vardcentral.name]
    assert roles["participating"] == [county.hemtjanst.name]
    assert roles["main-responsibility"] == [county.vardcentral.name]
    assert roles["god_man"] == ["Gode mannen Gustav"]
    unit = next(o for o in resources(bundle, "Organization") if o.name == county.vardcentral.name)
    assert [(i.system, i.value) for i in unit.identifier] == [(HSA_ID, "SE2321000016-VC01")]
    assert entries[unit.partOf.reference].name == county.region.name
    (role,) = resources(bundle, "PractitionerRole")
    assert role.practitioner.display == county.alice.get_full_name()
    assert [(i.system, i.value) for i in role.identifier] == [(HSA_ID, "SE2321000016-AL01")]
    assert entries[role.organization.reference].name == county.vardcentral.name


def test_a_named_contact_who_is_a_user_of_the_unit_is_a_practitioner_role(county):
    staff(county.hemtjanst, Assignment.Role.PARTICIPANT, first_name="Lena", last_name="Berg")
    bundle = parsed(case_in_state(county, State.PLAN_ESTABLISHED))
    (care_plan,) = resources(bundle, "CarePlan")
    performer = care_plan.activity[0].detail.performer[1]
    role = by_url(bundle)[performer.reference]
    assert role.get_resource_type() == "PractitionerRole"
    assert role.practitioner.display == "Lena Berg"
    assert role.code[0].coding[0].code == "contact"


@pytest.mark.parametrize(
    ("kind", "system"),
    [
        (Person.IdentityKind.PERSONNUMMER, PERSONNUMMER),
        (Person.IdentityKind.SAMORDNINGSNUMMER, SAMORDNINGSNUMMER),
        (Person.IdentityKind.RESERVE, RESERVE_NUMBER),
    ],
)
def test_patient_identifier_oids(county, kind, system):
    born = dt.date(1960, 5, 17)
    number = {
        Person.IdentityKind.PERSONNUMMER: make_identity_number(born, 801),
        Person.IdentityKind.SAMORDNINGSNUMMER: make_identity_number(born, 802, coordination=True),
        Person.IdentityKind.RESERVE: "RES-2026-0042",
    }[kind]
    person = PersonFactory(identity_kind=kind, identity_number=number)
    bundle = parsed(case_in_state(county, State.CONSENTED, person=person))
    (patient,) = resources(bundle, "Patient")
    (identifier,) = patient.identifier
    assert (identifier.system, identifier.value) == (system, number)
    assert patient.name[0].family == person.family_name
    assert patient.birthDate == person.birth_date
    assert (identifier.type is not None) == (kind == Person.IdentityKind.RESERVE)


def test_a_protected_person_leaves_no_address_phone_or_email(county):
    person = PersonFactory(
        protection=Person.Protection.SEKRETESSMARKERING,
        address="Hemliga gränd 17, 123 45 Gömstad",
        phone="070-555 12 34",
        email="gomd.person@example.org",
    )
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=person)
    text = case_bundle(case).model_dump_json()
    for secret in (person.address, "Hemliga gränd", person.phone, person.email):
        assert secret not in text
    bundle = Bundle.model_validate_json(text)
    (patient,) = resources(bundle, "Patient")
    assert [(c.system, c.code) for c in patient.meta.security] == [(CONFIDENTIALITY, "R")]
    assert patient.address is None and patient.telecom is None
    assert bundle.meta.security[0].code == "R"
    # Where they meet may tell where they live.
    assert [a.comment for a in resources(bundle, "Appointment")] == [None]


def test_an_unprotected_person_has_address_and_phone_as_recorded(county):
    person = PersonFactory(address="Storgatan 1, Testby", phone="070-111 22 33")
    bundle = parsed(case_in_state(county, State.CONSENTED, person=person))
    (patient,) = resources(bundle, "Patient")
    assert patient.address[0].text == "Storgatan 1, Testby"
    assert [(t.system, t.value) for t in patient.telecom] == [("phone", "070-111 22 33")]
    assert patient.meta is None


def test_a_revoked_consent_scope_is_a_deny_provision(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    bundle = parsed(case)
    entries = by_url(bundle)
    (consent,) = resources(bundle, "Consent")
    assert consent.status == "active"
    assert consent.scope.coding[0].code == "patient-privacy"
    assert consent.category[0].coding[0].code == "59284-0"
    assert consent.provision.type == "permit"
    permitted = {entries[a.reference.reference].name for a in consent.provision.actor}
    assert permitted == {county.region.name, county.kommun.name}
    (deny,) = consent.provision.provision
    assert deny.type == "deny"
    assert [entries[a.reference.reference].name for a in deny.actor] == [county.kommun.name]


def test_a_wholly_revoked_consent_is_inactive_and_the_plan_completed(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(case, actor=county.alice, expected_version=case.lock_version)
    bundle = parsed(case)
    (consent,) = resources(bundle, "Consent")
    assert consent.status == "inactive"
    assert consent.provision.provision is None
    (care_plan,) = resources(bundle, "CarePlan")
    assert care_plan.status == "completed"


def test_a_declined_consent_is_rejected(county):
    case = case_in_state(county, State.INFORMED)
    services.decline_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        method="written",
        given_by="person",
        given_by_name="Gunnel",
    )
    (consent,) = resources(parsed(case), "Consent")
    assert consent.status == "rejected"
    assert consent.provision is None


def test_meetings_are_appointments_with_participant_status(county):
    case = case_in_state(county, State.MEETING_CALLED)
    meeting = case.meetings.get()
    invitation = meeting.invitations.get(unit=county.hemtjanst)
    services.record_answer(invitation, actor=county.bob, answer="declined", decline_reason="Sjuk")
    bundle = parsed(case)
    entries = by_url(bundle)
    (appointment,) = resources(bundle, "Appointment")
    assert appointment.status == "booked"
    assert appointment.start == meeting.starts_at
    assert appointment.end == meeting.starts_at + dt.timedelta(minutes=45)
    statuses = {_name(entries[p.actor.reference]): p.status for p in appointment.participant}
    assert statuses == {
        county.hemtjanst.name: "declined",
        county.vardcentral.name: "needs-action",
        case.person.full_name: "needs-action",
    }
    case.refresh_from_db()
    services.cancel_meeting(
        meeting, actor=county.alice, expected_version=case.lock_version, reason="Personen är sjuk"
    )
    (appointment,) = resources(parsed(case), "Appointment")
    assert appointment.status == "cancelled"
    assert appointment.cancelationReason.text == "Personen är sjuk"


def _name(resource) -> str:
    """An Organization's name, or a Patient's name as text."""
    return resource.name if isinstance(resource.name, str) else resource.name[0].text


def test_a_meeting_held_is_fulfilled_and_a_draft_plan_is_a_draft(county):
    case = case_in_state(county, State.MEETING_CALLED)
    Meeting.objects.filter(case=case).update(starts_at=timezone.now() - dt.timedelta(hours=1))
    services.save_plan_draft(
        case, actor=county.alice, expected_version=None, data=complete_draft(county)
    )
    bundle = parsed(case)
    (appointment,) = resources(bundle, "Appointment")
    assert appointment.status == "fulfilled"
    (care_plan,) = resources(bundle, "CarePlan")
    assert care_plan.status == "draft"


def test_a_new_version_revokes_the_old_and_goals_carry_the_evaluation(county):
    case = case_in_state(county, State.FOLLOW_UP)
    first = case.valid_plan()
    goal = first.goals.get()
    GoalRating.objects.create(goal=goal, rating=4, comment="Det går bättre", rated_by_role="person")
    ready_to_establish(case, county.alice)  # evaluates every goal "reached"
    case.refresh_from_db()
    before = parsed(case)
    (before_goal,) = resources(before, "Goal")
    assert before_goal.achievementStatus.coding[0].code == "achieved"
    assert "4/5" in before_goal.note[0].text and "Det går bättre" in before_goal.note[0].text
    establish(case, county, follow_up_on=timezone.localdate() + dt.timedelta(weeks=8))
    bundle = parsed(case)
    plans = {plan.identifier[0].value: plan for plan in resources(bundle, "CarePlan")}
    old, new = plans[f"{case.reference}-v1"], plans[f"{case.reference}-v2"]
    assert (old.status, new.status) == ("revoked", "active")
    assert new.replaces[0].reference == f"urn:uuid:{old.id}"
    (carried,) = [by_url(bundle)[ref.reference] for ref in new.goal]
    assert carried.achievementStatus.coding[0].code == "achieved"


def test_two_exports_differ_only_in_the_timestamp(county):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    first = json.loads(case_bundle(case).model_dump_json())
    second = json.loads(case_bundle(case).model_dump_json())
    assert first.pop("timestamp") and second.pop("timestamp")
    assert first == second


def test_queries_do_not_grow_with_the_interventions(county):
    one = case_in_state(county, State.PLAN_ESTABLISHED)
    many = case_in_state(county, State.MEETING_CALLED)
    units = [UnitFactory(organisation=county.kommun) for _ in range(4)]
    interventions = [
        services.InterventionData(
            description=f"Insats {n}",
            unit=unit,
            contact_name=f"Kontakt {n}",
            starts_on=timezone.localdate(),
            ends_note="Ses över vid uppföljningen",
        )
        for n, unit in enumerate([county.hemtjanst, *units])
    ]
    establish(many, county, interventions=interventions)
    counts = []
    for case in (one, many):
        with CaptureQueriesContext(connection) as queries:
            case_bundle(case)
        counts.append(len(queries))
    assert len(resources(parsed(many), "CarePlan")[0].activity) == 5
    assert counts[0] == counts[1]


def test_the_command_writes_a_private_file_and_one_audit_row(county, tmp_path):
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    out = tmp_path / "sip.json"
    before = AuditEvent.objects.count()
    call_command("export_fhir", "--case", str(case.pk), "--out", str(out))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    bundle = Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    assert resources(bundle, "CarePlan")[0].title == case.reference
    assert AuditEvent.objects.count() == before + 1
    row = AuditEvent.objects.order_by("-pk").first()
    assert row.action == AuditEvent.Action.EXPORT
    assert row.what == "fhir_bundle"
    assert (row.case_id, row.person_id) == (case.pk, case.person_id)
    assert row.username.startswith("manage.py export_fhir (")
    assert row.user is None


def test_the_command_writes_to_stdout_without_out(county, capsys):
    case = case_in_state(county, State.CONSENTED)
    call_command("export_fhir", "--case", str(case.pk))
    bundle = Bundle.model_validate_json(capsys.readouterr().out)
    assert resources(bundle, "Patient")[0].identifier[0].value == case.person.identity_number


def test_an_unknown_case_fails(county):
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="No SIP with id 987654"):
        call_command("export_fhir", "--case", "987654")
    assert AuditEvent.objects.count() == before
