from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "samplan.documents"
    label = "documents"
    verbose_name = _("Documents (plan PDFs, blank forms, contingency packs)")
