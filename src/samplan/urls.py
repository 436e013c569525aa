from django.contrib import admin
from django.urls import include, path

from samplan.accounts import views as accounts_views
from samplan.api.urls import api_patterns, fhir_patterns
from samplan.workspace.views import case as workspace_views

urlpatterns = [
    path("", workspace_views.home, name="home"),
    # Password, then a second factor (samplan.accounts); the admin signs in and out there too.
    path("konto/logga-in/", accounts_views.sign_in, name="login"),
    path("konto/logga-ut/", accounts_views.sign_out, name="logout"),
    path("konto/", include("samplan.accounts.urls")),
    path("admin/login/", accounts_views.admin_sign_in),
    path("admin/logout/", accounts_views.sign_out),
    # Single sign-on for staff (samplan.accounts.oidc); 404 unless SAMPLAN_STAFF_OIDC is set.
    path("oidc/", include("samplan.accounts.oidc_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Min SIP: the person, their guardian or representative, signed in with e-legitimation.
    path("mina-sidor/", include("samplan.mypages.urls")),
    # The bell: staff's notifications of reminders (samplan.reminders.bell).
    path("notiser/", include("samplan.reminders.bell")),
    # Outcome statistics per unit, organisation and county (samplan.stats).
    path("statistik/", include("samplan.stats.urls")),
    # For other systems: the REST API and FHIR R4B (samplan.api; bearer tokens, no session).
    path("api/v1/", include(api_patterns)),
    path("fhir/", include(fhir_patterns)),
    path("admin/", admin.site.urls),
    path("", include("samplan.workspace.urls")),
]

# Under Min SIP the person's layout; elsewhere the staff's (samplan/error_pages.py).
handler403 = "samplan.error_pages.permission_denied"
handler404 = "samplan.error_pages.page_not_found"
# The database out of reach (a restart): 503, try again; anything else the plain 500.
handler500 = "samplan.error_pages.server_error"
