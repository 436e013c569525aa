"""Min SIP: the person's own pages, under /mina-sidor/. A module per page group in views/, each
with its own urlpatterns, like the staff workspace."""

from .views import (
    about,
    ask,
    consent,
    ending,
    follow_up,
    home,
    log_extract,
    meeting,
    plan,
    signin,
)

app_name = "mypages"
urlpatterns = [
    *signin.urlpatterns,
    *home.urlpatterns,
    *about.urlpatterns,
    *plan.urlpatterns,
    *meeting.urlpatterns,
    *consent.urlpatterns,
    *follow_up.urlpatterns,
    *ask.urlpatterns,
    *ending.urlpatterns,
    *log_extract.urlpatterns,
]
