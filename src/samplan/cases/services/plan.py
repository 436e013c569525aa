"""The plan: drafts, mandatory parts, establishing with the person's approval, follow-up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max
from django.utils import timezone

from samplan.directory.models import Organisation, Unit
from samplan.errors import DomainError, StaleEdit
from samplan.people.models import RelatedParty

from ..models import (
    Attendee,
    Goal,
    Intervention,
    Meeting,
    PlanVersion,
    SipCase,
    State,
    approved_version_error,
)
from ._core import (
    _acts_for_minor,
    _changing,
    _not_in_past,
    _raise_all,
    _required,
)
from .follow_up import follow_up_meeting
from .meetings import MeetingCall, _create_meeting


@dataclass
class InterventionData:
    description: str
    unit: Unit | None = None
    organisation: Organisation | None = None
    responsible_party: RelatedParty | None = None
    contact_name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    ends_note: str = ""


@dataclass
class PlanDraft:
    needs_today: str = ""
    goals: list[str] = field(default_factory=list)
    interventions: list[InterventionData] = field(default_factory=list)
    main_responsible_unit: Unit | None = None
    coordination: str = ""
    follow_up_on: dt.date | None = None
    cooperation_ends: str = ""
    expected_of_person: str = ""
    expected_of_relatives: str = ""
    attendees: list[tuple[str, str]] = field(default_factory=list)  # (name, represents)


def _copy_plan(source: PlanVersion, number: int) -> PlanVersion:
    draft = PlanVersion.objects.create(
        case=source.case,
        number=number,
        based_on=source,
        needs_today=source.needs_today,
        coordination=source.coordination,
        main_responsible_unit=source.main_responsible_unit,
        follow_up_on=None,  # a new version needs its own follow-up date
        cooperation_ends=source.cooperation_ends,
        expected_of_person=source.expected_of_person,
        expected_of_relatives=source.expected_of_relatives,
    )
    Goal.objects.bulk_create(
        Goal(plan_version=draft, text=goal.text, position=goal.position)
        for goal in source.goals.all()
    )
    Intervention.objects.bulk_create(
        Intervention(
            plan_version=draft,
            description=item.description,
            organisation_id=item.organisation_id,
            unit_id=item.unit_id,
            responsible_party_id=item.responsible_party_id,
            contact_name=item.contact_name,
            starts_on=item.starts_on,
            ends_on=item.ends_on,
            ends_note=item.ends_note,
            position=item.position,
        )
        for item in source.interventions.all()
    )
    return draft


def _ensure_draft(case: SipCase) -> PlanVersion:
    draft = case.plan_versions.select_for_update().filter(status=PlanVersion.Status.DRAFT).first()
    if draft:
        return draft
    latest = case.plan_versions.order_by("-number").first()
    number = (latest.number + 1) if latest else 1
    # A new draft's lock_version starts above every earlier version's, so a form based on an
    # earlier draft can never match the new one and overwrite it.
    highest = case.plan_versions.aggregate(highest=Max("lock_version"))["highest"] or 0
    valid = case.plan_versions.filter(status=PlanVersion.Status.VALID).first()
    draft = (
        _copy_plan(valid, number) if valid else PlanVersion.objects.create(case=case, number=number)
    )
    draft.lock_version = highest + 1
    draft.save(update_fields=["lock_version"])
    return draft


def save_plan_draft(
    case: SipCase,
    *,
    actor,
    expected_version: int | None,
    data: PlanDraft,
    plan_version: PlanVersion | None = None,
) -> PlanVersion:
    """Write the draft of the next plan version. `expected_version` is the draft's lock_version
    the form was based on (None when the form started a new draft). Editing a version that has
    been approved is refused: a change is always a new version."""
    if plan_version is not None and plan_version.is_locked:
        raise approved_version_error()
    with _changing(case, "save_plan_draft", actor, None, what="plan") as change:
        existing = (
            change.case.plan_versions.select_for_update()
            .filter(status=PlanVersion.Status.DRAFT)
            .first()
        )
        if existing is None and expected_version is not None:
            # The draft the form was based on has been established meanwhile.
            raise StaleEdit(current=change.case.valid_plan())
        if existing is not None and existing.lock_version != expected_version:
            raise StaleEdit(current=existing)
        draft = existing or _ensure_draft(change.case)
        problems: list[DomainError | None] = []
        for index, item in enumerate(data.interventions):
            if item.starts_on and item.ends_on and item.ends_on < item.starts_on:
                problems.append(
                    DomainError(
                        f"Insats {index + 1}: slutdatum ligger före startdatum.",
                        f"Intervention {index + 1}: the end date is before the start date.",
                        intervention_field(index, "ends_on"),
                        code="end_before_start",
                    )
                )
        _raise_all(problems)
        for name in (
            "needs_today",
            "coordination",
            "main_responsible_unit",
            "follow_up_on",
            "cooperation_ends",
            "expected_of_person",
            "expected_of_relatives",
        ):
            setattr(draft, name, getattr(data, name))
        # A proposal is withdrawn by any change: the person approves exactly what they were shown.
        # The person's change request stays in view while the coordinator works on it, until
        # the next proposal answers it (propose_plan).
        draft.proposed_at = None
        draft.lock_version += 1
        draft.save()
        draft.goals.all().delete()
        draft.interventions.all().delete()
        draft.attendees.all().delete()
        Goal.objects.bulk_create(
            Goal(plan_version=draft, text=text.strip(), position=position)
            for position, text in enumerate(data.goals)
            if text.strip()
        )
        Intervention.objects.bulk_create(
            Intervention(
                plan_version=draft,
                description=item.description,
                unit=item.unit,
                organisation=item.organisation or (item.unit.organisation if item.unit else None),
                responsible_party=item.responsible_party,
                contact_name=item.contact_name,
                starts_on=item.starts_on,
                ends_on=item.ends_on,
                ends_note=item.ends_note,
                position=position,
            )
            for position, item in enumerate(data.interventions)
        )
        Attendee.objects.bulk_create(
            Attendee(plan_version=draft, name=name, represents=represents)
            for name, represents in data.attendees
            if name.strip()
        )
    return draft


def plan_problems(plan: PlanVersion) -> list[DomainError]:
    """Every mandatory part the plan lacks (SIP.md, "The plan must state")."""
    problems: list[DomainError | None] = [
        _required(
            plan.needs_today.strip(),
            "needs_today",
            "personens behov i dag",
            "the person's needs today",
        ),
        _required(
            list(plan.goals.all()),
            "goals",
            "minst ett av personens egna mål",
            "at least one of the person's own goals",
        ),
        _required(
            plan.main_responsible_unit_id,
            "main_responsible_unit",
            "vem som har huvudansvaret",
            "who has overall responsibility",
        ),
        _required(
            plan.coordination.strip(),
            "coordination",
            "hur insatserna samordnas",
            "how the interventions are coordinated",
        ),
        _required(
            plan.follow_up_on,
            "follow_up_on",
            "när planen följs upp",
            "when the plan is followed up",
        ),
        _not_in_past(
            plan.follow_up_on, "follow_up_on", "Uppföljningsdatumet", "The follow-up date"
        ),
        _required(
            plan.cooperation_ends.strip(),
            "cooperation_ends",
            "när samverkan avslutas",
            "when the cooperation ends",
        ),
        _required(
            plan.expected_of_person.strip(),
            "expected_of_person",
            "vad som förväntas av personen",
            "what is expected of the person",
        ),
        _required(list(plan.attendees.all()), "attendees", "vilka som deltog", "who took part"),
    ]
    interventions = list(plan.interventions.all())
    if not interventions:
        problems.append(
            _required(None, "interventions", "minst en insats", "at least one intervention")
        )
    for index, item in enumerate(interventions):
        problems.extend(_intervention_problems(index, item))
    return [problem for problem in problems if problem is not None]


def intervention_field(index: int, name: str) -> str:
    """The field an intervention's problem concerns, named as the plan editor's formset names it
    (prefix "interventions", counted from 0), so the editor shows it at the right input."""
    return f"interventions-{index}-{name}"


def _intervention_problems(index: int, item: Intervention) -> list[DomainError]:
    description = item.description.strip()
    shown = f" ({description[:40]})" if description else ""
    label_sv = f"Insats {index + 1}{shown}"
    label_en = f"Intervention {index + 1}{shown}"
    problems = []
    if not description:
        problems.append(
            DomainError(
                f"{label_sv}: beskriv insatsen.",
                f"{label_en}: describe the intervention.",
                intervention_field(index, "description"),
                code="description_missing",
            )
        )
    if not (item.unit_id or item.organisation_id or item.responsible_party_id):
        problems.append(
            DomainError(
                f"{label_sv} saknar ansvarig aktör.",
                f"{label_en} has no responsible actor.",
                intervention_field(index, "responsible"),
                code="responsible_missing",
            )
        )
    if not item.starts_on:
        problems.append(
            DomainError(
                f"{label_sv} saknar startdatum.",
                f"{label_en} has no start date.",
                intervention_field(index, "starts_on"),
                code="start_missing",
            )
        )
    if not (item.ends_on or item.ends_note.strip()):
        problems.append(
            DomainError(
                f"{label_sv} saknar när den slutar.",
                f"{label_en} does not say when it ends.",
                intervention_field(index, "ends_on"),
                code="end_missing",
            )
        )
    return problems


def _locked_draft(change, expected_version: int) -> PlanVersion:
    draft = (
        change.case.plan_versions.select_for_update()
        .filter(status=PlanVersion.Status.DRAFT)
        .first()
    )
    if draft is None:
        raise DomainError(
            "Det finns inget planutkast att lägga fram eller fastställa.",
            "There is no plan draft to propose or establish.",
            "plan",
            code="no_draft",
        )
    if draft.lock_version != expected_version:
        raise StaleEdit(current=draft)
    return draft


def propose_plan(case: SipCase, *, actor, expected_version: int) -> PlanVersion:
    """Put the draft before the person for approval (lägga fram för godkännande). Only a draft
    with every mandatory part can be proposed. Saving the draft again withdraws the proposal
    (save_plan_draft clears `proposed_at`), so the person always approves exactly what they saw;
    the version goes up, so a form opened before the proposal is stale."""
    with _changing(case, "propose_plan", actor, None, what="plan") as change:
        draft = _locked_draft(change, expected_version)
        _raise_all(plan_problems(draft))
        draft.proposed_at = timezone.now()
        # The new proposal answers the person's change request (the timeline keeps its words).
        draft.change_request = ""
        draft.change_requested_at = None
        draft.lock_version += 1
        draft.save(
            update_fields=["proposed_at", "change_request", "change_requested_at", "lock_version"]
        )
        change.note = f"v{draft.number}"
    return draft


def _sip_meeting(case: SipCase) -> Meeting | None:
    """The SIP meeting being held: the latest one that is not cancelled."""
    return (
        case.meetings.filter(kind=Meeting.Kind.SIP, cancelled_at__isnull=True)
        .order_by("-starts_at", "-pk")
        .first()
    )


def establishing_problem(case: SipCase, at: dt.datetime | None = None) -> DomainError | None:
    """Why the plan cannot be established (fastställas) yet at this step, if so. While a SIP
    meeting is called the plan is made at that meeting, so it must have started; during
    follow-up the new version comes out of the follow-up meeting, so that meeting must have
    started and its evaluation (uppföljning) be recorded. Between meetings a new version can be
    established at any time. `at` is when the plan was agreed, for a plan entered afterwards
    from the paper form (now when not given)."""
    if case.state not in (State.MEETING_CALLED, State.FOLLOW_UP):
        return None
    follow_up = case.state == State.FOLLOW_UP
    meeting = follow_up_meeting(case) if follow_up else _sip_meeting(case)
    if meeting is None:
        return DomainError(
            "Det finns inget kallat möte som planen tas fram vid. Kalla till mötet först.",
            "There is no meeting called at which the plan is made. Call the meeting first.",
            "",
            code="no_meeting",
        )
    if at is not None and meeting.starts_at > at and meeting.starts_at <= timezone.now():
        when = f"{timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}"
        return DomainError(
            f"Mötet där planen togs fram började {when}. Ange när planen godkändes på "
            f"pappersblanketten, vid eller efter mötet.",
            f"The meeting where the plan was made started {when}. Enter when the plan was "
            f"approved on the paper form, at or after the meeting.",
            "agreed_on",
            code="before_meeting",
        )
    if meeting.starts_at > timezone.now():
        when = f"{timezone.localtime(meeting.starts_at):%Y-%m-%d %H:%M}"
        if follow_up:
            return DomainError(
                f"Den nya versionen av planen kan fastställas först när uppföljningsmötet har "
                f"börjat ({when}).",
                f"The new version of the plan can be established only once the follow-up "
                f"meeting has started ({when}).",
                "",
                code="meeting_not_started",
            )
        return DomainError(
            f"Planen kan fastställas först när SIP-mötet har börjat ({when}): den tas fram "
            f"tillsammans med personen vid mötet.",
            f"The plan can be established only once the SIP meeting has started ({when}): it is "
            f"made together with the person at the meeting.",
            "",
            code="meeting_not_started",
        )
    if follow_up and not meeting.evaluations.exists():
        return DomainError(
            "Registrera först uppföljningen av målen och insatserna vid uppföljningsmötet, och "
            "fastställ sedan den nya versionen.",
            "First record the follow-up of the goals and interventions at the follow-up "
            "meeting, then establish the new version.",
            "",
            code="evaluation_missing",
        )
    return None


def _approval_problems(
    case: SipCase, approved_by: str, approved_by_name: str
) -> list[DomainError | None]:
    """Who approved the plan must be named and be one who may: a guardian for a child."""
    problems: list[DomainError | None] = [
        _required(
            approved_by_name.strip(),
            "approved_by_name",
            "vem som godkände planen",
            "who approved the plan",
        )
    ]
    if approved_by not in PlanVersion.ApprovedBy.values:
        problems.append(
            DomainError(
                "Ange vem som godkände planen: personen, vårdnadshavare eller god man/förvaltare.",
                "Say who approved the plan: the person, a guardian or a legal representative.",
                "approved_by",
                code="required",
            )
        )
    else:
        problems.append(_acts_for_minor(case.person, approved_by, "approved_by"))
    return problems


def _make_valid(
    change,
    draft: PlanVersion,
    *,
    approved_by: str,
    approved_by_name: str,
    established_by,
    digitally: bool,
    approved_at: dt.datetime | None = None,
) -> None:
    """The draft becomes the valid version, never to change again; the version it replaces stays
    readable as superseded. What establish_plan (staff record the approval) and approve_plan (the
    person approves in Min SIP) share."""
    change.case.plan_versions.filter(status=PlanVersion.Status.VALID).update(
        status=PlanVersion.Status.SUPERSEDED
    )
    draft.status = PlanVersion.Status.VALID
    draft.approved_at = approved_at or timezone.now()
    draft.approved_by = approved_by
    draft.approved_by_name = approved_by_name
    draft.established_by = established_by
    draft.approved_digitally = digitally
    draft.save(
        update_fields=[
            "status",
            "approved_at",
            "approved_by",
            "approved_by_name",
            "established_by",
            "approved_digitally",
        ]
    )
    change.note = f"v{draft.number}"
    change.case_changed = True


def establish_plan(
    case: SipCase,
    *,
    actor,
    expected_version: int,
    approved_by: str,
    approved_by_name: str,
    agreed_at: dt.datetime | None = None,
) -> PlanVersion:
    """The person (or guardian) approves the draft: it becomes the valid version and is never
    changed again; the version it replaces stays readable as superseded. While a meeting is
    called, only once it has started (and during follow-up, once it is evaluated): see
    `establishing_problem`. Staff record an approval given at the meeting or on paper; in Min
    SIP the person gives it themselves (`approve_plan`).

    `agreed_at`: the plan was agreed on the paper SIP form while Samplan was down, and is
    entered afterwards. The version is approved at that time and its timeline event keeps it
    as `happened_at` beside the time of entry."""
    with _changing(case, "establish_plan", actor, None, what="plan") as change:
        draft = _locked_draft(change, expected_version)
        problems: list[DomainError | None] = [establishing_problem(change.case, agreed_at)]
        problems += plan_problems(draft)
        problems += _approval_problems(change.case, approved_by, approved_by_name)
        if agreed_at is not None:
            problems.append(_paper_time_problem(change.case, agreed_at))
        _raise_all(problems)
        _make_valid(
            change,
            draft,
            approved_by=approved_by,
            approved_by_name=approved_by_name,
            established_by=actor,
            digitally=False,
            approved_at=agreed_at,
        )
        change.happened_at = agreed_at
    return draft


def _paper_time_problem(case: SipCase, agreed_at: dt.datetime) -> DomainError | None:
    """When a paper plan says it was agreed must fit the SIP's history: not ahead, not before
    the SIP began, not before the version it replaces."""
    when = f"{timezone.localtime(agreed_at):%Y-%m-%d %H:%M}"
    if agreed_at > timezone.now():
        return DomainError(
            f"{when} ligger framåt i tiden. Ange när planen godkändes på pappersblanketten.",
            f"{when} lies ahead. Enter when the plan was approved on the paper form.",
            "agreed_on",
            code="future",
        )
    if agreed_at < case.initiated_at:
        started = f"{timezone.localtime(case.initiated_at):%Y-%m-%d %H:%M}"
        return DomainError(
            f"SIP:en inleddes {started}, efter {when}. Kontrollera datumet på blanketten.",
            f"The SIP was initiated {started}, after {when}. Check the date on the form.",
            "agreed_on",
            code="before_initiative",
        )
    valid = case.plan_versions.filter(status=PlanVersion.Status.VALID).first()
    if valid is not None and valid.approved_at and valid.approved_at > agreed_at:
        approved = f"{timezone.localtime(valid.approved_at):%Y-%m-%d %H:%M}"
        return DomainError(
            f"Version {valid.number}, som gäller nu, godkändes {approved}, efter {when}. "
            f"En ny version kan inte vara godkänd före den den ersätter.",
            f"Version {valid.number}, valid now, was approved {approved}, after {when}. A "
            f"new version cannot be approved before the one it replaces.",
            "agreed_on",
            code="before_valid_version",
        )
    return None


def _proposed_draft(change, expected_version: int) -> PlanVersion:
    """The draft put before the person, exactly as they saw it (its lock_version), for the
    person's answer in Min SIP: `_locked_draft`, with the refusals told to the person."""
    try:
        draft = _locked_draft(change, expected_version)
    except DomainError as error:
        if error.code != "no_draft":
            raise
        raise DomainError(
            "Det finns ingen plan som väntar på ditt svar just nu.",
            "There is no plan waiting for your answer right now.",
            "",
            code="nothing_proposed",
        ) from None
    if draft.proposed_at is None:
        raise DomainError(
            "Planen är inte lagd fram för ditt godkännande. Din SIP-samordnare lägger fram den "
            "när den är klar.",
            "The plan has not been put before you for approval. Your SIP coordinator does that "
            "when it is ready.",
            "",
            code="not_proposed",
        )
    return draft


