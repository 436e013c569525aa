"""Carries the client's address and the path to the audit log without threading the request
through every service function."""

from contextvars import ContextVar

from samplan.hardening import forwarded_client_address

current_request_info: ContextVar[tuple[str | None, str]] = ContextVar(
    "current_request_info", default=(None, "")
)
# The signed-in user of the request (a lazy object, read only when needed), so that a grant made
# through a model save (admin, any view) names who made it: directory/signals.py.
current_user: ContextVar[object | None] = ContextVar("current_user", default=None)


def client_address(request) -> str | None:
    # X-Forwarded-For only from SAMPLAN_TRUSTED_PROXIES, the rightmost address not one of them.
    return forwarded_client_address(request.META)


class ClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request_info.set((client_address(request), request.path[:300]))
        user_token = current_user.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            current_user.reset(user_token)
            current_request_info.reset(token)
