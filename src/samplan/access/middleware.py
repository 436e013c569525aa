"""Carries the client's address and the path to the audit log without threading the request
through every service function."""

from contextvars import ContextVar

from django.conf import settings

current_request_info: ContextVar[tuple[str | None, str]] = ContextVar(
    "current_request_info", default=(None, "")
)


def client_address(request) -> str | None:
    if settings.SAMPLAN_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            # Our proxy appends the address it saw; entries to its left come from the client
            # and can be forged, so take the rightmost.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR") or None


class ClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request_info.set((client_address(request), request.path[:300]))
        try:
            return self.get_response(request)
        finally:
            current_request_info.reset(token)
