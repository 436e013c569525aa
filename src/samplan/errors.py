"""Domain errors that users can read: a Swedish and an English message and the field concerned."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import translation


class DomainError(Exception):
    """A refused action, told in Swedish and English, tied to the field it concerns ("" = form)."""

    code = "domain_error"

    def __init__(self, sv: str, en: str, field: str = "", *, code: str | None = None):
        super().__init__(en)
        self.sv = sv
        self.en = en
        self.field = field
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return self.en if (translation.get_language() or "sv").startswith("en") else self.sv

    def __str__(self) -> str:
        return self.message

    def as_validation_error(self) -> ValidationError:
        return ValidationError({self.field or "__all__": [self.message]}, code=self.code)


class DomainErrors(DomainError):
    """Several errors at once, e.g. every missing part of a plan."""

    code = "several"

    def __init__(self, errors: Iterable[DomainError]):
        self.errors = list(errors)
        super().__init__(
            " ".join(error.sv for error in self.errors),
            " ".join(error.en for error in self.errors),
        )

    def as_validation_error(self) -> ValidationError:
        by_field: dict[str, list[str]] = {}
        for error in self.errors:
            by_field.setdefault(error.field or "__all__", []).append(error.message)
        return ValidationError(by_field)


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"


class PermissionRefused(DomainError):
    code = "permission_refused"


class StaleEdit(DomainError):
    """Someone else saved first; `current` is the newer object to show instead."""

    code = "stale_edit"

    def __init__(self, current=None):
        super().__init__(
            "Någon annan har sparat ändringar sedan du öppnade sidan. Det senaste innehållet "
            "visas nu; gör om dina ändringar utifrån det. Inget har skrivits över.",
            "Someone else saved changes since you opened the page. The latest content is shown "
            "now; make your changes again on top of it. Nothing was overwritten.",
            "version",
        )
        self.current = current


def form_error_response(form, error: DomainError) -> None:
    """Attach a domain error to a Django form, next to its field when the form has one."""
    errors = error.errors if isinstance(error, DomainErrors) else [error]
    for item in errors:
        field = item.field if item.field in form.fields else None
        form.add_error(field, item.message)
