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
    # Keys as numbers only: the admin must not show who the person is (it is not a logged read).
    fields = [
        "at",
        "username",
        "user_id",
        "unit_name",
        "unit_id",
        "case_id",
        "person_id",
        "action",
        "outcome",
        "what",
        "ip_address",
        "path",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
