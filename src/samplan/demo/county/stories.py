"""The demo SIPs, one story each in the data file: the person is registered through
people.services, then every step is a call of cases.services by the member of staff the step
names (`by`), remembered with the moment the story gives it (`at`), which history._backdate
writes once the story is told. The person's related parties are added in the SIP as soon as it
is started, by whoever started it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import QuerySet
from django.utils import timezone

from samplan.cases import services
from samplan.cases.models import (
    CaseMessage,
    Consent,
    ConsentScope,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    SipCase,
)
from samplan.cases.services.initiative import add_related_party
from samplan.directory.models import Assignment
from samplan.people import services as people_services
from samplan.people.identity import make_identity_number, parse_identity
from samplan.people.models import Person, RelatedParty

from .clock import Clock
from .directory import Directory
from .history import AT, _backdate, _later, _Step

# What a step may do (its `do`), each a method of Story.
ACTIONS = frozenset(
    {
        "initiate",
        "inform",
        "consent",
        "decline",
        "prepare",
        "add_unit",
        "call",
        "call_follow_up",
        "answers",
        "attend",
        "draft",
        "propose",
        "establish",
        "revoke",
        "close",
        "message",
    }
)


def _as_is(value):
    return value


def _take(table: dict, **converters: Callable) -> dict:
    """The fields of `table`, each through its converter; a field without one is an error, so a
    misspelt key in the data file cannot pass unnoticed."""
    unknown = set(table) - set(converters)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    return {name: converters[name](value) for name, value in table.items()}


def _party(table: dict) -> dict:
    """A related party's fields for the service. An `identity_number` lets them sign in to Min
    SIP (with `may_act`, a god man or förvaltare acts there too); it is validated and written
    the way a person's is (12 digits), since the sign-in matches it exactly."""
    details = dict(table)
    if "identity_number" in details:
        details["identity_number"] = parse_identity(details["identity_number"]).number
    return details


