"""The REST API (/api/v1/): the SIPs a system may see, their plans, meetings and messages; a
system answers its unit's invitations and acknowledges messages.

The same doors as the pages: every case is reached through `cases_visible_to`/`get_case_for`
(so each read is in the audit log, a foreign case is a 404 and its refusal is logged), a list
logs one row per SIP in it (`log_list_reads`), and every change is a service call, refused or
allowed by the same rules. A system is a participant of its unit (api/models.py): it never
drives a case. Errors come in both languages with the field they concern (`exception_handler`).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from samplan.access.services import cases_visible_to, get_case_for, log_list_reads
from samplan.cases import services
from samplan.cases.deadlines import current_meeting, next_step
from samplan.cases.models import (
    PLAN_PARTS,
    CaseMessage,
    Evaluation,
    Invitation,
    MessageAcknowledgement,
    PlanVersion,
    revoked_organisation_ids,
)
from samplan.error_pages import database_unavailable, unavailable_json
from samplan.errors import DomainError, DomainErrors, PermissionRefused, StaleEdit
from samplan.maintenance.mode import ReadOnlyRefused
from samplan.people.identity import parse_identity

from . import serializers as s

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Refused: what and where, sv and en."),
    401: OpenApiResponse(s.ErrorSerializer, description="No valid bearer token."),
    403: OpenApiResponse(s.ErrorSerializer, description="The system's unit may not do this."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such SIP for this system."),
}


def exception_handler(error, context):
    """A domain error as JSON: the message in the request's language, and every problem in
    Swedish and English with its field; 403 refused, 409 stale, 503 read-only mode or the
    database out of reach for a moment (a restart: try again)."""
    if database_unavailable(error):
        set_rollback()
        return unavailable_json()
    if isinstance(error, DomainError):
        items = error.errors if isinstance(error, DomainErrors) else [error]
        code = {
            StaleEdit: status.HTTP_409_CONFLICT,
            PermissionRefused: status.HTTP_403_FORBIDDEN,
            ReadOnlyRefused: status.HTTP_503_SERVICE_UNAVAILABLE,
        }.get(type(error), status.HTTP_400_BAD_REQUEST)
        body = {
            "detail": error.message,
            "code": error.code,
            "errors": [
                {"field": item.field, "code": item.code, "sv": item.sv, "en": item.en}
                for item in items
            ],
        }
        response = Response(body, status=code)
        if code == status.HTTP_503_SERVICE_UNAVAILABLE:
            response["Retry-After"] = "600"
        return response
    if isinstance(error, Http404):
        error = exceptions.NotFound()
    response = drf_exception_handler(error, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data = {"detail": str(detail), "code": getattr(detail, "code", "error")}
    return response


def _case(request, case_id: int, what: str):
    """The case, if this system may see it: read and audited through get_case_for."""
    return get_case_for(request.user, case_id, what=what)


_SIP_FIELDS = ("person", "coordinating_unit__organisation", "coordinator")


def validated(serializer_class, data) -> dict:
    """The serializer's data, or every problem as a DomainErrors in Swedish and English (the
    serializer's messages are translated when it validates, so it validates once in each)."""
    form = serializer_class(data=data)
    unknown = sorted(set(data) - set(form.fields)) if isinstance(data, dict) else []
    if unknown:  # a misspelt filter must not quietly return everything
        raise DomainErrors(
            DomainError("Okänd parameter.", "Unknown parameter.", name, code="unknown")
            for name in unknown
        )
    if form.is_valid():
        return form.validated_data
    problems = {}
    for language in ("sv", "en"):
        with translation.override(language):
            again = serializer_class(data=data)
            again.is_valid()
            problems[language] = again.errors
    raise DomainErrors(
        DomainError(" ".join(problems["sv"][field]), " ".join(messages), field, code="invalid")
        for field, messages in problems["en"].items()
    )


