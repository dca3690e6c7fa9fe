"""Plan Tracker settings: one file, read from the environment.

Development defaults need no servers (SQLite and Celery's filesystem transport under var/).
Production (DJANGO_DEBUG=0) refuses to start without DJANGO_SECRET_KEY.
"""

import datetime
import ipaddress
import os
import socket
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Django's generic classes subscriptable at run time (QuerySet[Action]), as mypy's stubs have them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Empty counts as unset: docker-compose passes every line of .env, blank ones as "" (which would be ".").
VAR_DIR = Path(os.environ.get("PLAN_TRACKER_VAR_DIR") or BASE_DIR / "var")


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (see .env.example).")
    # Only for local development: a fixed, obviously insecure key that production never accepts.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "tracker.apps.TrackerAdminConfig",  # django.contrib.admin with our site (tracker/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_celery_beat",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tracker",
    "priorities",
    "plan_imports",
    "messaging",
    "indicators",
    "overview",
    "public_pages",
    "api",
    "audit",
    "privacy",
]

MIDDLEWARE = [
    # First and (nearly) last: django-prometheus times every request and counts it by view and status.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id (X-Request-ID) for every log line of the request and of the tasks it starts.
    "tracker.logs.RequestIdMiddleware",
    # /healthz and /metrics, for machines: before the host check and the HTTPS redirect (tracker/middleware.py).
    "tracker.middleware.MachineEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tracker.middleware.DatabaseUnavailableMiddleware",
    "tracker.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tracker.security.SessionLifetimeMiddleware",
    "tracker.two_step.TwoStepMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before HostileInputMiddleware: the API answers what no view accepts in JSON, not with an HTML page.
    "api.middleware.ApiRequestMiddleware",
    "tracker.middleware.HostileInputMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tracker.security.RefusalLogMiddleware",
    # After the session, user and messages: the 404 page it renders under DEBUG shows who is signed in.
    "tracker.middleware.ProductNotFoundPageMiddleware",
    # Downloads (when their stream ends) and admin pages, to the access log (tracker/access.py, the audit app).
    "tracker.access.AccessRecordMiddleware",
    # Inside the session: keeps each person's own writes in it (tracker/caching.py).
    "tracker.caching.FreshAfterOwnWritesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, so that it sees every sign-in attempt's outcome.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out sign-ins even with the right password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in protection: 5 failures for one account from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_CALLABLE = "tracker.security.axes_username"
AXES_VERBOSE = False

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "overview.context_processors.navigation",
                "priorities.context_processors.plan_switcher",
            ],
        },
    },
]

# Our own field templates render GOV.UK Frontend markup (templates/django/forms/).
FORM_RENDERER = "tracker.forms.GovukFormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent web and worker processes on one SQLite file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so tests see real locking (and worker subprocesses can share it).
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or str(VAR_DIR / "test-db.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: our pages run short queries whose plans PostgreSQL costs high (a dashboard's
    # EXISTS per partnership), and compiling them took 3 s for a query that runs in 0.3 s.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tracker.User"

# One rule each, listed once on every form and refused once (tracker/passwords.py): Django's length and
# digits-only checks in our words, its similarity and common-password checks folded into ours.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "tracker.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "tracker.passwords.NumericPasswordValidator"},
    {"NAME": "tracker.passwords.RepeatedCharactersValidator"},
    {"NAME": "tracker.passwords.SequenceValidator"},
    {"NAME": "tracker.passwords.PersonalDetailsValidator"},
    {"NAME": "tracker.passwords.CommonPasswordVariantsValidator"},
]