class Stories:
    """What every story shares: the directory, the clock, the data file's defaults and plans,
    and who registers the persons."""

    def __init__(self, data: dict, directory: Directory, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock
        self.defaults = data.get("defaults", {})
        self.plans = data.get("plans", {})
        registrar = directory.user(data["registered_by"])
        assignment = Assignment.objects.active().filter(user=registrar).order_by("pk").first()
        self.registrar = (registrar, assignment.unit)
        self.serials: set[int] = set()

    def tell(self, name: str, table: dict) -> SipCase:
        return Story(self, name).tell(table)


class Story:
    """One demo SIP, told step by step."""

    def __init__(self, stories: Stories, name: str) -> None:
        self.stories = stories
        self.name = name
        self.directory = stories.directory
        self.clock = stories.clock
        self.person: Person | None = None
        self.parties: dict[str, RelatedParty] = {}
        self._case: SipCase | None = None
        self.meeting: Meeting | None = None  # the meeting last called
        self.follow_up_on: dt.date | None = None  # the story's date, which establish writes
        self._party_tables: dict[str, dict] = {}
        self.steps: list[_Step] = []

    def tell(self, table: dict) -> SipCase:
        table = dict(table)
        try:
            self.person = self._register(dict(table.pop("person")))
        except Exception as error:
            error.add_note(f"demo data: {self.name}, person")
            raise
        self._party_tables = table.pop("parties", {})
        steps = table.pop("steps")
        _take(table)
        for number, step in enumerate(steps, start=1):
            step = dict(step)
            action = step.pop("do", "")
            try:
                if action not in ACTIONS:
                    known = ", ".join(sorted(ACTIONS))
                    raise ValueError(f"no step {action!r}; the steps are {known}")
                when = self.clock.moment(step.pop("at"))
                if when is not None and when > self.clock.now:
                    raise ValueError("a step cannot lie ahead; only a meeting's time can")
                getattr(self, action)(when, step)
            except Exception as error:
                error.add_note(f"demo data: {self.name}, step {number} ({action})")
                raise
        _backdate(self.case, self.steps)
        self.case.refresh_from_db()
        return self.case

    # Helpers -------------------------------------------------------------------------------

    @property
    def case(self) -> SipCase:
        if self._case is None:
            raise ValueError("the first step must be initiate")
        return self._case

    def _this(self) -> QuerySet:
        return SipCase.objects.filter(pk=self.case.pk)

    def _participants(self) -> QuerySet:
        """The case's participants as they are now (not as they will be when _backdate runs)."""
        return Participant.objects.filter(
            pk__in=list(self.case.participants.values_list("pk", flat=True))
        )

    def record(self, when: dt.datetime | None, *updates: tuple[QuerySet, dict]) -> None:
        """Remember a service call's moment, and the timestamps outside the timeline that
        belong to it, for _backdate."""
        self.steps.append(_Step(when, list(updates)))

    def actor(self, fields: dict):
        return self.directory.user(fields.pop("by"))

    def party(self, key: str) -> RelatedParty:
        try:
            return self.parties[key]
        except KeyError:
            raise ValueError(f"{self.name} has no related party {key!r}") from None

    def related(self, keys: list[str]) -> list[RelatedParty]:
        return [self.party(key) for key in keys]

    def dates_from(self, when: dt.datetime | None) -> Callable[[str], dt.date]:
        that_day = self.clock.day_of(when)
        return lambda text: self.clock.date(text, that_day)

    # The person ----------------------------------------------------------------------------

    def _register(self, table: dict) -> Person:
        serial = table.pop("serial")
        if serial in self.stories.serials:
            raise ValueError(f"{self.name}: serial {serial} used twice")
        self.stories.serials.add(serial)
        birth = self.clock.born(table.pop("age"), table.pop("birthday"))
        number = make_identity_number(birth, serial, coordination=table.pop("coordination", False))
        registrar, unit = self.stories.registrar
        return people_services.register_person(
            actor=registrar, unit=unit, identity_number=number, is_fictitious=True, **table
        )

    # The steps: one method each, one service call each unless said -------------------------

    def initiate(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        unit = self.directory.unit
        kwargs = _take(
            fields,
            unit=unit,
            coordinating_unit=unit,
            coordinator=self.directory.user,
            kind=_as_is,
            initiated_by=_as_is,
            initiator_name=_as_is,
            reason=_as_is,
            discharge_notice_at=self.clock.moment,
        )
        if self._case is not None:
            raise ValueError("a story initiates one SIP")
        self._case = services.initiate_case(
            actor=actor, person=self.person, initiating_unit=kwargs.pop("unit"), **kwargs
        )
        # Related parties are known in a SIP: whoever starts it adds them (no timeline event).
        for key, party in self._party_tables.items():
            try:
                details = _party(party)
            except Exception as error:
                error.add_note(f"demo data: {self.name}, party {key}")
                raise
            self.parties[key] = add_related_party(self.case, actor=actor, **details)
        this = self._this()
        updates = [(this, {"initiated_at": AT}), (self._participants(), {"added_at": AT})]
        if when and self.case.kind == SipCase.Kind.STANDARD:
            days = self.case.coordinating_unit.organisation.initiative_deadline_days
            updates.append((this, {"call_deadline": when + dt.timedelta(days=days)}))
        self.record(when, *updates)

    def inform(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        kwargs = _take(
            fields, guardians_contacted=_as_is, child_views=_as_is, note=_as_is, own_view=_as_is
        )
        services.record_information(
            self.case, actor=actor, expected_version=self.case.lock_version, **kwargs
        )
        values = {"information_given_at": AT}
        if kwargs.get("guardians_contacted"):
            values["guardians_contacted_at"] = AT
        self.record(when, (self._this(), values))

    def consent(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        fields = {
            **self.stories.defaults.get("consent", {}),
            "given_by_name": self.person.full_name,
            **fields,
        }
        kwargs = _take(
            fields,
            organisations=self.directory.organisations,
            method=_as_is,
            given_by=_as_is,
            given_by_name=_as_is,
            information_scope=_as_is,
            valid_until=self.dates_from(when),
            exclusions=_as_is,
            documentation=_as_is,
        )
        consent = services.give_consent(
            self.case, actor=actor, expected_version=self.case.lock_version, **kwargs
        )
        self.record(when, (Consent.objects.filter(pk=consent.pk), {"recorded_at": AT}))

    def decline(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        kwargs = _take(
            fields,
            method=_as_is,
            given_by=_as_is,
            given_by_name=_as_is,
            documentation=_as_is,
            note=_as_is,
        )
        consent = services.decline_consent(
            self.case, actor=actor, expected_version=self.case.lock_version, **kwargs
        )
        self.record(
            when,
            (Consent.objects.filter(pk=consent.pk), {"recorded_at": AT}),
            (self._this(), {"closed_at": AT}),
        )

    def prepare(self, when, fields: dict) -> None:
        """Three kinds of call: start the preparation, write what the person wants, then add
        each unit the person chose to invite."""
        actor = self.actor(fields)
        invited = self.related(fields.pop("invite", []))
        units = self.directory.units(fields.pop("units", []))
        values = _take(fields, **dict.fromkeys(services.PREPARATION_FIELDS, _as_is))
        preparation = services.start_preparation(
            self.case, actor=actor, expected_version=self.case.lock_version
        )
        self.record(when)
        services.update_preparation(
            self.case,
            actor=actor,
            expected_version=preparation.lock_version,
            values=values,
            invited_related_parties=invited,
        )
        self.record(_later(when, 20))
        for unit in units:
            self._add_unit(_later(when, 25), actor, unit)

    def add_unit(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        self._add_unit(when, actor, _take(fields, unit=self.directory.unit)["unit"])

    def _add_unit(self, when, actor, unit) -> None:
        participant = services.add_participant(self.case, actor=actor, unit=unit)
        self.record(when, (Participant.objects.filter(pk=participant.pk), {"added_at": AT}))

    def call(self, when, fields: dict, *, follow_up: bool = False) -> None:
        """Kallelse. The service wants a time ahead: a meeting the story places in the past is
        called for tomorrow and moved back by _backdate."""
        actor = self.actor(fields)
        kwargs = _take(
            fields,
            starts_at=self.clock.moment,
            minutes=_as_is,
            place=_as_is,
            video_link=_as_is,
            honoured_preferences=_as_is,
            units=self.directory.units,
            invite=self.related,
            invite_person=_as_is,
        )
        starts_at = kwargs.pop("starts_at")
        placeholder = starts_at if starts_at > timezone.now() else self.clock.tomorrow_morning()
        before = self._participants()
        call = services.MeetingCall(
            starts_at=placeholder,
            duration_minutes=kwargs.pop("minutes"),
            related_parties=kwargs.pop("invite", ()),
            **kwargs,
        )
        function = services.call_follow_up if follow_up else services.call_meeting
        self.meeting = function(
            self.case, actor=actor, expected_version=self.case.lock_version, call=call
        )
        updates = [
            (
                Meeting.objects.filter(pk=self.meeting.pk),
                {"called_at": AT, "starts_at": starts_at},
            ),
            (self._participants().exclude(pk__in=before), {"added_at": AT}),
        ]
        if follow_up:
            draft = PlanVersion.objects.filter(pk=self.case.draft_plan().pk)
            updates.append((draft, {"created_at": AT}))
        self.record(when, *updates)

    def call_follow_up(self, when, fields: dict) -> None:
        self.call(when, fields, follow_up=True)

    def answers(self, when, fields: dict) -> None:
        """One call per answer to the meeting last called: a unit answers its own call, the
        coordinator records the others' ("person", a related party, a unit that phoned)."""
        for row in _take(fields, answers=_as_is)["answers"]:
            row = dict(row)
            actor = self.actor(row)
            at = self.clock.moment(row.pop("at")) if "at" in row else when
            answer = _take(row, answer=_as_is, reason=_as_is, **{"for": _as_is})
            invitation = self._invitation(answer["for"])
            services.record_answer(
                invitation,
                actor=actor,
                answer=answer.get("answer", Invitation.Answer.ACCEPTED),
                decline_reason=answer.get("reason", ""),
            )
            self.record(at, (Invitation.objects.filter(pk=invitation.pk), {"answered_at": AT}))

    def _invitation(self, whose: str) -> Invitation:
        if self.meeting is None:
            raise ValueError("answers come after a call")
        invitations = self.meeting.invitations
        if whose == "person":
            return invitations.get(is_person=True)
        if whose in self.parties:
            return invitations.get(related_party=self.parties[whose])
        return invitations.get(unit=self.directory.unit(whose))

    def attend(self, when, fields: dict) -> None:
        """Who came to the meeting last called (all but the `absent` units). The meeting must
        lie in the past first, so the story so far is applied."""
        actor = self.actor(fields)
        absent = {unit.pk for unit in _take(fields, absent=self.directory.units).get("absent", [])}
        _backdate(self.case, self.steps)
        meeting = self.meeting
        meeting.refresh_from_db()
        attended = {
            invitation.pk: invitation.unit_id not in absent
            for invitation in meeting.invitations.all()
        }
        # The story records no answer for some who came: they came all the same.
        services.record_attendance(
            meeting, actor=actor, attended=attended, came_without_answer=attended.keys()
        )
        self.record(when)

    def draft(self, when, fields: dict) -> None:
        """Save the plan draft; `plan` names a shared plan whose fields this step's replace."""
        actor = self.actor(fields)
        template = self.stories.plans[fields.pop("plan")] if "plan" in fields else {}
        fields = {**template, **fields}
        date = self.dates_from(when)
        rows = fields.pop("interventions", [])
        interventions = [self._intervention(dict(row), date) for row in rows]
        kwargs = _take(
            fields,
            needs_today=_as_is,
            goals=_as_is,
            main_responsible_unit=self.directory.unit,
            coordination=_as_is,
            follow_up_on=date,
            cooperation_ends=_as_is,
            expected_of_person=_as_is,
            expected_of_relatives=_as_is,
            attendees=lambda rows: [tuple(row) for row in rows],
        )
        self.follow_up_on = kwargs.get("follow_up_on")
        if self.follow_up_on:
            # The services refuse a follow-up date in the past; establish writes the story's.
            tomorrow = self.clock.today + dt.timedelta(days=1)
            kwargs["follow_up_on"] = max(self.follow_up_on, tomorrow)
        existing = self.case.draft_plan()
        draft = services.save_plan_draft(
            self.case,
            actor=actor,
            expected_version=existing.lock_version if existing else None,
            data=services.PlanDraft(interventions=interventions, **kwargs),
        )
        if existing:
            self.record(when)
        else:
            self.record(when, (PlanVersion.objects.filter(pk=draft.pk), {"created_at": AT}))

    def _intervention(self, row: dict, date) -> services.InterventionData:
        return services.InterventionData(
            **_take(
                row,
                description=_as_is,
                unit=self.directory.unit,
                organisation=self.directory.organisation,
                responsible_party=self.party,
                contact_name=_as_is,
                starts_on=date,
                ends_on=date,
                ends_note=_as_is,
            )
        )

    def propose(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        _take(fields)
        draft = self.case.draft_plan()
        services.propose_plan(self.case, actor=actor, expected_version=draft.lock_version)
        self.record(when, (PlanVersion.objects.filter(pk=draft.pk), {"proposed_at": AT}))

    def establish(self, when, fields: dict) -> None:
        """The person approves the draft (unless the step names a guardian or representative);
        the story's follow-up date, when it lies in the past, is written by _backdate."""
        actor = self.actor(fields)
        fields = {
            "approved_by": PlanVersion.ApprovedBy.PERSON,
            "approved_by_name": self.person.full_name,
            **fields,
        }
        kwargs = _take(fields, approved_by=_as_is, approved_by_name=_as_is)
        draft = self.case.draft_plan()
        plan = services.establish_plan(
            self.case, actor=actor, expected_version=draft.lock_version, **kwargs
        )
        values = {"approved_at": AT}
        if self.follow_up_on:
            values["follow_up_on"] = self.follow_up_on
        self.record(when, (PlanVersion.objects.filter(pk=plan.pk), values))

    def revoke(self, when, fields: dict) -> None:
        """For the `organisations` named, or, without them, the whole consent (the SIP closes)."""
        actor = self.actor(fields)
        kwargs = _take(fields, organisations=self.directory.organisations, note=_as_is)
        organisations = kwargs.get("organisations", [])
        consent = services.revoke_consent(
            self.case,
            actor=actor,
            expected_version=self.case.lock_version,
            organisations=organisations,
            note=kwargs.get("note", ""),
        )
        if organisations:
            scopes = ConsentScope.objects.filter(consent=consent, organisation__in=organisations)
            self.record(when, (scopes, {"revoked_at": AT}))
        else:
            self.record(
                when,
                (Consent.objects.filter(pk=consent.pk), {"revoked_at": AT}),
                (self._this(), {"closed_at": AT}),
            )

    def close(self, when, fields: dict) -> None:
        actor = self.actor(fields)
        kwargs = _take(fields, reason=_as_is, note=_as_is)
        services.close_case(
            self.case, actor=actor, expected_version=self.case.lock_version, **kwargs
        )
        self.record(when, (self._this(), {"closed_at": AT}))

    def message(self, when, fields: dict) -> None:
        """A case message from the member of staff's unit. Messages are working notes with no
        timeline event, so _backdate has no step for them; their time is set here instead (the
        same demo-only time travel)."""
        actor = self.actor(fields)
        kwargs = _take(fields, body=_as_is, asks_acknowledgement=_as_is)
        message = services.post_message(self.case, actor=actor, **kwargs)
        if when is not None:
            CaseMessage.objects.filter(pk=message.pk).update(sent_at=when)