class SipList(APIView):
    @extend_schema(
        operation_id="sips_list",
        summary="The SIPs this system may see, oldest first, in keyset pages",
        parameters=[s.SipQuerySerializer],
        responses={200: s.SipPageSerializer, **ERRORS},
    )
    def get(self, request):
        query = validated(s.SipQuerySerializer, request.query_params.dict())
        cases = cases_visible_to(request.user).select_related(*_SIP_FIELDS).order_by("pk")
        if query.get("state"):
            cases = cases.filter(state=query["state"])
        if query.get("identity_number"):
            identity = parse_identity(query["identity_number"])
            cases = cases.filter(person__identity_number=identity.number)
        limit = query["limit"]
        page = list(cases.filter(pk__gt=query["after"])[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        log_list_reads(request.user, page, "api_sip_list")
        next_url = None
        if more:
            params = request.query_params.copy()
            params["after"] = str(page[-1].pk)
            params["limit"] = str(limit)
            next_url = f"{reverse('api:sips', request=request)}?{params.urlencode()}"
        return Response(
            {"results": s.SipSerializer(page, many=True).data, "next": next_url},
        )


class SipDetail(APIView):
    @extend_schema(
        operation_id="sips_retrieve",
        summary="One SIP: state, next step and deadline, who takes part",
        responses={200: s.SipDetailSerializer, **ERRORS},
    )
    def get(self, request, case_id: int):
        case = _case(request, case_id, "api_sip")
        consents = list(case.consents.prefetch_related("scopes"))
        revoked = revoked_organisation_ids(consents)
        meetings = list(case.meetings.all())
        valid = case.valid_plan()
        step = next_step(case, valid_plan=valid, next_meeting=current_meeting(meetings))
        deadline = step.deadline.isoformat() if step.deadline else None
        participants = case.participants.filter(removed_at__isnull=True).select_related(
            "unit__organisation"
        )
        case.participants_shown = [
            {
                "unit": participant.unit,
                "role": participant.role,
                "consent_revoked": participant.unit.organisation_id in revoked,
            }
            for participant in participants.order_by("role", "unit__name")
        ]
        data = s.SipSerializer(case).data | {
            "coordinator": case.coordinator.get_full_name() if case.coordinator else "",
            "participants": s.ParticipantSerializer(case.participants_shown, many=True).data,
            "next_step": {
                "action": str(step.action),
                "deadline_label": str(step.deadline_label),
                "deadline": deadline,
                "overdue": step.overdue,
                "due_soon": step.due_soon,
            },
            "current_plan_version": valid.number if valid else None,
        }
        return Response(data)


def _plan_versions(case):
    return case.plan_versions.select_related(
        "main_responsible_unit__organisation"
    ).prefetch_related(
        *PLAN_PARTS,
        Prefetch("goals__evaluations", queryset=Evaluation.objects.order_by("recorded_at")),
    )


class CurrentPlan(APIView):
    @extend_schema(
        operation_id="sips_plan_retrieve",
        summary="The valid plan of the SIP (404 while it has none)",
        responses={200: s.PlanVersionSerializer, **ERRORS},
    )
    def get(self, request, case_id: int):
        case = _case(request, case_id, "api_plan")
        plan = _plan_versions(case).filter(status=PlanVersion.Status.VALID).first()
        if plan is None:
            raise Http404
        return Response(s.PlanVersionSerializer(plan).data)


class PlanVersionList(APIView):
    @extend_schema(
        operation_id="sips_plan_versions_list",
        summary="Every version of the plan, newest first (a draft included)",
        responses={200: s.PlanVersionSummarySerializer(many=True), **ERRORS},
    )
    def get(self, request, case_id: int):
        case = _case(request, case_id, "api_plan")
        versions = case.plan_versions.order_by("-number")
        return Response(s.PlanVersionSummarySerializer(versions, many=True).data)


class PlanVersionDetail(APIView):
    @extend_schema(
        operation_id="sips_plan_versions_retrieve",
        summary="One version of the plan, every part",
        responses={200: s.PlanVersionSerializer, **ERRORS},
    )
    def get(self, request, case_id: int, number: int):
        case = _case(request, case_id, "api_plan")
        plan = get_object_or_404(_plan_versions(case), number=number)
        return Response(s.PlanVersionSerializer(plan).data)


def _meetings(case):
    return case.meetings.prefetch_related(
        Prefetch(
            "invitations",
            queryset=Invitation.objects.select_related(
                "unit", "related_party", "meeting__case__person"
            ),
        )
    ).order_by("starts_at", "pk")


class MeetingList(APIView):
    @extend_schema(
        operation_id="sips_meetings_list",
        summary="The SIP's meetings with every invitation and its answer",
        responses={200: s.MeetingSerializer(many=True), **ERRORS},
    )
    def get(self, request, case_id: int):
        case = _case(request, case_id, "api_meeting")
        return Response(s.MeetingSerializer(_meetings(case), many=True).data)


class AnswerInvitation(APIView):
    @extend_schema(
        operation_id="sips_invitations_answer",
        summary="Answer the call to the system's own unit: accept, or decline with a reason",
        request=s.AnswerSerializer,
        responses={
            200: s.InvitationSerializer,
            409: OpenApiResponse(s.ErrorSerializer, description="Answered or moved meanwhile."),
            **ERRORS,
        },
    )
    def post(self, request, case_id: int, invitation_id: int):
        case = _case(request, case_id, "api_invitation")
        invitation = get_object_or_404(
            Invitation.objects.select_related("meeting", "unit"),
            pk=invitation_id,
            meeting__case=case,
        )
        invitation.meeting.case = case
        data = validated(s.AnswerSerializer, request.data)
        answered = services.record_answer(
            invitation,
            actor=request.user,
            answer=data["answer"],
            decline_reason=data.get("decline_reason", ""),
            expected_version=data["version"],
            expected_sequence=data["sequence"],
        )
        return Response(s.InvitationSerializer(answered).data)


class MessageList(APIView):
    @extend_schema(
        operation_id="sips_messages_list",
        summary="The message thread of the SIP (working notes between the units taking part)",
        responses={200: s.MessageSerializer(many=True), **ERRORS},
    )
    def get(self, request, case_id: int):
        case = _case(request, case_id, "case_message")
        if not request.user.has_perm("cases.take_part", case):
            raise PermissionRefused(
                "Bara enheter som deltar i SIP:en läser meddelandena.",
                "Only units taking part in the SIP read its messages.",
            )
        messages = list(
            case.messages.select_related("sender_unit").prefetch_related(
                Prefetch(
                    "acknowledgements",
                    queryset=MessageAcknowledgement.objects.select_related("unit"),
                )
            )
        )
        services.mark_messages_read(request.user, messages)
        return Response(s.MessageSerializer(messages, many=True).data)


class AcknowledgeMessage(APIView):
    @extend_schema(
        operation_id="sips_messages_acknowledge",
        summary="Acknowledge receipt of a message for the system's unit",
        request=None,
        responses={201: s.AcknowledgementSerializer, **ERRORS},
    )
    def post(self, request, case_id: int, message_id: int):
        case = _case(request, case_id, "case_message")
        message = get_object_or_404(CaseMessage, pk=message_id, case=case)
        message.case = case
        acknowledgement = services.acknowledge_message(message, actor=request.user)
        return Response(
            s.AcknowledgementSerializer(acknowledgement).data, status=status.HTTP_201_CREATED
        )
