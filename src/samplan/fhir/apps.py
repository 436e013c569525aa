from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    """No models: the app exists for its export module and its management command."""

    name = "samplan.fhir"
    label = "fhir"
    verbose_name = _("FHIR export")
