"""API clients in the admin: read-only (they are made with `manage.py api_client`, which shows
the token once and logs who did it), without the token's hash."""

from django.contrib import admin

from .models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "token_hint", "oidc_client_id", "expires_at", "revoked_at")
    fields = (
        "name",
        "unit",
        "user",
        "token_hint",
        "oidc_client_id",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
