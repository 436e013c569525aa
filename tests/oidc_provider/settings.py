"""Settings of the test provider. Everything it keeps lives in OIDC_TEST_PROVIDER_DIR (a temp
directory per provider), so two pytest workers run two providers side by side."""

import os
import secrets
from pathlib import Path

DATA_DIR = Path(os.environ["OIDC_TEST_PROVIDER_DIR"])

DEBUG = False
SECRET_KEY = secrets.token_urlsafe(40)
# Only what tests/oidc.py creates through /testing/ (users, clients) needs this shared secret.
TESTING_SECRET = os.environ["OIDC_TEST_PROVIDER_SECRET"]
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.oidc_provider.urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "provider.sqlite3",
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True

# The provider and the app under test both live on 127.0.0.1 (cookies ignore the port): their
# own cookie names keep the two sessions apart in one browser or requests.Session.
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"

LOGIN_URL = "/login/"
# The issuer is fixed by serve.py once the port is known.
SITE_URL = None
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.oidc_provider.claims.add_sign_in_claims"
OIDC_EXTRA_SCOPE_CLAIMS = "tests.oidc_provider.claims.ExtraScopeClaims"
# Samplan's API checks a system's access token by introspection (RFC 7662): a token from the
# client credentials grant has no ID token, hence no audience to check, and Samplan needs the
# token's scope in the answer.
OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE = False
OIDC_INTROSPECTION_RESPONSE_SCOPE_ENABLE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