CSRF_FAILURE_VIEW = "tracker.views.csrf_failure"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or VAR_DIR / "staticfiles")
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # GOV.UK Frontend's fonts, images and JavaScript, served from /static/govuk/.
    ("govuk", BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: console in development, SMTP otherwise; the standard EMAIL_* variables.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Plan Tracker <plan-tracker@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL


# The address links in emails point at (reminders, invitations).
def _listening_url():
    """Where `make run` serves (its HOST and PORT): the links in emails when SITE_URL is not set."""
    host = os.environ.get("HOST") or "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None  # a host name
    if address is not None and address.is_unspecified:
        host = socket.getfqdn()  # listening on every interface: links name this machine
    elif address is not None and address.version == 6:
        host = f"[{address}]"
    return f"http://{host}:{os.environ.get('PORT') or '8000'}"


SITE_URL = (os.environ.get("SITE_URL") or _listening_url()).rstrip("/")

# The cache holds rendered register and dashboard fragments (tracker/caching.py), keyed by the data they
# show. Per process by default; CACHE_URL=redis://host:6379/1 shares one cache between web processes.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "plan-tracker",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
# A cached fragment is dropped after this long even if nothing changed (a backstop, not the invalidation).
FRAGMENT_CACHE_SECONDS = int(os.environ.get("FRAGMENT_CACHE_SECONDS", "900"))
# One process renders a fragment after a change while others serve the previous one; the lock ends
# after this long even if that process dies mid-render (tracker/caching.py).
FRAGMENT_RENDER_LOCK_SECONDS = int(os.environ.get("FRAGMENT_RENDER_LOCK_SECONDS", "30"))
# That render runs in a thread of its own, so the process goes on answering (tests render at once).
FRAGMENT_RENDER_IN_THREAD = env_bool("FRAGMENT_RENDER_IN_THREAD", True)
# Bounded staleness: a page loaded this many seconds after a change committed shows it, whatever renders
# are under way; before that, someone else's page may show the previous fragment (the tests use 0).
FRAGMENT_MAX_STALE_SECONDS = float(os.environ.get("FRAGMENT_MAX_STALE_SECONDS", "2"))
# After a commit, the web process renders ahead this many of the fragments requests stored most recently
# (0: none; readers then render after the bound), so the next reader usually finds them ready.
FRAGMENT_PRERENDER_LIMIT = int(os.environ.get("FRAGMENT_PRERENDER_LIMIT", "10"))

# Celery: embedded filesystem transport by default, Redis (or any broker URL) in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_QUEUE_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("in", "processed", "control"):
        (CELERY_QUEUE_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "in"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "in"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Reminder emails that fail are retried after 1, 2, 4 and 8 times this many seconds (5 attempts in all).
REMINDER_RETRY_BACKOFF_SECONDS = int(os.environ.get("REMINDER_RETRY_BACKOFF_SECONDS", "60"))

# Security: on by default whenever debug is off (manage.py check --deploy passes with no extra settings).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Health checks from the orchestrator come over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    # Opt-in: only behind a proxy that sets X-Forwarded-Proto itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The client's address for sign-in lock-outs and the security log: the proxy's address would lock
    # the real user out for anyone's wrong passwords. django-ipware (as django-axes documents) reads
    # X-Forwarded-For, where each of the DJANGO_TRUSTED_PROXY_COUNT proxies appends the address it
    # saw: it must then hold exactly that many entries (the last proxy is REMOTE_ADDR itself, so
    # ipware counts one fewer). A client that writes the header itself adds an entry, and is then
    # counted under the proxy's address: it can neither pose as another address nor lock anyone out.
    AXES_IPWARE_PROXY_COUNT = max(int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "1")), 1) - 1
    AXES_IPWARE_PROXY_ORDER = "left-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER: tuple[str, ...] = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    # Directly on the internet: only the connection's own address (a client-sent header is a lie).
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a one-way decision for the whole domain (browsers ship the list; leaving it takes months),
# so it is off unless asked for. Django's deploy check warns about it (security.W021) whenever it is off:
# that one warning is silenced, and only then, so `check --deploy --fail-level WARNING` stays meaningful.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True

# Sessions end after 2 hours idle and 12 hours in all (tracker.security.SessionLifetimeMiddleware;
# it notes activity at most once a minute rather than writing the session on every request).
SESSION_IDLE_TIMEOUT = 2 * 60 * 60
SESSION_ABSOLUTE_LIFETIME = 12 * 60 * 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME

# Content-Security-Policy: no inline script or style anywhere (django-csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

DJANGO_TABLES2_TEMPLATE = "includes/table.html"

# Public pages and open data (public_pages/): how long browsers and proxies may keep them, the licence the
# open data is published under, and where Quick exit goes (a neutral site).
PUBLIC_CACHE_SECONDS = int(os.environ.get("PUBLIC_CACHE_SECONDS", "300"))
# How often a web process re-reads the data generation for the public pages (other processes' changes
# show within this many seconds; its own at once).
PUBLIC_GENERATION_SECONDS = float(os.environ.get("PUBLIC_GENERATION_SECONDS", "1"))
PUBLIC_DATA_LICENCE = {
    "name": os.environ.get("PUBLIC_DATA_LICENCE_NAME", "Open Government Licence v3.0"),
    "url": os.environ.get(
        "PUBLIC_DATA_LICENCE_URL", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    ),
}
PUBLIC_QUICK_EXIT_URL = os.environ.get("PUBLIC_QUICK_EXIT_URL", "https://www.bbc.co.uk/weather")
# Paths whose views never read the session (tracker.security.SessionLifetimeMiddleware leaves them alone),
# so their responses carry no Vary: Cookie and no cookie, and shared caches may keep them. The API
# authenticates every request by its token, never by a session.
SESSIONLESS_PATH_PREFIXES = ("/public/", "/api/")

