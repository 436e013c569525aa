"""What the API answers, field by field. Read-only shapes over the models; what a system may
change goes through the request serializers at the end and then the services."""

from __future__ import annotations

from rest_framework import serializers

from samplan.cases.models import Invitation, Meeting, PlanVersion, SipCase, State

# Ten or twelve digits, a hyphen or plus before the last four if any; the checksum and the date
# are checked by people.identity.parse_identity.
IDENTITY_PATTERN = r"^(\d{6}|\d{8})[-+]?\d{4}$"

# Named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]: two choice sets share the field name "kind".
SIP_KINDS = SipCase.Kind.choices
MEETING_KINDS = Meeting.Kind.choices


class UnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    hsa_id = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")


class PersonSerializer(serializers.Serializer):
    identity_number = serializers.CharField()
    identity_kind = serializers.CharField()
    name = serializers.CharField(source="full_name")
    protected = serializers.BooleanField(
        source="is_protected",
        help_text="Skyddade personuppgifter (any level): never an address, in no answer.",
    )


class SipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="The SIP number, e.g. SIP-2026-000123.")
    kind = serializers.ChoiceField(choices=SIP_KINDS)
    state = serializers.ChoiceField(choices=State.choices)
    person = PersonSerializer()
    initiated_at = serializers.DateTimeField()
    discharge_notice_at = serializers.DateTimeField(allow_null=True)
    call_deadline = serializers.DateTimeField(
        allow_null=True, help_text="The meeting is to be called by then."
    )
    coordinating_unit = UnitSerializer()
    closed_at = serializers.DateTimeField(allow_null=True)
    closing_reason = serializers.ChoiceField(
        choices=SipCase.ClosingReason.choices, allow_blank=True
    )
    updated_at = serializers.DateTimeField()


class SipPageSerializer(serializers.Serializer):
    results = SipSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="The next page (keyset: no count is given), or null."
    )


class ParticipantSerializer(serializers.Serializer):
    unit = UnitSerializer()
    role = serializers.CharField()
    consent_revoked = serializers.BooleanField(
        help_text="The person revoked the consent for this unit's organisation."
    )


class NextStepSerializer(serializers.Serializer):
    action = serializers.CharField()
    deadline_label = serializers.CharField(allow_blank=True)
    deadline = serializers.CharField(
        allow_null=True, help_text="ISO 8601: a date-time, or a date for a follow-up date."
    )
    overdue = serializers.BooleanField()
    due_soon = serializers.BooleanField()


class SipDetailSerializer(SipSerializer):
    coordinator = serializers.CharField(allow_blank=True)
    participants = ParticipantSerializer(many=True)
    next_step = NextStepSerializer()
    current_plan_version = serializers.IntegerField(allow_null=True)


class EvaluationSerializer(serializers.Serializer):
    result = serializers.CharField()
    comment = serializers.CharField(allow_blank=True)
    person_view = serializers.CharField(allow_blank=True)
    recorded_at = serializers.DateTimeField()


class GoalSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The person's own goal, in their words.")
    evaluations = EvaluationSerializer(many=True)


class InterventionSerializer(serializers.Serializer):
    description = serializers.CharField()
    responsible = serializers.CharField(source="responsible_name")
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    contact_name = serializers.CharField(allow_blank=True)
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    ends_note = serializers.CharField(allow_blank=True)


class AttendeeSerializer(serializers.Serializer):
    name = serializers.CharField()
    represents = serializers.CharField(allow_blank=True)


class PlanVersionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PlanVersion.Status.choices)
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    fhir_id = serializers.UUIDField(help_text="The id of this version's FHIR CarePlan.")


class PlanVersionSerializer(PlanVersionSummarySerializer):
    approved_by = serializers.CharField(allow_blank=True)
    needs_today = serializers.CharField(allow_blank=True)
    goals = GoalSerializer(many=True)
    interventions = InterventionSerializer(many=True)
    main_responsible_unit = UnitSerializer(allow_null=True)
    coordination = serializers.CharField(allow_blank=True)
    follow_up_on = serializers.DateField(allow_null=True)
    cooperation_ends = serializers.CharField(allow_blank=True)
    expected_of_person = serializers.CharField(allow_blank=True)
    expected_of_relatives = serializers.CharField(allow_blank=True)
    attendees = AttendeeSerializer(many=True)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    invitee = serializers.CharField(source="invitee_name")
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    answer = serializers.ChoiceField(choices=Invitation.Answer.choices)
    decline_reason = serializers.CharField(allow_blank=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    attended = serializers.BooleanField(allow_null=True)
    version = serializers.IntegerField(
        source="lock_version", help_text="Send it back with an answer (optimistic locking)."
    )


class MeetingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MEETING_KINDS)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField()
    place = serializers.CharField(allow_blank=True)
    video_link = serializers.CharField(allow_blank=True)
    sequence = serializers.IntegerField(
        help_text="Goes up when the meeting moves; send it back with an answer."
    )
    cancelled_at = serializers.DateTimeField(allow_null=True)
    invitations = InvitationSerializer(many=True)


class AcknowledgementSerializer(serializers.Serializer):
    unit = serializers.CharField(source="unit.name")
    at = serializers.DateTimeField()


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sent_at = serializers.DateTimeField()
    sender_unit = serializers.CharField(source="sender_unit.name")
    body = serializers.CharField()
    asks_acknowledgement = serializers.BooleanField()
    acknowledgements = AcknowledgementSerializer(many=True)


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    sv = serializers.CharField()
    en = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="In the language of Accept-Language (sv default).")
    code = serializers.CharField()
    errors = ErrorItemSerializer(many=True, required=False)


# --- What a system sends ----------------------------------------------------------------------


class SipQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.choices, required=False, help_text="Only in it.")
    identity_number = serializers.RegexField(
        IDENTITY_PATTERN,
        required=False,
        help_text="Only this person's SIPs: a personnummer or samordningsnummer, any common form.",
    )
    after = serializers.IntegerField(
        required=False, min_value=0, default=0, help_text="The last id of the page before."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class AnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(
        choices=[Invitation.Answer.ACCEPTED, Invitation.Answer.DECLINED]
    )
    decline_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    version = serializers.IntegerField(
        min_value=0, help_text="The invitation's version as read (a newer answer is a 409)."
    )
    sequence = serializers.IntegerField(
        min_value=0, help_text="The meeting's sequence as read (a moved meeting is a 409)."
    )
