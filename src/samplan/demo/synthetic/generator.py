"""The generator: a directory of organisations, units and staff, then every case along the
transition table with what each step leaves behind."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from samplan.cases.models import (
    Attendee,
    CaseEvent,
    CaseMessage,
    Consent,
    ConsentScope,
    Goal,
    Intervention,
    Invitation,
    Meeting,
    MessageAcknowledgement,
    MessageRead,
    Participant,
    PlanVersion,
    Preparation,
    SipCase,
    State,
)
from samplan.directory.models import Assignment, Organisation, Unit, User
from samplan.directory.validators import luhn_ok
from samplan.people.identity import make_identity_number
from samplan.people.models import Person, RelatedParty

from ..county import PASSWORD
from .rows import KEYED, TABLES, CaseRelatedParty, _Rows, _weighted
from .vocabulary import (
    BATCH,
    CLOSING_WEIGHTS,
    COORDINATING_KINDS,
    FAMILY_NAMES,
    GAPS,
    GIVEN_NAMES,
    INTERVENTIONS,
    LANGUAGES,
    MESSAGES,
    PATH,
    PLACE_ENDS,
    PLACE_PARTS,
    PROFILES,
    REGION_PREFIX,
    STATE_WEIGHTS,
    STEPS_TO,
    STREETS,
    Kind,
    Profile,
    Reason,
    Role,
)


@dataclass
class _Directory:
    tag: int
    # per area (one per kommun): unit kind -> the units of that kind serving the area
    areas: list[dict[str, list[Unit]]] = field(default_factory=list)
    coordinator_of: dict[int, User] = field(default_factory=dict)  # unit id -> user
    participant_of: dict[int, User] = field(default_factory=dict)
    wards: list[Unit] = field(default_factory=list)
    kind_of: dict[int, str] = field(default_factory=dict)  # unit id -> unit kind


@dataclass
class _Case:
    """What one synthetic case is, and the keys of its rows so far."""

    profile: Profile
    coordinating: Unit
    others: list[Unit]
    state: str
    closing: str
    minor: bool
    discharge: bool
    person_id: int = 0
    person_name: str = ""
    family_name: str = ""
    interpreter: str = ""
    case_id: int = 0
    guardian_ids: list[int] = field(default_factory=list)
    moments: list[dt.datetime] = field(default_factory=list)
    reached: int = 0  # steps along PATH taken, not counting a closing step
    coordinator: User | None = None
    initiating: Unit | None = None
    initiator: User | None = None


class CountyGenerator:
    def __init__(self, cases: int, seed: int = 1, batch_size: int = BATCH, log=None):
        if cases < 1:
            raise ValueError("cases must be at least 1")
        self.cases = cases
        self.rng = random.Random(seed)
        # Messages and proposals draw from their own generator, so that adding them left every
        # other row, and so the benchmark's coordinator and case, as they were.
        self.extra_rng = random.Random(f"{seed}-extras")
        self.batch_size = batch_size
        self.log: Callable[[str], None] = log or (lambda message: None)
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.rows = 0
        self.tables = {model: _Rows(model, self.now, keyed=model in KEYED) for model in TABLES}

    def generate(self) -> dict:
        started = time.monotonic()
        with transaction.atomic():
            directory = self.build_directory()
        identity = self._identity_numbers()
        for table in self.tables.values():
            if table.keyed:
                table.start_keys()
        made = 0
        try:
            while made < self.cases:
                size = min(self.batch_size, self.cases - made)
                with transaction.atomic():
                    for _ in range(size):
                        self._case(directory, identity)
                    for table in self.tables.values():
                        self.rows += table.write(connection)
                made += size
                self.log(f"cases: {made}/{self.cases} ({time.monotonic() - started:.0f} s)")
        finally:
            self._reset_sequences()
        seconds = time.monotonic() - started
        self._analyze()
        return {
            "cases": made,
            "rows": self.rows,
            "seconds": seconds,
            "analyze_seconds": time.monotonic() - started - seconds,
        }

    def _reset_sequences(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(KEYED))
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def _analyze(self) -> None:
        """Give the query planners the statistics a database in use would have. Right after a
        bulk load they have none and may choose badly: one version of the visibility query took
        minutes instead of a second that way (docs/performance.md)."""
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # Directory ---------------------------------------------------------------------------------

    def _organisation_numbers(self) -> Callable[[str], str]:
        taken = set(Organisation.objects.values_list("organisation_number", flat=True))
        counters: dict[str, int] = {}

        def next_number(prefix: str) -> str:
            while True:
                counters[prefix] = counters.get(prefix, -1) + 1
                body = f"{prefix}{counters[prefix]:0{9 - len(prefix)}d}"
                digit = next(d for d in "0123456789" if luhn_ok(body + d))
                number = f"{body[:6]}-{body[6:]}{digit}"
                if number not in taken:
                    taken.add(number)
                    return number

        return next_number

    def build_directory(self) -> _Directory:
        """A region, one kommun and one school organisation per area, Försäkringskassan,
        Arbetsförmedlingen and home-care providers; their units; a coordinator at each unit
        that coordinates SIPs, a participant at every unit and a security officer for each
        organisation."""
        rng = self.rng
        tag = Organisation.objects.filter(name__startswith=REGION_PREFIX).count() + 1
        directory = _Directory(tag=tag)
        number = self._organisation_numbers()
        kommuner = max(3, min(60, round(self.cases / 2000)))
        groups = (kommuner + 4) // 5  # psychiatry, BUP, offices… serve five kommuner each
        places = rng.sample([a + b for a in PLACE_PARTS for b in PLACE_ENDS], kommuner)
        synthetic = f"(syntetisk {tag})"

        def organisation(name: str, kind: str, prefix: str) -> Organisation:
            return Organisation(name=name, kind=kind, organisation_number=number(prefix))

        region = organisation(f"{REGION_PREFIX} {tag}", Kind.REGION, "2321008")
        kommun_orgs = [
            organisation(f"{place} kommun {synthetic}", Kind.KOMMUN, "2120008") for place in places
        ]
        school_orgs = [
            organisation(f"{place} skolor {synthetic}", Kind.SCHOOL, "55999") for place in places
        ]
        fk = organisation(f"Försäkringskassan {synthetic}", Kind.FORSAKRINGSKASSAN, "2021009")
        af = organisation(f"Arbetsförmedlingen {synthetic}", Kind.ARBETSFORMEDLINGEN, "2021009")
        providers = [
            organisation(
                f"Omsorg {places[group * 5]} AB {synthetic}", Kind.PRIVATE_PROVIDER, "55999"
            )
            for group in range(groups)
        ]
        organisations = [region, *kommun_orgs, *school_orgs, fk, af, *providers]
        Organisation.objects.bulk_create(organisations)

        units: list[Unit] = []
        kinds: list[str] = []
        areas: list[dict[str, list[Unit]]] = [{} for _ in places]

        def unit(area: int | None, kind: str, owner: Organisation, name: str) -> Unit:
            made = Unit(organisation=owner, name=name)
            units.append(made)
            kinds.append(kind)
            if area is not None:
                areas[area].setdefault(kind, []).append(made)
            return made

        shared: dict[tuple[int, str], Unit] = {}
        for group in range(groups):
            home = places[group * 5]
            for kind, label, owner in [
                ("psykiatri", "Psykiatrisk öppenvård", region),
                ("bup", "BUP", region),
                ("rehab", "Rehab", region),
                ("habilitering", "Habiliteringen", region),
                ("fk", "Lokalt försäkringscenter", fk),
                ("af", "Arbetsförmedlingen", af),
                ("provider", "Hemtjänst", providers[group]),
            ]:
                shared[group, kind] = unit(None, kind, owner, f"{label} {home}")
            for ward in (1, 2):
                directory.wards.append(
                    unit(None, "ward", region, f"Avdelning {group * 10 + ward} {home}")
                )
        for area, (place, kommun) in enumerate(zip(places, kommun_orgs, strict=True)):
            unit(area, "vc", region, f"Vårdcentral {place}")
            if self.cases / kommuner > 1500:
                unit(area, "vc", region, f"Vårdcentral {place} Norra")
            for kind, label in [
                ("bistand", "Biståndshandläggning"),
                ("hemtjanst", "Hemtjänst Norr"),
                ("hemtjanst", "Hemtjänst Söder"),
                ("hemsjukvard", "Hemsjukvård"),
                ("boendestod", "Boendestöd"),
                ("soc_barn", "Socialtjänst barn och familj"),
                ("soc_vuxen", "Socialtjänst vuxen"),
                ("lss", "LSS-handläggning"),
            ]:
                unit(area, kind, kommun, f"{label} {place}")
            unit(area, "elevhalsa", school_orgs[area], f"Elevhälsan {place}")
            for kind in ("psykiatri", "bup", "rehab", "habilitering", "fk", "af", "provider"):
                areas[area][kind] = [shared[area // 5, kind]]
        Unit.objects.bulk_create(units, batch_size=self.batch_size)
        directory.areas = areas
        directory.kind_of = {made.pk: kind for made, kind in zip(units, kinds, strict=True)}

        # One password hash for all synthetic staff: hashing a thousand would take minutes.
        password = make_password(PASSWORD)
        users: list[User] = []
        assignments: list[tuple[User, Unit, str]] = []
        for index, made in enumerate(units):
            roles = [Role.PARTICIPANT]
            if directory.kind_of[made.pk] in COORDINATING_KINDS:
                roles.insert(0, Role.COORDINATOR)
            for role in roles:
                short = "coord" if role == Role.COORDINATOR else "part"
                user = User(
                    username=f"syn{tag}-{short}-{index}",
                    first_name=rng.choice(GIVEN_NAMES),
                    last_name=rng.choice(FAMILY_NAMES),
                    password=password,
                )
                users.append(user)
                assignments.append((user, made, role))
        first_unit = {}
        for made in units:
            first_unit.setdefault(made.organisation_id, made)
        for index, owner in enumerate(organisations):
            user = User(
                username=f"syn{tag}-sec-{index}",
                first_name="Säkerhetsansvarig",
                last_name=owner.name[:40],
                password=password,
            )
            users.append(user)
            assignments.append((user, first_unit[owner.pk], Role.SECURITY_OFFICER))
        User.objects.bulk_create(users, batch_size=self.batch_size)
        since = self.now - dt.timedelta(days=3 * 365)
        Assignment.objects.bulk_create(
            [
                Assignment(user=u, unit=at, role=role, valid_from=since)
                for u, at, role in assignments
            ],
            batch_size=self.batch_size,
        )
        for user, made, role in assignments:
            if role == Role.COORDINATOR:
                directory.coordinator_of[made.pk] = user
            elif role == Role.PARTICIPANT:
                directory.participant_of[made.pk] = user
        self.rows += len(organisations) + len(units) + len(users) + len(assignments)
        self.log(
            f"directory: {len(organisations)} organisations, {len(units)} units, {len(users)} staff"
        )
        return directory

    # Cases -------------------------------------------------------------------------------------

    def _identity_numbers(self) -> Callable[[dt.date, bool], str]:
        taken = set(Person.objects.values_list("identity_number", flat=True))

        def make(birth: dt.date, coordination: bool) -> str:
            while True:
                number = make_identity_number(
                    birth, self.rng.randint(2, 999), coordination=coordination
                )
                if number not in taken:
                    taken.add(number)
                    return number

        return make

    def _case(self, directory: _Directory, identity) -> None:
        rng = self.rng
        profile = _weighted(rng, {profile: profile.weight for profile in PROFILES.values()})
        area = directory.areas[rng.randrange(len(directory.areas))]
        coordinating = rng.choice(area[rng.choice(profile.coordinating)])
        chosen = rng.sample(profile.taking_part, rng.randint(1, 3))
        others = {rng.choice(area[kind]) for kind in chosen} - {coordinating}
        state = _weighted(rng, STATE_WEIGHTS)
        age = rng.randint(*profile.ages)
        case = _Case(
            profile=profile,
            coordinating=coordinating,
            others=sorted(others, key=lambda unit: unit.pk),
            state=state,
            closing=_weighted(rng, CLOSING_WEIGHTS) if state == State.CLOSED else "",
            minor=age < 18,
            discharge=profile is PROFILES["elderly"] and rng.random() < 0.25,
        )
        self._person(case, age, identity)
        self._timeline(directory, case)
        self._participants(case)
        consent_id = self._consent(case)
        if case.reached >= 4:
            self.tables[Preparation].add(
                case_id=case.case_id,
                preferred_place=rng.choice(["Hemma", "På enheten"]),
                preferred_time_of_day=rng.choice(["Förmiddag", "Eftermiddag"]),
                max_length_minutes=rng.choice([45, 60, 90]),
                interpreter_language=case.interpreter,
            )
        self._meetings(case)
        self._plan(directory, case)
        self._messages(directory, case)
        if consent_id is not None:
            organisations = {unit.organisation_id for unit in [coordinating, *case.others]}
            for organisation_id in sorted(organisations):
                self.tables[ConsentScope].add(
                    consent_id=consent_id, organisation_id=organisation_id
                )

    def _person(self, case: _Case, age: int, identity) -> None:
        rng = self.rng
        birth = self.today - dt.timedelta(days=age * 365 + rng.randint(10, 355))
        coordination = rng.random() < 0.02
        roll = rng.random()
        protection = Person.Protection.NONE
        if roll < 0.003:
            protection = Person.Protection.SKYDDAD_FOLKBOKFORING
        elif roll < 0.008:
            protection = Person.Protection.SEKRETESSMARKERING
        case.interpreter = rng.choice(LANGUAGES) if rng.random() < 0.08 else ""
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        case.person_name, case.family_name = f"{given} {family}", family
        case.person_id = self.tables[Person].add(
            identity_kind=(
                Person.IdentityKind.SAMORDNINGSNUMMER
                if coordination
                else Person.IdentityKind.PERSONNUMMER
            ),
            identity_number=identity(birth, coordination),
            birth_date=birth,
            given_name=given,
            family_name=family,
            # Skyddad folkbokföring: the address is never stored.
            address=(
                ""
                if protection == Person.Protection.SKYDDAD_FOLKBOKFORING
                else f"{rng.choice(STREETS)} {rng.randint(1, 60)}"
            ),
            interpreter_language=case.interpreter,
            preferred_language=case.interpreter or "sv",
            protection=protection,
            is_fictitious=True,
        )
        if case.minor:
            for relation in rng.sample(["mamma", "pappa"], rng.randint(1, 2)):
                case.guardian_ids.append(
                    self.tables[RelatedParty].add(
                        person_id=case.person_id,
                        kind=RelatedParty.Kind.GUARDIAN,
                        name=f"{rng.choice(GIVEN_NAMES)} {family}",
                        relation=relation,
                        may_see=RelatedParty.Sees.EVERYTHING,
                    )
                )

    def _timeline(self, directory: _Directory, case: _Case) -> None:
        """The moments of the steps, the case row and its timeline events."""
        rng = self.rng
        state, closing = case.state, case.closing
        if state == State.CLOSED:
            case.reached = {
                Reason.DECLINED: 2,
                Reason.CONSENT_REVOKED: rng.choice([3, 4, 6]),
                Reason.GOALS_REACHED: 7,
            }.get(closing, 6)
        else:
            case.reached = STEPS_TO[state]
        gaps = [rng.uniform(*GAPS[index]) for index in range(case.reached)]
        # How long ago the last step was: recent for SIPs on their way, anything for the others.
        if state == State.CLOSED:
            closed_ago = rng.uniform(1, 900)
            last = closed_ago + {
                Reason.DECLINED: 0,
                Reason.GOALS_REACHED: rng.uniform(7, 40),
            }.get(closing, rng.uniform(0, 60))
        elif state == State.PLAN_ESTABLISHED:
            last = rng.uniform(0, 150)
        else:
            last = rng.uniform(0, 12)
        remaining = sum(gaps)
        moments = []
        for gap in gaps:
            remaining -= gap
            moments.append(self.now - dt.timedelta(days=last + remaining))
        if state == State.CLOSED:
            moments.append(self.now - dt.timedelta(days=closed_ago))
        case.moments = moments

        case.coordinator = directory.coordinator_of[case.coordinating.pk]
        case.initiating, case.initiator = case.coordinating, case.coordinator
        notice = None
        if case.discharge:
            case.initiating = rng.choice(directory.wards)
            case.initiator = directory.participant_of[case.initiating.pk]
            notice = moments[0] - dt.timedelta(hours=rng.uniform(0.5, 6))
        informed = moments[1] if case.reached >= 2 else None
        case.case_id = self.tables[SipCase].add(
            person_id=case.person_id,
            kind=SipCase.Kind.DISCHARGE if case.discharge else SipCase.Kind.STANDARD,
            state=state,
            initiated_by_user_id=case.initiator.pk,
            initiated_at=moments[0],
            initiating_unit_id=case.initiating.pk,
            coordinating_unit_id=case.coordinating.pk,
            coordinator_id=case.coordinator.pk,
            reason="Behöver samordnade insatser från kommun och region.",
            discharge_notice_at=notice,
            call_deadline=(notice + dt.timedelta(days=3))
            if notice
            else moments[0] + dt.timedelta(days=10),
            guardians_contacted_at=informed if case.minor else None,
            child_views="Barnets egna synpunkter är hörda." if case.minor and informed else "",
            information_given_at=informed,
            closed_at=moments[-1] if state == State.CLOSED else None,
            closing_reason=closing,
            lock_version=len(moments) - 1,
        )
        for party_id in case.guardian_ids:
            self.tables[CaseRelatedParty].add(sipcase_id=case.case_id, relatedparty_id=party_id)

        events = self.tables[CaseEvent]
        previous = ""
        for index in range(case.reached):
            action, to_state = PATH[index]
            first = index == 0
            events.add(
                case_id=case.case_id,
                at=moments[index],
                action=action,
                from_state=previous,
                to_state=to_state,
                actor_id=(case.initiator if first else case.coordinator).pk,
                actor_unit_id=(case.initiating if first else case.coordinating).pk,
            )
            previous = to_state
        if state == State.CLOSED:
            events.add(
                case_id=case.case_id,
                at=moments[-1],
                action={
                    Reason.DECLINED: "decline_consent",
                    Reason.CONSENT_REVOKED: "revoke_consent",
                }.get(closing, "close"),
                from_state=previous,
                to_state=State.CLOSED,
                actor_id=case.coordinator.pk,
                actor_unit_id=case.coordinating.pk,
            )

    def _participants(self, case: _Case) -> None:
        participants = self.tables[Participant]
        participants.add(
            case_id=case.case_id,
            unit_id=case.coordinating.pk,
            role=Participant.Role.COORDINATING,
            chosen_by_person=False,
            added_at=case.moments[0],
        )
        if case.initiating != case.coordinating:
            participants.add(
                case_id=case.case_id,
                unit_id=case.initiating.pk,
                chosen_by_person=False,
                added_at=case.moments[0],
            )
        if case.reached >= 4:  # the person chose them during preparation
            for unit in case.others:
                participants.add(case_id=case.case_id, unit_id=unit.pk, added_at=case.moments[3])

    def _consent(self, case: _Case) -> int | None:
        """The consent row; its key when it was given (its scopes follow)."""
        given_by = Consent.GivenBy.GUARDIAN if case.minor else Consent.GivenBy.PERSON
        consents = self.tables[Consent]
        if case.closing == Reason.DECLINED:
            consents.add(
                case_id=case.case_id,
                decision=Consent.Decision.DECLINED,
                method=Consent.Method.ORAL,
                given_by=given_by,
                given_by_name=case.person_name,
                documentation="Avböjde muntligt; antecknat i journalen.",
                recorded_by_id=case.coordinator.pk,
                recorded_at=case.moments[-1],
            )
            return None
        if case.reached < 3:
            return None
        revoked = case.closing == Reason.CONSENT_REVOKED
        return consents.add(
            case_id=case.case_id,
            decision=Consent.Decision.GIVEN,
            method=self.rng.choice([Consent.Method.WRITTEN, Consent.Method.DIGITAL]),
            given_by=given_by,
            given_by_name=case.person_name,
            information_scope="Behov, insatser och planen.",
            valid_until=timezone.localdate(case.moments[2]) + dt.timedelta(days=730),
            recorded_by_id=case.coordinator.pk,
            recorded_at=case.moments[2],
            revoked_at=case.moments[-1] if revoked else None,
            revoked_by_id=case.coordinator.pk if revoked else None,
        )

    def _meetings(self, case: _Case) -> None:
        """The SIP meeting and any follow-up meeting, with an invitation per called unit."""
        rng = self.rng
        moments, reached = case.moments, case.reached
        meetings = []
        if reached >= 5:
            held = moments[5] if reached >= 6 else self.now + dt.timedelta(days=rng.uniform(1, 21))
            meetings.append((Meeting.Kind.SIP, moments[4], held))
        if reached >= 7:
            called = moments[6]
            if case.state == State.CLOSED:
                held = called + (moments[-1] - called) / 2
            else:
                held = self.now + dt.timedelta(days=rng.uniform(1, 21))
            meetings.append((Meeting.Kind.FOLLOW_UP, called, held))
        for kind, called, held in meetings:
            meeting_id = self.tables[Meeting].add(
                case_id=case.case_id,
                kind=kind,
                starts_at=held,
                duration_minutes=45,
                place="På enheten",
                called_by_id=case.coordinator.pk,
                called_at=called,
            )
            past = held <= self.now
            for unit in [case.coordinating, *case.others]:
                answered = past or rng.random() < 0.6
                self.tables[Invitation].add(
                    meeting_id=meeting_id,
                    unit_id=unit.pk,
                    answer=Invitation.Answer.ACCEPTED if answered else Invitation.Answer.NO_ANSWER,
                    answered_at=called + dt.timedelta(days=1) if answered else None,
                    attended=True if past else None,
                )
            self.tables[Invitation].add(
                meeting_id=meeting_id,
                is_person=True,
                answer=Invitation.Answer.ACCEPTED,
                answered_at=called,
                attended=True if past else None,
            )

    def _plan(self, directory: _Directory, case: _Case) -> None:
        """The valid version with its goals, interventions and attendees; after a follow-up
        call, the draft of the next version, as call_follow_up leaves it."""
        if case.reached < 6:
            return
        rng = self.rng
        approved = case.moments[5]
        start = timezone.localdate(approved)
        common = {
            "case_id": case.case_id,
            "needs_today": "Behöver stöd i vardagen och samordnade insatser.",
            "coordination": f"{case.coordinating.name} samordnar; avstämning varje månad.",
            "main_responsible_unit_id": case.coordinating.pk,
            "cooperation_ends": "När personen klarar sig med ordinarie insatser.",
            "expected_of_person": "Höra av sig när något ändras.",
        }
        plan_id = self.tables[PlanVersion].add(
            **common,
            number=1,
            status=PlanVersion.Status.VALID,
            follow_up_on=start + dt.timedelta(weeks=rng.choice([6, 8, 12])),
            approved_at=approved,
            approved_by=(
                PlanVersion.ApprovedBy.GUARDIAN if case.minor else PlanVersion.ApprovedBy.PERSON
            ),
            approved_by_name=case.person_name,
            established_by_id=case.coordinator.pk,
            created_at=approved,
        )
        interventions = [
            {
                "description": INTERVENTIONS.get(directory.kind_of[unit.pk], "Samordning"),
                "unit_id": unit.pk,
                "organisation_id": unit.organisation_id,
                "starts_on": start,
                "ends_on": start + dt.timedelta(weeks=rng.choice([8, 12, 26])),
                "position": position,
            }
            for position, unit in enumerate([case.coordinating, *case.others][:4])
        ]
        self._plan_parts(plan_id, case, interventions)
        self.tables[Attendee].add(
            plan_version_id=plan_id, name=case.person_name, represents="personen"
        )
        self.tables[Attendee].add(
            plan_version_id=plan_id,
            name=case.coordinator.get_full_name(),
            represents=case.coordinating.name,
        )
        if case.reached >= 7:
            # As call_follow_up leaves it (services.plan._ensure_draft): a copy of the valid
            # version without its follow-up date or attendees, one lock_version above it.
            proposed = case.state == State.FOLLOW_UP and self.extra_rng.random() < 0.25
            draft_id = self.tables[PlanVersion].add(
                **common,
                number=2,
                based_on_id=plan_id,
                created_at=case.moments[6],
                lock_version=1,
                proposed_at=case.moments[6] + dt.timedelta(days=1) if proposed else None,
            )
            self._plan_parts(draft_id, case, interventions)

    def _plan_parts(self, plan_id: int, case: _Case, interventions: list[dict]) -> None:
        """The goals and interventions of one plan version."""
        for position, text in enumerate(case.profile.goals):
            self.tables[Goal].add(plan_version_id=plan_id, text=text, position=position)
        for values in interventions:
            self.tables[Intervention].add(plan_version_id=plan_id, **values)

    def _messages(self, directory: _Directory, case: _Case) -> None:
        """A thread for some SIPs once consent is given: messages from the units taking part,
        some asking for acknowledgement (acknowledged by some of the other units after a day);
        the coordinator has read what is more than three days old."""
        rng = self.extra_rng
        if case.reached < 3 or rng.random() >= 0.4:
            return
        units = [case.coordinating]
        if case.initiating != case.coordinating:
            units.append(case.initiating)
        if case.reached >= 4:
            units.extend(case.others)
        staff = {
            unit.pk: directory.coordinator_of.get(unit.pk) or directory.participant_of[unit.pk]
            for unit in units
        }
        start = case.moments[2]
        end = case.moments[-1] if case.state == State.CLOSED else self.now
        moments = sorted(start + (end - start) * rng.random() for _ in range(rng.randint(1, 5)))
        for sent_at in moments:
            unit = rng.choice(units)
            sender = staff[unit.pk]
            asks = rng.random() < 0.2
            message_id = self.tables[CaseMessage].add(
                case_id=case.case_id,
                sender_id=sender.pk,
                sender_unit_id=unit.pk,
                body=rng.choice(MESSAGES),
                asks_acknowledgement=asks,
                sent_at=sent_at,
            )
            age = self.now - sent_at
            if sender != case.coordinator and age > dt.timedelta(days=3):
                self.tables[MessageRead].add(
                    message_id=message_id,
                    user_id=case.coordinator.pk,
                    read_at=sent_at + dt.timedelta(hours=rng.uniform(1, 48)),
                )
            if asks and age > dt.timedelta(days=1):
                for other in units:
                    if other != unit and rng.random() < 0.6:
                        self.tables[MessageAcknowledgement].add(
                            message_id=message_id,
                            unit_id=other.pk,
                            user_id=staff[other.pk].pk,
                            at=sent_at + dt.timedelta(hours=rng.uniform(1, 24)),
                        )


def generate_county(cases: int, seed: int = 1, batch_size: int = BATCH, log=None) -> dict:
    return CountyGenerator(cases, seed=seed, batch_size=batch_size, log=log).generate()
