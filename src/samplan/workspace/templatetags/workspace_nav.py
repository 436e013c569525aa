"""What the main menu offers depends on the roles the signed-in staff member holds."""

from __future__ import annotations

from django import template

from samplan.access.citizen import role_words
from samplan.access.services import active_assignments

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_roles(context) -> frozenset[str]:
    """The roles of the user's active assignments (read once per request by samplan.access)."""
    request = context.get("request")
    return frozenset(role for _unit, role in active_assignments(getattr(request, "user", None)))


@register.filter
def citizen_role(role: str) -> str:
    """Who took a step in Min SIP, by capacity (access/citizen.role_words)."""
    return role_words(role)
