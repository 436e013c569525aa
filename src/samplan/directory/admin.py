from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Assignment, Organisation, Unit, User


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0
    fields = ["name", "hsa_id", "phone", "email", "active"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "organisation_number",
        "hsa_id",
        "initiative_deadline_days",
        "discharge_deadline_days",
    ]
    list_filter = ["kind"]
    search_fields = ["name", "organisation_number", "hsa_id"]
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "hsa_id", "active"]
    list_filter = ["organisation__kind", "active"]
    list_select_related = ["organisation"]
    search_fields = ["name", "hsa_id", "organisation__name"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["unit"]
    fields = ["unit", "role", "hsa_id", "valid_from", "valid_to"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Directory"), {"fields": ["hsa_id", "title", "phone"]}),
    ]
    list_display = [
        "username",
        "first_name",
        "last_name",
        "hsa_id",
        "is_superuser",
        "is_staff",
        "is_active",
    ]
    search_fields = ["username", "first_name", "last_name", "hsa_id"]
    inlines = [AssignmentInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role", "valid_from", "valid_to"]
    list_filter = ["role", "unit__organisation"]
    list_select_related = ["user", "unit__organisation"]
    autocomplete_fields = ["user", "unit"]

    def delete_queryset(self, request, queryset):
        # One at a time: each ended assignment is audited by its signal, which a bulk delete
        # would pass by (the queryset refuses it).
        for assignment in queryset.select_related("user"):
            assignment.delete()
