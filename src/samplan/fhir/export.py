"""A SIP as a FHIR R4B Bundle (type "collection"), for a region's systems and national portals.

The export only reads: the caller has already reached the case through the access functions (or,
for the command, is the operator) and writes the audit row. Everything the Bundle holds is loaded
in a constant number of queries, however long the plan, so a system fetching many plans does not
multiply its load. Every resource is built as plain data and validated by its own fhir.resources
class, so a wrong element fails here and not in the receiving system.

Identifiers are stable: each resource's id and `fullUrl` is a uuid5 of "Model:pk" in one fixed
namespace, so two exports of the same SIP differ only in `Bundle.timestamp`, and a receiver can
update what it stored before instead of duplicating it. See docs/fhir.md for the mapping.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.goal import Goal as FhirGoal
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitionerrole import PractitionerRole

from samplan.cases.models import (
    Consent,
    ConsentScope,
    Evaluation,
    Goal,
    Intervention,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Assignment, Organisation, Unit
from samplan.fhir.ids import resource_id
from samplan.people.models import Person, RelatedParty

PERSONNUMMER = "urn:oid:1.2.752.129.2.1.3.1"
SAMORDNINGSNUMMER = "urn:oid:1.2.752.129.2.1.3.3"
# A reserve number is a local number of one care provider: no national OID says whose.
RESERVE_NUMBER = "urn:samplan:reserve-number"
HSA_ID = "urn:oid:1.2.752.29.4.19"
CARETEAM_ROLE = "urn:samplan:careteam-role"
SIP_REFERENCE = "urn:samplan:sip"
PLAN_VERSION = "urn:samplan:plan-version"
ORGANISATION_NUMBER = "urn:samplan:organisation-number"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC = "http://loinc.org"

IDENTITY_SYSTEMS = {
    Person.IdentityKind.PERSONNUMMER: PERSONNUMMER,
    Person.IdentityKind.SAMORDNINGSNUMMER: SAMORDNINGSNUMMER,
    Person.IdentityKind.RESERVE: RESERVE_NUMBER,
}
RESERVE_NOTE = (
    "Reservnummer: lokalt nummer hos vårdgivaren, inte nationellt unikt. / Reserve number: "
    "local to the care provider, not unique nationally; no national OID applies."
)

# (code, Swedish, English). Codes of the Samplan code system, never renamed once exported.
ROLES = {
    "coordinator": ("Samordnande enhet", "Coordinating unit"),
    "sip-coordinator": ("SIP-samordnare", "SIP coordinator"),
    "participating": ("Deltagande enhet", "Participating unit"),
    "main-responsibility": ("Huvudansvar", "Main responsibility"),
    "contact": ("Kontaktperson för insatsen", "Named contact of an intervention"),
    RelatedParty.Kind.GUARDIAN: ("Vårdnadshavare", "Guardian"),
    RelatedParty.Kind.GOD_MAN: ("God man", "Trustee (god man)"),
    RelatedParty.Kind.FORVALTARE: ("Förvaltare", "Administrator (förvaltare)"),
    RelatedParty.Kind.RELATIVE: ("Närstående", "Relative"),
    RelatedParty.Kind.PERSONLIGT_OMBUD: ("Personligt ombud", "Personal agent"),
    RelatedParty.Kind.SUPPORT_PERSON: ("Stödperson", "Support person"),
}

# Evaluation.Result -> HL7 goal-achievement (code, display, Swedish).
ACHIEVEMENT = {
    Evaluation.Result.REACHED: ("achieved", "Achieved", "Uppnått"),
    Evaluation.Result.PARTLY: ("in-progress", "In Progress", "Delvis uppnått"),
    Evaluation.Result.NOT_REACHED: ("not-achieved", "Not Achieved", "Inte uppnått"),
}
RATING_WORDS = {1: "Mycket dåligt", 2: "Dåligt", 3: "Sådär", 4: "Bra", 5: "Mycket bra"}

INVITATION_STATUS = {
    Invitation.Answer.ACCEPTED: "accepted",
    Invitation.Answer.DECLINED: "declined",
    Invitation.Answer.NO_ANSWER: "needs-action",
}
MEETING_KIND = {
    Meeting.Kind.SIP: "SIP-möte / SIP meeting",
    Meeting.Kind.FOLLOW_UP: "Uppföljningsmöte / Follow-up meeting",
}


def ref(model: str, pk, display: str = "") -> dict:
    reference = {"reference": f"urn:uuid:{resource_id(model, pk)}"}
    if display:
        reference["display"] = display
    return reference


def _when(value) -> str | None:
    """An ISO date or instant; instants in UTC, so the text never depends on the server's zone."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def _hsa(hsa_id: str) -> list[dict]:
    return [{"system": HSA_ID, "value": hsa_id}] if hsa_id else []


