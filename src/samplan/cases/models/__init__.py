"""The SIP case (ärende), its consent, preparation, meetings and the versioned plan.

Nothing here changes state on its own: every change goes through samplan.cases.services, which
checks the transition table and the actor's rights and writes the audit event.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samplan.directory.models import Organisation, Unit
from samplan.errors import DomainError
from samplan.fhir.ids import resource_uuid
from samplan.people.models import Person, RelatedParty


class State(models.TextChoices):
    INITIATED = "initiated", _("Initiative")
    INFORMED = "informed", _("Information given")
    CONSENTED = "consented", _("Consent given")
    PREPARATION = "preparation", _("Preparation")
    MEETING_CALLED = "meeting_called", _("Meeting called")
    PLAN_ESTABLISHED = "plan_established", _("Plan established")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", _("Closed")


# Swedish labels for messages that must read the same whatever the active language.
STATE_SV = {
    State.INITIATED: "initiativ",
    State.INFORMED: "information given",
    State.CONSENTED: "samtycke givet",
    State.PREPARATION: "förberedelse",
    State.MEETING_CALLED: "kallelse skickad",
    State.PLAN_ESTABLISHED: "plan upprättad",
    State.FOLLOW_UP: "uppföljning",
    State.CLOSED: "avslutad",
}
STATE_EN = {
    State.INITIATED: "initiative",
    State.INFORMED: "information given",
    State.CONSENTED: "consent given",
    State.PREPARATION: "preparation",
    State.MEETING_CALLED: "meeting called",
    State.PLAN_ESTABLISHED: "plan established",
    State.FOLLOW_UP: "follow-up",
    State.CLOSED: "closed",
}


class SipCaseQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(state=State.CLOSED)


class SipCase(models.Model):
    """A SIP process for one person, from initiative to closing."""

    class Kind(models.TextChoices):
        STANDARD = "standard", _("SIP")
        DISCHARGE = "discharge", _("SIP after hospital discharge (lag 2017:612)")

    class InitiatedBy(models.TextChoices):
        STAFF = "staff", _("Staff")
        PERSON = "person", _("The person")
        RELATIVE = "relative", _("A relative")

    class ClosingReason(models.TextChoices):
        DECLINED = "declined", _("The person declined a SIP")
        CONSENT_REVOKED = "consent_revoked", _("Consent revoked")
        GOALS_REACHED = "goals_reached", _("Goals reached")
        NO_LONGER_NEEDED = "no_longer_needed", _("Coordination no longer needed")
        PERSON_WISH = "person_wish", _("The person wishes to end it")
        MOVED = "moved", _("Moved away")
        DECEASED = "deceased", _("Deceased")
        OTHER = "other", _("Other")

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="cases", verbose_name=_("person")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.STANDARD)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.INITIATED, db_index=True
    )
    initiated_by = models.CharField(
        _("initiated by"), max_length=10, choices=InitiatedBy.choices, default=InitiatedBy.STAFF
    )
    initiator_name = models.CharField(_("initiator's name"), max_length=200, blank=True)
    initiated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    initiated_at = models.DateTimeField(_("initiated at"), default=timezone.now)
    initiating_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("initiating unit")
    )
    coordinating_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="coordinated_cases",
        verbose_name=_("coordinating unit"),
        help_text=_("The unit of the SIP coordinator; it keeps the original plan."),
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coordinated_cases",
        verbose_name=_("coordinator"),
    )
    reason = models.TextField(_("why a SIP is needed"), blank=True)
    discharge_notice_at = models.DateTimeField(
        _("notice of readiness for discharge"), null=True, blank=True
    )
    call_deadline = models.DateTimeField(_("meeting to be called by"), null=True, blank=True)
    guardians_contacted_at = models.DateTimeField(_("guardians contacted"), null=True, blank=True)
    child_views = models.TextField(_("the child's own views"), blank=True)
    information_given_at = models.DateTimeField(_("information given"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_reason = models.CharField(
        _("closing reason"), max_length=20, choices=ClosingReason.choices, blank=True
    )
    closing_note = models.TextField(_("closing note"), blank=True)
    # The person's guardians, relatives and representatives known IN THIS SIP. A related party
    # belongs to the person, but a unit sees only those registered or chosen in a SIP it may
    # see: what one authority recorded does not cross to another without consent.
    related_parties = models.ManyToManyField(
        RelatedParty, blank=True, related_name="cases", verbose_name=_("related parties")
    )
    lock_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SipCaseQuerySet.as_manager()

    class Meta:
        ordering = ["-initiated_at"]
        verbose_name = _("SIP case")
        verbose_name_plural = _("SIP cases")
        indexes = [
            models.Index(fields=["coordinating_unit", "state"]),
            # The start page asks for "SIPs I coordinate" by state; search pages newest first.
            models.Index(fields=["coordinator", "state"]),
            models.Index(fields=["-initiated_at", "-id"], name="case_newest_first"),
        ]

    def __str__(self) -> str:
        return f"SIP {self.pk}"

    @property
    def reference(self) -> str:
        return f"SIP-{self.initiated_at:%Y}-{self.pk:06d}"

    @property
    def is_closed(self) -> bool:
        return self.state == State.CLOSED

    def current_consent(self) -> Consent | None:
        return (
            self.consents.filter(decision=Consent.Decision.GIVEN).order_by("-recorded_at").first()
        )

    def valid_plan(self) -> PlanVersion | None:
        return self.plan_versions.filter(status=PlanVersion.Status.VALID).first()

    def draft_plan(self) -> PlanVersion | None:
        return self.plan_versions.filter(status=PlanVersion.Status.DRAFT).first()


class Participant(models.Model):
    """A unit taking part in the SIP (deltagande aktör). Its staff reach the case through it."""

    class Role(models.TextChoices):
        COORDINATING = "coordinating", _("Coordinating unit")
        PARTICIPATING = "participating", _("Participating unit")

    case = models.ForeignKey(SipCase, on_delete=models.CASCADE, related_name="participants")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTICIPATING)
    chosen_by_person = models.BooleanField(_("chosen by the person"), default=True)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("participating unit")
        verbose_name_plural = _("participating units")
        constraints = [models.UniqueConstraint(fields=["case", "unit"], name="unit_once_per_case")]
        indexes = [models.Index(fields=["unit", "case"])]

    def __str__(self) -> str:
        return str(self.unit)


class Consent(models.Model):
    """Samtycke: never general; names which information, to whom, and for how long."""

    class Decision(models.TextChoices):
        GIVEN = "given", _("Given")
        DECLINED = "declined", _("Declined")

    class Method(models.TextChoices):
        WRITTEN = "written", _("Written")
        ORAL = "oral", _("Oral (documented)")
        DIGITAL = "digital", _("Digital")

    class GivenBy(models.TextChoices):
        PERSON = "person", _("The person")
        GUARDIAN = "guardian", _("Guardian")
        LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")

    case = models.ForeignKey(SipCase, on_delete=models.CASCADE, related_name="consents")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    method = models.CharField(_("how it was given"), max_length=10, choices=Method.choices)
    given_by = models.CharField(_("given by"), max_length=24, choices=GivenBy.choices)
    given_by_name = models.CharField(_("name of the one who answered"), max_length=200)
    information_scope = models.TextField(_("which information may be shared"), blank=True)
    exclusions = models.TextField(_("information not to be shared"), blank=True)
    documentation = models.TextField(_("documentation of oral consent"), blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revocation_note = models.TextField(_("revocation note"), blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.recorded_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return (
            self.decision == self.Decision.GIVEN
            and self.revoked_at is None
            and (self.valid_until is None or self.valid_until >= timezone.localdate())
        )


def revoked_organisation_ids(consents) -> set[int]:
    """Organisations the SIP's consent no longer covers, from its consents newest first (scopes
    prefetched): scopes revoked one by one, or every scope once the whole consent is revoked or
    has expired. Pages mark these organisations wherever they appear."""
    active = next((consent for consent in consents if consent.is_active), None)
    if active is not None:
        return {scope.organisation_id for scope in active.scopes.all() if scope.revoked_at}
    if consents and consents[0].decision == Consent.Decision.GIVEN:
        return {scope.organisation_id for scope in consents[0].scopes.all()}
    return set()


class ConsentScope(models.Model):
    """One organisation the consent lets take part and exchange information; revocable alone."""

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="scopes")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consent", "organisation"], name="organisation_once")
        ]

    def __str__(self) -> str:
        return str(self.organisation)


class Preparation(models.Model):
    """Förberedelse: what to discuss, who the person invites, and their meeting preferences."""

    case = models.OneToOneField(SipCase, on_delete=models.CASCADE, related_name="preparation")
    needs_to_discuss = models.TextField(_("what the meeting should discuss"), blank=True)
    invited_related_parties = models.ManyToManyField(
        RelatedParty, blank=True, related_name="+", verbose_name=_("people the person invites")
    )
    not_to_invite = models.TextField(_("not to be invited, at the person's wish"), blank=True)
    preferred_place = models.CharField(_("best place"), max_length=200, blank=True)
    preferred_time_of_day = models.CharField(_("best time of day"), max_length=100, blank=True)
    max_length_minutes = models.PositiveSmallIntegerField(
        _("longest meeting, minutes"), null=True, blank=True
    )
    disturbances = models.TextField(_("what may disturb"), blank=True)
    room_needs = models.TextField(_("what they need to know about the room"), blank=True)
    picture_support = models.BooleanField(_("picture support (bildstöd)"), default=False)
    interpreter_language = models.CharField(_("interpreter, language"), max_length=40, blank=True)
    sign_language = models.BooleanField(_("sign language interpreter"), default=False)
    assistant = models.BooleanField(_("assistant"), default=False)
    other_support = models.TextField(_("other support"), blank=True)
    lock_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("preparation")
        verbose_name_plural = _("preparations")

    def __str__(self) -> str:
        return f"{self.case} preparation"


class Meeting(models.Model):
    """A SIP meeting or follow-up meeting. A called party is obliged to attend."""

    class Kind(models.TextChoices):
        SIP = "sip", _("SIP meeting")
        FOLLOW_UP = "follow_up", _("Follow-up meeting")

    case = models.ForeignKey(SipCase, on_delete=models.CASCADE, related_name="meetings")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SIP)
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("length, minutes"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    video_link = models.URLField(_("video link"), blank=True)
    honoured_preferences = models.TextField(_("preferences honoured"), blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(default=timezone.now)
    # iCalendar SEQUENCE: a moved meeting is the same event with a higher sequence.
    sequence = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.TextField(_("why the meeting was cancelled"), blank=True)

    class Meta:
        ordering = ["starts_at"]
        # The start page's "meetings this week" is a time range over every meeting.
        indexes = [
            models.Index(
                fields=["starts_at"],
                name="meeting_upcoming",
                condition=Q(cancelled_at__isnull=True),
            )
        ]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def ends_at(self):
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


class Invitation(models.Model):
    """Kallelse to one party, with their answer and, afterwards, whether they attended."""

    class Answer(models.TextChoices):
        NO_ANSWER = "no_answer", _("No answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True)
    related_party = models.ForeignKey(RelatedParty, on_delete=models.PROTECT, null=True, blank=True)
    is_person = models.BooleanField(default=False)
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.NO_ANSWER)
    decline_reason = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Who recorded the answer: staff of the invited unit, or the coordinator for someone else.
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attended = models.BooleanField(null=True)
    # Bumped by every answer and attendance change, so an older form never overwrites a newer one.
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(unit__isnull=False, related_party__isnull=True, is_person=False)
                    | Q(unit__isnull=True, related_party__isnull=False, is_person=False)
                    | Q(unit__isnull=True, related_party__isnull=True, is_person=True)
                ),
                name="invitation_has_one_invitee",
            )
        ]

    def __str__(self) -> str:
        return self.invitee_name

    @property
    def invitee_name(self) -> str:
        if self.unit_id:
            return self.unit.name
        if self.related_party_id:
            return str(self.related_party)
        return self.meeting.case.person.full_name


class PlanVersion(models.Model):
    """One version of the plan. A draft can change; once the person approves it, it is valid and
    never changes again. A change is a new version; earlier ones stay readable."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        VALID = "valid", _("Valid")
        SUPERSEDED = "superseded", _("Superseded")

    class ApprovedBy(models.TextChoices):
        PERSON = "person", _("The person")
        GUARDIAN = "guardian", _("Guardian")
        LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")

    case = models.ForeignKey(SipCase, on_delete=models.CASCADE, related_name="plan_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    based_on = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)
    needs_today = models.TextField(_("needs today"), blank=True)
    coordination = models.TextField(_("how the interventions are coordinated"), blank=True)
    main_responsible_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("overall responsibility (huvudansvar)"),
    )
    follow_up_on = models.DateField(_("follow-up date"), null=True, blank=True)
    cooperation_ends = models.TextField(_("when the cooperation ends"), blank=True)
    expected_of_person = models.TextField(_("expected of the person"), blank=True)
    expected_of_relatives = models.TextField(_("expected of relatives"), blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=24, choices=ApprovedBy.choices, blank=True)
    approved_by_name = models.CharField(max_length=200, blank=True)
    established_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Approved by the person (or who acts for them) themselves in Min SIP, not recorded by staff.
    approved_digitally = models.BooleanField(_("approved in Min SIP"), default=False)
    # A draft put before the person for approval; saving the draft again withdraws it, so the
    # person always approves exactly what they were shown.
    proposed_at = models.DateTimeField(_("proposed for approval"), null=True, blank=True)
    change_request = models.TextField(_("changes the person asks for"), blank=True)
    change_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    lock_version = models.PositiveIntegerField(default=0)
    # The id of this version's FHIR CarePlan (samplan.fhir.ids), kept so that the API finds a
    # version by it (GET /fhir/CarePlan/{id}); set once, when the version is first saved.
    fhir_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["case", "-number"]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="plan_number_once"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="valid"), name="one_valid_plan"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="draft"), name="one_draft_plan"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk:  # also with update_fields: establish_plan saves a version still a draft
            stored = PlanVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored and stored != self.Status.DRAFT:
                raise approved_version_error()
        super().save(*args, **kwargs)
        if self.fhir_id is None:
            self.fhir_id = resource_uuid("PlanVersion", self.pk)
            PlanVersion.objects.filter(pk=self.pk).update(fhir_id=self.fhir_id)

    @property
    def is_locked(self) -> bool:
        return self.status != self.Status.DRAFT


