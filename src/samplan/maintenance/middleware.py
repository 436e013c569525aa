"""Read-only mode on every request: the banner's state on the request, and the database guard
that refuses any write reading does not need (maintenance/mode.py)."""

from __future__ import annotations

from django.db import connection
from django.template.response import TemplateResponse

from samplan.maintenance.mode import ReadOnlyRefused, current_state, guard, request_state


class ReadOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = current_state()
        request.read_only = state
        token = request_state.set(state)
        try:
            if state is None:
                return self.get_response(request)
            with connection.execute_wrapper(guard):
                return self.get_response(request)
        finally:
            request_state.reset(token)

    def process_exception(self, request, exception):
        # A write that no form turned into a message: say so, nothing was saved.
        if isinstance(exception, ReadOnlyRefused):
            response = TemplateResponse(
                request, "maintenance/read_only.html", {"error": exception}, status=503
            )
            response["Retry-After"] = "600"
            return response.render()
        return None


def read_only(request):
    """Context processor: `read_only` is the mode in force (for the banner), or None."""
    return {"read_only": getattr(request, "read_only", None)}
