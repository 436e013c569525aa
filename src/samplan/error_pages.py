"""Error pages in the right frame: under Min SIP (/mina-sidor/) the person's layout, words and way
back; under the API (/api/, /fhir/) JSON as the API answers its own errors; everywhere else the
staff's."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import reverse
from django.views import defaults


def _in_min_sip(request) -> bool:
    return request.path.startswith(reverse("mypages:home"))


def page_not_found(request, exception):
    # An address no route of the API has: the answer the API gives to an unknown id.
    if request.path.startswith("/fhir/"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Not found."}],
        }
        return JsonResponse(body, status=404, content_type="application/fhir+json")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    template = "mypages/404.html" if _in_min_sip(request) else "404.html"
    return defaults.page_not_found(request, exception, template_name=template)


def permission_denied(request, exception):
    template = "mypages/403.html" if _in_min_sip(request) else "403.html"
    return defaults.permission_denied(request, exception, template_name=template)
