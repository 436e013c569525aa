"""Read-only admin for cases: process data only (state, units, times), never the person or the
plan's content, so that the admin is no back door around the access rule and the audit log."""

from django.contrib import admin

from .models import CaseEvent, SipCase


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["at", "action", "from_state", "to_state", "actor", "actor_unit"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SipCase)
class SipCaseAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "kind",
        "state",
        "coordinating_unit",
        "initiated_at",
        "call_deadline",
        "closed_at",
    ]
    list_filter = ["state", "kind", "coordinating_unit__organisation"]
    list_select_related = ["coordinating_unit"]
    fields = [
        "kind",
        "state",
        "initiated_by",
        "initiated_at",
        "initiating_unit",
        "coordinating_unit",
        "coordinator",
        "discharge_notice_at",
        "call_deadline",
        "information_given_at",
        "closed_at",
        "closing_reason",
        "lock_version",
    ]
    readonly_fields = fields
    inlines = [CaseEventInline]
    date_hierarchy = "initiated_at"
