"""The admin is no back door into anyone's account: it shows no authenticator key, QR code or
backup code, adds or changes no second factor, and every way it has of letting someone in as
someone else (a password set, an HSA-id moved, a second factor removed) is a row in the audit log
naming the administrator and the account. The audit log itself is read in the log review only."""

from __future__ import annotations

from base64 import b32encode

import pytest
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from samplan.access.models import AuditEvent
from samplan.directory.models import User
from tests.two_factor import authenticator

pytestmark = pytest.mark.django_db

GRANT = AuditEvent.Action.GRANT
PASSWORD = "correct horse battery staple"


@pytest.fixture
def devices(county):
    totp = authenticator(county.alice)
    static = StaticDevice.objects.create(user=county.alice, name="Backup codes", confirmed=True)
    StaticToken.objects.create(device=static, token="kq7xw2mz")
    return totp, static


# --- Second factors: seen, never shown --------------------------------------------------------


def test_the_admin_shows_who_has_a_second_factor_but_no_key_qr_code_or_backup_code(
    admin_client, devices
):
    totp, static = devices
    secret = b32encode(totp.bin_key).decode()
    pages = [
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:otp_totp_totpdevice_change", args=[totp.pk]),
        reverse("admin:otp_static_staticdevice_changelist"),
        reverse("admin:otp_static_staticdevice_change", args=[static.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        text = response.text
        assert str(totp.user) in text
        for secret_text in (totp.key, secret, "otpauth://", "kq7xw2mz"):
            assert secret_text not in text, (page, secret_text)


def test_the_admin_has_no_qr_code_page_no_tokens_and_adds_or_changes_no_device(
    admin_client, devices
):
    totp, static = devices
    with pytest.raises(NoReverseMatch):
        reverse("admin:otp_totp_totpdevice_config", args=[totp.pk])
    config = admin_client.get(f"/admin/otp_totp/totpdevice/{totp.pk}/config/", follow=True)
    assert totp.key not in config.text and "otpauth://" not in config.text
    assert config.headers["Content-Type"].startswith("text/html")  # no QR image either
    assert admin_client.get("/admin/otp_static/statictoken/").status_code == 404
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    assert admin_client.get(reverse("admin:otp_static_staticdevice_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_change", args=[totp.pk]),
        {"user": totp.user_id, "name": "Mine now", "confirmed": "on", "key": "00" * 20},
    )
    assert response.status_code == 403
    totp.refresh_from_db()
    assert totp.name != "Mine now" and totp.key != "00" * 20


def test_removing_a_lost_phone_in_the_admin_still_works_and_is_audited(
    admin_client, superuser, county, devices
):
    totp, _static = devices
    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[totp.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=totp.pk).exists()
    row = AuditEvent.objects.get(what="second_factor_removed")
    assert (row.user_id, row.subject_user_id) == (superuser.pk, county.alice.pk)


# --- Second factors given or changed by someone else ------------------------------------------


def device_rows(**filters):
    return list(
        AuditEvent.objects.filter(action=GRANT, what="second_factor_device", **filters)
        .order_by("pk")
        .values_list("subject_username", "detail")
    )


def test_a_second_factor_given_confirmed_or_rekeyed_in_the_shell_is_a_grant(county):
    bob = county.bob
    pending = TOTPDevice.objects.create(user=bob, name="Phone", confirmed=False)
    assert device_rows() == []  # set up but not confirmed: no way in yet
    pending.confirmed = True
    pending.save()
    pending.key = "11" * 20
    pending.save()
    StaticDevice.objects.create(user=bob, name="Backup codes", confirmed=True)
    suffix = "; by: no request (shell, command or data load)"
    assert device_rows() == [
        ("bob", f"authenticator app confirmed{suffix}"),
        ("bob", f"authenticator app key replaced{suffix}"),
        ("bob", f"backup codes given{suffix}"),
    ]
    assert "11" * 20 not in str(device_rows())


def test_checking_a_code_saves_the_device_without_a_row_or_a_query_more(
    county, django_assert_num_queries
):
    device = authenticator(county.bob)
    before = AuditEvent.objects.count()
    device = TOTPDevice.objects.get(pk=device.pk)
    with django_assert_num_queries(1):  # the device's own UPDATE of drift and throttling
        device.verify_token("000000")
    assert AuditEvent.objects.count() == before


def test_a_device_given_to_someone_else_in_a_request_names_the_giver(client, county, superuser):
    """The owner's own enrolment is audited by the enrolment (CREATE); anyone else's hand on
    the device is a GRANT naming them. Driven through a request so that the actor is known."""
    from samplan.access.middleware import current_user

    token = current_user.set(superuser)
    try:
        StaticDevice.objects.create(user=county.bob, name="Backup codes", confirmed=True)
        StaticDevice.objects.create(user=superuser, name="Backup codes", confirmed=True)
    finally:
        current_user.reset(token)
    rows = AuditEvent.objects.filter(what="second_factor_device").values_list(
        "user_id", "subject_username", "detail"
    )
    assert list(rows) == [(superuser.pk, "bob", "backup codes given")]


# --- Passwords --------------------------------------------------------------------------------


def password_rows():
    return AuditEvent.objects.filter(what="password").order_by("pk")


def test_an_administrator_setting_someones_password_is_a_grant_naming_both(
    admin_client, superuser, county
):
    bob = county.bob
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[bob.pk]),
        {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    (row,) = password_rows()
    assert (row.action, row.user_id, row.subject_user_id) == (GRANT, superuser.pk, bob.pk)
    assert row.detail == "password set"
    assert bob.password not in row.detail


def test_a_password_set_in_the_shell_is_a_grant_and_a_rehash_at_sign_in_is_not(county):
    bob = county.bob
    bob.set_password(PASSWORD)
    bob.save()
    (row,) = password_rows()
    assert row.detail == "password set; by: no request (shell, command or data load)"
    # A hash put in place by hand is a password set too.
    bob.password = make_password(PASSWORD, salt="short")
    bob.save()
    assert password_rows().count() == 2
    # A hash too weak for today's hasher is upgraded when the right password is given (here: a
    # salt too short): the same password, no one set it, no row.
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    bob.refresh_from_db()
    assert "$short$" not in bob.password
    assert password_rows().count() == 2


def test_changing_your_own_password_on_the_account_page_is_one_change_row_no_grant(client, county):
    alice = county.alice
    alice.set_password(PASSWORD)
    alice.save()
    before = password_rows().count()
    client.force_login(alice)
    new = "another horse battery staple"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    rows = list(password_rows()[before:].values_list("action", "subject_user_id"))
    assert rows == [(AuditEvent.Action.CHANGE, alice.pk)]


# --- The HSA-id single sign-on signs in by ---------------------------------------------------


def test_moving_an_hsa_id_is_a_grant_and_two_accounts_cannot_share_one(county, superuser):
    alice, bob = county.alice, county.bob
    alice.hsa_id = "SE2321000016-A001"
    alice.save()
    bob.hsa_id = "SE2321000016-A001"
    with pytest.raises(IntegrityError), transaction.atomic():
        bob.save()
    alice.hsa_id = "SE2321000016-A002"
    alice.save()
    details = list(
        AuditEvent.objects.filter(action=GRANT, what="account_role", subject_user=alice)
        .order_by("pk")
        .values_list("detail", flat=True)
    )
    suffix = "; by: no request (shell, command or data load)"
    assert details == [
        f"hsa_id: –→SE2321000016-A001{suffix}",
        f"hsa_id: SE2321000016-A001→SE2321000016-A002{suffix}",
    ]
    # Accounts without an HSA-id are many.
    assert User.objects.filter(hsa_id="").count() >= 2


# --- The audit log is read in the log review only ---------------------------------------------


def test_the_admin_has_no_page_of_the_audit_log(admin_client, county):
    with pytest.raises(NoReverseMatch):
        reverse("admin:access_auditevent_changelist")
    assert admin_client.get("/admin/access/auditevent/").status_code == 404
    assert "auditevent" not in admin_client.get(reverse("admin:index")).text


def test_a_member_of_staff_reaches_no_admin_page(county):
    client = Client()
    client.force_login(county.alice)
    response = client.get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert response.status_code == 302 and "login" in response.url
