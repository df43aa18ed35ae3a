"""Settings for the CRM, driven by the environment (see .env.example).

Development (the default) runs on an embedded SQLite file with no other service. Production
(DJANGO_ENV=production) refuses to start without SECRET_KEY and DATABASE_URL.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing key must stop the deploy
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-used-in-production")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "axes",
    "csp",
    "crm",
    "accounts",
    "notifications",
    "customers",
    "ownership",
    "sales",
    "followups",
    "service",
    "collection",
    "handovers",
    "rules",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # private, no-store on every logged-in response; the sliding idle timeout.
    "crm.middleware.AuthenticatedResponseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Axes last: it needs the authenticated user and turns lockouts into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"

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
                "crm.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "crm.wsgi.application"

# SQLite is the embedded default for `make run` and `make test`; production requires DATABASE_URL.
if PRODUCTION:
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server, Celery and tests share the file without
    # "database is locked" errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Every account is a staff member's, with customers' data behind it: 12 characters at least, not
# close to the username or e-mail, not a common password, not all digits, not the username with
# digits or symbols around it.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.UsernameVariantValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions end after SESSION_IDLE_MINUTES without a request (sliding: crm.middleware), and when
# the browser closes: office PCs are shared.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The client's address (crm.net.client_ip): behind TRUSTED_PROXY_COUNT reverse proxies, read from
# X-Forwarded-For counted from the right; 0 (default) ignores the header and uses REMOTE_ADDR.
# Used by login throttling and the document download log.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Login throttling (accounts/throttle.py), within the last AXES_COOLOFF_TIME hours: five failures
# for one username from one address lock that pair; AXES_IP_FAILURE_LIMIT failures from one
# address, whatever the usernames, lock the address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HANDLER = "accounts.throttle.CrmAxesHandler"
AXES_CLIENT_IP_CALLABLE = "crm.net.client_ip"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date and datetime inputs render ISO in every language (crm/formats/__init__.py says why).
FORMAT_MODULE_PATH = ["crm.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded customer documents live outside static and public media paths; only an
# authorising view serves them.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))
# Largest customer document accepted (R4.1), in bytes. Default 10 MB.
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Content-Security-Policy: everything is served from this origin, nothing inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Mail: console in development, SMTP from EMAIL_URL in production.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")

# Celery: Redis when REDIS_URL is set; otherwise tasks run in-process (the embedded default).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# No result backend: nothing reads task results, and Redis' result backend retries a lost
# connection for about 20 seconds inside the web request that queues a task.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A web request that queues a task fails fast when the broker is unreachable (crm.queue): one
# connection attempt of at most CELERY_BROKER_TIMEOUT seconds and two quick retries, never the
# default minute of retries. Workers and beat keep retrying at start-up (they have no user waiting).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULE = {
    "nightly-release": {
        "task": "ownership.tasks.nightly_release",
        "schedule": crontab(hour=1, minute=0),  # 01:00 Asia/Shanghai (CELERY_TIMEZONE)
    },
    "expiring-documents": {
        "task": "customers.tasks.notify_expiring_documents",
        "schedule": crontab(hour=1, minute=30),  # R4.1: licences expiring within 30 days
    },
    "overdue-service-requests": {
        "task": "service.tasks.notify_overdue_requests",
        "schedule": crontab(hour=1, minute=45),  # R6.3: requests past their due day
    },
    "resume-stalled-imports": {
        "task": "collection.tasks.resume_stalled_imports",
        "schedule": crontab(minute="*"),  # R1.2: imports a dead worker or a broker outage left
    },
    "nightly-overdue-check": {
        "task": "ownership.tasks.check_nightly_overdue",
        "schedule": crontab(minute=30),  # hourly: tell admins when the nightly job missed a night
    },
    "handover-missing-notes": {
        "task": "handovers.tasks.nag_missing_notes",
        "schedule": crontab(hour=9, minute=0),  # R7.1: leavers' items still without a note, each day
    },
}
# An import (R1.2) with no progress for this many minutes, and no worker holding it, is handed to
# a worker again by resume-stalled-imports.
IMPORT_STALL_MINUTES = env.int("IMPORT_STALL_MINUTES", default=5)
# The nightly job counts as missed when no run has succeeded for this many hours (/healthz,
# admins notified, the panel on the release log).
NIGHTLY_STALE_HOURS = env.int("NIGHTLY_STALE_HOURS", default=26)
# Where `manage.py backup_create` writes (docs: README "Backup and restore").
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups")))

CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "crm.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json" if PRODUCTION else "plain"},
    },
    "filters": {"one_line_refusals": {"()": "crm.logging.OneLineRefusals"}},
    "root": {"handlers": ["stdout"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print every record a second time in development.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["one_line_refusals"]},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Size of an uploaded file a user may send (R4.1 documents, R1.2 imports).
DATA_UPLOAD_MAX_NUMBER_FILES = 10
