"""Rendering a Django template to a PDF with WeasyPrint: tagged (PDF/UA-1), fonts embedded.

The one place that turns HTML into PDF, so every document Samplan prints (the plan, the blank
SIP forms, the contingency packs) is accessible the same way: a language, a title, a structure
tree a screen reader follows, and DejaVu Sans embedded so å, ä and ö print on any machine.
Templates extend `documents/base.html`, which sets the language, the title, the stylesheet and
the page footer (`footer`: the SIP number and the date printed; "Sida 1 av 3" on the right).
"""

from __future__ import annotations

import threading

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

_local = threading.local()


def _font_config():
    """One WeasyPrint font configuration per thread, kept: setting up fontconfig and Pango's
    font map anew costs some 20 ms a document; sharing one between threads is not safe."""
    from weasyprint.text.fonts import FontConfiguration

    if getattr(_local, "font_config", None) is None:
        _local.font_config = FontConfiguration()
    return _local.font_config


def css_string(text: str) -> SafeString:
    """Text as a quoted CSS string, for the page footer (a CSS `content` value)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return mark_safe(f'"{escaped}"')


def page_of_pages() -> SafeString:
    """ "Sida 1 av 3": the page counters inside the translated sentence."""
    sentence = _("Page %(page)s of %(pages)s") % {"page": "\x00", "pages": "\x01"}
    parts = [css_string(part) for part in sentence.replace("\x01", "\x00").split("\x00")]
    return mark_safe(f"{parts[0]} counter(page) {parts[1]} counter(pages) {parts[2]}")


def render_pdf(template_name: str, context: dict, *, forms: bool = False) -> bytes:
    """The template rendered to PDF bytes (PDF/UA-1: tagged, with the template's `lang` and
    `<title>`; fonts embedded). `context["footer"]`, if given, is printed at the foot of every
    page. `forms=True` makes real PDF form fields of `<input>`, `<textarea>` and `<select>`."""
    from weasyprint import HTML

    html = render_to_string(
        template_name,
        {
            "LANGUAGE_CODE": translation.get_language() or "sv",
            "page_of_pages": page_of_pages(),
            **context,
            "footer_css": css_string(str(context.get("footer", ""))),
        },
    )
    return HTML(string=html).write_pdf(
        pdf_variant="pdf/ua-1", pdf_forms=forms or None, font_config=_font_config()
    )


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A PDF to download (`filename` holds no personal data: the SIP number at most)."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
