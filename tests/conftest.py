import os

import pytest

# Django's live_server runs beside Playwright's event loop in the same thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.factories import County

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def county(db):
    return County()


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


def pytest_configure(config):
    from django.conf import settings

    # Password hashing is not under test here; the fast hasher keeps factories quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
