"""/api/v1/ (namespace "api") and /fhir/ (namespace "fhir"); mounted in samplan/urls.py."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import fhir, views

api_patterns = (
    [
        path("sips/", views.SipList.as_view(), name="sips"),
        path("sips/<id:case_id>/", views.SipDetail.as_view(), name="sip"),
        path("sips/<id:case_id>/plan/", views.CurrentPlan.as_view(), name="plan"),
        path(
            "sips/<id:case_id>/plan/versions/",
            views.PlanVersionList.as_view(),
            name="plan_versions",
        ),
        path(
            "sips/<id:case_id>/plan/versions/<id:number>/",
            views.PlanVersionDetail.as_view(),
            name="plan_version",
        ),
        path("sips/<id:case_id>/meetings/", views.MeetingList.as_view(), name="meetings"),
        path(
            "sips/<id:case_id>/invitations/<id:invitation_id>/answer/",
            views.AnswerInvitation.as_view(),
            name="answer_invitation",
        ),
        path("sips/<id:case_id>/messages/", views.MessageList.as_view(), name="messages"),
        path(
            "sips/<id:case_id>/messages/<id:message_id>/acknowledge/",
            views.AcknowledgeMessage.as_view(),
            name="acknowledge_message",
        ),
        # The OpenAPI schema, the same as docs/openapi.yaml (a test keeps them equal).
        path("schema/", SpectacularAPIView.as_view(), name="schema"),
    ],
    "api",
)

fhir_patterns = (
    [
        path("metadata", fhir.Metadata.as_view(), name="metadata"),
        path("CarePlan", fhir.CarePlanSearch.as_view(), name="careplan_search"),
        path("CarePlan/<uuid:fhir_id>", fhir.CarePlanRead.as_view(), name="careplan"),
    ],
    "fhir",
)
