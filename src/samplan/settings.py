"""Samplan settings, read from the environment (12-factor).

Nothing set: SQLite under var/, DEBUG off, a random secret key kept in var/. PostgreSQL when
DATABASE_URL is set.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("SAMPLAN_VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG")


def _local_secret_key() -> str:
    """Without SECRET_KEY in the environment, a random key kept in var/ (mode 0600): never a
    key published in the repository."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.touch(mode=0o600)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rules.apps.AutodiscoverRulesConfig",
    "django_htmx",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "mozilla_django_oidc",
    "rest_framework",
    "drf_spectacular",
    "samplan.accounts",
    "samplan.directory",
    "samplan.people",
    "samplan.cases",
    "samplan.access",
    "samplan.workspace",
    "samplan.mypages",
    "samplan.documents",
    "samplan.mail",
    "samplan.reminders",
    "samplan.maintenance",
    "samplan.demo",
    "samplan.fhir",
    "samplan.stats",
    "samplan.api",
]

# Production (`make serve`): the app server serves the static files itself (WhiteNoise), from
# collectstatic's copies under hashed names, gzip and brotli beside them, cached for a year.
# Off (runserver, the tests): Django's plain storage, no collectstatic needed.
SAMPLAN_SERVE_STATIC = env_bool("SAMPLAN_SERVE_STATIC")

MIDDLEWARE = [
    "samplan.hardening.TrustedProxyMiddleware",
    "samplan.hardening.NoStoreMiddleware",
    # Before anything that reads the database: a static file costs no query and is served
    # while the database restarts.
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if SAMPLAN_SERVE_STATIC else []),
    "samplan.maintenance.middleware.ReadOnlyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "samplan.access.middleware.ClientAddressMiddleware",
    "samplan.accounts.middleware.SignInMiddleware",
    "samplan.mypages.middleware.CitizenMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "samplan.urls"
WSGI_APPLICATION = "samplan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "samplan.maintenance.middleware.read_only",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'samplan.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A kept connection is checked before a request uses it: after a database restart the
        # dead one is replaced instead of failing the request (docs/operations.md).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Samplan's queries are short index lookups. PostgreSQL's JIT compiles a query whose
    # estimated cost passes its threshold and spent 1.3 s compiling the start page's 49 ms
    # meeting query at 100 000 SIPs (docs/performance.md); it never paid back here.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace:start"
