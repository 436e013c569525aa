"""The sign-in pages: password, second factor, enrolment of an authenticator, backup codes, the
account page (sign out, sign out everywhere, new backup codes, change password).

Until the second factor, the session reaches these pages only (accounts/middleware.py)."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.models import AuditEvent
from samplan.access.services import audit
from samplan.accounts import services
from samplan.accounts.factors import has_two_factors
from samplan.accounts.factors import second_factor as second_factor_method
from samplan.accounts.forms import CodeForm, EnrolForm, PasswordChangeForm, SignInForm

# Where to go after the second factor, kept from the sign-in page's ?next=.
NEXT = "samplan_next"


def sign_in_failed_message() -> str:
    # One message for every refusal: unknown name, wrong password, inactive, paused.
    return _(
        "The user name or the password is not right, or signing in is paused after too many "
        "failed tries. Check what you typed and try again, or wait %(minutes)s minutes."
    ) % {"minutes": settings.SAMPLAN_SIGN_IN_LOCKOUT_MINUTES}


def paused_message() -> str:
    return _(
        "Too many wrong codes: signing in is paused. Sign in again in %(minutes)s minutes."
    ) % {"minutes": settings.SAMPLAN_SIGN_IN_LOCKOUT_MINUTES}


def _safe_next(request, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def _remember_next(request) -> None:
    url = _safe_next(request, request.GET.get("next"))
    if url:
        request.session[NEXT] = url


def _onwards(request):
    return redirect(request.session.pop(NEXT, "") or resolve_url(settings.LOGIN_REDIRECT_URL))


def _paused(request):
    logout(request)
    messages.error(request, paused_message())
    return redirect("login")


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sign_in(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        if has_two_factors(request):
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
        return redirect("accounts:second_factor")
    form = SignInForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        user = services.check_password(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if user is not None:
            login(request, user)
            if next_url:
                request.session[NEXT] = next_url
            return redirect("accounts:second_factor")
        form.add_error(None, sign_in_failed_message())
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "next": next_url,
            "sso_enabled": settings.SAMPLAN_STAFF_OIDC_ENABLED,
        },
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def second_factor(request):
    if not request.user.is_authenticated:
        return redirect("login")
    _remember_next(request)
    if has_two_factors(request):
        return _onwards(request)
    if not services.has_device(request.user):
        return redirect("accounts:enrol")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        result = services.check_code(request, form.cleaned_data["code"])
        if result.method:
            return _onwards(request)
        if result.locked:
            return _paused(request)
        if result.throttled:
            form.add_error("code", _("Wait a few seconds after a wrong code, then try again."))
        else:
            form.add_error("code", _("The code is not right. Enter the code the app shows now."))
    return render(request, "accounts/second_factor.html", {"form": form})


def _may_enrol(request) -> bool:
    """With no second factor yet, at first sign-in; or, already signed in with two factors (a
    backup code), to add an authenticator. Never with a password alone when a factor exists:
    whoever has only the password must not add their own phone."""
    user = request.user
    if not services.has_device(user):
        return True
    return (
        has_two_factors(request)
        and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


def qr_code(text: str) -> dict:
    code = segno.make(text, error="m")
    width, height = code.symbol_size(scale=4, border=2)
    return {"src": code.svg_data_uri(scale=4, border=2), "width": width, "height": height}


def readable_secret(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def enrol(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if not _may_enrol(request):
        return redirect("accounts:second_factor")
    device = services.pending_device(request.user)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        result = services.confirm_enrolment(request, device, form.cleaned_data["code"])
        if result.method:
            if services.NEW_BACKUP_CODES in request.session:
                return redirect("accounts:backup_codes")
            return _onwards(request)
        if result.locked:
            return _paused(request)
        if result.throttled:
            form.add_error("code", _("Wait a few seconds after a wrong code, then try again."))
        else:
            form.add_error(
                "code",
                _(
                    "The code is not right. Check that the phone's clock is right and enter "
                    "the code the app shows now."
                ),
            )
    return render(
        request,
        "accounts/enrol.html",
        {"form": form, "qr": qr_code(device.config_url), "secret": readable_secret(device)},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """Shows a new set of backup codes once (after enrolment, or when asked for new ones)."""
    if request.method == "POST":
        request.session[services.NEW_BACKUP_CODES] = services.new_backup_codes(request.user)
        return redirect("accounts:backup_codes")
    codes = request.session.pop(services.NEW_BACKUP_CODES, None)
    return render(
        request,
        "accounts/backup_codes.html",
        {
            "codes": codes,
            "left": services.backup_codes_left(request.user),
            "continue_to": request.session.get(NEXT) or resolve_url(settings.LOGIN_REDIRECT_URL),
        },
    )


@never_cache
@login_required
def account(request):
    user = request.user
    return render(
        request,
        "accounts/account.html",
        {
            "authenticators": TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"),
            "backup_codes_left": services.backup_codes_left(user),
            "signed_in_with": second_factor_method(request),
        },
    )


@require_POST
def sign_out(request):
    user = request.user
    if user.is_authenticated:
        audit(
            user,
            AuditEvent.Action.SIGN_OUT,
            "sign_out",
            subject_user=user,
            detail="" if has_two_factors(request) else "before the second factor",
        )
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_POST
@login_required
def sign_out_everywhere(request):
    services.sign_out_everywhere(request.user)
    logout(request)
    messages.success(request, _("You are signed out on every computer and phone."))
    return redirect("login")


@method_decorator(never_cache, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own view (old password, the validators, the session kept) with Samplan's page,
    and the change audited."""

    template_name = "registration/password_change_form.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = self.request.user
        audit(
            user,
            AuditEvent.Action.CHANGE,
            "password",
            subject_user=user,
        )
        messages.success(self.request, _("Your password is changed."))
        return response


password_change = PasswordChangeView.as_view()


def admin_sign_in(request):
    """The admin's own sign-in form would skip the second factor's page and the audit: the
    admin signs in here like everyone else."""
    query = request.META.get("QUERY_STRING", "")
    return redirect(reverse("login") + (f"?{query}" if query else ""))
