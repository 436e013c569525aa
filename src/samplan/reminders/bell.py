"""The bell (notiser): in-app notifications for staff, so that no reminder depends on e-mail.

The count in the header of every staff page is one query on a partial index (unread, per user);
the list shows the newest first, a page at a time (keyset on the id), and each notification
names the SIP by its number and what is due, never the person: showing it reads no personal
data, so it writes no audit row. Each links to its SIP's page, where the usual access check
applies. Marking one or all as read is a POST; another user's notification is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .models import Notification
from .tasks import case_path

PAGE_SIZE = 25
# The header counts at most this many: bounded work on every page, and no COUNT over a table
# that grows (the same rule as the search's keyset pages).
COUNT_CAP = 999


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return 0
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    return len(unread.values_list("pk", flat=True)[:COUNT_CAP])


@login_required
def notifications(request):
    page = Notification.objects.filter(user=request.user)
    before = request.GET.get("fore", "")
    if before.isdigit():
        page = page.filter(pk__lt=int(before))
    size = getattr(settings, "SAMPLAN_NOTIFICATION_PAGE_SIZE", PAGE_SIZE)
    rows = list(page.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    for row in rows:
        row.url = case_path(row.case_id, row.kind)
    # The header's bell reads the same count: one query for both.
    request._unread_notifications = unread_count(request.user)
    return render(
        request,
        "reminders/notifications.html",
        {
            "notifications": rows,
            "next_before": rows[-1].pk if more else None,
            "paged": before.isdigit(),
            "unread": request._unread_notifications,
        },
    )


@login_required
@require_POST
def mark_read(request):
    """Mark one notification (`notification`: its id) or all of them (`all`) as read."""
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True)
    if "all" in request.POST:
        unread.update(read_at=timezone.now())
    else:
        chosen = request.POST.get("notification", "")
        mine = Notification.objects.filter(user=request.user, pk=chosen if chosen.isdigit() else 0)
        if not mine.exists():
            raise Http404
        mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    before = request.POST.get("fore", "")
    url = reverse("reminders:notifications")
    return redirect(f"{url}?fore={before}" if before.isdigit() else url)


app_name = "reminders"
urlpatterns = [
    path("", notifications, name="notifications"),
    path("las/", mark_read, name="mark_read"),
]
