"""The demo county: Region Sjöland, three kommuner and the authorities a SIP meets, a dozen staff
and twenty-one fictitious persons whose SIPs stand in every state (drawn from EXAMPLES.md).

Every SIP is driven through samplan.cases.services by a real staff member with an assignment, so
the demo exercises the same rules as real work. Only `_backdate` reaches past the services, to
give the demo its history; see its docstring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from samplan.cases import services
from samplan.cases.models import (
    CaseEvent,
    Consent,
    ConsentScope,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    SipCase,
    State,
)
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.directory.validators import luhn_ok
from samplan.people import services as people_services
from samplan.people.identity import make_identity_number
from samplan.people.models import Person, RelatedParty

PASSWORD = "samplan-demo"
REGION_NAME = "Region Sjöland"
# In the order demo_logins lists them: coordinators first, then the other roles.
DEMO_USERNAMES = (
    "anna",
    "karin",
    "maria",
    "lisa",
    "henrik",
    "per",
    "sofia",
    "jonas",
    "lena",
    "ahmed",
    "emma",
    "olof",
    "nina",
    "petra",
    "ulla",
    "eva",
    "tomas",
    "admin",
)

Kind = Organisation.Kind
Role = Assignment.Role


def organisation_number(first_nine: str) -> str:
    """NNNNNN-NNNN with the Luhn check digit the directory validator asks for."""
    digit = next(d for d in "0123456789" if luhn_ok(first_nine + d))
    return f"{first_nine[:6]}-{first_nine[6:]}{digit}"


def hsa_id(organisation: Organisation, suffix: str) -> str:
    return f"SE{organisation.organisation_number.replace('-', '')}-{suffix}"


# --- Demo history ---------------------------------------------------------------------------

AT = object()  # in a _Step update: "the moment of this step"


@dataclass
class _Step:
    """One service call on a demo case: when the story says it happened (None: now, as
    recorded) and the timestamps outside the timeline that belong to the same moment."""

    at: dt.datetime | None
    updates: list[tuple[QuerySet, dict]] = field(default_factory=list)


def _backdate(case: SipCase, steps: Sequence[_Step]) -> None:
    """DEMO ONLY: give a demo SIP the history its story needs.

    The services stamp every change with the present moment and refuse meeting times and
    follow-up dates in the past, as they must for real work. A demo county needs SIPs that have
    been worked on for weeks, some with a follow-up date already passed. So each demo case is first
    driven through the services, one call per step, and then this moves the timeline event of
    each step (one per service call, in order) and the timestamps that belong to it back to the
    moment the story gives. Never do this to real data: event times are evidence, and regions
    bill on them. The audit log is append-only and is not touched; it shows when the demo was
    loaded. It may run more than once for a case (recording attendance needs the meeting in the
    past); each run writes the same moments.
    """
    event_ids = list(
        CaseEvent.objects.filter(case=case).order_by("pk").values_list("pk", flat=True)
    )
    if len(event_ids) != len(steps):
        raise RuntimeError(
            f"{case}: {len(event_ids)} timeline events but {len(steps)} demo steps recorded"
        )
    now = timezone.now()
    moments = [step.at or now for step in steps]
    if any(later < earlier for earlier, later in zip(moments, moments[1:], strict=False)):
        raise RuntimeError(f"{case}: the demo steps are not in time order")
    for event_id, step in zip(event_ids, steps, strict=True):
        if step.at is not None:
            CaseEvent.objects.filter(pk=event_id).update(at=step.at)
        for queryset, values in step.updates:
            resolved = {
                name: step.at if value is AT else value
                for name, value in values.items()
                if value is not AT or step.at is not None
            }
            if resolved:
                queryset.update(**resolved)


def _later(moment: dt.datetime | None, minutes: int) -> dt.datetime | None:
    return moment + dt.timedelta(minutes=minutes) if moment else None


# --- The loader -----------------------------------------------------------------------------


class DemoCounty:
    """Builds the demo county. Use `load()`; it runs in one transaction."""

    def __init__(self) -> None:
        self.today = timezone.localdate()
        self.steps: dict[int, list[_Step]] = {}
        self.serials: set[int] = set()
        self.units_made = 0

    # Time ----------------------------------------------------------------------------------

    def ago(self, days: int, hour: int = 9, minute: int = 0) -> dt.datetime | None:
        """A moment `days` before today (local time); None for today, which keeps the real
        time the service recorded."""
        if days == 0:
            return None
        moment = dt.datetime.combine(self.today - dt.timedelta(days=days), dt.time(hour, minute))
        return timezone.make_aware(moment)

    def ahead(self, days: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        moment = dt.datetime.combine(self.today + dt.timedelta(days=days), dt.time(hour, minute))
        return timezone.make_aware(moment)

    def day(self, moment: dt.datetime | None, plus_days: int = 0) -> dt.date:
        base = timezone.localdate(moment) if moment else self.today
        return base + dt.timedelta(days=plus_days)

    def born(self, age: int, month: int, day: int) -> dt.date:
        year = (
            self.today.year - age - (1 if (month, day) > (self.today.month, self.today.day) else 0)
        )
        return dt.date(year, month, day)

    # Directory -----------------------------------------------------------------------------

    def organisation(self, name, kind, first_nine, *, hsa=True, **extra) -> Organisation:
        organisation = Organisation(
            name=name, kind=kind, organisation_number=organisation_number(first_nine), **extra
        )
        if hsa:
            organisation.hsa_id = hsa_id(organisation, "1000")
        organisation.full_clean()
        organisation.save()
        return organisation

    def unit(self, organisation: Organisation, name: str, phone: str = "") -> Unit:
        self.units_made += 1
        unit = Unit(organisation=organisation, name=name, phone=phone)
        if organisation.hsa_id:
            unit.hsa_id = hsa_id(organisation, f"E{self.units_made:04d}")
        unit.full_clean()
        unit.save()
        return unit

    def staff(
        self, username, first_name, last_name, title, assignments: Iterable[tuple[Unit, str]]
    ) -> User:
        if username not in DEMO_USERNAMES:
            raise ValueError(f"{username} is missing from DEMO_USERNAMES")
        assignments = list(assignments)
        user = User(username=username, first_name=first_name, last_name=last_name, title=title)
        user.email = f"{username}@exempel.invalid"
        home = assignments[0][0].organisation
        if home.hsa_id:
            user.hsa_id = hsa_id(home, f"P{User.objects.count() + 1:04d}")
        user.set_password(PASSWORD)
        user.save()
        since = timezone.now() - dt.timedelta(days=2 * 365)
        for unit, role in assignments:
            Assignment.objects.create(user=user, unit=unit, role=role, valid_from=since)
        return user

    def build_directory(self) -> None:
        self.region = self.organisation(REGION_NAME, Kind.REGION, "232100099")
        self.sjostad = self.organisation("Sjöstads kommun", Kind.KOMMUN, "212000990")
        # "Utan dröjsmål" is each huvudman's own figure (SIP.md); Norrvik allows two weeks.
        self.norrvik = self.organisation(
            "Norrviks kommun", Kind.KOMMUN, "212000991", initiative_deadline_days=14
        )
        self.asby = self.organisation("Åsby kommun", Kind.KOMMUN, "212000992")
        # The two national authorities are real; their organisation numbers are public.
        self.fk = self.organisation(
            "Försäkringskassan", Kind.FORSAKRINGSKASSAN, "202100552", hsa=False
        )
        self.af = self.organisation(
            "Arbetsförmedlingen", Kind.ARBETSFORMEDLINGEN, "202100211", hsa=False
        )
        self.school = self.organisation("Strandskolan AB", Kind.SCHOOL, "559990001")
        self.provider = self.organisation(
            "Omsorgia Hemtjänst AB", Kind.PRIVATE_PROVIDER, "559990002"
        )

        region, sjostad = self.region, self.sjostad
        self.vc_centrum = self.unit(region, "Vårdcentral Centrum", "070-174 06 10")
        self.vc_norrvik = self.unit(region, "Vårdcentral Norrvik")
        self.rehab = self.unit(region, "Rehab Centrum")
        self.psykiatri = self.unit(region, "Psykiatrisk öppenvård")
        self.bup = self.unit(region, "BUP")
        self.habilitering = self.unit(region, "Habiliteringen")
        self.ortopeden = self.unit(region, "Ortopedavdelning 12")
        self.regionkansliet = self.unit(region, "Regionkansliet")
        self.bistand = self.unit(sjostad, "Biståndshandläggning")
        self.hemtjanst_norr = self.unit(sjostad, "Hemtjänst Norr")
        self.hemsjukvard = self.unit(sjostad, "Hemsjukvård")
        self.boendestod = self.unit(sjostad, "Boendestöd")
        self.soc_barn = self.unit(sjostad, "Socialtjänst barn och familj")
        self.soc_vuxen = self.unit(sjostad, "Socialtjänst vuxen")
        self.kommunledning = self.unit(sjostad, "Kommunledningskontoret")
        self.soc_norrvik = self.unit(self.norrvik, "Socialtjänst Norrvik")
        self.hemtjanst_norrvik = self.unit(self.norrvik, "Hemtjänst Norrvik")
        self.bistand_asby = self.unit(self.asby, "Biståndshandläggning Åsby")
        self.hemtjanst_asby = self.unit(self.asby, "Hemtjänst Åsby")
        self.elevhalsa = self.unit(self.school, "Elevhälsan Strandskolan")
        self.fk_office = self.unit(self.fk, "Lokalt försäkringscenter Sjöstad")
        self.af_office = self.unit(self.af, "Arbetsförmedlingen Sjöstad")
        self.hemtjanst_vaster = self.unit(self.provider, "Hemtjänst Väster")

        staff = self.staff
        self.anna = staff(
            "anna",
            "Anna",
            "Svensson",
            "Distriktssköterska, fast vårdkontakt",
            [(self.vc_centrum, Role.COORDINATOR)],
        )
        self.per = staff("per", "Per", "Holm", "Fysioterapeut", [(self.rehab, Role.PARTICIPANT)])
        self.maria = staff("maria", "Maria", "Ek", "Kurator", [(self.psykiatri, Role.COORDINATOR)])
        self.sofia = staff("sofia", "Sofia", "Berg", "Psykolog", [(self.bup, Role.PARTICIPANT)])
        self.jonas = staff(
            "jonas", "Jonas", "Lind", "Sjuksköterska", [(self.ortopeden, Role.PARTICIPANT)]
        )
        self.eva = staff(
            "eva",
            "Eva",
            "Dahl",
            "Informationssäkerhetssamordnare",
            [(self.regionkansliet, Role.SECURITY_OFFICER)],
        )
        self.karin = staff(
            "karin",
            "Karin",
            "Nilsson",
            "Biståndshandläggare",
            [(self.bistand, Role.COORDINATOR)],
        )
        self.lena = staff(
            "lena", "Lena", "Berg", "Undersköterska", [(self.hemtjanst_norr, Role.PARTICIPANT)]
        )
        self.ulla = staff(
            "ulla",
            "Ulla",
            "Forsberg",
            "Enhetschef",
            [(self.hemtjanst_norr, Role.UNIT_ADMINISTRATOR), (self.hemsjukvard, Role.PARTICIPANT)],
        )
        self.ahmed = staff(
            "ahmed", "Ahmed", "Yusuf", "Boendestödjare", [(self.boendestod, Role.PARTICIPANT)]
        )
        self.lisa = staff(
            "lisa", "Lisa", "Holmberg", "Socialsekreterare", [(self.soc_barn, Role.COORDINATOR)]
        )
        self.tomas = staff(
            "tomas",
            "Tomas",
            "Wik",
            "Säkerhetsansvarig",
            [(self.kommunledning, Role.SECURITY_OFFICER)],
        )
        self.henrik = staff(
            "henrik",
            "Henrik",
            "Ödman",
            "Socialsekreterare",
            [(self.soc_norrvik, Role.COORDINATOR)],
        )
        self.emma = staff(
            "emma", "Emma", "Sjö", "Skolkurator", [(self.elevhalsa, Role.PARTICIPANT)]
        )
        self.olof = staff(
            "olof", "Olof", "Fager", "Handläggare", [(self.fk_office, Role.PARTICIPANT)]
        )
        self.nina = staff(
            "nina", "Nina", "Aho", "Arbetsförmedlare", [(self.af_office, Role.PARTICIPANT)]
        )
        self.petra = staff(
            "petra",
            "Petra",
            "Lund",
            "Samordnare hemtjänst",
            [(self.hemtjanst_vaster, Role.PARTICIPANT)],
        )
        admin = User(username="admin", first_name="Demo", last_name="Administratör")
        admin.is_staff = admin.is_superuser = True
        admin.email = "admin@exempel.invalid"
        admin.set_password(PASSWORD)
        admin.save()

    # People --------------------------------------------------------------------------------

    def person(
        self,
        given_name: str,
        family_name: str,
        *,
        age: int,
        birthday: tuple[int, int],
        serial: int,
        coordination: bool = False,
        **extra,
    ) -> Person:
        if serial in self.serials:
            raise ValueError(f"serial {serial} used twice")
        self.serials.add(serial)
        birth = self.born(age, *birthday)
        number = make_identity_number(birth, serial, coordination=coordination)
        registrar, unit = self.registrar()
        return people_services.register_person(
            actor=registrar,
            unit=unit,
            identity_number=number,
            given_name=given_name,
            family_name=family_name,
            is_fictitious=True,
            **extra,
        )

    def party(self, person: Person, kind: str, name: str, **extra) -> RelatedParty:
        registrar, unit = self.registrar()
        return people_services.add_related_party(
            actor=registrar, unit=unit, person=person, kind=kind, name=name, **extra
        )

    def registrar(self) -> tuple[User, Unit]:
        """Who registers the demo persons: the vårdcentral's coordinator (audited as such)."""
        if not hasattr(self, "_registrar"):
            assignment = Assignment.objects.select_related("user", "unit").get(
                user__username="anna", role=Assignment.Role.COORDINATOR
            )
            self._registrar = (assignment.user, assignment.unit)
        return self._registrar

    # One method per service call: call it, then remember when the story says it happened ----

    @staticmethod
    def _participants(case: SipCase) -> QuerySet:
        """The case's participants as they are now (not as they will be when _backdate runs)."""
        return Participant.objects.filter(
            pk__in=list(case.participants.values_list("pk", flat=True))
        )

    def _record(self, case: SipCase, when, *updates: tuple[QuerySet, dict]) -> None:
        self.steps.setdefault(case.pk, []).append(_Step(when, list(updates)))

    def initiate(self, when, *, actor, person, unit, coordinator, **kwargs) -> SipCase:
        case = services.initiate_case(
            actor=actor, person=person, initiating_unit=unit, coordinator=coordinator, **kwargs
        )
        this = SipCase.objects.filter(pk=case.pk)
        updates = [(this, {"initiated_at": AT}), (self._participants(case), {"added_at": AT})]
        if when and case.kind == SipCase.Kind.STANDARD:
            days = case.coordinating_unit.organisation.initiative_deadline_days
            updates.append((this, {"call_deadline": when + dt.timedelta(days=days)}))
        self._record(case, when, *updates)
        return case

    def inform(self, case, when, actor, **kwargs) -> None:
        services.record_information(case, actor=actor, expected_version=case.lock_version, **kwargs)
        values = {"information_given_at": AT}
        if kwargs.get("guardians_contacted"):
            values["guardians_contacted_at"] = AT
        self._record(case, when, (SipCase.objects.filter(pk=case.pk), values))

    def consent(self, case, when, actor, organisations, **kwargs) -> Consent:
        kwargs.setdefault("method", Consent.Method.WRITTEN)
        kwargs.setdefault("given_by", Consent.GivenBy.PERSON)
        kwargs.setdefault("given_by_name", case.person.full_name)
        kwargs.setdefault(
            "information_scope",
            "Behov, mål, insatser, mötestider och planen; det som behövs för samordningen.",
        )
        consent = services.give_consent(
            case,
            actor=actor,
            expected_version=case.lock_version,
            organisations=organisations,
            **kwargs,
        )
        self._record(case, when, (Consent.objects.filter(pk=consent.pk), {"recorded_at": AT}))
        return consent

    def decline(self, case, when, actor, **kwargs) -> None:
        consent = services.decline_consent(
            case, actor=actor, expected_version=case.lock_version, **kwargs
        )
        self._record(
            case,
            when,
            (Consent.objects.filter(pk=consent.pk), {"recorded_at": AT}),
            (SipCase.objects.filter(pk=case.pk), {"closed_at": AT}),
        )

    def prepare(self, case, when, actor, values, *, invited=(), units=()) -> None:
        """Start the preparation, record what the person wants, add the units they chose."""
        preparation = services.start_preparation(
            case, actor=actor, expected_version=case.lock_version
        )
        self._record(case, when)
        services.update_preparation(
            case,
            actor=actor,
            expected_version=preparation.lock_version,
            values=values,
            invited_related_parties=list(invited),
        )
        self._record(case, _later(when, 20))
        for unit in units:
            self.add_unit(case, _later(when, 25), actor, unit)

    def call(self, case, when, actor, starts_at, *, follow_up=False, **kwargs) -> Meeting:
        """Kallelse. The service wants a time ahead; a meeting the story places in the past is
        called for tomorrow and moved back by _backdate."""
        placeholder = starts_at if starts_at > timezone.now() else self.ahead(1)
        before = self._participants(case)
        call = services.MeetingCall(starts_at=placeholder, **kwargs)
        function = services.call_follow_up if follow_up else services.call_meeting
        meeting = function(case, actor=actor, expected_version=case.lock_version, call=call)
        updates = [
            (Meeting.objects.filter(pk=meeting.pk), {"called_at": AT, "starts_at": starts_at}),
            (self._participants(case).exclude(pk__in=before), {"added_at": AT}),
        ]
        if follow_up:
            draft = PlanVersion.objects.filter(pk=case.draft_plan().pk)
            updates.append((draft, {"created_at": AT}))
        self._record(case, when, *updates)
        return meeting

    def add_unit(self, case, when, actor, unit) -> None:
        participant = services.add_participant(case, actor=actor, unit=unit)
        self._record(case, when, (Participant.objects.filter(pk=participant.pk), {"added_at": AT}))

    def answer(self, meeting, when, actor, unit, answer, reason="") -> None:
        """The answer of a called unit; with unit None, the person's own answer."""
        if unit is None:
            invitation = meeting.invitations.get(is_person=True)
        else:
            invitation = meeting.invitations.get(unit=unit)
        services.record_answer(invitation, actor=actor, answer=answer, decline_reason=reason)
        self._record(
            meeting.case,
            when,
            (Invitation.objects.filter(pk=invitation.pk), {"answered_at": AT}),
        )

    def attend(self, meeting, when, actor, *, absent=()) -> None:
        """Who came. The meeting must lie in the past first, so the story so far is applied."""
        case = meeting.case
        _backdate(case, self.steps[case.pk])
        meeting.refresh_from_db()
        absent_ids = {unit.pk for unit in absent}
        attended = {
            invitation.pk: invitation.unit_id not in absent_ids
            for invitation in meeting.invitations.all()
        }
        # The story records no answer for relatives and the person: they came all the same.
        services.record_attendance(
            meeting, actor=actor, attended=attended, came_without_answer=attended.keys()
        )
        self._record(case, when)

    def draft(self, case, when, actor, data: services.PlanDraft) -> PlanVersion:
        existing = case.draft_plan()
        draft = services.save_plan_draft(
            case,
            actor=actor,
            expected_version=existing.lock_version if existing else None,
            data=data,
        )
        updates = (
            [] if existing else [(PlanVersion.objects.filter(pk=draft.pk), {"created_at": AT})]
        )
        self._record(case, when, *updates)
        return draft

    def establish(self, case, when, actor, *, follow_up_on: dt.date, **kwargs) -> PlanVersion:
        """The person approves the draft; `follow_up_on` is the date the story gives, which
        _backdate writes when it lies in the past (the draft then carries a date ahead)."""
        draft = case.draft_plan()
        kwargs.setdefault("approved_by", PlanVersion.ApprovedBy.PERSON)
        kwargs.setdefault("approved_by_name", case.person.full_name)
        plan = services.establish_plan(
            case, actor=actor, expected_version=draft.lock_version, **kwargs
        )
        self._record(
            case,
            when,
            (
                PlanVersion.objects.filter(pk=plan.pk),
                {"approved_at": AT, "follow_up_on": follow_up_on},
            ),
        )
        return plan

    def revoke(self, case, when, actor, *, organisations=(), note="") -> None:
        consent = services.revoke_consent(
            case,
            actor=actor,
            expected_version=case.lock_version,
            organisations=list(organisations),
            note=note,
        )
        if organisations:
            scopes = ConsentScope.objects.filter(consent=consent, organisation__in=organisations)
            self._record(case, when, (scopes, {"revoked_at": AT}))
        else:
            self._record(
                case,
                when,
                (Consent.objects.filter(pk=consent.pk), {"revoked_at": AT}),
                (SipCase.objects.filter(pk=case.pk), {"closed_at": AT}),
            )

    def close(self, case, when, actor, reason, note="") -> None:
        services.close_case(
            case, actor=actor, expected_version=case.lock_version, reason=reason, note=note
        )
        self._record(case, when, (SipCase.objects.filter(pk=case.pk), {"closed_at": AT}))

    def finish(self, case: SipCase) -> SipCase:
        _backdate(case, self.steps[case.pk])
        case.refresh_from_db()
        return case

    # Shared shapes -------------------------------------------------------------------------

    def meeting_to_plan(
        self,
        case,
        *,
        actor,
        called: int,
        held: int,
        units,
        data: services.PlanDraft,
        follow_up_on: dt.date,
        duration=60,
        place="",
        related=(),
        answers: Sequence[tuple[User, Unit]] = (),
        absent=(),
        honoured="",
        approved_by=PlanVersion.ApprovedBy.PERSON,
        approved_by_name="",
    ) -> PlanVersion:
        """Call the SIP meeting `called` days ago for `held` days ago, record answers and
        attendance, write the plan at the meeting and have the person approve it."""
        meeting = self.call(
            case,
            self.ago(called, 11),
            actor,
            self.ago(held, 10),
            duration_minutes=duration,
            place=place,
            units=units,
            related_parties=related,
            honoured_preferences=honoured,
        )
        own = [(actor, case.coordinating_unit), (actor, None)]
        for responder, unit in [*own, *answers]:
            self.answer(meeting, self.ago(called - 1, 14), responder, unit, "accepted")
        self.attend(meeting, self.ago(held, 10 + duration // 60, 5), actor, absent=absent)
        # The services refuse a follow-up date in the past; establish() writes the story's date.
        data.follow_up_on = max(follow_up_on, self.day(None, 1))
        self.draft(case, self.ago(held, 12), actor, data)
        return self.establish(
            case,
            self.ago(held, 12, 30),
            actor,
            follow_up_on=follow_up_on,
            approved_by=approved_by,
            approved_by_name=approved_by_name or case.person.full_name,
        )

    def item(self, description, responsible, start, end=None, end_note="", contact=""):
        kwargs = {}
        if isinstance(responsible, Unit):
            kwargs["unit"] = responsible
        elif isinstance(responsible, RelatedParty):
            kwargs["responsible_party"] = responsible
        else:
            kwargs["organisation"] = responsible
        return services.InterventionData(
            description=description,
            contact_name=contact,
            starts_on=start,
            ends_on=end,
            ends_note=end_note,
            **kwargs,
        )

    # The stories ---------------------------------------------------------------------------

    def gunnel(self) -> SipCase:
        """EXAMPLES.md 1: discharge after a hip fracture; the call deadline runs out tomorrow."""
        gunnel = self.person(
            "Gunnel",
            "Åberg",
            age=84,
            birthday=(3, 14),
            serial=242,
            address="Ekvägen 4, 123 40 Sjöstad",
            phone="070-174 06 05",
        )
        daughter = self.party(
            gunnel,
            RelatedParty.Kind.RELATIVE,
            "Birgitta Åberg",
            relation="dotter",
            phone="070-174 06 06",
            may_see=RelatedParty.Sees.PLAN,
        )
        case = self.initiate(
            self.ago(2, 14, 5),
            actor=self.jonas,
            person=gunnel,
            unit=self.ortopeden,
            coordinating_unit=self.vc_centrum,
            coordinator=self.anna,
            kind=SipCase.Kind.DISCHARGE,
            discharge_notice_at=self.ago(2, 13, 40),
            reason="Utskrivningsklar efter operation för höftfraktur. Bor ensam, behöver "
            "hemtjänst och rehabilitering hemma.",
        )
        self.inform(case, self.ago(1, 9, 30), self.anna, note="Informerade Gunnel på avdelningen.")
        self.consent(
            case,
            self.ago(1, 9, 45),
            self.anna,
            [self.region, self.sjostad],
            method=Consent.Method.ORAL,
            documentation="Muntligt samtycke till distriktssköterska Anna Svensson vid besök på "
            "avdelningen; antecknat i journalen samma dag. Dottern Birgitta var med.",
            information_scope="Vårdcentralen och Rehab Centrum (region), biståndshandläggare, "
            "hemtjänst och hemsjukvård (kommun): behov, insatser och planen.",
            valid_until=self.day(None, 180),
        )
        self.prepare(
            case,
            None,
            self.anna,
            {
                "needs_to_discuss": "Dusch och påklädning, gång och fallrisk, nattlig oro, "
                "läkemedel efter operationen.",
                "preferred_place": "Hemma hos Gunnel",
                "preferred_time_of_day": "Förmiddag",
                "max_length_minutes": 45,
                "disturbances": "Hör dåligt: sitt nära, en talar i taget, ingen radio eller TV.",
                "room_needs": "Köksbordet; rollatorn behöver plats.",
                "other_support": "Dottern Birgitta är med.",
            },
            invited=[daughter],
            units=[self.rehab, self.bistand, self.hemtjanst_norr],
        )
        return self.finish(case)

    def elias(self) -> SipCase:
        """EXAMPLES.md 2: a child, two guardians living apart, his own views recorded."""
        elias = self.person(
            "Elias",
            "Lindqvist",
            age=15,
            birthday=(9, 2),
            serial=371,
            address="Sjögatan 18 B, 123 45 Sjöstad",
        )
        mother = self.party(
            elias,
            RelatedParty.Kind.GUARDIAN,
            "Maria Lindqvist",
            relation="mamma",
            phone="070-174 06 07",
            may_see=RelatedParty.Sees.EVERYTHING,
        )
        father = self.party(
            elias,
            RelatedParty.Kind.GUARDIAN,
            "Daniel Karlsson",
            relation="pappa",
            phone="070-174 06 08",
            may_see=RelatedParty.Sees.EVERYTHING,
        )
        coach = self.party(
            elias,
            RelatedParty.Kind.SUPPORT_PERSON,
            "Micke Andersson",
            relation="fotbollstränare",
            may_see=RelatedParty.Sees.MEETINGS,
        )
        case = self.initiate(
            self.ago(50, 10),
            actor=self.emma,
            person=elias,
            unit=self.elevhalsa,
            coordinating_unit=self.soc_barn,
            coordinator=self.lisa,
            reason="Hög frånvaro sedan i våras, ångest inför skoldagen.",
        )
        self.inform(
            case,
            self.ago(48, 15),
            self.lisa,
            guardians_contacted=True,
            child_views="Elias vill gå i skolan men klarar inte hela dagar. Han vill inte att "
            "morfar bjuds in och inte att mötet hålls i skolan. Han vill spela match igen.",
            note="Båda vårdnadshavarna kontaktade var för sig; de bor på olika adresser.",
        )
        self.consent(
            case,
            self.ago(47, 16),
            self.lisa,
            [self.sjostad, self.region, self.school],
            given_by=Consent.GivenBy.GUARDIAN,
            given_by_name="Maria Lindqvist och Daniel Karlsson (vårdnadshavare)",
            information_scope="Skolans, BUP:s och socialtjänstens bedömningar och insatser.",
            valid_until=self.day(self.ago(47), 365),
        )
        self.prepare(
            case,
            self.ago(45, 16),
            self.lisa,
            {
                "needs_to_discuss": "Ångestbehandling, anpassat schema, stöd till familjen.",
                "not_to_invite": "Morfar, på Elias önskan.",
                "preferred_place": "Inte i skolbyggnaden – socialtjänstens lokaler",
                "preferred_time_of_day": "Efter skolan",
                "max_length_minutes": 60,
                "disturbances": "Mammans sambo ska inte vara med.",
                "room_needs": "En paus halvvägs.",
            },
            invited=[mother, father, coach],
            units=[self.bup],
        )
        held = 35
        self.meeting_to_plan(
            case,
            actor=self.lisa,
            called=42,
            held=held,
            units=[self.soc_barn, self.bup, self.elevhalsa],
            related=[mother, father, coach],
            answers=[(self.sofia, self.bup), (self.emma, self.elevhalsa)],
            place="Socialtjänsten, Storgatan 2, rum Ekorren",
            duration=60,
            honoured="Efter skolan, inte i skolan, paus halvvägs.",
            approved_by=PlanVersion.ApprovedBy.GUARDIAN,
            approved_by_name="Maria Lindqvist och Daniel Karlsson",
            follow_up_on=self.day(self.ago(held), 56),
            data=services.PlanDraft(
                needs_today="Ångest inför skoldagen; behöver anpassat schema och en plats att "
                "gå undan; familjen behöver stöd med morgonrutiner i två hem.",
                goals=["Gå i skolan tre dagar i veckan före jullovet.", "Spela match igen."],
                interventions=[
                    self.item(
                        "KBT varje vecka",
                        self.bup,
                        self.day(self.ago(held), 7),
                        self.day(self.ago(held), 7 + 12 * 7),
                        contact="Sofia Berg",
                    ),
                    self.item(
                        "Anpassat schema och ett lugnt rum",
                        self.elevhalsa,
                        self.day(self.ago(held), 1),
                        end_note="Denna termin",
                        contact="Emma Sjö",
                    ),
                    self.item(
                        "Familjesamtal varannan vecka",
                        self.soc_barn,
                        self.day(self.ago(held), 14),
                        end_note="Till uppföljningen",
                        contact="Lisa Holmberg",
                    ),
                    self.item(
                        "Håller Elias kvar i träningen",
                        coach,
                        self.day(self.ago(held)),
                        end_note="Löpande",
                    ),
                ],
                main_responsible_unit=self.soc_barn,
                coordination="Socialtjänsten samordnar; mentor, BUP och socialsekreterare "
                "stämmer av varannan vecka per telefon.",
                cooperation_ends="När Elias går i skolan de flesta dagar och familjen inte "
                "längre behöver stödet.",
                expected_of_person="Komma till BUP; säga till mentorn när en dag blir för mycket.",
                expected_of_relatives="Samma morgonrutin i båda hemmen.",
                attendees=[
                    ("Elias Lindqvist", "personen"),
                    ("Maria Lindqvist", "vårdnadshavare"),
                    ("Daniel Karlsson", "vårdnadshavare"),
                    ("Micke Andersson", "stödperson"),
                    ("Lisa Holmberg", "Socialtjänst barn och familj"),
                    ("Sofia Berg", "BUP"),
                    ("Emma Sjö", "Elevhälsan Strandskolan"),
                ],
            ),
        )
        return self.finish(case)

    def amir(self) -> SipCase:
        """EXAMPLES.md 3: interpreter in Arabic, personligt ombud, consent for twelve months,
        later revoked for Arbetsförmedlingen alone."""
        amir = self.person(
            "Amir",
            "Haddad",
            age=38,
            birthday=(11, 23),
            serial=455,
            address="Lärkgatan 7, 123 47 Sjöstad",
            phone="070-174 06 09",
            preferred_language="arabiska",
            interpreter_language="arabiska",
        )
        ombud = self.party(
            amir,
            RelatedParty.Kind.PERSONLIGT_OMBUD,
            "Kerstin Ström",
            relation="personligt ombud, Sjöstads kommun",
            phone="070-174 06 11",
            may_see=RelatedParty.Sees.EVERYTHING,
        )
        sister = self.party(
            amir,
            RelatedParty.Kind.RELATIVE,
            "Leila Haddad",
            relation="syster",
            may_see=RelatedParty.Sees.PLAN,
        )
        case = self.initiate(
            self.ago(80, 13),
            actor=self.maria,
            person=amir,
            unit=self.psykiatri,
            coordinator=self.maria,
            initiated_by=SipCase.InitiatedBy.PERSON,
            initiator_name="Amir Haddad, med stöd av sitt personliga ombud",
            reason="Efter slutenvård i psykiatrin: boende, läkemedel, inkomst och arbete.",
        )
        self.inform(
            case,
            self.ago(78, 10),
            self.maria,
            note="Med tolk på arabiska; skriftligt på svenska och arabiska.",
        )
        consented = self.ago(76, 11)
        self.consent(
            case,
            consented,
            self.maria,
            [self.region, self.sjostad, self.fk, self.af],
            information_scope="Psykiatrisk öppenvård, boendestöd, Försäkringskassan och "
            "Arbetsförmedlingen: behov, insatser, sjukskrivning och planen.",
            exclusions="Tidigare dom och kontakter med Kriminalvården. Kriminalvården ska inte "
            "bjudas in.",
            valid_until=self.day(consented, 365),
        )
        self.prepare(
            case,
            self.ago(74, 10),
            self.maria,
            {
                "needs_to_discuss": "Boendestöd, läkemedel, inkomst under sjukskrivning, väg "
                "tillbaka till arbete.",
                "not_to_invite": "Kriminalvården.",
                "preferred_place": "Psykiatrisk öppenvård, samtalsrum 2",
                "preferred_time_of_day": "Förmiddag",
                "max_length_minutes": 90,
                "other_support": "Skriftligt material på svenska och arabiska där det går.",
            },
            invited=[ombud, sister],
            units=[self.boendestod, self.fk_office, self.af_office],
        )
        held = 62
        plan_day = self.day(self.ago(held))
        self.meeting_to_plan(
            case,
            actor=self.maria,
            called=70,
            held=held,
            units=[self.psykiatri, self.boendestod, self.fk_office, self.af_office],
            related=[ombud, sister],
            answers=[
                (self.ahmed, self.boendestod),
                (self.olof, self.fk_office),
                (self.nina, self.af_office),
            ],
            place="Psykiatrisk öppenvård, samtalsrum 2",
            duration=90,
            honoured="Tolk på arabiska bokad; kallelsen på svenska och arabiska.",
            follow_up_on=plan_day + dt.timedelta(days=91),
            data=services.PlanDraft(
                needs_today="Stabilt boendestöd, uppföljning av läkemedel, inkomst under "
                "sjukskrivningen, en väg tillbaka till arbete.",
                goals=["Ha en egen lägenhet om ett år.", "Jobba deltid igen."],
                interventions=[
                    self.item(
                        "Läkemedelsuppföljning varje månad",
                        self.psykiatri,
                        plan_day,
                        end_note="Tills vidare",
                        contact="Maria Ek",
                    ),
                    self.item(
                        "Boendestöd två gånger i veckan",
                        self.boendestod,
                        plan_day,
                        plan_day + dt.timedelta(days=180),
                        contact="Ahmed Yusuf",
                    ),
                    self.item(
                        "Beslut om sjukpenning och avstämningsmöte",
                        self.fk_office,
                        plan_day,
                        plan_day + dt.timedelta(days=60),
                        contact="Olof Fager",
                    ),
                    self.item(
                        "Kartläggning inför arbetslivsinriktad rehabilitering",
                        self.af_office,
                        plan_day + dt.timedelta(days=90),
                        end_note="Efter kartläggningen",
                        contact="Nina Aho",
                    ),
                    self.item(
                        "Hjälper till med brev och myndighetskontakter",
                        ombud,
                        plan_day,
                        end_note="Så länge Amir vill",
                    ),
                ],
                main_responsible_unit=self.psykiatri,
                coordination="Psykiatrisk öppenvård samordnar; alla aktörer stämmer av "
                "en gång i månaden med Amir och hans ombud.",
                cooperation_ends="När Amir har eget boende och arbetar deltid.",
                expected_of_person="Komma till läkemedelsuppföljningen; höra av sig när det "
                "blir svårt.",
                expected_of_relatives="Systern följer med till mötena när Amir vill.",
                attendees=[
                    ("Amir Haddad", "personen"),
                    ("Kerstin Ström", "personligt ombud"),
                    ("Leila Haddad", "syster"),
                    ("Maria Ek", "Psykiatrisk öppenvård"),
                    ("Ahmed Yusuf", "Boendestöd"),
                    ("Olof Fager", "Försäkringskassan"),
                    ("Nina Aho", "Arbetsförmedlingen"),
                ],
            ),
        )
        self.revoke(
            case,
            self.ago(3, 14),
            self.maria,
            organisations=[self.af],
            note="Amir återkallar samtycket för Arbetsförmedlingen, muntligt vid besök; "
            "dokumenterat. Övriga aktörer fortsätter.",
        )
        return self.finish(case)

    def sara(self) -> SipCase:
        """Skyddad folkbokföring: no address is stored; post goes via Skatteverket."""
        sara = self.person(
            "Sara",
            "Nordin",
            age=41,
            birthday=(6, 30),
            serial=562,
            protection=Person.Protection.SKYDDAD_FOLKBOKFORING,
        )
        case = self.initiate(
            self.ago(6, 10),
            actor=self.maria,
            person=sara,
            unit=self.psykiatri,
            coordinator=self.maria,
            reason="Behöver samordnat stöd från psykiatri och socialtjänst.",
        )
        self.inform(case, self.ago(5, 10), self.maria)
        self.consent(case, self.ago(4, 11), self.maria, [self.region, self.sjostad])
        self.add_unit(case, self.ago(4, 11, 10), self.maria, self.soc_vuxen)
        return self.finish(case)

    def yonas(self) -> SipCase:
        """Only a samordningsnummer (day + 60); interpreter in Tigrinya."""
        yonas = self.person(
            "Yonas",
            "Tesfay",
            age=27,
            birthday=(1, 9),
            serial=673,
            coordination=True,
            preferred_language="tigrinja",
            interpreter_language="tigrinja",
        )
        case = self.initiate(
            self.ago(3, 9),
            actor=self.anna,
            person=yonas,
            unit=self.vc_centrum,
            coordinator=self.anna,
            reason="Diabetes och svårigheter i boendet; behöver stöd från vården och kommunen.",
        )
        self.inform(case, self.ago(1, 13), self.anna, note="Med tolk på tigrinja per telefon.")
        return self.finish(case)

    def bertil(self) -> SipCase:
        """A god man acts within his mandate; one called unit has not answered yet."""
        bertil = self.person(
            "Bertil",
            "Sandberg",
            age=81,
            birthday=(5, 5),
            serial=713,
            address="Björkallén 12, 123 41 Sjöstad",
        )
        god_man = self.party(
            bertil,
            RelatedParty.Kind.GOD_MAN,
            "Gösta Lund",
            phone="070-174 06 12",
            mandate="Bevaka rätt, förvalta egendom och sörja för person.",
            may_see=RelatedParty.Sees.EVERYTHING,
        )
        case = self.initiate(
            self.ago(20, 10),
            actor=self.karin,
            person=bertil,
            unit=self.bistand,
            coordinator=self.karin,
            reason="Minnessvikt; har fallit två gånger; hemtjänst från privat utförare.",
        )
        self.inform(case, self.ago(19, 10), self.karin, note="Bertil och hans gode man.")
        self.consent(
            case,
            self.ago(17, 14),
            self.karin,
            [self.sjostad, self.region, self.provider],
            given_by=Consent.GivenBy.LEGAL_REPRESENTATIVE,
            given_by_name="Gösta Lund (god man)",
        )
        self.prepare(
            case,
            self.ago(15, 10),
            self.karin,
            {
                "needs_to_discuss": "Fallrisk, läkemedel, hemtjänstens tider.",
                "preferred_place": "Hemma hos Bertil",
                "preferred_time_of_day": "Förmiddag",
                "max_length_minutes": 45,
                "disturbances": "Blir trött efter en halvtimme.",
            },
            invited=[god_man],
            units=[self.vc_centrum, self.hemtjanst_vaster],
        )
        meeting = self.call(
            case,
            self.ago(12, 11),
            self.karin,
            self.ahead(4, 10),
            duration_minutes=45,
            place="Hemma hos Bertil, Björkallén 12",
            units=[self.bistand, self.vc_centrum, self.hemtjanst_vaster],
            related_parties=[god_man],
            honoured_preferences="Förmiddag, hemma, högst 45 minuter.",
        )
        self.answer(meeting, self.ago(11, 9), self.anna, self.vc_centrum, "accepted")
        return self.finish(case)

    def rolf(self) -> SipCase:
        """Declines a SIP: the case closes, his care goes on."""
        rolf = self.person(
            "Rolf",
            "Magnusson",
            age=67,
            birthday=(8, 19),
            serial=821,
            address="Hamnvägen 3, 123 42 Sjöstad",
        )
        case = self.initiate(
            self.ago(21, 10),
            actor=self.anna,
            person=rolf,
            unit=self.vc_centrum,
            coordinator=self.anna,
            reason="KOL och hjärtsvikt; hemsjukvård och hemtjänst aktuellt.",
        )
        self.inform(case, self.ago(20, 10), self.anna)
        self.decline(
            case,
            self.ago(18, 15),
            self.anna,
            method=Consent.Method.ORAL,
            given_by=Consent.GivenBy.PERSON,
            given_by_name="Rolf Magnusson",
            documentation="Rolf avböjde muntligt i telefon; antecknat i journalen. Han vet att "
            "han kan ta upp frågan igen, och vården fortsätter som förut.",
        )
        return self.finish(case)

    def _home_care_plan(self, person_name, main_unit, start, extra_units=()) -> services.PlanDraft:
        return services.PlanDraft(
            needs_today="Klarar inte att duscha själv; ostadig gång; orolig för att falla på "
            "natten.",
            goals=[
                "Jag vill kunna gå till affären själv till sommaren.",
                "Jag vill sova hemma, inte på korttids.",
            ],
            interventions=[
                self.item(
                    "Hemtjänst morgon och kväll",
                    self.hemtjanst_norr,
                    start,
                    end_note="Ses över om tre månader",
                    contact="Lena Berg",
                ),
                self.item(
                    "Gångträning två gånger i veckan",
                    self.rehab,
                    start,
                    start + dt.timedelta(weeks=8),
                    contact="Per Holm",
                ),
                self.item(
                    "Trygghetslarm och nattillsyn", self.sjostad, start, end_note="Tills vidare"
                ),
                self.item(
                    "Läkemedelsgenomgång",
                    self.vc_centrum,
                    start,
                    start + dt.timedelta(weeks=2),
                    contact="Distriktsläkare",
                ),
                *extra_units,
            ],
            main_responsible_unit=main_unit,
            coordination="Den med huvudansvar samordnar; veckovis avstämning per telefon med "
            "hemtjänst och rehab.",
            cooperation_ends="När hemtjänst ensam räcker.",
            expected_of_person="Gå med rollatorn varje dag; larma när något händer.",
            expected_of_relatives="Dottern handlar varje vecka tills hon klarar det själv.",
            attendees=[(person_name, "personen"), ("Lena Berg", "Hemtjänst Norr")],
        )

    def lars(self) -> SipCase:
        """Closed because the goals were reached, after a follow-up."""
        lars = self.person(
            "Lars",
            "Persson",
            age=58,
            birthday=(2, 11),
            serial=931,
            address="Tallstigen 9, 123 43 Sjöstad",
        )
        case = self.initiate(
            self.ago(160, 10),
            actor=self.per,
            person=lars,
            unit=self.rehab,
            coordinating_unit=self.vc_centrum,
            coordinator=self.anna,
            reason="Stroke i vintras; rehabilitering hemma och hemtjänst.",
        )
        self.inform(case, self.ago(158, 10), self.anna)
        self.consent(case, self.ago(157, 10), self.anna, [self.region, self.sjostad])
        self.prepare(
            case,
            self.ago(155, 10),
            self.anna,
            {"preferred_place": "Vårdcentral Centrum", "max_length_minutes": 60},
            units=[self.hemtjanst_norr],
        )
        held = 143
        self.meeting_to_plan(
            case,
            actor=self.anna,
            called=150,
            held=held,
            units=[self.vc_centrum, self.rehab, self.hemtjanst_norr],
            answers=[(self.per, self.rehab), (self.lena, self.hemtjanst_norr)],
            place="Vårdcentral Centrum, konferensrummet",
            follow_up_on=self.day(self.ago(held), 42),
            data=self._home_care_plan("Lars Persson", self.vc_centrum, self.day(self.ago(held))),
        )
        follow_up = self.call(
            case,
            self.ago(105, 9),
            self.anna,
            self.ago(101, 10),
            follow_up=True,
            duration_minutes=45,
            place="Vårdcentral Centrum, konferensrummet",
            units=[self.vc_centrum, self.rehab, self.hemtjanst_norr],
        )
        self.attend(follow_up, self.ago(101, 11), self.anna)
        self.close(
            case,
            self.ago(100, 9),
            self.anna,
            SipCase.ClosingReason.GOALS_REACHED,
            note="Lars går till affären själv och klarar sig med hemtjänst en gång i veckan. "
            "Målen är nådda, säger han själv.",
        )
        return self.finish(case)

    def maj_britt(self) -> SipCase:
        """A plan whose follow-up date passed two weeks ago without a follow-up."""
        maj_britt = self.person(
            "Maj-Britt",
            "Holm",
            age=77,
            birthday=(10, 1),
            serial=114,
            address="Kvarngatan 22, 123 44 Sjöstad",
        )
        case = self.initiate(
            self.ago(90, 10),
            actor=self.karin,
            person=maj_britt,
            unit=self.bistand,
            coordinator=self.karin,
            reason="Höftfraktur i höstas; bor ensam.",
        )
        self.inform(case, self.ago(89, 10), self.karin)
        self.consent(case, self.ago(88, 10), self.karin, [self.sjostad, self.region])
        self.prepare(
            case,
            self.ago(86, 10),
            self.karin,
            {"preferred_place": "Hemma", "max_length_minutes": 60},
            units=[self.vc_centrum, self.rehab, self.hemtjanst_norr, self.hemsjukvard],
        )
        held = 77
        self.meeting_to_plan(
            case,
            actor=self.karin,
            called=84,
            held=held,
            units=[self.bistand, self.vc_centrum, self.rehab, self.hemtjanst_norr],
            answers=[(self.anna, self.vc_centrum), (self.per, self.rehab)],
            absent=[self.rehab],
            place="Hemma hos Maj-Britt",
            follow_up_on=self.day(None, -14),
            data=self._home_care_plan("Maj-Britt Holm", self.bistand, self.day(self.ago(held))),
        )
        return self.finish(case)

    def stefan(self) -> SipCase:
        """The meeting should have been called three days ago."""
        stefan = self.person(
            "Stefan",
            "Wallin",
            age=52,
            birthday=(12, 12),
            serial=225,
            address="Parkvägen 1, 123 46 Sjöstad",
        )
        case = self.initiate(
            self.ago(13, 10),
            actor=self.anna,
            person=stefan,
            unit=self.vc_centrum,
            coordinator=self.anna,
            reason="Alkoholberoende och leverskada; socialtjänst och vård behöver samordnas.",
        )
        self.inform(case, self.ago(12, 14), self.anna)
        return self.finish(case)

    def noor(self) -> SipCase:
        """Follow-up called: a new draft version waits beside the valid plan."""
        noor = self.person(
            "Noor",
            "Ali",
            age=34,
            birthday=(4, 17),
            serial=336,
            address="Granvägen 5, 123 48 Sjöstad",
        )
        case = self.initiate(
            self.ago(200, 10),
            actor=self.maria,
            person=noor,
            unit=self.psykiatri,
            coordinator=self.maria,
            reason="Bipolär sjukdom; behöver boendestöd efter flytt.",
        )
        self.inform(case, self.ago(198, 10), self.maria)
        self.consent(case, self.ago(197, 10), self.maria, [self.region, self.sjostad])
        self.prepare(
            case,
            self.ago(195, 10),
            self.maria,
            {"preferred_time_of_day": "Eftermiddag", "max_length_minutes": 60},
            units=[self.boendestod],
        )
        held = 180
        plan_day = self.day(self.ago(held))
        follow_up_day = self.day(None, 7)
        self.meeting_to_plan(
            case,
            actor=self.maria,
            called=190,
            held=held,
            units=[self.psykiatri, self.boendestod],
            answers=[(self.ahmed, self.boendestod)],
            place="Psykiatrisk öppenvård",
            follow_up_on=follow_up_day,
            data=services.PlanDraft(
                needs_today="Stöd att hålla ordning i hemmet och på ekonomin; regelbunden "
                "läkemedelsuppföljning.",
                goals=["Bo kvar i lägenheten.", "Betala räkningarna i tid."],
                interventions=[
                    self.item(
                        "Boendestöd en gång i veckan",
                        self.boendestod,
                        plan_day,
                        end_note="Till uppföljningen",
                        contact="Ahmed Yusuf",
                    ),
                    self.item(
                        "Läkemedelsuppföljning",
                        self.psykiatri,
                        plan_day,
                        end_note="Tills vidare",
                        contact="Maria Ek",
                    ),
                ],
                main_responsible_unit=self.psykiatri,
                coordination="Psykiatrin samordnar; boendestödet hör av sig vid oro.",
                cooperation_ends="När Noor klarar boendet på egen hand.",
                expected_of_person="Öppna för boendestödet; ta läkemedlen.",
                attendees=[("Noor Ali", "personen"), ("Ahmed Yusuf", "Boendestöd")],
            ),
        )
        self.call(
            case,
            self.ago(7, 10),
            self.maria,
            self.ahead(7, 14),
            follow_up=True,
            duration_minutes=60,
            place="Psykiatrisk öppenvård",
            units=[self.psykiatri, self.boendestod],
        )
        return self.finish(case)

    def olle(self) -> SipCase:
        """A relative took the initiative today."""
        olle = self.person(
            "Olle",
            "Berglund",
            age=72,
            birthday=(7, 7),
            serial=447,
            address="Skogsbrynet 2, 123 49 Sjöstad",
        )
        case = self.initiate(
            None,
            actor=self.karin,
            person=olle,
            unit=self.bistand,
            coordinator=self.karin,
            initiated_by=SipCase.InitiatedBy.RELATIVE,
            initiator_name="Thomas Berglund (son)",
            reason="Sonen ringde: Olle klarar sig allt sämre hemma efter sin Parkinsondiagnos.",
        )
        return self.finish(case)

    def fatima(self) -> SipCase:
        """The person asked for a SIP herself."""
        fatima = self.person(
            "Fatima",
            "Hassan",
            age=45,
            birthday=(3, 3),
            serial=552,
            address="Solgatan 11, 123 50 Sjöstad",
            interpreter_language="somaliska",
            preferred_language="somaliska",
        )
        case = self.initiate(
            self.ago(1, 10),
            actor=self.anna,
            person=fatima,
            unit=self.vc_centrum,
            coordinator=self.anna,
            initiated_by=SipCase.InitiatedBy.PERSON,
            initiator_name="Fatima Hassan",
            reason="Långvarig smärta; behöver hjälp i hemmet och med sin son som har LSS-insatser.",
        )
        return self.finish(case)

    def ingrid(self) -> SipCase:
        ingrid = self.person(
            "Ingrid",
            "Lundgren",
            age=89,
            birthday=(1, 28),
            serial=661,
            address="Kyrkvägen 8, 123 51 Sjöstad",
        )
        case = self.initiate(
            self.ago(4, 10),
            actor=self.karin,
            person=ingrid,
            unit=self.bistand,
            coordinator=self.karin,
            reason="Synnedsättning och tilltagande minnessvårigheter.",
        )
        self.inform(case, self.ago(2, 11), self.karin)
        return self.finish(case)

    def jonna(self) -> SipCase:
        """Försäkringskassan and Arbetsförmedlingen take part."""
        jonna = self.person(
            "Jonna",
            "Åkesson",
            age=24,
            birthday=(5, 21),
            serial=778,
            address="Norra vägen 30, 123 52 Sjöstad",
        )
        case = self.initiate(
            self.ago(25, 10),
            actor=self.maria,
            person=jonna,
            unit=self.psykiatri,
            coordinator=self.maria,
            reason="ADHD och depression; sjukskriven, vill tillbaka till studier eller arbete.",
        )
        self.inform(case, self.ago(24, 10), self.maria)
        self.consent(
            case, self.ago(22, 10), self.maria, [self.region, self.sjostad, self.fk, self.af]
        )
        self.prepare(
            case,
            self.ago(20, 10),
            self.maria,
            {"preferred_time_of_day": "Efter lunch", "max_length_minutes": 60},
            units=[self.fk_office, self.af_office, self.soc_vuxen],
        )
        meeting = self.call(
            case,
            self.ago(10, 11),
            self.maria,
            self.ahead(6, 13),
            duration_minutes=60,
            place="Psykiatrisk öppenvård, samtalsrum 1",
            video_link="https://video.exempel.invalid/sip-jonna",
            units=[self.psykiatri, self.fk_office, self.af_office, self.soc_vuxen],
        )
        self.answer(meeting, self.ago(9, 9), self.olof, self.fk_office, "accepted")
        self.answer(meeting, self.ago(9, 10), self.nina, self.af_office, "accepted")
        return self.finish(case)

    def erik(self) -> SipCase:
        """A SIP in Norrvik: the Sjöstad staff do not see it."""
        erik = self.person(
            "Erik",
            "Sjöberg",
            age=31,
            birthday=(9, 14),
            serial=884,
            address="Strandvägen 4, 124 10 Norrvik",
        )
        case = self.initiate(
            self.ago(60, 10),
            actor=self.henrik,
            person=erik,
            unit=self.soc_norrvik,
            coordinator=self.henrik,
            reason="Autism; behöver stöd i vardagen och hjälp med sin diabetes.",
        )
        self.inform(case, self.ago(58, 10), self.henrik)
        self.consent(case, self.ago(57, 10), self.henrik, [self.norrvik, self.region])
        self.prepare(
            case,
            self.ago(55, 10),
            self.henrik,
            {
                "preferred_place": "Hemma",
                "max_length_minutes": 45,
                "picture_support": True,
                "disturbances": "Oväntade besökare; starkt ljus.",
            },
            units=[self.vc_norrvik, self.hemtjanst_norrvik],
        )
        held = 40
        plan_day = self.day(self.ago(held))
        self.meeting_to_plan(
            case,
            actor=self.henrik,
            called=48,
            held=held,
            units=[self.soc_norrvik, self.vc_norrvik, self.hemtjanst_norrvik],
            place="Hemma hos Erik",
            duration=45,
            follow_up_on=self.day(None, 30),
            data=services.PlanDraft(
                needs_today="Struktur i vardagen; stöd med blodsockerkontroller.",
                goals=["Laga middag själv tre dagar i veckan."],
                interventions=[
                    self.item(
                        "Hemtjänst med bildstöd för matlagning",
                        self.hemtjanst_norrvik,
                        plan_day,
                        end_note="Ses över vid uppföljningen",
                    ),
                    self.item(
                        "Diabetessköterska varannan vecka",
                        self.vc_norrvik,
                        plan_day,
                        plan_day + dt.timedelta(days=90),
                    ),
                ],
                main_responsible_unit=self.soc_norrvik,
                coordination="Socialtjänsten samordnar med veckoschema i bildstöd.",
                cooperation_ends="När Erik har en fungerande vardag med enbart hemtjänst.",
                expected_of_person="Använda veckoschemat.",
                attendees=[("Erik Sjöberg", "personen"), ("Henrik Ödman", "Socialtjänst")],
            ),
        )
        return self.finish(case)

    def linnea(self) -> SipCase:
        """A child with one guardian, in follow-up."""
        linnea = self.person(
            "Linnea",
            "Ahmadi",
            age=16,
            birthday=(2, 20),
            serial=995,
            address="Björkgatan 3, 123 53 Sjöstad",
        )
        mother = self.party(
            linnea,
            RelatedParty.Kind.GUARDIAN,
            "Shirin Ahmadi",
            relation="mamma, ensam vårdnadshavare",
            may_see=RelatedParty.Sees.EVERYTHING,
        )
        case = self.initiate(
            self.ago(150, 10),
            actor=self.sofia,
            person=linnea,
            unit=self.bup,
            coordinating_unit=self.soc_barn,
            coordinator=self.lisa,
            reason="Ätstörning; skolan och familjen behöver stöd.",
        )
        self.inform(
            case,
            self.ago(148, 10),
            self.lisa,
            guardians_contacted=True,
            child_views="Linnea vill att mötena är korta och att hon får säga sitt först.",
        )
        self.consent(
            case,
            self.ago(147, 10),
            self.lisa,
            [self.sjostad, self.region, self.school],
            given_by=Consent.GivenBy.GUARDIAN,
            given_by_name="Shirin Ahmadi (vårdnadshavare)",
        )
        self.prepare(
            case,
            self.ago(145, 10),
            self.lisa,
            {"max_length_minutes": 45, "preferred_time_of_day": "Eftermiddag"},
            invited=[mother],
            units=[self.elevhalsa],
        )
        held = 120
        plan_day = self.day(self.ago(held))
        self.meeting_to_plan(
            case,
            actor=self.lisa,
            called=130,
            held=held,
            units=[self.soc_barn, self.bup, self.elevhalsa],
            related=[mother],
            answers=[(self.sofia, self.bup), (self.emma, self.elevhalsa)],
            place="BUP, mottagningen",
            duration=45,
            approved_by=PlanVersion.ApprovedBy.GUARDIAN,
            approved_by_name="Shirin Ahmadi",
            follow_up_on=self.day(None, 10),
            data=services.PlanDraft(
                needs_today="Behandling för ätstörning; lugna måltider i skolan.",
                goals=["Äta lunch i skolan varje dag.", "Orka träna dans igen."],
                interventions=[
                    self.item(
                        "Behandling på BUP varje vecka",
                        self.bup,
                        plan_day,
                        end_note="Tills vidare",
                        contact="Sofia Berg",
                    ),
                    self.item(
                        "Lunch i lugn miljö med elevhälsan",
                        self.elevhalsa,
                        plan_day,
                        end_note="Läsåret ut",
                        contact="Emma Sjö",
                    ),
                ],
                main_responsible_unit=self.bup,
                coordination="BUP och elevhälsan stämmer av varje vecka.",
                cooperation_ends="När Linnea äter regelbundet utan stöd.",
                expected_of_person="Komma till behandlingen.",
                expected_of_relatives="Mamma stöttar måltiderna hemma.",
                attendees=[("Linnea Ahmadi", "personen"), ("Shirin Ahmadi", "vårdnadshavare")],
            ),
        )
        self.call(
            case,
            self.ago(5, 10),
            self.lisa,
            self.ahead(10, 15),
            follow_up=True,
            duration_minutes=45,
            place="BUP, mottagningen",
            units=[self.soc_barn, self.bup, self.elevhalsa],
            related_parties=[mother],
        )
        return self.finish(case)

    def peter(self) -> SipCase:
        """Revokes the whole consent: the SIP closes, nothing recorded is lost."""
        peter = self.person(
            "Peter",
            "Johansson",
            age=46,
            birthday=(10, 30),
            serial=117,
            address="Ängsvägen 6, 123 54 Sjöstad",
        )
        case = self.initiate(
            self.ago(70, 10),
            actor=self.maria,
            person=peter,
            unit=self.psykiatri,
            coordinator=self.maria,
            reason="Schizofreni; boendestöd och psykiatri.",
        )
        self.inform(case, self.ago(68, 10), self.maria)
        self.consent(case, self.ago(66, 10), self.maria, [self.region, self.sjostad])
        self.prepare(
            case, self.ago(64, 10), self.maria, {"max_length_minutes": 60}, units=[self.boendestod]
        )
        self.revoke(
            case,
            self.ago(60, 15),
            self.maria,
            note="Peter vill inte längre ha en SIP. Vården och boendestödet fortsätter.",
        )
        return self.finish(case)

    def agnes(self) -> SipCase:
        """Closed because she moved to another kommun."""
        agnes = self.person(
            "Agnes",
            "Falk",
            age=93,
            birthday=(6, 6),
            serial=228,
            address="Vallgatan 15, 123 55 Sjöstad",
        )
        case = self.initiate(
            self.ago(120, 10),
            actor=self.karin,
            person=agnes,
            unit=self.bistand,
            coordinator=self.karin,
            reason="Hjärtsvikt och synnedsättning; hemtjänst och hemsjukvård.",
        )
        self.inform(case, self.ago(119, 10), self.karin)
        self.consent(case, self.ago(118, 10), self.karin, [self.sjostad, self.region])
        self.prepare(
            case,
            self.ago(116, 10),
            self.karin,
            {"max_length_minutes": 45},
            units=[self.hemsjukvard, self.hemtjanst_norr],
        )
        held = 100
        self.meeting_to_plan(
            case,
            actor=self.karin,
            called=110,
            held=held,
            units=[self.bistand, self.hemsjukvard, self.hemtjanst_norr],
            answers=[(self.ulla, self.hemsjukvard), (self.lena, self.hemtjanst_norr)],
            place="Hemma hos Agnes",
            duration=45,
            follow_up_on=self.day(self.ago(held), 60),
            data=self._home_care_plan("Agnes Falk", self.bistand, self.day(self.ago(held))),
        )
        self.close(
            case,
            self.ago(30, 10),
            self.karin,
            SipCase.ClosingReason.MOVED,
            note="Agnes har flyttat till sin dotter i Åsby kommun. Hon tar själv upp en ny SIP "
            "där om hon vill.",
        )
        return self.finish(case)

    def hanna(self) -> SipCase:
        """Preparation with picture support and an assistant."""
        hanna = self.person(
            "Hanna",
            "Eriksson",
            age=19,
            birthday=(8, 8),
            serial=339,
            address="Rosengatan 2, 123 56 Sjöstad",
        )
        case = self.initiate(
            self.ago(8, 10),
            actor=self.karin,
            person=hanna,
            unit=self.bistand,
            coordinator=self.karin,
            reason="Intellektuell funktionsnedsättning; flyttar till egen lägenhet med stöd.",
        )
        self.inform(case, self.ago(7, 10), self.karin, note="Med bildstöd.")
        self.consent(case, self.ago(6, 10), self.karin, [self.sjostad, self.region])
        self.prepare(
            case,
            self.ago(5, 10),
            self.karin,
            {
                "needs_to_discuss": "Boendestöd i nya lägenheten; kontakt med habiliteringen.",
                "preferred_place": "Daglig verksamhet, eget rum",
                "preferred_time_of_day": "Förmiddag",
                "max_length_minutes": 30,
                "disturbances": "Många människor samtidigt; starkt ljus.",
                "picture_support": True,
                "assistant": True,
            },
            units=[self.boendestod, self.habilitering, self.vc_centrum],
        )
        return self.finish(case)

    def mikael(self) -> SipCase:
        """Sekretessmarkering: flagged, address kept but reviewed before anything is released."""
        mikael = self.person(
            "Mikael",
            "Roos",
            age=33,
            birthday=(11, 11),
            serial=449,
            address="Industrigatan 40, 123 57 Sjöstad",
            protection=Person.Protection.SEKRETESSMARKERING,
        )
        case = self.initiate(
            self.ago(9, 10),
            actor=self.anna,
            person=mikael,
            unit=self.vc_centrum,
            coordinator=self.anna,
            reason="Långvarig sjukskrivning och ekonomiska svårigheter.",
        )
        self.inform(case, self.ago(8, 10), self.anna)
        self.consent(case, self.ago(7, 10), self.anna, [self.region, self.sjostad, self.fk])
        return self.finish(case)

    STORIES = (
        "gunnel",
        "elias",
        "amir",
        "sara",
        "yonas",
        "bertil",
        "rolf",
        "lars",
        "maj_britt",
        "stefan",
        "noor",
        "olle",
        "fatima",
        "ingrid",
        "jonna",
        "erik",
        "linnea",
        "peter",
        "agnes",
        "hanna",
        "mikael",
    )

    def load(self) -> dict[str, int]:
        with transaction.atomic():
            self.build_directory()
            for story in self.STORIES:
                getattr(self, story)()
        return summary()


def is_loaded() -> bool:
    return Organisation.objects.exists()


def summary() -> dict[str, int]:
    counts = {
        "organisations": Organisation.objects.count(),
        "units": Unit.objects.count(),
        "staff": User.objects.filter(assignments__isnull=False).distinct().count(),
        "persons": Person.objects.count(),
        "cases": SipCase.objects.count(),
    }
    for state in State:
        counts[state.value] = SipCase.objects.filter(state=state).count()
    return counts


def demo_logins() -> list[dict[str, str]]:
    """One row per active assignment of each demo login, and the administrator."""
    now = timezone.now()
    users = User.objects.filter(username__in=DEMO_USERNAMES, is_active=True)
    rows = []
    for user in sorted(users, key=lambda user: DEMO_USERNAMES.index(user.username)):
        assignments = (
            Assignment.objects.active(now).filter(user=user).select_related("unit__organisation")
        )
        for assignment in sorted(assignments, key=lambda assignment: assignment.unit.name):
            rows.append(
                {
                    "username": user.username,
                    "name": user.get_full_name(),
                    "where": f"{assignment.unit.name}, {assignment.unit.organisation.name}",
                    "role": assignment.role,
                }
            )
        if user.is_superuser:
            rows.append(
                {
                    "username": user.username,
                    "name": user.get_full_name(),
                    "where": "Django admin, /admin/",
                    "role": "superuser",
                }
            )
    return rows