def _for_the_person(problem: DomainError) -> DomainError:
    """Why the plan cannot become valid yet, told to the person rather than to staff."""
    if problem.code == "meeting_not_started":
        return DomainError(
            "Du kan godkänna planen först när mötet har börjat. Då går ni igenom den tillsammans.",
            "You can approve the plan once the meeting has started. You go through it "
            "together then.",
            "",
            code=problem.code,
        )
    if problem.code == "evaluation_missing":
        return DomainError(
            "Du kan godkänna den nya planen när uppföljningen vid mötet är klar. Din "
            "SIP-samordnare skriver in den.",
            "You can approve the new plan once the follow-up at the meeting is done. Your SIP "
            "coordinator writes it down.",
            "",
            code=problem.code,
        )
    return DomainError(
        "Planen kan inte godkännas ännu. Kontakta din SIP-samordnare.",
        "The plan cannot be approved yet. Contact your SIP coordinator.",
        "",
        code=problem.code,
    )


def approve_plan(case: SipCase, *, actor, expected_version: int) -> PlanVersion:
    """The person (or a guardian of a child, or a god man/förvaltare whose mandate covers it)
    approves the proposed draft themselves in Min SIP: it becomes the valid version as
    `establish_plan` makes it, named as approved by them and approved digitally. `actor` is
    their Capacity (access/citizen.py); staff are refused by the transition table.
    `expected_version` is the draft's lock_version the page showed: a draft changed since is
    stale, so the person approves exactly what they read."""
    with _changing(case, "approve_plan", actor, None, what="plan") as change:
        draft = _proposed_draft(change, expected_version)
        problem = establishing_problem(change.case)
        if problem is not None:
            raise _for_the_person(problem)
        missing = plan_problems(draft)
        if missing:
            raise DomainError(
                "Planen saknar något som måste stå i den, så den kan inte godkännas ännu. Din "
                "SIP-samordnare behöver rätta det först: " + " ".join(part.sv for part in missing),
                "The plan lacks something it must say, so it cannot be approved yet. Your SIP "
                "coordinator needs to put it right first: " + " ".join(part.en for part in missing),
                "",
                code="plan_incomplete",
            )
        # The name the register knows when the identity provider gave none.
        name = actor.display_name.strip() or change.case.person.full_name
        _raise_all(_approval_problems(change.case, actor.approved_by, name))
        _make_valid(
            change,
            draft,
            approved_by=actor.approved_by,
            approved_by_name=name,
            established_by=None,
            digitally=True,
        )
    return draft


