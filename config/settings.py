"""Kalkula settings: every value comes from the environment, with the embedded defaults when unset.

Embedded default (no variables at all): SQLite under var/, local-memory cache, in-memory channel
layer, Celery on an in-memory broker with worker threads inside the server process, files under
var/media.
Production sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and AWS_* (see README.md).
"""

import secrets
import sys
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.storages import s3_storage
from core.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KALKULA_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A key generated once per checkout, so the embedded default needs no setting."""
    path = VAR_DIR / "secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind TLS in production: KALKULA_HTTPS=true turns on secure cookies, HSTS and the redirect.
HTTPS = env_bool("KALKULA_HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# How many reverse proxies stand in front and append to X-Forwarded-For (nginx:
# `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`); 0 ignores the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    # Before the admin: its templates (admin/base_site.html, the dashboard) and static files
    # (kalkula/) override and extend the admin's.
    "core",
    "config.apps.KalkulaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "tenants",
    "jobs",
    "evidence",
    "projects",
    "catalogs",
    "audits",
    "legacy",
    # Wiring: the retention command and its beat task, which call every app's purge.
    "config",
]
# daphne's app only replaces `runserver` with an ASGI one (websockets in development); loaded
# elsewhere it costs every web and Celery process its Twisted imports (14-25 MB each).
if sys.argv[1:2] == ["runserver"]:
    INSTALLED_APPS.insert(0, "daphne")

MIDDLEWARE = [
    "core.middleware.ForwardedForMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Before anything reads the body: gives a chunked body (no Content-Length) its length.
    "core.middleware.ChunkedBodyMiddleware",
    # Outermost after the request id, so the logged duration covers everything below it.
    "tenants.middleware.RequestLogMiddleware",
    "tenants.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database --------------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes={"postgres", "postgresql", "sqlite"})
if DATABASE_URL:
    DATABASES = {"default": database_from_url("DATABASE_URL", DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "kalkula.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and the in-process workers run beside one writer.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests keep their SQLite database in a file, not in memory, so that the worker threads and the
    # server and worker processes a test starts can open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-kalkula.sqlite3")}
# Reused connections save a connect per request (on SQLite, its PRAGMAs too: 0.6 ms); the health
# check replaces a connection a database restart broke before a request uses it.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache, channel layer ----------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss", "unix"})
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # The cache is an accelerator: with Redis down, reads miss and writes are dropped
                # (and logged) instead of failing the request.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    from channels_redis.core import RedisChannelLayer
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    # A socket waits for its next message in a BZPOPMIN that Redis answers empty after the layer's
    # brpop_timeout (5 s); redis-py's read timeout (5 s by default) must be longer, or a socket
    # with nothing to receive is closed after 5 s. It still bounds every read when Redis hangs.
    CHANNEL_LAYER_SOCKET_TIMEOUT = env_int(
        "CHANNEL_LAYER_SOCKET_TIMEOUT", 15, minimum=RedisChannelLayer.brpop_timeout + 1
    )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py raises rather than waits when its pool is exhausted: keep the
                        # pool large.
                        "max_connections": 1000,
                        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                        # Redis is near: a connection that takes longer is not coming (a
                        # websocket handshake waits for one; redis-py's default is socket_timeout).
                        "socket_connect_timeout": 3,
                        # After Redis restarts, every pooled connection is dead and fails its
                        # next command once: that command is sent again on a new connection
                        # (commands that only timed out are not: Redis may still be running them).
                        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                        # TCP keepalive (on by default in redis-py 8; said so it stays on)
                        # notices a dead Redis on an idle connection.
                        "socket_keepalive": True,
                    }
                ],
                "capacity": 1000,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Running jobs keep heartbeats and not-yet-stored events here (jobs/live.py): room
            # for them, beyond the default 300 entries.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

# Celery ------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", schemes={"memory", "redis", "rediss", "amqp", "amqps"}
) or ("memory://localhost/" if not REDIS_URL else REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Kombu's virtual transports (memory) poll their queues; the default 1 s would delay every job.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"polling_interval": 0.05} if CELERY_BROKER_URL.startswith("memory://") else {}
)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fixup closes the database connections before and after every task, so each job
# started by connecting (10-17 ms on PostgreSQL). Given a reuse maximum, it closes them only every
# that many tasks: never, in practice, with this one. Between tasks config/celery.py checks them
# instead, as Django does between requests: CONN_MAX_AGE and CONN_HEALTH_CHECKS hold in workers.
CELERY_DB_REUSE_MAX = 2**62
# The last line against a job that swells a worker (the files it opens are measured first, see
# ARCHIVE_*): a prefork child above this resident size is replaced once its task ends, instead of
# keeping the memory. 0: no ceiling.
JOBS_WORKER_MAX_MEMORY_MB = env_int("JOBS_WORKER_MAX_MEMORY_MB", 1024)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = JOBS_WORKER_MAX_MEMORY_MB * 1024 or None  # in KiB
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Jobs (jobs/) ------------------------------------------------------------------------------------
# The embedded default runs Celery worker threads (and the beat schedule) inside the ASGI server
# process, started by its lifespan; with a real broker, `celery worker` processes do the work.
KALKULA_INPROCESS_WORKER = env_bool(
    "KALKULA_INPROCESS_WORKER", CELERY_BROKER_URL.startswith("memory://")
)
JOBS_INPROCESS_CONCURRENCY = env_int("JOBS_INPROCESS_CONCURRENCY", 4, minimum=1)
# A job that keeps failing with transient errors (or whose worker keeps vanishing) fails after
# this many attempts; between attempts it waits up to base * 2**(attempt-1) seconds (at most max),
# with full jitter.
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 5, minimum=1)
JOBS_RETRY_BACKOFF_SECONDS = env_int("JOBS_RETRY_BACKOFF_SECONDS", 2, minimum=1)
JOBS_RETRY_BACKOFF_MAX_SECONDS = env_int("JOBS_RETRY_BACKOFF_MAX_SECONDS", 300, minimum=1)
# Celery's soft limit raises inside the handler (the job fails with `time_limit`); the hard limit
# kills the worker process (prefork pool only), and the sweep then takes the job back.
JOBS_SOFT_TIME_LIMIT_SECONDS = env_int("JOBS_SOFT_TIME_LIMIT_SECONDS", 3600, minimum=1)
JOBS_TIME_LIMIT_SECONDS = env_int(
    "JOBS_TIME_LIMIT_SECONDS", JOBS_SOFT_TIME_LIMIT_SECONDS + 60, minimum=1
)
# A running job's worker proves it is alive every JOBS_HEARTBEAT_SECONDS; after
# JOBS_STALE_AFTER_SECONDS without a heartbeat the sweep takes the job back.
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 10, minimum=1)
JOBS_STALE_AFTER_SECONDS = env_int("JOBS_STALE_AFTER_SECONDS", 60, minimum=1)
# A job still queued this long after its dispatch (the broker was down) is dispatched again.
JOBS_REDISPATCH_AFTER_SECONDS = env_int("JOBS_REDISPATCH_AFTER_SECONDS", 120, minimum=1)
JOBS_SWEEP_INTERVAL_SECONDS = env_int("JOBS_SWEEP_INTERVAL_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {
        "task": "jobs.tasks.sweep_jobs",
        "schedule": float(JOBS_SWEEP_INTERVAL_SECONDS),
        # A sweep that waited longer than an interval is superseded by the next one.
        "options": {"expires": float(JOBS_SWEEP_INTERVAL_SECONDS)},
    },
    # Retention (config/retention.py): hourly, so nothing outlives its period by much.
    "purge-expired": {"task": "tenants.purge_expired", "schedule": crontab(minute=17)},
}
if JOBS_TIME_LIMIT_SECONDS <= JOBS_SOFT_TIME_LIMIT_SECONDS:
    raise ImproperlyConfigured(
        "JOBS_TIME_LIMIT_SECONDS: must be above JOBS_SOFT_TIME_LIMIT_SECONDS."
    )
if JOBS_STALE_AFTER_SECONDS < 2 * JOBS_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "JOBS_STALE_AFTER_SECONDS: must be at least twice JOBS_HEARTBEAT_SECONDS, or a slow "
        "heartbeat would look like a dead worker."
    )

# Storage -----------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATIC_URL = "/static/"
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL", schemes={"http", "https"})
    _default_storage = s3_storage(
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=AWS_S3_ENDPOINT_URL,
        access_key=env_str("AWS_ACCESS_KEY_ID"),
        secret_key=env_str("AWS_SECRET_ACCESS_KEY"),
        region=env_str("AWS_S3_REGION_NAME", "us-east-1"),
        connect_timeout=env_int("AWS_S3_CONNECT_TIMEOUT_SECONDS", 2, minimum=1),
        read_timeout=env_int("AWS_S3_READ_TIMEOUT_SECONDS", 4, minimum=1),
        max_attempts=env_int("AWS_S3_MAX_ATTEMPTS", 2, minimum=1),
    )
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Evidence ----------------------------------------------------------------------------------------
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_BYTES", 1024**3, minimum=1)
# Checked against the type libmagic sniffs from the bytes, never the name or the client's claim.
EVIDENCE_ALLOWED_TYPES = env_list(
    "EVIDENCE_ALLOWED_TYPES",
    [
        "application/pdf",
        "text/plain",
        "text/csv",
        "text/xml",
        "application/xml",
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/msword",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.text",
        "image/png",
        "image/jpeg",
        "image/tiff",
        "image/webp",
        "image/vnd.dwg",
    ],
)
EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS = env_int(
    "EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS", 300, minimum=1
)
if EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS > 300:
    raise ImproperlyConfigured(
        "EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS: download links live at most 300 seconds, "
        f"got {EVIDENCE_DOWNLOAD_URL_EXPIRY_SECONDS}."
    )
# Uploads stream to files here while they are hashed; near MEDIA_ROOT, so storing is a rename.
EVIDENCE_SPOOL_DIR = Path(env_str("EVIDENCE_SPOOL_DIR", str(VAR_DIR / "uploads")))
# Text kept per document for content search (PostgreSQL's tsvector holds at most 1 MB).
EVIDENCE_TEXT_MAX_CHARS = env_int("EVIDENCE_TEXT_MAX_CHARS", 300_000, minimum=1)

# Archives and spreadsheets (core/archives.py) ---------------------------------------------------
# Every zip (XLSX, ODS, …) is measured before anything opens it: an upload by its directory, an
# import also by inflating it as a stream and counting each sheet's cells as a reader lays them
# out (rows × columns up to the last cell: python-calamine holds that whole rectangle, ~30 bytes
# a cell). Over a limit, the upload is refused (413) or the import fails, naming the limit.
ARCHIVE_MAX_ENTRIES = env_int("ARCHIVE_MAX_ENTRIES", 10_000, minimum=1)
ARCHIVE_MAX_UNCOMPRESSED_BYTES = env_int("ARCHIVE_MAX_UNCOMPRESSED_BYTES", 512 * 1024**2, minimum=1)
# Entries above 1 MiB that inflate more than this many times (office files: 5-50, a sheet of
# identical rows 260, deflate at most 1032).
ARCHIVE_MAX_RATIO = env_int("ARCHIVE_MAX_RATIO", 500, minimum=1)
SPREADSHEET_MAX_CELLS_PER_SHEET = env_int("SPREADSHEET_MAX_CELLS_PER_SHEET", 5_000_000, minimum=1)
SPREADSHEET_MAX_CELLS = env_int("SPREADSHEET_MAX_CELLS", 10_000_000, minimum=1)

# Auth --------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Browser users sign in at /accounts/login/ (Django's auth views); invitations and password
# resets link back to KALKULA_SITE_URL when no request tells the address (the command).
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
KALKULA_SITE_URL = env_url("KALKULA_SITE_URL", schemes={"http", "https"}) or "http://127.0.0.1:8000"
# Invitation links are Django's password-reset tokens: valid this long (3 days by default).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 3 * 24 * 3600, minimum=60)

# E-mail (invitations, password resets): printed to the console unless EMAIL_HOST names a server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kalkula <kalkula@localhost>")

# last_used_at of an API key is written at most this often, not on every request.
API_KEY_LAST_USED_RESOLUTION = timedelta(
    seconds=env_int("API_KEY_LAST_USED_RESOLUTION_SECONDS", 60)
)
# Each server process keeps an API key's row (with its tenant) and a tenant's usage at most this
# long instead of reading them on every request; a change made through the app reaches every
# process before its next request (tenants.caches), one made around it when the entry expires.
# 0 reads them on every request.
API_CACHE_SECONDS = env_int("API_CACHE_SECONDS", 2)

# REST --------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.json_input.DepthLimitedJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["tenants.ratelimit.BucketRateThrottle"],
    "EXCEPTION_HANDLER": "core.exception_handler.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kalkula API",
    "DESCRIPTION": "Construction budget auditing. Send `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several models have a `kind`: name each set of choices after its model.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "evidence.models.Evidence.Kind",
        "AlertKindEnum": "catalogs.models.Alert.Kind",
    },
    # The API takes JSON bodies; the uploads, which also take a multipart form, say so on their
    # views. (DRF still parses a form sent to the others, as for its test client; the contract is
    # JSON: a form has no null, no number and no empty value that is not "not sent".)
    "PARSER_WHITELIST": ["core.json_input.DepthLimitedJSONParser"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.postprocess",
    ],
}

# A JSON body nested deeper than this is refused (400) before it is decoded.
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 64, minimum=1)

# Platform guarantees -----------------------------------------------------------------------------
# Idempotency-Key: a POST repeated with the same key and body within this gets the first answer.
IDEMPOTENCY_KEY_TTL = timedelta(hours=env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1))

# Token buckets per API key (or user) and bucket: `<requests>/<seconds>` is both the burst and the
# refill (600/60 allows 600 at once, then 10 a second). RATE_LIMIT_<PLAN>_<BUCKET> overrides one.
_DEFAULT_RATES = {
    "free": {"reads": "300/60", "writes": "60/60", "jobs": "10/60"},
    "team": {"reads": "1200/60", "writes": "300/60", "jobs": "60/60"},
    "enterprise": {"reads": "6000/60", "writes": "1500/60", "jobs": "300/60"},
}
RATE_LIMITS = {
    plan: {
        bucket: env_rate(f"RATE_LIMIT_{plan.upper()}_{bucket.upper()}", rate)
        for bucket, rate in buckets.items()
    }
    for plan, buckets in _DEFAULT_RATES.items()
}
# After a Redis error the limiter lets requests through for this long before trying Redis again,
# so an outage costs one logged warning and one timeout, not one per request.
RATE_LIMIT_REDIS_RETRY_SECONDS = env_int("RATE_LIMIT_REDIS_RETRY_SECONDS", 5)

# Request log: buffered per process, written in bulk by a background thread every
# REQUEST_LOG_FLUSH_MS or as soon as REQUEST_LOG_BATCH_SIZE entries wait, and at shutdown.
REQUEST_LOG_FLUSH_MS = env_int("REQUEST_LOG_FLUSH_MS", 2000, minimum=10)
REQUEST_LOG_BATCH_SIZE = env_int("REQUEST_LOG_BATCH_SIZE", 500, minimum=1)
# Beyond this many waiting entries (the database is down), the oldest are dropped and counted.
REQUEST_LOG_MAX_BUFFER = env_int("REQUEST_LOG_MAX_BUFFER", 50_000, minimum=1)
REQUEST_LOG_RETENTION = timedelta(days=env_int("REQUEST_LOG_RETENTION_DAYS", 90, minimum=1))
# Events of finished jobs (their replay); the job rows themselves are kept.
JOB_EVENT_RETENTION = timedelta(days=env_int("JOB_EVENT_RETENTION_DAYS", 7, minimum=1))
# What interrupted uploads leave behind: spool files, unfinished multipart uploads, orphans.
ABANDONED_UPLOAD_RETENTION = timedelta(
    hours=env_int("ABANDONED_UPLOAD_RETENTION_HOURS", 24, minimum=1)
)

# Internationalisation ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {"every_5_s": {"()": "core.log_filters.AtMostEvery", "seconds": 5}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # With Redis down django-redis logs every cache call it let through, and every websocket its
    # channel-layer failure: one record per 5 s of each.
    "loggers": {
        "django_redis.cache": {"filters": ["every_5_s"]},
        "jobs.consumers.layer": {"filters": ["every_5_s"]},
    },
}

if DEBUG and HTTPS:
    raise ImproperlyConfigured("DEBUG: must be false when KALKULA_HTTPS is true (production).")
