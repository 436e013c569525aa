"""The second factors in the admin: who has which, and removing one (a lost phone), nothing more.

django-otp's own admin pages show an authenticator's key and QR code and the backup codes, and let
an administrator add or change a device: whoever sees a key signs in as its owner. They are
replaced here by pages that show who, what and when, and only allow a delete (audited by
accounts/signals.py). A member of staff enrols their own authenticator at their next sign-in.
"""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice, StaticToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class SecondFactorAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TOTPDevice)
class AuthenticatorAdmin(SecondFactorAdmin):
    pass


@admin.register(StaticDevice)
class BackupCodesAdmin(SecondFactorAdmin):
    pass
