from django.urls import path

from . import actions, views

app_name = "workspace"
urlpatterns = [
    path("sip/", views.case_list, name="case_list"),
    path("sip/<int:case_id>/", views.case_detail, name="case_detail"),
    path("sip/<int:case_id>/avsluta/", actions.close_case, name="close_case"),
    path("logg/", views.audit_log, name="audit_log"),
]
