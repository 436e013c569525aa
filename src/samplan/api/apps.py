from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API for other systems (/api/v1/) and the FHIR R4B CarePlan endpoints (/fhir/)."""

    name = "samplan.api"
    label = "api"
    verbose_name = _("API for other systems")

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the bearer scheme with drf-spectacular)
