"""Error pages in the right frame: under Min SIP (/mina-sidor/) the person's layout, words and way
back; everywhere else the staff's."""

from __future__ import annotations

from django.urls import reverse
from django.views import defaults


def _in_min_sip(request) -> bool:
    return request.path.startswith(reverse("mypages:home"))


def page_not_found(request, exception):
    template = "mypages/404.html" if _in_min_sip(request) else "404.html"
    return defaults.page_not_found(request, exception, template_name=template)


def permission_denied(request, exception):
    template = "mypages/403.html" if _in_min_sip(request) else "403.html"
    return defaults.permission_denied(request, exception, template_name=template)
