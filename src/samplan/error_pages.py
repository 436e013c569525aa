"""Error pages in the right frame: under Min SIP (/mina-sidor/) the person's layout, words and way
back; under the API (/api/, /fhir/) JSON as the API answers its own errors; everywhere else the
staff's. A database out of reach for a moment (a restart) is a 503 asking to try again, never
a traceback (`server_error`, docs/operations.md)."""

from __future__ import annotations

import sqlite3
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.urls import reverse
from django.utils import translation
from django.views import defaults

from samplan.errors import DomainError


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


# --- The database out of reach for a moment (a restart, a failover, a dropped connection) ------

# PostgreSQL's SQLSTATEs that mean "not now" rather than "wrong": a connection lost or refused
# (class 08), the server shutting down or starting (57P01–57P03), too many connections, and a
# transaction chosen to give way (serialization failure, deadlock).
_TRY_AGAIN_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")
# Seconds a client is asked to wait: a restart takes a few, a failover tens.
RETRY_AFTER = "10"


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` is the database being out of reach for a moment, which trying again
    mends, and not a fault in the code (a missing table, a broken query is still a 500)."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate.startswith(_TRY_AGAIN_SQLSTATES)
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause) or "busy" in str(cause)
    # No SQLSTATE: the driver never reached a server (refused, reset, closed).
    return True


class DatabaseUnavailable(DomainError):
    """The API's words for it, in both languages as every API error."""

    code = "database_unavailable"

    def __init__(self):
        super().__init__(
            "Samplan kunde inte nå sin databas just nu. Försök igen om en stund; det som inte "
            "fick svar sparades kanske inte.",
            "Samplan could not reach its database just now. Try again in a moment; what got no "
            "answer may not have been saved.",
        )


def unavailable_json(error: DomainError | None = None) -> JsonResponse:
    error = error or DatabaseUnavailable()
    body = {
        "detail": error.message,
        "code": error.code,
        "errors": [{"field": error.field, "code": error.code, "sv": error.sv, "en": error.en}],
    }
    response = JsonResponse(body, status=503)
    response["Retry-After"] = RETRY_AFTER
    return response


def server_error(request):
    """handler500: a database out of reach is a 503 asking to try again (HTML, or JSON under
    the API), rendered without a query (no session, no user, no messages); anything else is
    Django's plain 500."""
    error = sys.exc_info()[1]
    if error is None or not database_unavailable(error):
        return defaults.server_error(request)
    language = translation.get_language_from_request(request)
    with translation.override(language):
        if request.path.startswith(("/api/", "/fhir/")):
            response = unavailable_json()
        else:
            page = loader.get_template("503.html").render({"request": request})
            response = HttpResponse(page, status=503)
        response["Retry-After"] = RETRY_AFTER
        response["Content-Language"] = language
    return response
