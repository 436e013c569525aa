import importlib
import os

import pytest
from django.db import connection
from django.db.models.signals import post_migrate

# Django's live_server runs beside Playwright's event loop in the same thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import County, UserFactory
from tests.oidc import oidc_provider  # noqa: F401 (a fixture: a real OIDC provider on 127.0.0.1)
from tests.pg_cluster import pg_cluster  # noqa: F401 (a fixture: a private PostgreSQL cluster)

CHROMIUM = "/usr/bin/chromium"

_TRIGGERS = importlib.import_module("samplan.access.migrations.0004_append_only_triggers")
_RECREATE_UID = "tests.domain_helpers.recreate_audit_triggers"


def _recreate_audit_triggers(sender, **kwargs) -> None:
    post_migrate.disconnect(dispatch_uid=_RECREATE_UID)
    with connection.schema_editor() as editor:
        _TRIGGERS.create(None, editor)


@pytest.fixture
def audit_log_flushable(transactional_db):
    """A transactional test (real commits, several connections) ends with Django flushing every
    table. The audit log refuses DELETE and TRUNCATE beneath the ORM, so the flush would fail.
    Lift the triggers just for the flush; they come back on the post_migrate signal the flush
    sends when it is done, before the next test starts."""
    yield
    post_migrate.connect(_recreate_audit_triggers, dispatch_uid=_RECREATE_UID)
    with connection.schema_editor() as editor:
        _TRIGGERS.drop(None, editor)


@pytest.fixture
def county(db):
    return County()


@pytest.fixture
def superuser(db):
    """An administrator of the directory with no assignment: not a member of staff."""
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    """Signed in as `superuser`, both factors proven (pytest-django's own signs in `admin`)."""
    client.force_login(superuser)
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-gpu",
        ],
    }


def _force_login_with_two_factors() -> None:
    """`client.force_login(user)` signs in as if with both factors, so that tests of pages
    behind the second factor need not go through it; `force_login(user, two_factors=False)` is
    a session with the password only (tests/test_second_factor.py)."""
    from django.test import Client

    from samplan.accounts.factors import SESSION_KEY

    if getattr(Client.force_login, "marks_two_factors", False):
        return
    plain = Client.force_login

    def force_login(self, user, backend=None, *, two_factors=True):
        plain(self, user, backend)
        if two_factors:
            session = self.session
            session[SESSION_KEY] = "totp"
            session.save()

    force_login.marks_two_factors = True
    Client.force_login = force_login


def pytest_configure(config):
    from django.conf import settings

    # Password hashing is not under test here; the fast hasher keeps factories quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _force_login_with_two_factors()


def pytest_collection_modifyitems(config, items):
    """Tests of PostgreSQL itself (its roles, triggers and advisory locks) have nothing to run
    on SQLite: they are left out of the SQLite half of `make test`, not skipped, and run in its
    PostgreSQL half, which CI must run (Makefile: test-postgres). Slow checks that read no
    database behaviour (`once`: a FHIR Bundle against a second implementation) run in the
    SQLite half only, so that `make test` stays under 20 minutes."""
    from django.conf import settings

    postgresql = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    left_out = "once" if postgresql else "needs_postgresql"
    kept = [item for item in items if item.get_closest_marker(left_out) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
