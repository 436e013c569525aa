"""A second factor given, changed or taken away is a security event, audited whoever does it,
through the admin, the shell or a data load.

Taken away (CHANGE "second_factor_removed"): an administrator removing a member of staff's
authenticator or backup codes (a lost phone) lets the next sign-in with the password enrol a new
one. Given or changed by someone else, or by no one (a shell, a data load): GRANT
"second_factor_device", since whoever holds the key signs in as the account. A person's own
enrolment and own backup codes are audited where they happen (accounts/services.py: CREATE
"second_factor_device" and "backup_codes"), so the signal leaves those to it and no act is logged
twice.

What a device looked like when it was loaded is kept on the instance (post_init): checking a code
saves the device (drift, throttling, last use) and that must cost no extra query.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_init, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.chain import take_chain_lock, write_events
from samplan.access.middleware import current_user
from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.directory.signals import _actor, _row

# What makes a device a way in, and for whom. The key is compared, never written to the log.
DEVICE_FIELDS = ("user_id", "confirmed", "key")
LOADED = "_samplan_device_loaded"


def _kind(sender) -> str:
    return "authenticator app" if sender is TOTPDevice else "backup codes"


def _state(instance) -> tuple:
    # From __dict__: a field left out of the query (only/defer) must not cost a query here.
    return tuple(instance.__dict__.get(field) for field in DEVICE_FIELDS)


@receiver(post_init, sender=TOTPDevice, dispatch_uid="samplan.accounts.totp_loaded")
@receiver(post_init, sender=StaticDevice, dispatch_uid="samplan.accounts.static_loaded")
def second_factor_loaded(sender, instance, **kwargs) -> None:
    instance.__dict__[LOADED] = _state(instance) if instance.pk is not None else None


@receiver(pre_save, sender=TOTPDevice, dispatch_uid="samplan.accounts.totp_lock")
@receiver(pre_save, sender=StaticDevice, dispatch_uid="samplan.accounts.static_lock")
@receiver(pre_delete, sender=TOTPDevice, dispatch_uid="samplan.accounts.totp_lock_delete")
@receiver(pre_delete, sender=StaticDevice, dispatch_uid="samplan.accounts.static_lock_delete")
def second_factor_lock(sender, instance, **kwargs) -> None:
    # The audit chain's lock before the device's row lock (access/chain.py), but only when the
    # save may be audited: checking a code saves the device too.
    if instance.__dict__.get(LOADED) != _state(instance):
        take_chain_lock()


@receiver(post_save, sender=TOTPDevice, dispatch_uid="samplan.accounts.totp_saved")
@receiver(post_save, sender=StaticDevice, dispatch_uid="samplan.accounts.static_saved")
def second_factor_saved(sender, instance, created, **kwargs) -> None:
    before = instance.__dict__.get(LOADED)
    after = _state(instance)
    instance.__dict__[LOADED] = after
    if before == after:
        return
    was_user, was_confirmed, was_key = before if before else (None, False, None)
    if not instance.confirmed and not was_confirmed:
        return  # an authenticator being set up: no way in yet
    actor = _actor()
    if actor is not None and actor.pk == instance.user_id and was_user in (None, instance.user_id):
        return  # the owner's own enrolment or backup codes: audited by accounts/services.py
    if not was_confirmed:
        change = "given" if created or not before else "confirmed"
    elif not instance.confirmed:
        change = "unconfirmed (no longer counts)"
    elif was_user != instance.user_id:
        change = f"moved from user {was_user}"
    else:
        change = "key replaced" if was_key != instance.key else "changed"
    owner = instance.user
    write_events(
        [
            _row(
                actor,
                "second_factor_device",
                f"{_kind(sender)} {change}",
                subject=(owner.pk, owner.get_username()),
            )
        ]
    )


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
        detail=_kind(sender),
    )
