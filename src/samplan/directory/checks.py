"""`manage.py check --deploy`: a database where an account's authenticator key is the demo
county's key for that user name (demo/county/directory.py derives it from the name, and anyone
can read how) is a database anyone can sign in to with the demo password's second factor.
Behind TLS (settings.HTTPS, the production signal) that is an error; on a developer's machine,
where `make run` loaded the demo, a warning, so that `make lint` still passes there.
Registered by DirectoryConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def no_demo_authenticator_keys(app_configs=None, **kwargs):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from samplan.demo.county.directory import demo_totp_key

    try:
        # The key follows from the name, so each one is compared where it is (no index helps).
        known = [
            username
            for username, key in TOTPDevice.objects.values_list("user__username", "key")
            .order_by("user__username")
            .iterator(chunk_size=2000)
            if key == demo_totp_key(username)
        ]
    except DatabaseError:
        return []  # no tables yet (before migrate): nothing to find
    if not known:
        return []
    shown = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
    level, code = (Error, "samplan.E201") if settings.HTTPS else (Warning, "samplan.W201")
    return [
        level(
            f"{len(known)} accounts have the demo county's authenticator key: {shown}.",
            hint="This database holds the demo county (manage.py load_demo) or copies of its "
            "keys. Never run the demo in production; remove these authenticators so that their "
            "owners enrol their own at the next sign-in.",
            id=code,
        )
    ]
