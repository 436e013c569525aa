from django.urls import path

from .views import (
    case,
    closing,
    consent,
    contingency,
    documents,
    emergency,
    follow_up,
    initiative,
    log_review,
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
    path("sip/<id:case_id>/", case.case_detail, name="case_detail"),
    path("sip/<id:case_id>/avsluta/", closing.close_case, name="close_case"),
    *start.urlpatterns,
    *search.urlpatterns,
    *initiative.urlpatterns,
    *consent.urlpatterns,
    *preparation.urlpatterns,
    *meetings.urlpatterns,
    *plan.urlpatterns,
    *documents.urlpatterns,
    *follow_up.urlpatterns,
    *messages.urlpatterns,
    *emergency.urlpatterns,
    *log_review.urlpatterns,
    *contingency.urlpatterns,
]
