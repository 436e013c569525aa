"""One way for a view to run a service call for a bound form (the house style's "one helper for
action views"): a refused right, a stale form and a domain error each become an error on the
form, next to its field, in the page's language, with the HTTP status that says what happened.
What the user typed stays in the form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from samplan.errors import DomainError, PermissionRefused, StaleEdit, form_error_response


@dataclass
class Attempt:
    """The result of running a service call for a form."""

    status: int  # 200: done; 400 invalid; 403 refused; 409 stale
    value: Any = None
    stale: StaleEdit | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


def attempt(form, call: Callable[[], Any]) -> Attempt:
    """Run `call` (a service function with the form's cleaned data) if the form is valid.
    On a stale edit the caller shows the newer content: `Attempt.stale.current` holds it, and
    `with_version` gives the form back on top of the newer version."""
    if not form.is_valid():
        return Attempt(400)
    try:
        return Attempt(200, call())
    except StaleEdit as error:
        form.add_error(None, error.message)
        return Attempt(409, stale=error)
    except PermissionRefused as error:
        form_error_response(form, error)
        return Attempt(403)
    except DomainError as error:
        form_error_response(form, error)
        return Attempt(400)


def with_version(form_class, data, version: int, *, prefix: str | None = None, **kwargs):
    """The same form, what was typed kept, based on the newer version: a second submit is a
    deliberate choice to write over what the other person saved, after seeing it. `prefix` for
    a page with several forms of a kind (each posts its fields as `<prefix>-<name>`)."""
    data = data.copy()
    data[f"{prefix}-version" if prefix else "version"] = str(version)
    form = form_class(data, prefix=prefix, **kwargs)
    form.is_valid()
    return form
