"""The gate of Min SIP's pages: a signed-in citizen, or the sign-in page."""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse


def citizen_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if getattr(request, "citizen", None) is None:
            query = QueryDict(mutable=True)
            if request.method == "GET":
                query["next"] = request.get_full_path()
            url = reverse("mypages:sign_in")
            return HttpResponseRedirect(f"{url}?{query.urlencode(safe='/')}" if query else url)
        return view(request, *args, **kwargs)

    return wrapped
