"""The bell's count in the header of every staff page (samplan/reminders/bell.py)."""

from __future__ import annotations

from django import template

from samplan.reminders.bell import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """How many notifications the signed-in staff member has not read (one indexed query)."""
    request = context.get("request")
    if request is None:
        return 0
    if not hasattr(request, "_unread_notifications"):
        request._unread_notifications = unread_count(getattr(request, "user", None))
    return request._unread_notifications