def _concept(system: str, code: str, display: str, text: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


def _role(code: str) -> dict:
    swedish, english = ROLES[code]
    return _concept(CARETEAM_ROLE, str(code), english, f"{swedish} / {english}")


def _period(start, end) -> dict | None:
    period = {key: _when(value) for key, value in (("start", start), ("end", end)) if value}
    return period or None


def _clean(data):
    """Drop empty values: FHIR forbids empty elements, and the Bundle stays short."""
    if isinstance(data, dict):
        cleaned = {key: _clean(value) for key, value in data.items()}
        return {key: value for key, value in cleaned.items() if value not in (None, "", [], {})}
    if isinstance(data, list):
        return [item for item in (_clean(value) for value in data) if item not in (None, "", {})]
    return data


# --- Loading ------------------------------------------------------------------------------------


def _load(case: SipCase) -> SipCase:
    """The case with everything the Bundle shows, in a fixed number of queries."""
    goals = Goal.objects.prefetch_related(
        Prefetch("evaluations", queryset=Evaluation.objects.order_by("-recorded_at", "-id")),
        "ratings",
    )
    interventions = Intervention.objects.select_related(
        "unit__organisation", "organisation", "responsible_party"
    )
    plans = PlanVersion.objects.select_related(
        "main_responsible_unit__organisation"
    ).prefetch_related(
        Prefetch("goals", queryset=goals),
        Prefetch("interventions", queryset=interventions),
        "attendees",
    )
    scopes = ConsentScope.objects.select_related("organisation").order_by("organisation_id")
    invitations = Invitation.objects.select_related("unit__organisation", "related_party")
    return (
        SipCase.objects.select_related("person", "coordinating_unit__organisation", "coordinator")
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=Participant.objects.filter(removed_at__isnull=True)
                .select_related("unit__organisation")
                .order_by("role", "unit_id"),
            ),
            Prefetch(
                "related_parties", queryset=RelatedParty.objects.order_by("kind", "name", "pk")
            ),
            Prefetch(
                "consents",
                queryset=Consent.objects.order_by("recorded_at", "id").prefetch_related(
                    Prefetch("scopes", queryset=scopes)
                ),
            ),
            Prefetch(
                "meetings",
                queryset=Meeting.objects.order_by("starts_at", "id").prefetch_related(
                    Prefetch("invitations", queryset=invitations.order_by("id"))
                ),
            ),
            Prefetch("plan_versions", queryset=plans.order_by("number")),
        )
        .get(pk=case.pk)
    )


def _assignments(unit_ids: set[int]) -> dict[tuple[int, str], Assignment]:
    """Active assignments at these units by (unit, full name folded): how a named contact of an
    intervention is recognised as a user of the unit responsible for it. One query."""
    found = (
        Assignment.objects.active()
        .filter(unit_id__in=unit_ids)
        .select_related("user")
        .order_by("unit_id", "user_id", "role")
    )
    return {(a.unit_id, a.user.get_full_name().casefold()): a for a in found}


# --- Building -----------------------------------------------------------------------------------