# Logs: one line per record, with the request id (tracker/logs.py); LOG_FORMAT=json writes one JSON object a
# line for a log collector. Control characters anyone sent are escaped, so no value can forge a line.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "tracker.logs.OneLineFormatter",
            "fmt": "{asctime} {levelname} {name} [{request_id}]: {message}",
            "style": "{",
        },
        "json": {"()": "tracker.logs.JsonFormatter"},
    },
    "filters": {
        "not_refused": {
            "()": "django.utils.log.CallbackFilter",
            "callback": lambda record: getattr(record, "status_code", None) != 403,
        },
        "request_id": {"()": "tracker.logs.RequestIdFilter"},
        "security_without_traceback": {"()": "tracker.logs.SecurityWithoutTracebackFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "security_without_traceback"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Once, through the root handler (Django's own debug console handler printed it twice), and a
        # 403 not at all: tracker.security logs each refusal as one line, with who and from where.
        "django.request": {"handlers": ["console"], "propagate": False, "filters": ["not_refused"]},
        # Django's own handlers (a console in debug, mail to ADMINS) print tracebacks unescaped: every
        # record of Django's goes through ours instead.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # Sign-ins, failures, lock-outs and refused requests, with who, when and from where.
        "tracker.security": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}
# The Celery worker logs through the same handlers (and so in the same format, with the request id).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Monitoring (docs/operations-monitoring.md) ---------------------------------------------------------
# /metrics answers a request with `Authorization: Bearer <METRICS_TOKEN>`, or from an address in
# METRICS_ALLOWED_NETWORKS (comma-separated CIDRs, the connection's own address); nobody when neither is set.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_NETWORKS = tuple(
        ipaddress.ip_network(item, strict=False) for item in env_list("METRICS_ALLOWED_NETWORKS", [])
    )
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {error}") from error
# Optional error reports to Sentry, with personal data removed (tracker/sentry.py).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from tracker import sentry

    sentry.init(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", ""),
        release=os.environ.get("SENTRY_RELEASE", ""),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# Who runs this installation: named as the data controller in the privacy notice and in the accessibility
# statement, with the address people write to (tracker/site_pages.py).
SERVICE_OPERATOR_NAME = os.environ.get("SERVICE_OPERATOR_NAME", "").strip()
SERVICE_CONTACT_EMAIL = os.environ.get("SERVICE_CONTACT_EMAIL", "").strip()

# --- Accounts: password reset, two-step sign-in (issue 14) ---------------------------------------
# Roles that must use two-step sign-in. Unset: the secretariat and the commissioner in production, none
# in debug (so `make run`'s demo stays one step). Set but empty: no role (load tests).
TWO_STEP_ROLES = env_list("DJANGO_TWO_STEP_ROLES", [] if DEBUG else ["secretariat", "commissioner"])
OTP_TOTP_ISSUER = "Plan Tracker"
# Seconds between the password and the code before the sign-in starts again.
TWO_STEP_PENDING_SECONDS = 5 * 60
# Password-reset links work for 2 hours, once (Django voids them when the password changes).
PASSWORD_RESET_TIMEOUT = 2 * 60 * 60
# Reset requests per hour, per email address and per client address.
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_ADDRESS", "3"))
PASSWORD_RESET_LIMIT_PER_CLIENT = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_CLIENT", "10"))

# --- The API and data feeds (api/, docs/api.md) ----------------------------------------------------
# Requests per token per minute, counted in the shared cache (CACHE_URL: Redis in production).
API_REQUESTS_PER_MINUTE = int(os.environ.get("API_REQUESTS_PER_MINUTE", "300"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": False,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plan Tracker API",
    "DESCRIPTION": (
        "The plan, its progress and its indicators, read and reported by tools: the same people, roles and "
        "visibility as the pages. Send a personal access token as `Authorization: Bearer pt_...`."
    ),
    "VERSION": None,  # api.schema.API_VERSION, checked against the README's changelog by a test
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "priorities.models.Status",
        "ReportStateEnum": "priorities.models.Submission.State",
        "ReminderKindEnum": "messaging.models.Reminder.Kind",
        "ReminderStateEnum": "messaging.models.Reminder.State",
        "OrganisationKindEnum": "tracker.models.Organisation.Kind",
    },
    "SORT_OPERATION_PARAMETERS": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# --- Personal data and retention (issue 25; privacy app, README "Retention") ------------------------
# How long each kind of record is kept; 0 keeps it for ever. A daily job applies the schedule
# (`manage.py apply_retention --dry-run` says what it would remove now).
RETENTION_EMAIL_BODY_DAYS = int(os.environ.get("RETENTION_EMAIL_BODY_DAYS", "90"))
RETENTION_REPORT_LINK_DAYS = int(os.environ.get("RETENTION_REPORT_LINK_DAYS", "90"))
RETENTION_SECURITY_LOG_MONTHS = int(os.environ.get("RETENTION_SECURITY_LOG_MONTHS", "12"))
RETENTION_ACCESS_LOG_MONTHS = int(os.environ.get("RETENTION_ACCESS_LOG_MONTHS", "24"))
RETENTION_DEACTIVATED_ACCOUNT_MONTHS = int(os.environ.get("RETENTION_DEACTIVATED_ACCOUNT_MONTHS", "12"))

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
