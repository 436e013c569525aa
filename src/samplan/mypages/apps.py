from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MyPagesConfig(AppConfig):
    name = "samplan.mypages"
    label = "mypages"
    verbose_name = _("Min SIP")

    def ready(self):
        # A staff sign-in drops a citizen from the session; the sign-in settings are checked.
        from samplan.mypages import checks, signals  # noqa: F401