def approved_version_error() -> DomainError:
    return DomainError(
        "En godkänd planversion ändras aldrig. Gör ändringen i en ny version.",
        "An approved plan version is never changed. Make the change in a new version.",
        "plan",
        code="approved_version_locked",
    )


class _PlanPart(models.Model):
    """A part of a plan version; it follows the version's lock."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.plan_version.is_locked:
            raise approved_version_error()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.plan_version.is_locked:
            raise approved_version_error()
        return super().delete(*args, **kwargs)


class Goal(_PlanPart):
    """One of the person's own goals, in their words."""

    plan_version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="goals")
    text = models.TextField(_("goal"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Intervention(_PlanPart):
    """Insats: support, care or treatment, with the actor responsible and when it starts/ends."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="interventions"
    )
    description = models.TextField(_("intervention"))
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responsible_party = models.ForeignKey(
        RelatedParty,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("When a relative or support person carries the intervention."),
    )
    contact_name = models.CharField(_("named contact"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    ends_note = models.CharField(_("ends, in words"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description

    @property
    def responsible_name(self) -> str:
        if self.unit_id:
            return self.unit.name
        if self.organisation_id:
            return self.organisation.name
        if self.responsible_party_id:
            return self.responsible_party.name
        return ""

    @property
    def responsible_organisation_id(self) -> int | None:
        if self.unit_id:
            return self.unit.organisation_id
        return self.organisation_id


class Attendee(_PlanPart):
    """Who took part in making this version."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="attendees"
    )
    name = models.CharField(max_length=200)
    represents = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.name


# What showing a plan version reads, in a constant number of queries: its goals, who took part,
# and each intervention with its unit, organisation and whom to call (pages, Min SIP, the PDF).
PLAN_PARTS = (
    "goals",
    "attendees",
    Prefetch(
        "interventions",
        queryset=Intervention.objects.select_related(
            "unit__organisation", "organisation", "responsible_party"
        ),
    ),
)


class Evaluation(models.Model):
    """Uppföljning of one goal or one intervention of the plan version being followed up, at a
    follow-up meeting: how it went, in the staff's words and in the person's own."""

    class Result(models.TextChoices):
        REACHED = "reached", _("Reached")
        PARTLY = "partly", _("Partly reached")
        NOT_REACHED = "not_reached", _("Not reached")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="evaluations")
    goal = models.ForeignKey(
        Goal, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluations"
    )
    intervention = models.ForeignKey(
        Intervention, on_delete=models.PROTECT, null=True, blank=True, related_name="evaluations"
    )
    result = models.CharField(_("result"), max_length=12, choices=Result.choices)
    comment = models.TextField(_("comment"), blank=True)
    person_view = models.TextField(_("the person's own view"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(goal__isnull=False, intervention__isnull=True)
                    | Q(goal__isnull=True, intervention__isnull=False)
                ),
                name="evaluation_of_one_part",
            ),
            models.UniqueConstraint(fields=["meeting", "goal"], name="goal_evaluated_once"),
            models.UniqueConstraint(
                fields=["meeting", "intervention"], name="intervention_evaluated_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} {self.get_result_display()}"


class GoalRating(models.Model):
    """The person's own follow-up (Min SIP): before a follow-up they rate how each goal of the
    valid plan is going, on a scale with pictures and words, and may comment. Never changed: a
    new rating is a new row, and staff see the latest beside their own evaluation."""

    class Scale(models.IntegerChoices):
        VERY_BAD = 1, _("Very badly")
        BAD = 2, _("Badly")
        SO_SO = 3, _("So-so")
        GOOD = 4, _("Well")
        VERY_GOOD = 5, _("Very well")

    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="ratings")
    # The follow-up meeting the rating is for, when one is called.
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="goal_ratings"
    )
    rating = models.PositiveSmallIntegerField(_("how it is going"), choices=Scale.choices)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    # "person" or the RelatedParty kind of who rated (a guardian for a child), and their party.
    rated_by_role = models.CharField(max_length=24)
    rated_by_party = models.ForeignKey(
        RelatedParty, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-rated_at", "-id"]
        verbose_name = _("the person's rating of a goal")
        verbose_name_plural = _("the person's ratings of goals")
        indexes = [models.Index(fields=["goal", "-rated_at"])]

    def __str__(self) -> str:
        return f"{self.goal_id} {self.rating}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise DomainError(
                "En skattning ändras aldrig; en ny skattning läggs till.",
                "A rating is never changed; a new rating is added.",
                code="append_only",
            )
        super().save(*args, **kwargs)