LOGOUT_REDIRECT_URL = "home"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "samplan.accounts.oidc.StaffOIDCBackend",
]

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [PROJECT_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The project-wide files (vendored GOV.UK Frontend, htmx, Samplan's CSS) live beside the apps.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if SAMPLAN_SERVE_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}


def _static_headers(headers, path, url):
    # SecurityMiddleware never sees what WhiteNoise answers, so the one header of its that
    # matters for a file is set here.
    headers["X-Content-Type-Options"] = "nosniff"


WHITENOISE_ADD_HEADERS_FUNCTION = _static_headers

# Sessions in the database: app servers keep nothing of their own, so any number of them can
# stand behind one load balancer (docs/deploy.md).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
# Behind TLS in production (HTTPS=true): secure cookies, redirect to https, HSTS.
HTTPS = env_bool("HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Believed only from SAMPLAN_TRUSTED_PROXIES: samplan.hardening.TrustedProxyMiddleware drops the
# header from anyone else, and a direct TLS connection still counts as secure without it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
    }
}

# Background work (notifications, exports) runs in `make worker`: django-tasks' database backend.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# How long a closed SIP stays readable to the units that took part. Patient records are kept at
# least ten years (patientdatalagen 3 kap. 17 §); the region sets its own figure.
SAMPLAN_RETENTION_DAYS = int(os.environ.get("SAMPLAN_RETENTION_DAYS", str(10 * 365)))
# Rows per page of the search (keyset pages, no count) and per section of the start page.
SAMPLAN_CASE_LIST_PAGE_SIZE = 50
SAMPLAN_START_SECTION_SIZE = 10

# Emergency access (nödåtkomst): how long a reasoned, logged, read-only opening lasts.
SAMPLAN_EMERGENCY_ACCESS_MINUTES = int(os.environ.get("SAMPLAN_EMERGENCY_ACCESS_MINUTES", "60"))

# --- Sign-in: local accounts with two factors, lockout, sessions (samplan.accounts) ---
# Passwords of local accounts (staff signing in without single sign-on, the administrator).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The second factor of a local account: an authenticator app (TOTP) or a one-time backup code.
OTP_TOTP_ISSUER = "Samplan"
SAMPLAN_BACKUP_CODE_COUNT = 10
# Lockout (django-axes, samplan.accounts.lockout): wrong passwords and wrong codes count alike.
# A user name is paused after AXES_FAILURE_LIMIT failures, an address (shared by many staff
# behind a proxy) after SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT, for SAMPLAN_SIGN_IN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = int(os.environ.get("SAMPLAN_SIGN_IN_FAILURE_LIMIT", "5"))
SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT = int(
    os.environ.get("SAMPLAN_SIGN_IN_ADDRESS_FAILURE_LIMIT", "30")
)
SAMPLAN_SIGN_IN_LOCKOUT_MINUTES = int(os.environ.get("SAMPLAN_SIGN_IN_LOCKOUT_MINUTES", "15"))
AXES_COOLOFF_TIME = SAMPLAN_SIGN_IN_LOCKOUT_MINUTES / 60  # hours, as axes reads a float
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "samplan.accounts.lockout.LockoutHandler"
AXES_USERNAME_CALLABLE = "samplan.accounts.lockout.username_key"
AXES_CLIENT_IP_CALLABLE = "samplan.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "samplan.accounts.lockout.same_response"
AXES_SENSITIVE_PARAMETERS = ["username", "password", "code", "ip_address"]
# The audit log is the record of sign-ins; axes keeps only its counters.
AXES_DISABLE_ACCESS_LOG = True
# Sessions: the cookie dies with the browser; idle and absolute timeouts (accounts/sessions.py).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SAMPLAN_IDLE_TIMEOUT_MINUTES = int(os.environ.get("SAMPLAN_IDLE_TIMEOUT_MINUTES", "30"))
SAMPLAN_ABSOLUTE_TIMEOUT_HOURS = int(os.environ.get("SAMPLAN_ABSOLUTE_TIMEOUT_HOURS", "10"))
# Single sign-on (samplan.accounts.oidc) offered on the sign-in page.
SAMPLAN_STAFF_OIDC_ENABLED = env_bool("SAMPLAN_STAFF_OIDC")

# --- Single sign-on for staff: OpenID Connect (samplan.accounts.oidc) ---
# Off unless SAMPLAN_STAFF_OIDC is set (the sign-in block). The endpoints come from the broker's
# discovery document (<issuer>/.well-known/openid-configuration); none is fetched at startup.
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
# Empty: every claim comes from the ID token alone.
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid profile")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = int(os.environ.get("OIDC_TIMEOUT", "10"))
# The directory is provisioned: an unknown HSA-id is refused unless the region asks otherwise.
OIDC_CREATE_USER = env_bool("SAMPLAN_OIDC_CREATE_USER")
# The claim that carries the staff member's HSA-id (Inera's IdP: employeeHsaId).
SAMPLAN_OIDC_HSA_ID_CLAIM = os.environ.get("SAMPLAN_OIDC_HSA_ID_CLAIM", "employeeHsaId")
# acr values that mean two factors (LoA3 and LoA4, as DIGG and SAMBI spell them), comma-separated.
SAMPLAN_OIDC_ACCEPTED_ACR = [
    value.strip()
    for value in os.environ.get(
        "SAMPLAN_OIDC_ACCEPTED_ACR",
        "http://id.elegnamnden.se/loa/1.0/loa3,http://id.elegnamnden.se/loa/1.0/loa4,"
        "http://id.sambi.se/loa/loa3,http://id.sambi.se/loa/loa4",
    ).split(",")
    if value.strip()
]
# Also accept an amr with two kinds of factor ("mfa", or e.g. "sc" + "pin") when acr says less.
SAMPLAN_OIDC_TRUST_AMR = env_bool("SAMPLAN_OIDC_TRUST_AMR", True)
# Ask for the level as an essential acr claim too (Inera's IdP reads it there).
SAMPLAN_OIDC_REQUEST_ACR_CLAIM = env_bool("SAMPLAN_OIDC_REQUEST_ACR_CLAIM", True)

# --- Min SIP sign-in: private individuals with e-legitimation (samplan.mypages.oidc) ---
# The person, a guardian or a representative signs in with BankID or
# Freja eID through the region's identity broker (OpenID Connect), as a client of its own: not
# the staff's OIDC_* client. Off (/mina-sidor/oidc/ answers 404) unless SAMPLAN_PERSON_OIDC is
# set; the endpoints come from the broker's discovery document, none is fetched at startup.
SAMPLAN_PERSON_OIDC_ENABLED = env_bool("SAMPLAN_PERSON_OIDC")
SAMPLAN_PERSON_OIDC_OP_ISSUER = os.environ.get("SAMPLAN_PERSON_OIDC_OP_ISSUER", "")
SAMPLAN_PERSON_OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get(
    "SAMPLAN_PERSON_OIDC_OP_AUTHORIZATION_ENDPOINT", ""
)
SAMPLAN_PERSON_OIDC_OP_TOKEN_ENDPOINT = os.environ.get("SAMPLAN_PERSON_OIDC_OP_TOKEN_ENDPOINT", "")
SAMPLAN_PERSON_OIDC_OP_JWKS_ENDPOINT = os.environ.get("SAMPLAN_PERSON_OIDC_OP_JWKS_ENDPOINT", "")
# Empty: every claim comes from the ID token alone.
SAMPLAN_PERSON_OIDC_OP_USER_ENDPOINT = os.environ.get("SAMPLAN_PERSON_OIDC_OP_USER_ENDPOINT", "")
SAMPLAN_PERSON_OIDC_RP_CLIENT_ID = os.environ.get("SAMPLAN_PERSON_OIDC_RP_CLIENT_ID", "")
SAMPLAN_PERSON_OIDC_RP_CLIENT_SECRET = os.environ.get("SAMPLAN_PERSON_OIDC_RP_CLIENT_SECRET", "")
SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO = os.environ.get("SAMPLAN_PERSON_OIDC_RP_SIGN_ALGO", "RS256")
SAMPLAN_PERSON_OIDC_RP_SCOPES = os.environ.get("SAMPLAN_PERSON_OIDC_RP_SCOPES", "openid profile")
SAMPLAN_PERSON_OIDC_USE_PKCE = env_bool("SAMPLAN_PERSON_OIDC_USE_PKCE", True)
# The broker's transport, never the staff's OIDC_* (a startup warning if verification is off).
SAMPLAN_PERSON_OIDC_VERIFY_SSL = env_bool("SAMPLAN_PERSON_OIDC_VERIFY_SSL", True)
SAMPLAN_PERSON_OIDC_TOKEN_USE_BASIC_AUTH = env_bool("SAMPLAN_PERSON_OIDC_TOKEN_USE_BASIC_AUTH")
# The claims that carry the identity number (personnummer or samordningsnummer), comma-separated;
# each one present is read, and two naming different numbers refuse the sign-in. Default: the
# plain name and the Swedish OIDC profile's (oidc.se), which BankID and Freja brokers use.
SAMPLAN_PERSON_OIDC_IDENTITY_CLAIMS = [
    claim.strip()
    for claim in os.environ.get(
        "SAMPLAN_PERSON_OIDC_IDENTITY_CLAIMS",
        "personal_identity_number,https://id.oidc.se/claim/personalIdentityNumber",
    ).split(",")
    if claim.strip()
]
# acr values accepted from the verified ID token (LoA3 and LoA4, as DIGG and SAMBI spell them),
# comma-separated. No amr fallback: an e-legitimation broker states the level in acr.
SAMPLAN_PERSON_OIDC_ACCEPTED_ACR = [
    value.strip()
    for value in os.environ.get(
        "SAMPLAN_PERSON_OIDC_ACCEPTED_ACR",
        "http://id.elegnamnden.se/loa/1.0/loa3,http://id.elegnamnden.se/loa/1.0/loa4,"
        "http://id.sambi.se/loa/loa3,http://id.sambi.se/loa/loa4",
    ).split(",")
    if value.strip()
]
# Ask for the level as an essential acr claim too (some brokers read it there).
SAMPLAN_PERSON_OIDC_REQUEST_ACR_CLAIM = env_bool("SAMPLAN_PERSON_OIDC_REQUEST_ACR_CLAIM", True)
# The demo sign-in (choose one of the demo county's fictitious people): on by default on a
# developer's machine, never behind TLS (samplan.E305 at startup, and the view stays off).
SAMPLAN_PERSON_DEMO_SIGN_IN = env_bool("SAMPLAN_PERSON_DEMO_SIGN_IN", not HTTPS)
# A citizen may be on a shared computer: shorter than the staff's timeouts.
SAMPLAN_PERSON_IDLE_TIMEOUT_MINUTES = int(
    os.environ.get("SAMPLAN_PERSON_IDLE_TIMEOUT_MINUTES", "15")
)
SAMPLAN_PERSON_ABSOLUTE_TIMEOUT_HOURS = int(
    os.environ.get("SAMPLAN_PERSON_ABSOLUTE_TIMEOUT_HOURS", "2")
)


# --- Audit log: hash chain and external copy ---
def _audit_key_from_file(path: Path) -> str:
    """The key of the audit log's hash chain, kept outside the database: made once (mode 0600)
    and linked into place atomically, so processes starting together agree on one key."""
    if not path.exists():
        import secrets

        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SAMPLAN_AUDIT_KEY = os.environ.get("SAMPLAN_AUDIT_KEY") or _audit_key_from_file(
    Path(os.environ.get("SAMPLAN_AUDIT_KEY_FILE", VAR_DIR / "audit_key"))
)
# A copy of every committed audit row outside the database, comma-separated: a file path (JSON
# lines, appended), "syslog" (the local /dev/log) or "syslog://host:port" (UDP).
SAMPLAN_AUDIT_SINK = [
    sink.strip() for sink in os.environ.get("SAMPLAN_AUDIT_SINK", "").split(",") if sink.strip()
]

# --- Hardening: headers, proxies, limits ---
# The proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-Proto and
# X-Forwarded-For are believed (samplan.hardening). Empty: no one's; REMOTE_ADDR is the client.
SAMPLAN_TRUSTED_PROXIES = [
    str(ipaddress.ip_network(entry.strip(), strict=False))
    for entry in os.environ.get("SAMPLAN_TRUSTED_PROXIES", "").split(",")
    if entry.strip()
]
# HSTS preload is a promise for the whole registered domain, made by whoever owns it (a region
# runs Samplan on a name under its own domain), so it is opt-in and its deploy warning silenced
# until then.
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SAMPLAN_HSTS_PRELOAD")
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Searches for people (the search box naming a person, a lookup by identity number) per user and
# minute; past it a 429 and a refused row in the audit log.
SAMPLAN_SEARCH_RATE_LIMIT = int(os.environ.get("SAMPLAN_SEARCH_RATE_LIMIT", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Read-only mode for planned maintenance (also `manage.py read_only on|off`): every page stays
# readable, every write is refused with a banner, the worker holds outgoing mail.
SAMPLAN_READ_ONLY = env_bool("SAMPLAN_READ_ONLY", False)

# Contingency packs (samplan.documents): processes the nightly build and `manage.py
# contingency_pack` render plans with; 0 = one per core (WeasyPrint's layout takes one core each).
SAMPLAN_PACK_PROCESSES = int(os.environ.get("SAMPLAN_PACK_PROCESSES", "0"))

# --- Outgoing e-mail (samplan.mail): a transactional outbox delivered by the worker ---
# Not behind TLS (a developer's machine) the default is `make mail`'s server on 127.0.0.1:1025.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost" if HTTPS else "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25" if HTTPS else "1025"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
# A hung SMTP server must not hold a worker (and the outbox row it locks) for long.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Samplan <no-reply@samplan.localhost>")
# Where links in e-mails point (no trailing slash): the address people reach Samplan at.
SAMPLAN_BASE_URL = os.environ.get("SAMPLAN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Retries of a failed delivery wait 1, 2, 4 … minutes, never longer than this; never dropped.
SAMPLAN_MAIL_RETRY_MAX_MINUTES = int(os.environ.get("SAMPLAN_MAIL_RETRY_MAX_MINUTES", "60"))

# --- Reminders and the scheduler (samplan.reminders) ---
# A meeting call, a plan proposed to the person and a message asking for acknowledgement are
# reminded of when still unanswered this many days later.
SAMPLAN_REMINDER_AFTER_DAYS = int(os.environ.get("SAMPLAN_REMINDER_AFTER_DAYS", "3"))
# What `manage.py scheduler` (run by `make worker`) enqueues, once per slot: every N minutes
# ("every_minutes") or daily at a time in Europe/Stockholm ("daily_at": "HH:MM").
SAMPLAN_SCHEDULE = {
    "reminders": {"task": "samplan.reminders.tasks.send_due_reminders", "every_minutes": 5},
    "mail_sweep": {"task": "samplan.mail.tasks.send_due_mail", "every_minutes": 5},
    "contingency_packs": {
        "task": "samplan.documents.tasks.build_contingency_packs",
        "daily_at": "02:30",
    },
    # The statistics' facts and monthly figures (samplan.stats.refresh).
    "statistics": {"task": "samplan.stats.tasks.refresh_statistics", "every_minutes": 5},
}

# --- The API for other systems (samplan.api, docs/api.md) -------------------------------------
REST_FRAMEWORK = {
    # A bearer token (ours or the region's provider's), never a session: no CSRF surface.
    "DEFAULT_AUTHENTICATION_CLASSES": ["samplan.api.auth.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "samplan.api.views.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("SAMPLAN_API_RATE", "6000/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Samplan API",
    "DESCRIPTION": (
        "Samordnad individuell plan (SIP) for other systems: the SIPs a system's unit may see, "
        "their plans, meetings and messages, and FHIR R4B CarePlans. Authorization: Bearer. "
        "Every call is in the audit log. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # samplan/converters.py: a row's id, at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
    },
    "ENUM_NAME_OVERRIDES": {
        "SipKindEnum": "samplan.api.serializers.SIP_KINDS",
        "MeetingKindEnum": "samplan.api.serializers.MEETING_KINDS",
    },
}
# Access tokens from the region's OpenID Connect provider (client credentials), checked by
# token introspection; empty: only Samplan's own API tokens.
SAMPLAN_API_OIDC_INTROSPECTION = os.environ.get("SAMPLAN_API_OIDC_INTROSPECTION", "")
SAMPLAN_API_OIDC_CLIENT_ID = os.environ.get("SAMPLAN_API_OIDC_CLIENT_ID", "")
SAMPLAN_API_OIDC_CLIENT_SECRET = os.environ.get("SAMPLAN_API_OIDC_CLIENT_SECRET", "")
SAMPLAN_API_OIDC_SCOPE = os.environ.get("SAMPLAN_API_OIDC_SCOPE", "samplan")
SAMPLAN_API_INTROSPECTION_CACHE = int(os.environ.get("SAMPLAN_API_INTROSPECTION_CACHE", "60"))