class _Builder:
    """Collects each resource once, keyed by its fullUrl, in the order it is first added."""

    def __init__(self, case: SipCase):
        self.case = case
        self.person: Person = case.person
        self.entries: dict[str, object] = {}
        self.patient = ref("Person", self.person.pk, self.person.full_name)

    def add(self, cls, model: str, pk, data: dict) -> dict:
        key = resource_id(model, pk)
        if key not in self.entries:
            body = _clean({"resourceType": cls.__name__, "id": key, **data})
            self.entries[key] = cls.model_validate(body)
        return {"reference": f"urn:uuid:{key}"}

    # Who ----------------------------------------------------------------------------------------

    def patient_resource(self) -> None:
        person = self.person
        system = IDENTITY_SYSTEMS[person.identity_kind]
        identifier = {"system": system, "value": person.identity_number}
        if system == RESERVE_NUMBER:
            identifier |= {"use": "temp", "type": {"text": RESERVE_NOTE}}
        data = {
            "identifier": [identifier],
            "name": [
                {
                    "use": "official",
                    "family": person.family_name,
                    "given": [person.given_name],
                    "text": person.full_name,
                }
            ],
            "birthDate": _when(person.birth_date),
        }
        if person.is_protected:
            # Skyddade personuppgifter: nothing that locates the person leaves Samplan.
            data["meta"] = {"security": [restricted()]}
        else:
            data["address"] = [{"text": person.address}] if person.address else []
            data["telecom"] = [
                {"system": kind, "value": value}
                for kind, value in (("phone", person.phone), ("email", person.email))
                if value
            ]
        self.add(Patient, "Person", person.pk, data)

    def organisation(self, organisation: Organisation) -> dict:
        return self.add(
            Organization,
            "Organisation",
            organisation.pk,
            {
                "identifier": [
                    *_hsa(organisation.hsa_id),
                    {"system": ORGANISATION_NUMBER, "value": organisation.organisation_number},
                ],
                "name": organisation.name,
            },
        ) | {"display": organisation.name}

    def unit(self, unit: Unit) -> dict:
        part_of = self.organisation(unit.organisation)
        telecom = [
            {"system": "phone", "value": unit.phone},
            {"system": "email", "value": unit.email},
        ]
        return self.add(
            Organization,
            "Unit",
            unit.pk,
            {
                "identifier": _hsa(unit.hsa_id),
                "active": unit.active,
                "name": unit.name,
                "telecom": [point for point in telecom if point["value"]],
                "partOf": part_of,
            },
        ) | {"display": unit.name}

    def practitioner_role(self, user, unit: Unit, code: str) -> dict:
        name = user.get_full_name() or user.get_username()
        return self.add(
            PractitionerRole,
            "PractitionerRole",
            f"{user.pk}:{unit.pk}",
            {
                "identifier": _hsa(user.hsa_id),
                "active": True,
                "practitioner": {"display": name, "identifier": (_hsa(user.hsa_id) or [None])[0]},
                "organization": self.unit(unit),
                "code": [_role(code)],
            },
        ) | {"display": name}

    def care_team(self, plan: PlanVersion | None) -> dict:
        case = self.case
        participants = [
            {"role": [_role("coordinator")], "member": self.unit(case.coordinating_unit)}
        ]
        if case.coordinator is not None:
            participants.append(
                {
                    "role": [_role("sip-coordinator")],
                    "member": self.practitioner_role(
                        case.coordinator, case.coordinating_unit, "sip-coordinator"
                    ),
                    "onBehalfOf": self.unit(case.coordinating_unit),
                }
            )
        for participant in case.participants.all():
            if participant.unit_id != case.coordinating_unit_id:
                participants.append(
                    {"role": [_role("participating")], "member": self.unit(participant.unit)}
                )
        if plan is not None and plan.main_responsible_unit is not None:
            participants.append(
                {
                    "role": [_role("main-responsibility")],
                    "member": self.unit(plan.main_responsible_unit),
                }
            )
        for party in case.related_parties.all():
            participants.append({"role": [_role(party.kind)], "member": {"display": party.name}})
        return self.add(
            CareTeam,
            "CareTeam",
            case.pk,
            {
                "status": "inactive" if case.is_closed else "active",
                "name": f"SIP-team {case.reference}",
                "subject": self.patient,
                "participant": participants,
                "managingOrganization": [self.unit(case.coordinating_unit)],
            },
        )

    # The plan -----------------------------------------------------------------------------------

    def goal(self, goal: Goal, earlier: dict[str, list[Evaluation]]) -> dict:
        evaluations = list(goal.evaluations.all()) or earlier.get(goal.text, [])
        data = {
            "lifecycleStatus": "active",
            "description": {"text": goal.text},
            "subject": self.patient,
            "expressedBy": self.patient,
        }
        if evaluations:
            code, display, swedish = ACHIEVEMENT[evaluations[0].result]
            data["achievementStatus"] = _concept(
                GOAL_ACHIEVEMENT, code, display, f"{swedish} / {display}"
            )
            data["statusDate"] = _when(evaluations[0].recorded_at.date())
        ratings = list(goal.ratings.all())  # newest first (GoalRating.Meta.ordering)
        if ratings:
            rating = ratings[0]
            words = f"{rating.rating}/5 ({RATING_WORDS[rating.rating]})"
            comment = f": {rating.comment}" if rating.comment else ""
            data["note"] = [
                {
                    "authorReference": self.patient,
                    "time": _when(rating.rated_at),
                    "text": f"Personens egen skattning / The person's own rating: {words}{comment}",
                }
            ]
        return self.add(FhirGoal, "Goal", goal.pk, data)

    def activity(self, item: Intervention, today: dt.date, contacts) -> dict:
        if item.ends_on and item.ends_on < today:
            status = "completed"
        elif item.starts_on and item.starts_on > today:
            status = "not-started"
        else:
            status = "in-progress"
        performer = []
        if item.unit is not None:
            performer.append(self.unit(item.unit))
        elif item.organisation is not None:
            performer.append(self.organisation(item.organisation))
        elif item.responsible_party is not None:
            party = item.responsible_party
            performer.append({"display": f"{party.name} ({ROLES[party.kind][0]})"})
        if item.contact_name:
            assignment = contacts.get((item.unit_id, item.contact_name.strip().casefold()))
            if assignment is not None and item.unit is not None:
                performer.append(self.practitioner_role(assignment.user, item.unit, "contact"))
            else:
                performer.append({"display": item.contact_name})
        activity = {
            "detail": {
                "status": status,
                "description": item.description,
                "scheduledPeriod": _period(item.starts_on, item.ends_on),
                "performer": performer,
            }
        }
        if item.ends_note:
            activity["progress"] = [{"text": f"Slutar / Ends: {item.ends_note}"}]
        return activity

    def care_plan(self, plan: PlanVersion, *, status: str, replaces, team, contacts) -> dict:
        case = self.case
        data = {
            "identifier": [{"system": PLAN_VERSION, "value": f"{case.reference}-v{plan.number}"}],
            "status": status,
            "intent": "plan",
            "title": case.reference,
            "description": plan.needs_today,
            "subject": self.patient,
            "created": _when(plan.approved_at or plan.created_at),
            "replaces": [replaces] if replaces else [],
        }
        if status == "revoked":
            data["period"] = _period(plan.approved_at, None)
            return self.add(CarePlan, "PlanVersion", plan.pk, data)
        today = timezone.localdate()
        earlier: dict[str, list[Evaluation]] = {}
        for version in case.plan_versions.all():  # oldest first: a later version's goal wins
            if version.number < plan.number:
                for goal in version.goals.all():
                    if goal.evaluations.all():
                        earlier[goal.text] = list(goal.evaluations.all())
        main = plan.main_responsible_unit
        data |= {
            "period": _period(plan.approved_at, _cooperation_end(case, plan)),
            "author": self.unit(main) if main else None,
            "careTeam": [team],
            "goal": [self.goal(goal, earlier) for goal in plan.goals.all()],
            "activity": [self.activity(item, today, contacts) for item in plan.interventions.all()],
            "note": [{"text": text} for text in _plan_notes(plan)],
        }
        return self.add(CarePlan, "PlanVersion", plan.pk, data)

    # Consent and meetings -----------------------------------------------------------------------

    def consent(self, consent: Consent) -> None:
        if consent.decision == Consent.Decision.DECLINED:
            status = "rejected"
        elif consent.is_active:
            status = "active"
        else:
            status = "inactive"  # revoked or past its end date
        if consent.given_by == Consent.GivenBy.PERSON:
            performer = self.patient
        else:
            performer = {"display": f"{consent.given_by_name} ({consent.get_given_by_display()})"}
        data = {
            "status": status,
            "scope": _concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent", "Samtycke"),
            "category": [_concept(LOINC, "59284-0", "Consent Document", "Samtycke till SIP")],
            "patient": self.patient,
            "dateTime": _when(consent.recorded_at),
            "performer": [performer],
            "organization": [self.unit(self.case.coordinating_unit)],
            "policyRule": {
                "text": "OSL 25 kap. 1 §, 26 kap. 1 §; HSL 16 kap. 4 §; SoL (samordnad "
                "individuell plan)"
            },
        }
        if consent.decision == Consent.Decision.GIVEN:
            provision = {
                "type": "permit",
                "period": _period(consent.recorded_at, consent.valid_until),
                "actor": [],
                "provision": [],
            }
            for scope in consent.scopes.all():
                actor = {"role": _recipient(), "reference": self.organisation(scope.organisation)}
                provision["actor"].append(actor)
                if scope.revoked_at:
                    provision["provision"].append(
                        {
                            "type": "deny",
                            "period": _period(scope.revoked_at, None),
                            "actor": [actor],
                        }
                    )
            data["provision"] = provision
        self.add(FhirConsent, "Consent", consent.pk, data)

    def appointment(self, meeting: Meeting, now: dt.datetime) -> None:
        if meeting.cancelled_at:
            status = "cancelled"
        elif meeting.starts_at <= now:
            status = "fulfilled"
        else:
            status = "booked"
        participants = []
        for invitation in meeting.invitations.all():
            if invitation.unit is not None:
                actor = self.unit(invitation.unit)
            elif invitation.related_party is not None:
                party = invitation.related_party
                actor = {"display": f"{party.name} ({ROLES[party.kind][0]})"}
            else:
                actor = self.patient
            participants.append(
                {
                    "actor": actor,
                    "status": INVITATION_STATUS[invitation.answer],
                    "required": "required",
                }
            )
        if not participants:  # FHIR needs one; the person is always whom the meeting is for
            participants.append({"actor": self.patient, "status": "needs-action"})
        data = {
            "status": status,
            "cancelationReason": {"text": meeting.cancellation_reason}
            if status == "cancelled"
            else None,
            "description": MEETING_KIND[meeting.kind],
            "start": _when(meeting.starts_at),
            "end": _when(meeting.ends_at),
            "minutesDuration": meeting.duration_minutes,
            "created": _when(meeting.called_at.date()),
            # Where a protected person meets can tell where they live: left out for them.
            "comment": "" if self.person.is_protected else meeting.place,
            "participant": participants,
        }
        self.add(Appointment, "Meeting", meeting.pk, data)


