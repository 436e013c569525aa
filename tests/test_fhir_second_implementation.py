"""Issue 10: the exported Bundles checked by a second FHIR R4B implementation, independent of
fhir.resources that builds them: fhircraft, whose models are generated from HL7's R4B
StructureDefinitions and evaluate their invariants (bdl-7, app-3, per-1, ppc-1, ...) with its own
FHIRPath engine. docs/fhir.md, "Checked by a second implementation", says what it does not check.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import warnings

import pytest
from django.utils import timezone
from pydantic import ValidationError

from samplan.cases import services
from samplan.cases.models import GoalRating, Invitation, Meeting, State
from samplan.directory.models import Assignment
from samplan.fhir.export import case_bundle
from samplan.people.models import Person
from tests.factories import (
    PersonFactory,
    case_in_state,
    minor,
    ready_to_establish,
    related_party_of,
    staff,
)
from tests.test_fhir_export import establish

# It reads no database behaviour and imports for ~35 s: once, in the SQLite half (conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.once]

# The one warning allowed: "dom-6: a resource should have narrative". The export carries no
# narrative (text.div); a receiver shows the structured data (docs/fhir.md).
NARRATIVE = "[dom-6]"


@pytest.fixture(scope="module")
def r4b():
    """fhircraft's R4B models. Imported here, not at the top: fhircraft builds all its models of
    R4, R4B and R5 on import (about half a minute), which only these tests should pay."""
    from fhircraft.fhir.resources.datatypes.R4B import core

    return core


def second_opinion(r4b, bundle: dict) -> list[str]:
    """Every problem fhircraft finds in the Bundle, errors and warnings, but dom-6. Each resource
    is validated by its own model first (its errors name the element), then the whole Bundle
    (the Bundle's own invariants, such as bdl-7: fullUrl unique)."""
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n, entry in enumerate(bundle.get("entry", [])):
            kind = entry.get("resource", {}).get("resourceType")
            model = getattr(r4b, str(kind), None)
            if not isinstance(model, type) or not hasattr(model, "model_validate"):
                problems.append(f"entry {n}: no R4B resource type {kind!r}")
                continue
            try:
                model.model_validate(entry["resource"])
            except ValidationError as error:
                problems.append(f"entry {n} ({kind}): {error}")
        try:
            r4b.Bundle.model_validate(bundle)
        except ValidationError as error:
            problems.append(f"Bundle: {error}")
    problems += [
        f"warning: {w.message}" for w in caught if not str(w.message).startswith(NARRATIVE)
    ]
    return problems


def exported(case) -> dict:
    """The Bundle as a receiving system gets it: the JSON text, parsed."""
    return json.loads(case_bundle(case).model_dump_json())


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --- The cases ----------------------------------------------------------------------------------


def full_sip(county):
    """A SIP with everything: HSA-ids, a named contact who is a user (a PractitionerRole), two
    related parties, a goal rated by the person, a follow-up with the goals evaluated and a new
    version established (the first revoked), one organisation's consent revoked, the SIP meeting
    and the follow-up held, the daughter and the person invited to the follow-up."""
    county.vardcentral.hsa_id = "SE2321000016-VC01"
    county.vardcentral.save()
    county.region.hsa_id = "SE2321000016-0001"
    county.region.save()
    county.alice.hsa_id = "SE2321000016-AL01"
    county.alice.save()
    staff(county.hemtjanst, Assignment.Role.PARTICIPANT, first_name="Lena", last_name="Berg")
    case = case_in_state(county, State.FOLLOW_UP)
    daughter = related_party_of(case, name="Dottern Eva")
    related_party_of(case, name="Gode mannen Gustav", kind="god_man")
    GoalRating.objects.create(
        goal=case.valid_plan().goals.get(),
        rating=4,
        comment="Det går bättre",
        rated_by_role="person",
    )
    follow_up = case.meetings.get(kind=Meeting.Kind.FOLLOW_UP)
    Invitation.objects.create(meeting=follow_up, related_party=daughter, answer="accepted")
    Invitation.objects.create(meeting=follow_up, is_person=True)
    ready_to_establish(case, county.alice)  # evaluates every goal "reached"
    establish(
        case,
        county,
        goals=["Jag vill kunna gå till affären själv till sommaren.", "Jag vill laga mat."],
        cooperation_ends=(timezone.localdate() + dt.timedelta(days=200)).isoformat(),
    )
    services.revoke_consent(
        case, actor=county.alice, expected_version=case.lock_version, organisations=[county.kommun]
    )
    case.refresh_from_db()
    return case


def revoked_consent(county):
    """The whole consent revoked: the consent inactive, the SIP closed, the plan completed."""
    case = case_in_state(county, State.PLAN_ESTABLISHED)
    services.revoke_consent(case, actor=county.alice, expected_version=case.lock_version)
    case.refresh_from_db()
    return case


def protected_person(county):
    person = PersonFactory(
        protection=Person.Protection.SKYDDAD_FOLKBOKFORING,
        address="Hemliga gränd 17, 123 45 Gömstad",
        phone="070-555 12 34",
    )
    return case_in_state(county, State.PLAN_ESTABLISHED, person=person)


def minor_with_guardian(county):
    """A child of fifteen: consent and approval by the guardian, who is in the CareTeam."""
    case = case_in_state(county, State.PLAN_ESTABLISHED, person=minor())
    related_party_of(case, name="Mamma Maria", kind="guardian")
    return case


def declined_with_reserve_number(county):
    """A reserve number (no national OID) and a declined consent: no plan at all."""
    person = PersonFactory(identity_kind=Person.IdentityKind.RESERVE, identity_number="RES-7")
    case = case_in_state(county, State.INFORMED, person=person)
    services.decline_consent(
        case,
        actor=county.alice,
        expected_version=case.lock_version,
        method="written",
        given_by="person",
        given_by_name="Gunnel",
    )
    return case


CASES = {
    "full SIP": full_sip,
    "revoked consent": revoked_consent,
    "protected person": protected_person,
    "minor with guardian": minor_with_guardian,
    "declined, reserve number": declined_with_reserve_number,
}


@pytest.mark.parametrize("name", CASES)
def test_the_second_implementation_finds_no_problem(county, r4b, name):
    bundle = exported(CASES[name](county))
    assert second_opinion(r4b, bundle) == []
    # It validated what the case was meant to show, not an empty Bundle.
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Patient", "Organization", "CareTeam", "Consent"} <= kinds
    if name == "full SIP":
        assert [p["status"] for p in resources(bundle, "CarePlan")] == ["revoked", "active"]
        statuses = [g.get("achievementStatus") for g in resources(bundle, "Goal")]
        assert statuses[0]["coding"][0]["code"] == "achieved"  # evaluated at the follow-up
        assert statuses[1] is None  # the new goal
        (consent,) = resources(bundle, "Consent")
        assert consent["provision"]["provision"][0]["type"] == "deny"
        assert {a["status"] for a in resources(bundle, "Appointment")} == {"fulfilled"}
        assert "PractitionerRole" in kinds
    elif name == "revoked consent":
        assert resources(bundle, "Consent")[0]["status"] == "inactive"
        assert resources(bundle, "CarePlan")[0]["status"] == "completed"
    elif name == "protected person":
        assert bundle["meta"]["security"][0]["code"] == "R"
    elif name == "minor with guardian":
        (team,) = resources(bundle, "CareTeam")
        roles = {p["role"][0]["coding"][0]["code"] for p in team["participant"]}
        assert "guardian" in roles
    else:
        assert resources(bundle, "Consent")[0]["status"] == "rejected"
        assert "CarePlan" not in kinds


def _entry(bundle: dict, kind: str, last: bool = False) -> dict:
    return resources(bundle, kind)[-1 if last else 0]


# Each breaks the exported Bundle in one way, and the words fhircraft's answer must contain.
# The invariants (bdl-7, app-3, per-1, ppc-1, cpt-2, cpl-3) are ones fhir.resources does not check.
BREAKS = {
    "an element FHIR does not have": (
        lambda b: _entry(b, "Patient").update(nickname="Gun"),
        "Extra inputs are not permitted",
    ),
    "a required element left out": (
        lambda b: _entry(b, "Appointment").pop("participant"),
        "participant",
    ),
    "a date that is no date": (
        lambda b: _entry(b, "Patient").update(birthDate="1960-13-01"),
        "birthDate",
    ),
    "bdl-7: two entries with one fullUrl": (
        lambda b: b["entry"][1].update(fullUrl=b["entry"][0]["fullUrl"]),
        "bdl-7",
    ),
    "app-3: a booked meeting without start and end": (
        lambda b: [_entry(b, "Appointment").pop(key) for key in ("start", "end")],
        "app-3",
    ),
    "per-1: a plan that ends before it starts": (
        lambda b: _entry(b, "CarePlan", last=True).update(
            period={"start": "2026-02-01", "end": "2026-01-01"}
        ),
        "per-1",
    ),
    "ppc-1: a consent with no policy": (
        lambda b: _entry(b, "Consent").pop("policyRule"),
        "ppc-1",
    ),
    "cpt-2: a phone number without a system": (
        lambda b: _entry(b, "Organization").update(telecom=[{"value": "010-123 45 67"}]),
        "cpt-2",
    ),
    "cpl-3: an activity with both reference and detail": (
        lambda b: _entry(b, "CarePlan", last=True)["activity"][0].update(
            reference={"reference": b["entry"][0]["fullUrl"]}
        ),
        "cpl-3",
    ),
}


def test_the_check_rejects_a_broken_bundle(county, r4b):
    bundle = exported(full_sip(county))
    assert second_opinion(r4b, bundle) == []
    for name, (breaks, expected) in BREAKS.items():
        broken = copy.deepcopy(bundle)
        breaks(broken)
        problems = second_opinion(r4b, broken)
        assert problems, name
        assert expected in "\n".join(problems), (name, problems)
