"""The outbox in the admin, read-only, for whoever runs the service: what waits, how many
attempts, the last error class. Never the address or the text: an address may be a relative's
own, and the admin is no back door around the access rule (see cases/admin.py)."""

from django.contrib import admin

from samplan.cases.admin import ReadOnlyAdmin

from .models import OutgoingMail


class WaitingFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("waiting", "waiting"),
            ("failing", "waiting after a failed attempt"),
            ("sent", "sent"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(sent_at__isnull=True, attempts__gt=0)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutgoingMail)
class OutgoingMailAdmin(ReadOnlyAdmin):
    list_display = ["key", "queued_at", "due_at", "sent_at", "attempts", "last_error"]
    list_filter = [WaitingFilter]
    fields = list_display + ["last_attempt_at", "ics_method"]
    ordering = ["-queued_at"]
    search_fields = ["key"]