class CaseEvent(models.Model):
    """The case timeline: each transition with its exact UTC time. Statistics and payment
    liability are computed from these, so they are written once and never changed."""

    case = models.ForeignKey(SipCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Taken in Min SIP by the person or one acting for them (then `actor` is empty): "person" or
    # the RelatedParty kind ("guardian", "god_man", …). Staff see these as the person's answers.
    citizen_role = models.CharField(max_length=24, blank=True, default="", db_default="")
    note = models.TextField(blank=True)
    # Entered afterwards from the paper SIP form used while Samplan was down (Region Halland's
    # downtime routine): when it really happened. `at` stays the time it was entered, so the
    # timeline shows both; lead times and statistics use `happened_at` where it is set.
    happened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # "From the person" on the start page: recent events taken in Min SIP.
            models.Index(fields=["at"], condition=~Q(citizen_role=""), name="caseevent_by_citizen"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise DomainError(
                "Händelser i tidslinjen ändras aldrig.",
                "Timeline events are never changed.",
                code="append_only",
            )
        super().save(*args, **kwargs)


# What each timeline action is called on screen.
EVENT_LABELS = {
    "initiate": _("SIP initiated"),
    "record_information": _("Information given"),
    "give_consent": _("Consent given"),
    "decline_consent": _("The person declined a SIP"),
    "start_preparation": _("Preparation started"),
    "update_preparation": _("Preparation updated"),
    "add_participant": _("Unit added"),
    "call_meeting": _("SIP meeting called"),
    "record_answer": _("Answer to a meeting call recorded"),
    "save_plan_draft": _("Plan draft saved"),
    "establish_plan": _("Plan established"),
    "call_follow_up": _("Follow-up called"),
    "revoke_consent": _("Consent revoked"),
    "revoke_consent_in_part": _("Consent revoked for an organisation"),
    "close": _("SIP closed"),
    "move_meeting": _("Meeting moved"),
    "cancel_meeting": _("Meeting cancelled"),
    "cancel_follow_up": _("Follow-up meeting cancelled"),
    "record_attendance": _("Attendance recorded"),
    "propose_plan": _("Plan proposed for the person's approval"),
    "record_evaluation": _("Follow-up evaluation recorded"),
    # Taken by the person (or one acting for them) in Min SIP.
    "request_sip": _("The person asked for a SIP"),
    "approve_plan": _("The person approved the plan"),
    "request_plan_change": _("The person asked for changes to the plan"),
    "update_preferences": _("The person changed their meeting preferences"),
    "rate_goals": _("The person rated their goals"),
    "end_sip": _("The person ended the SIP"),
}

# Case messages live in their own module (working notes, not the record); re-exported here so
# that `samplan.cases.models` stays the one place to import a case's models from.
from .messages import CaseMessage as CaseMessage  # noqa: E402
from .messages import CaseMessageQuerySet as CaseMessageQuerySet  # noqa: E402
from .messages import MessageAcknowledgement as MessageAcknowledgement  # noqa: E402
from .messages import MessageRead as MessageRead  # noqa: E402
from .messages import unread_message_count as unread_message_count  # noqa: E402
