from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "username",
        "unit_name",
        "action",
        "what",
        "case_id",
        "outcome",
        "ip_address",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["username", "unit_name"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