def restricted() -> dict:
    return {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}


def _recipient() -> dict:
    return _concept(PARTICIPATION_TYPE, "IRCP", "information recipient", "Mottagare / Recipient")


def _cooperation_end(case: SipCase, plan: PlanVersion):
    """The end of the cooperation when a date is known: written as a date in the plan, or the
    day the SIP closed. The plan usually says it in words ("when she manages with home care")."""
    try:
        return dt.date.fromisoformat(plan.cooperation_ends.strip())
    except ValueError:
        return case.closed_at if case.is_closed else None


def _plan_notes(plan: PlanVersion) -> list[str]:
    """The plan's parts that FHIR has no element for, each a note with a fixed bilingual label
    so a receiver (and the round-trip test) can find it again."""
    attendees = ", ".join(
        f"{a.name} ({a.represents})" if a.represents else a.name for a in plan.attendees.all()
    )
    approved = (
        f"{plan.approved_by_name} ({plan.get_approved_by_display()})" if plan.approved_by else ""
    )
    parts = [
        ("Samordning / Coordination", plan.coordination),
        ("Uppföljning / Follow-up", _when(plan.follow_up_on)),
        ("Samverkan avslutas / Cooperation ends", plan.cooperation_ends),
        ("Förväntas av personen / Expected of the person", plan.expected_of_person),
        ("Förväntas av närstående / Expected of relatives", plan.expected_of_relatives),
        ("Deltog / Took part", attendees),
        ("Godkänd av / Approved by", approved),
    ]
    return [f"{label}: {value}" for label, value in parts if value]


