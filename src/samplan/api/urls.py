"""/api/v1/ (namespace "api") and /fhir/ (namespace "fhir"); mounted in samplan/urls.py."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import fhir, views

api_patterns = (
    [
        path("sips/", views.SipList.as_view(), name="sips"),
        path("sips/<int:case_id>/", views.SipDetail.as_view(), name="sip"),
        path("sips/<int:case_id>/plan/", views.CurrentPlan.as_view(), name="plan"),
        path(
            "sips/<int:case_id>/plan/versions/",
            views.PlanVersionList.as_view(),
            name="plan_versions",
        ),
        path(
            "sips/<int:case_id>/plan/versions/<int:number>/",
            views.PlanVersionDetail.as_view(),
            name="plan_version",
        ),
        path("sips/<int:case_id>/meetings/", views.MeetingList.as_view(), name="meetings"),
        path(
            "sips/<int:case_id>/invitations/<int:invitation_id>/answer/",
            views.AnswerInvitation.as_view(),
            name="answer_invitation",
        ),
        path("sips/<int:case_id>/messages/", views.MessageList.as_view(), name="messages"),
        path(
            "sips/<int:case_id>/messages/<int:message_id>/acknowledge/",
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
