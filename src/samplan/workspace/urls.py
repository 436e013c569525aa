from django.urls import path

from .views import (
    case,
    closing,
    consent,
    follow_up,
    initiative,
    meetings,
    messages,
    plan,
    preparation,
    search,
    start,
)

app_name = "workspace"
urlpatterns = [
    path("sip/", case.case_list, name="case_list"),
    path("sip/<int:case_id>/", case.case_detail, name="case_detail"),
    path("sip/<int:case_id>/avsluta/", closing.close_case, name="close_case"),
    path("logg/", case.audit_log, name="audit_log"),
    *start.urlpatterns,
    *search.urlpatterns,
    *initiative.urlpatterns,
    *consent.urlpatterns,
    *preparation.urlpatterns,
    *meetings.urlpatterns,
    *plan.urlpatterns,
    *follow_up.urlpatterns,
    *messages.urlpatterns,
]