def case_bundle(case: SipCase) -> Bundle:
    """The SIP as a Bundle: Patient, Organizations, PractitionerRoles, CareTeam, Goals, the
    CarePlan (current version; earlier ones revoked), Consents and Appointments."""
    case = _load(case)
    builder = _Builder(case)
    builder.patient_resource()
    versions = list(case.plan_versions.all())  # oldest first
    current = next((v for v in versions if v.status == PlanVersion.Status.VALID), None)
    if current is None:
        current = next(
            (v for v in reversed(versions) if v.status == PlanVersion.Status.DRAFT), None
        )
    unit_ids = {case.coordinating_unit_id}
    if current is not None:
        unit_ids |= {item.unit_id for item in current.interventions.all() if item.unit_id}
    contacts = _assignments(unit_ids)
    team = builder.care_team(current)
    previous = None
    for version in versions:
        if version.status == PlanVersion.Status.SUPERSEDED:
            previous = builder.care_plan(
                version, status="revoked", replaces=previous, team=team, contacts=contacts
            )
    if current is not None:
        if current.status == PlanVersion.Status.DRAFT:
            status = "draft"
        else:
            status = "completed" if case.state == State.CLOSED else "active"
        replaces = previous if current.status == PlanVersion.Status.VALID else None
        builder.care_plan(current, status=status, replaces=replaces, team=team, contacts=contacts)
    for consent in case.consents.all():
        builder.consent(consent)
    now = timezone.now()
    for meeting in case.meetings.all():
        builder.appointment(meeting, now)
    data = {
        "resourceType": "Bundle",
        "identifier": {"system": SIP_REFERENCE, "value": case.reference},
        "type": "collection",
        "timestamp": _when(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{key}", "resource": resource}
            for key, resource in builder.entries.items()
        ],
    }
    if case.person.is_protected:
        data["meta"] = {"security": [restricted()]}
    return Bundle.model_validate(data)
