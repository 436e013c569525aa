"""Signing in to a local account: the password, then a second factor (a code from an
authenticator app, TOTP, or a one-time backup code), each step audited and counted against the
lockout (accounts/lockout.py).

What a refused sign-in tells the person is the same whether the user name exists, the password
was wrong, the account is inactive or the sign-in is paused by the lockout, and each of those
costs one password hash. Only the audit log tells them apart, for the security officer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.accounts import lockout
from samplan.accounts.factors import mark_two_factors
from samplan.directory.models import User

TOTP = "totp"
BACKUP_CODE = "backup_code"
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_CODES_NAME = "Backup codes"
# The backup codes just made, shown once on the next page and then gone from the session.
NEW_BACKUP_CODES = "samplan_new_backup_codes"


def _refused(what: str, user=None, *, subject=None, detail: str = "") -> None:
    audit(
        user or AnonymousUser(),
        AuditEvent.Action.SIGN_IN,
        what,
        outcome=AuditEvent.Outcome.REFUSED,
        subject_user=subject,
        detail=detail[:300],
    )


def unknown_name_reference(typed: str) -> str:
    """A short keyed digest of a user name that matches no account. The typed text may be a
    password typed into the wrong field, so it is never stored; the digest lets the security
    officer see the same unknown name tried again and again."""
    return salted_hmac("samplan.accounts.unknown_name", typed.casefold()).hexdigest()[:10]


def _lockout_detail() -> str:
    return (
        f"{settings.AXES_FAILURE_LIMIT} failures by user name or "
        f"{settings.SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT} by address; "
        f"paused {settings.SAMPLAN_SIGN_IN_LOCKOUT_MINUTES} minutes"
    )


def check_password(request, username: str, password: str) -> User | None:
    """The user, if the user name and password are right and sign-in is not paused; otherwise
    None. Audits either way; a failure counts towards the lockout (axes, through the signal
    authenticate sends)."""
    was_locked = lockout.is_locked(request, username)
    user = authenticate(request, username=username, password=password)
    if user is not None:
        audit(
            user,
            AuditEvent.Action.SIGN_IN,
            "sign_in",
            subject_user=user,
            detail="password right; second factor next",
        )
        return user
    if was_locked:
        # Axes refused before any backend looked at the password: hash it anyway, so a paused
        # sign-in takes as long as a refused one.
        make_password(password)
    known = User.objects.filter(username=username).first()
    if was_locked:
        detail = "sign-in paused by the lockout"
    elif known is None:
        detail = f"unknown user name, reference {unknown_name_reference(username)}"
    elif not known.is_active:
        detail = "inactive account"
    else:
        detail = "wrong password"
    _refused("sign_in", subject=known, detail=detail)
    if not was_locked and getattr(request, "axes_locked_out", False):
        _refused("lockout", subject=known, detail=_lockout_detail())
    return None


# --- The second factor ---------------------------------------------------------------------


def has_device(user) -> bool:
    """Whether the account has a confirmed second factor of any kind."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticDevice.objects.filter(user=user, confirmed=True).exists()
    )


def normalise_code(typed: str) -> str:
    return "".join(typed.split()).replace("-", "").lower()


@dataclass(frozen=True)
class CodeCheck:
    method: str | None = None  # TOTP or BACKUP_CODE when the code was right
    throttled: bool = False  # django-otp's growing pause after wrong codes
    locked: bool = False  # the lockout paused the account: the session is to be signed out


def _verify_totp(user, token: str) -> tuple[bool, bool]:
    throttled = False
    # Locked rows: two requests with the same code cannot both use it (last_t is read and
    # written under the lock).
    for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            throttled = True
        elif device.verify_token(token):
            return True, False
    return False, throttled


def _use_backup_code(user, token: str) -> tuple[bool, bool]:
    throttled = False
    for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            throttled = True
            continue
        # One DELETE decides: of two requests with the same code, one deletes a row.
        used, _ = StaticToken.objects.filter(device=device, token=token).delete()
        if used:
            device.throttle_reset(commit=False)
            device.set_last_used_timestamp(commit=False)
            device.save()
            return True, False
        device.throttle_increment()
    return False, throttled