CHANGE_REQUEST_MAX_LENGTH = 2000


def request_plan_change(case: SipCase, *, actor, expected_version: int, text: str) -> PlanVersion:
    """The person (or who acts for them) answers a proposal in Min SIP by saying what they want
    changed. The text is kept on the draft for the coordinator (`change_request`), the proposal
    is withdrawn so nothing waits for approval any more, and the timeline keeps the words too
    (the draft's request is cleared when the next version is proposed). Saving the draft keeps
    the request visible; proposing the next version answers it."""
    text = text.strip()
    with _changing(case, "request_plan_change", actor, None, what="plan") as change:
        draft = _proposed_draft(change, expected_version)
        problems: list[DomainError | None] = [
            _required(text, "text", "vad du vill ändra", "what you want changed")
        ]
        if len(text) > CHANGE_REQUEST_MAX_LENGTH:
            problems.append(
                DomainError(
                    f"Skriv högst {CHANGE_REQUEST_MAX_LENGTH} tecken.",
                    f"Write at most {CHANGE_REQUEST_MAX_LENGTH} characters.",
                    "text",
                    code="too_long",
                )
            )
        _raise_all(problems)
        draft.change_request = text
        draft.change_requested_at = timezone.now()
        draft.proposed_at = None
        draft.lock_version += 1
        draft.save(
            update_fields=["change_request", "change_requested_at", "proposed_at", "lock_version"]
        )
        change.note = f"v{draft.number}: {text}"
    return draft


def call_follow_up(
    case: SipCase, *, actor, expected_version: int | None, call: MeetingCall
) -> Meeting:
    """Uppföljning: a follow-up meeting, and a new draft version copied from the valid plan."""
    with _changing(case, "call_follow_up", actor, expected_version, what="meeting") as change:
        meeting = _create_meeting(change, actor, call, Meeting.Kind.FOLLOW_UP)
        _ensure_draft(change.case)
    return meeting
