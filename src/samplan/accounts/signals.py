"""A second factor taken away is a security event: an administrator removing a member of staff's
authenticator or backup codes (a lost phone) lets the next sign-in with the password enrol a new
one. Audited whoever does it, through the admin or otherwise."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.middleware import current_user
from samplan.access.models import AuditEvent
from samplan.access.services import audit


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="samplan.accounts.totp_removed")
@receiver(post_delete, sender=StaticDevice, dispatch_uid="samplan.accounts.static_removed")
def second_factor_removed(sender, instance, **kwargs) -> None:
    if not instance.confirmed:
        return  # an authenticator set up but never confirmed: nothing was taken away
    owner = instance.user
    audit(
        current_user.get(),
        AuditEvent.Action.CHANGE,
        "second_factor_removed",
        subject_user=owner,
        subject_username=owner.get_username(),
        detail="authenticator app" if sender is TOTPDevice else "backup codes",
    )