def check_code(request, typed: str) -> CodeCheck:
    """Verify the second factor of the session's (password-signed-in) user. A right code marks
    the session two-factor; a wrong one is audited and counts towards the lockout."""
    user = request.user
    username = user.get_username()
    if lockout.is_locked(request, username):
        _refused("second_factor", user, subject=user, detail="sign-in paused by the lockout")
        return CodeCheck(locked=True)
    token = normalise_code(typed)
    is_totp = token.isdigit() and len(token) == 6
    with transaction.atomic():
        right, throttled = (_verify_totp if is_totp else _use_backup_code)(user, token)
    if right:
        method = TOTP if is_totp else BACKUP_CODE
        _second_factor_done(request, user, method)
        return CodeCheck(method=method)
    kind = "authenticator code" if is_totp else "backup code"
    if throttled:
        # Not a guess that was judged: django-otp refused to look before its pause was over.
        _refused("second_factor", user, subject=user, detail=f"{kind} during the pause")
        return CodeCheck(throttled=True)
    _refused("second_factor", user, subject=user, detail=f"wrong {kind}")
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    if getattr(request, "axes_locked_out", False):
        _refused("lockout", user, subject=user, detail=_lockout_detail())
        return CodeCheck(locked=True)
    return CodeCheck()


def _second_factor_done(request, user, method: str, detail: str = "") -> None:
    mark_two_factors(request, method)
    # A new session key for the session that now may read personal data.
    request.session.cycle_key()
    if method == BACKUP_CODE:
        left = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
        detail = f"{left} backup codes left"
    audit(
        user,
        AuditEvent.Action.SIGN_IN,
        "second_factor",
        subject_user=user,
        detail=f"{method}; {detail}" if detail else method,
    )


# --- Enrolment and backup codes ------------------------------------------------------------


def pending_device(user) -> TOTPDevice:
    """The authenticator being set up: the same secret on every visit, so a reload does not
    invalidate what the person already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def confirm_enrolment(request, device: TOTPDevice, typed: str) -> CodeCheck:
    """Confirm the authenticator with a code it shows. Right: the device counts from now on, the
    session is two-factor, and new backup codes wait in the session to be shown once. Wrong:
    audited and counted towards the lockout, like a wrong code at sign-in."""
    user = request.user
    if lockout.is_locked(request, user.get_username()):
        _refused("enrolment", user, subject=user, detail="sign-in paused by the lockout")
        return CodeCheck(locked=True)
    token = normalise_code(typed)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _ = device.verify_is_allowed()
        right = allowed and token.isdigit() and device.verify_token(token)
        if right:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    if not allowed:
        _refused("enrolment", user, subject=user, detail="authenticator code during the pause")
        return CodeCheck(throttled=True)
    if not right:
        _refused("enrolment", user, subject=user, detail="wrong authenticator code")
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        if getattr(request, "axes_locked_out", False):
            _refused("lockout", user, subject=user, detail=_lockout_detail())
            return CodeCheck(locked=True)
        return CodeCheck()
    audit(
        user,
        AuditEvent.Action.CREATE,
        "second_factor_device",
        subject_user=user,
        detail="authenticator app",
    )
    if not StaticToken.objects.filter(device__user=user, device__confirmed=True).exists():
        request.session[NEW_BACKUP_CODES] = new_backup_codes(user)
    _second_factor_done(request, user, TOTP, "enrolled")
    return CodeCheck(method=TOTP)


def new_backup_codes(user) -> list[str]:
    """A new set of one-time backup codes; the old ones stop working."""
    with transaction.atomic():
        # The same device, new tokens: removing the device would read as a factor taken away.
        device = StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            device = StaticDevice.objects.create(user=user, name=BACKUP_CODES_NAME, confirmed=True)
        StaticToken.objects.filter(device__user=user).delete()
        codes = [StaticToken.random_token() for _ in range(settings.SAMPLAN_BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    audit(
        user,
        AuditEvent.Action.CREATE,
        "backup_codes",
        subject_user=user,
        detail=f"{len(codes)} codes; earlier codes void",
    )
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def sign_out_everywhere(user) -> None:
    """Every session of the user, on every device, is over at its next request."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(signed_out_everywhere_at=now)
    user.signed_out_everywhere_at = now
    audit(
        user,
        AuditEvent.Action.SIGN_OUT,
        "sign_out_everywhere",
        subject_user=user,
    )
