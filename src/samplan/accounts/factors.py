"""Whether this session's sign-in used two factors. Every way in that counts as two factors
(a local password followed by a TOTP or backup code; single sign-on whose `acr`/`amr` says two
factors) marks the session here, and the middleware lets no page with personal data through
before the mark is there."""

from __future__ import annotations

SESSION_KEY = "samplan_second_factor"


def mark_two_factors(request, method: str) -> None:
    """Record that this session's user proved a second factor, and how ("totp", "backup_code",
    "oidc")."""
    request.session[SESSION_KEY] = method


def second_factor(request) -> str | None:
    """How the session's second factor was proved, or None before it is."""
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None


def has_two_factors(request) -> bool:
    return bool(getattr(request, "user", None) and request.user.is_authenticated) and bool(
        second_factor(request)
    )
